"""Kind, instrument and key of the whole analysis on real sample packs, labelled by their names.

Usage::

    python benchmarks/library_labels.py [--oneshots /tmp/os]

Runs ``companion.analysis.pipeline.analyse_file`` (names included, as the scanner does) over the
Debian libraries (Sonic Pi, LMMS; labels from ``benchmarks/datasets/labelled_sets.py``) in two
worker processes (one BLAS thread each, as the scanner runs them) and prints: kind right, instrument right where the name gives one, drum hits
given no key, loops without a tempo, and files/s. With ``--oneshots`` it also runs the audio
alone (files renamed to hide their names) over generated one-shot sets, per source family —
in-distribution figures, since the shipped models were fitted on these families; the held-out
figures are the leave-one-family-out ones printed by
``benchmarks/datasets/fit_descriptor_models.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "datasets"))
import labelled_sets as L

from companion.analysis.instruments import DRUM_HITS
from companion.library.scan_worker import pin_blas


def _one(path: str) -> dict | None:
    from companion.analysis.pipeline import analyse_file

    try:
        a, _ = analyse_file(Path(path))
    except Exception:  # noqa: BLE001 - an unreadable file is counted, not fatal
        return None
    return {
        "kind": a.kind,
        "instrument": a.instrument,
        "instrument_source": a.instrument_source,
        "key_pc": a.key_pc,
        "bpm": a.bpm,
        "bpm_source": a.bpm_source,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oneshots", type=Path, default=None)
    args = parser.parse_args(argv)
    _, rows = L.debian_sets()
    start = time.perf_counter()
    with ProcessPoolExecutor(2, initializer=pin_blas) as pool:
        out = list(pool.map(_one, [r["file"] for r in rows], chunksize=4))
    wall = time.perf_counter() - start
    ok = [(r, a) for r, a in zip(rows, out) if a is not None]
    print(
        f"Debian libraries: {len(rows)} files, {len(ok)} decoded, {len(rows) / wall:.1f} files/s (2 workers, whole pipeline)"
    )
    for pack in ("sonic-pi", "lmms", None):
        sel = [(r, a) for r, a in ok if pack is None or r["source"] == pack]
        kind = np.mean([a["kind"] == r["kind"] for r, a in sel])
        named = [(r, a) for r, a in sel if r["instrument"]]
        inst = np.mean([a["instrument"] == r["instrument"] for r, a in named])
        drums = [(r, a) for r, a in sel if r["instrument"] in DRUM_HITS]
        nokey = np.mean([a["key_pc"] is None for r, a in drums]) if drums else float("nan")
        print(
            f"  {pack or 'both':9s} kind right {kind:.3f} (n={len(sel)}); instrument right {inst:.3f} (n={len(named)}); "
            f"drum hits with no key {nokey:.3f} (n={len(drums)})"
        )
    wrong = [(Path(r["file"]).name, r["kind"], a["kind"]) for r, a in ok if a["kind"] != r["kind"]]
    print("  kind wrong: " + ", ".join(f"{n} ({t}→{p})" for n, t, p in wrong))
    loops = [(r, a) for r, a in ok if a["kind"] == "loop"]
    print(
        f"  loops with no tempo: {sum(a['bpm'] is None for _, a in loops)} of {len(loops)} "
        f"({Counter(a['bpm_source'] for _, a in loops if a['bpm'] is None)})"
    )
    print(
        f"  instrument sources: {Counter(a['instrument_source'] for _, a in ok)}; "
        f"estimated classes: {Counter(a['instrument'] for _, a in ok if a['instrument_source'] == 'estimate')}"
    )
    if args.oneshots is None:
        return
    for folder in sorted(p for p in args.oneshots.iterdir() if (p / "labels.json").exists()):
        labels = json.loads((folder / "labels.json").read_text())
        with ProcessPoolExecutor(2, initializer=pin_blas) as pool:
            res = list(pool.map(_one, [str(folder / r["file"]) for r in labels], chunksize=8))
        pairs = [(r, a) for r, a in zip(labels, res) if a is not None]
        oneshots = [(r, a) for r, a in pairs if r["kind"] == "one-shot"]
        held = [(r, a) for r, a in oneshots if r["style"] == "held"]
        hits = [(r, a) for r, a in pairs if r["instrument"] in DRUM_HITS]
        print(
            f"{folder.name} (in distribution): one-shots called one-shot {np.mean([a['kind'] == 'one-shot' for _, a in oneshots]):.3f}, "
            f"held notes cut at bars {np.mean([a['kind'] == 'one-shot' for _, a in held]) if held else float('nan'):.3f}, "
            f"drum hits with no key {np.mean([a['key_pc'] is None for _, a in hits]) if hits else float('nan'):.3f}"
        )


if __name__ == "__main__":
    main()

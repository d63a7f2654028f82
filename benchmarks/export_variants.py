"""Kind, tempo and key of labelled loops as given and as libraries export them.

Usage::

    python benchmarks/export_variants.py [/tmp/ds/hard0 /tmp/gen/band_s0 /tmp/gen/electro_s0] [--every 2]

Each argument is a folder with a ``labels.json`` (``benchmarks/datasets/make_loops.py``,
``compose_band_loops.py``, ``compose_synth_loops.py``); with none, the ``make_loops`` hard set of
seed 0 that ``benchmarks/analysis_accuracy.py`` uses (generated first when missing). Every ``--every``-th loop is analysed
by ``companion.analysis.pipeline.analyse_file`` as given and in four variants written under
``--work``:

* ``mp3``: written by libsndfile (LAME);
* ``tail250``: 0.25 s of digital silence after the loop (a render's padding);
* ``tail3pct``: silence after the loop, 3 % of its length;
* ``lead10``: 10 ms of silence before it (an interface's latency).

Variant files are named after the set and the loop with no digits of their own, so no name
gives a tempo hint. Prints, per set and variant: loops called loop, tempo Acc1 (within 4 %,
the MIREX tolerance), tempo within 0.5 % (the length of bars a producer can loop against a
grid) and the key exactly right (pitched loops).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from companion.library.scan_worker import pin_blas

VARIANTS = ("orig", "mp3", "tail250", "tail3pct", "lead10")


def write_variant(src: Path, variant: str, out: Path) -> Path:
    """Write ``variant`` of the loop ``src`` under ``out`` (once) and return its path.

    Raises:
        ValueError: unknown variant.
    """
    if variant == "orig":
        return src
    y, sr = sf.read(src, always_2d=True, dtype="float32")
    folder = out / variant
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{src.parent.name}_{src.stem}{'.mp3' if variant == 'mp3' else '.wav'}"
    if path.exists():
        return path
    if variant == "mp3":
        sf.write(path, y, sr, format="MP3")
        return path
    pads = {"tail250": int(0.25 * sr), "tail3pct": int(round(0.03 * len(y))), "lead10": int(0.010 * sr)}
    if variant not in pads:
        raise ValueError(f"unknown variant {variant!r}")
    silence = np.zeros((pads[variant], y.shape[1]), np.float32)
    sf.write(path, np.concatenate([silence, y] if variant == "lead10" else [y, silence]), sr, subtype="FLOAT")
    return path


def _one(job: tuple[str, str, str]) -> tuple | None:
    from companion.analysis.pipeline import analyse_file

    src, variant, out = job
    try:
        a, _ = analyse_file(write_variant(Path(src), variant, Path(out)))
    except Exception:  # noqa: BLE001 - an unreadable file is counted, not fatal
        return None
    return a.kind, a.bpm, a.key_pc, a.mode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, help="folders with a labels.json")
    parser.add_argument("--every", type=int, default=2, help="analyse every n-th loop (default 2)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/export_variants"), help="where variants are written")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = parser.parse_args(argv)
    if not args.sets:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "samplemind-bench"
        args.sets = [cache / "hard-0"]
        if not (args.sets[0] / "labels.json").exists():
            sys.path.insert(0, str(Path(__file__).resolve().parent / "datasets"))
            import make_loops

            print(f"generating the hard set into {args.sets[0]} …", flush=True)
            make_loops.generate("hard", args.sets[0], seed=0)
    jobs, meta = [], []
    for folder in args.sets:
        labels = [r for r in json.loads((folder / "labels.json").read_text()) if r["kind"] == "loop"]
        for label in labels[:: args.every]:
            for variant in args.variants:
                jobs.append((str(folder / label["file"]), variant, str(args.work)))
                meta.append((folder.name, variant, label))
    with ProcessPoolExecutor(2, initializer=pin_blas) as pool:
        results = list(pool.map(_one, jobs, chunksize=4))
    print("set          variant    n    loop   Acc1   ±0.5 %  key")
    for folder in args.sets:
        for variant in args.variants:
            rows = [(r, x) for (s, v, r), x in zip(meta, results) if s == folder.name and v == variant]
            got = [(r, x) for r, x in rows if x is not None]
            loop = np.mean([x[0] == "loop" for _, x in got]) if got else float("nan")
            acc1 = np.mean([x[1] is not None and abs(x[1] - r["bpm"]) <= 0.04 * r["bpm"] for r, x in got])
            exact = np.mean([x[1] is not None and abs(x[1] - r["bpm"]) <= 0.005 * r["bpm"] for r, x in got])
            keyed = [(r, x) for r, x in got if r.get("pitched")]
            key = np.mean([(x[2], x[3]) == (r["key_pc"], r["mode"]) for r, x in keyed]) if keyed else float("nan")
            print(
                f"{folder.name:12s} {variant:9s} {len(rows):4d}  {loop:.3f}  {acc1:.3f}  {exact:.3f}  {key:.3f}"
                + (f"  ({len(rows) - len(got)} unreadable)" if len(got) < len(rows) else "")
            )


if __name__ == "__main__":
    main()

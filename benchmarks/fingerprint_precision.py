"""Precision@10 by instrument class of the ``fingerprint/v1`` embedding (and an MFCC baseline).

Data: the labelled one-shots of the Sonic Pi (``/usr/share/sonic-pi/samples``) and LMMS
(``/usr/share/lmms/samples``) libraries. Classes come from the file names with the mapping
below; files that match no rule are left out (loops, FX, tabla, bells, synth tones …).

Sonic Pi (pack = the name's prefix before the first ``_``, e.g. ``bd``, ``drum``, ``elec``):
    kick    ``bd_*``, ``drum_heavy_kick``, ``drum_bass_*`` (bass drum), ``elec_*kick*``
    snare   ``sn_*``, ``drum_snare_*``, ``elec_*snare*``
    hihat   ``drum_cymbal_closed``, ``drum_cymbal_open``, ``drum_cymbal_pedal`` (hi-hat articulations)
    cymbal  ``drum_cymbal_hard``, ``drum_cymbal_soft``, ``drum_splash_*``, ``elec_cymbal``
    tom     ``drum_tom_*``, ``elec_*tom*``
    bass    ``bass_*``, ``glitch_bass_*`` (bass-synth notes)
LMMS (pack = ``lmms/<folder>``):
    drums/  ``bassdrum*``, ``kick*`` → kick; ``snare*`` except ``snare_rim*``, ``nasty_snare*``
            → snare; ``hihat*`` → hihat; ``crash*``, ``ride*`` → cymbal; ``tom*`` → tom;
            ``clap*`` → clap
    basses/ every file → bass

Metric: for each labelled query, rank every other labelled file by cosine similarity and count
how many of the top 10 share the query's class. Two protocols: *all* (the whole pool) and
*cross-pack* (the query's own pack removed from the candidates whenever its class still has
members in another pack, so near-identical siblings from one pack cannot carry the score).
``p@10`` divides by 10; ``p@10cap`` divides by min(10, number of eligible relevant files), so
small classes (clap: 4 files) can reach 1. Figures are means over queries (micro) and over
classes (macro).

Baseline: per-file mean and standard deviation over time of 20 librosa MFCCs (40-d), cosine.

Cost: CPU time per file (``time.process_time``, one process) on the labelled one-shots and on
the Sonic Pi loops (``loop_*``, 0.9–10.7 s), after decoding. ``--blocks`` also prints the
precision of each block of the fingerprint alone.

``--oneshots DIR ...`` scores the drum hits of generated sets instead (make_oneshots.py: several
GM kits, the AVL acoustic kits and our own synthesis; packs = source families): "more like
this" on drum hits across kits.

Run:  python benchmarks/fingerprint_precision.py [--blocks] [--oneshots DIR ...]
Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr

SR = 22050
SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS = Path("/usr/share/lmms/samples")
AUDIO_EXT = {".wav", ".flac", ".ogg"}

_SONIC_PI_RULES: list[tuple[str, str]] = [
    (r"^bd_", "kick"),
    (r"^drum_heavy_kick$", "kick"),
    (r"^drum_bass_", "kick"),
    (r"^elec_.*kick", "kick"),
    (r"^sn_", "snare"),
    (r"^drum_snare_", "snare"),
    (r"^elec_.*snare", "snare"),
    (r"^drum_cymbal_(closed|open|pedal)$", "hihat"),
    (r"^drum_cymbal_(hard|soft)$", "cymbal"),
    (r"^drum_splash_", "cymbal"),
    (r"^elec_cymbal$", "cymbal"),
    (r"^drum_tom_", "tom"),
    (r"^elec_.*tom", "tom"),
    (r"^bass_", "bass"),
    (r"^glitch_bass_", "bass"),
]
_LMMS_DRUM_RULES: list[tuple[str, str]] = [
    (r"^(bassdrum|kick)", "kick"),
    (r"^snare_rim", ""),  # rim shot: neither snare nor anything else here
    (r"^(snare|nasty_snare)", "snare"),
    (r"^hihat", "hihat"),
    (r"^(crash|ride)", "cymbal"),
    (r"^tom", "tom"),
    (r"^clap", "clap"),
]


@dataclass
class Item:
    path: Path
    label: str
    pack: str


def _match(rules: list[tuple[str, str]], stem: str) -> str:
    for pattern, label in rules:
        if re.search(pattern, stem):
            return label
    return ""


def labelled_items() -> list[Item]:
    """The labelled one-shots of both libraries, in a fixed order."""
    items: list[Item] = []
    if SONIC_PI.is_dir():
        for p in sorted(SONIC_PI.iterdir()):
            if p.suffix.lower() in AUDIO_EXT and (label := _match(_SONIC_PI_RULES, p.stem)):
                items.append(Item(p, label, "sonic-pi/" + p.stem.split("_")[0]))
    drums, basses = LMMS / "drums", LMMS / "basses"
    if drums.is_dir():
        for p in sorted(drums.iterdir()):
            if p.suffix.lower() in AUDIO_EXT and (label := _match(_LMMS_DRUM_RULES, p.stem)):
                items.append(Item(p, label, "lmms/drums"))
    if basses.is_dir():
        for p in sorted(basses.iterdir()):
            if p.suffix.lower() in AUDIO_EXT:
                items.append(Item(p, "bass", "lmms/basses"))
    return items


def generated_drum_hits(folders: list[Path]) -> list[Item]:
    """Drum hits of generated one-shot sets (``benchmarks/datasets/make_oneshots.py``): class =
    the labelled instrument, pack = the source family (fluidr3, csound, avl, freepats, synth), so the
    cross-pack protocol ranks each hit against other kits' hits only."""
    from companion.analysis.instruments import DRUM_HITS

    items: list[Item] = []
    for folder in folders:
        rows = json.loads((folder / "labels.json").read_text())
        for row in rows:
            if row.get("style") == "hit" and row.get("instrument") in DRUM_HITS:
                items.append(Item(folder / row["file"], row["instrument"], row["family"]))
    return items


def load(path: Path) -> np.ndarray:
    """Mono float32 at 22 050 Hz: the project's decoder when present, else soundfile + soxr."""
    try:
        from companion.analysis.audio import decode  # written by another engineer
    except ImportError:
        decode = None
    if decode is not None:
        return np.asarray(decode(path, sr=SR).mono, dtype=np.float32)
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    return soxr.resample(y, sr, SR).astype(np.float32) if sr != SR else y


def mfcc_baseline(y: np.ndarray, sr: int) -> np.ndarray:
    """(40,) mean and std over time of 20 librosa MFCCs, L2-normalised."""
    if y.size < 2048:
        y = np.concatenate([y, np.zeros(2048 - y.size, dtype=y.dtype)])
    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    v = np.concatenate([m.mean(axis=1), m.std(axis=1)]).astype(np.float64)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def precision_at_k(
    vecs: np.ndarray, labels: list[str], packs: list[str], k: int, cross_pack: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-query precision@k and capped precision@k (divided by min(k, eligible relevant))."""
    sims = vecs @ vecs.T
    n = len(labels)
    lab = np.array(labels)
    pk = np.array(packs)
    p = np.zeros(n)
    pcap = np.zeros(n)
    for i in range(n):
        eligible = np.ones(n, dtype=bool)
        eligible[i] = False
        if cross_pack:
            elsewhere = (lab == lab[i]) & (pk != pk[i])
            if elsewhere.any():
                eligible &= pk != pk[i]
        idx = np.flatnonzero(eligible)
        order = idx[np.argsort(-sims[i, idx], kind="stable")][:k]
        hits = int(np.sum(lab[order] == lab[i]))
        relevant = int(np.sum(lab[idx] == lab[i]))
        p[i] = hits / k
        pcap[i] = hits / max(min(k, relevant), 1)
    return p, pcap


def report(name: str, vecs: np.ndarray, items: list[Item], k: int = 10) -> dict[str, float]:
    labels = [it.label for it in items]
    packs = [it.pack for it in items]
    classes = sorted(set(labels))
    lab = np.array(labels)
    out: dict[str, float] = {}
    print(f"\n== {name} ==")
    print(f"{'class':8s} {'n':>3s}  {'p@10 all':>9s} {'cap all':>8s}  {'p@10 xpack':>10s} {'cap xpack':>9s}")
    res = {cp: precision_at_k(vecs, labels, packs, k, cp) for cp in (False, True)}
    for c in classes:
        m = lab == c
        print(
            f"{c:8s} {int(m.sum()):3d}  {res[False][0][m].mean():9.3f} {res[False][1][m].mean():8.3f}"
            f"  {res[True][0][m].mean():10.3f} {res[True][1][m].mean():9.3f}"
        )
    for cp, tag in ((False, "all"), (True, "xpack")):
        p, pcap = res[cp]
        macro = float(np.mean([p[lab == c].mean() for c in classes]))
        out[f"{name}_p10_{tag}"] = float(p.mean())
        out[f"{name}_p10cap_{tag}"] = float(pcap.mean())
        out[f"{name}_p10macro_{tag}"] = macro
        print(f"overall {tag:5s}: p@10={p.mean():.3f}  p@10cap={pcap.mean():.3f}  macro p@10={macro:.3f}")
    return out


def _ceiling(items: list[Item], k: int, cross_pack: bool) -> float:
    """Mean p@k of a perfect ranking: min(k, eligible relevant) / k per query."""
    lab = np.array([it.label for it in items])
    pk = np.array([it.pack for it in items])
    out = []
    for i in range(len(items)):
        eligible = np.ones(len(items), dtype=bool)
        eligible[i] = False
        if cross_pack and ((lab == lab[i]) & (pk != pk[i])).any():
            eligible &= pk != pk[i]
        out.append(min(k, int(np.sum(eligible & (lab == lab[i])))) / k)
    return float(np.mean(out))


def _block_report(vecs: np.ndarray, items: list[Item]) -> None:
    """Precision of each block of the fingerprint on its own (cosine within the block)."""
    from companion.embedding.fingerprint import BLOCKS

    labels = [it.label for it in items]
    packs = [it.pack for it in items]
    print("\n== fingerprint blocks alone ==")
    print(f"{'block':12s} {'p@10 all':>9s} {'p@10 xpack':>10s} {'cap xpack':>9s}")
    for name, (sl, weight) in BLOCKS.items():
        part = vecs[:, sl]
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        part = np.where(norms > 0, part / np.maximum(norms, 1e-12), 0.0)
        a = precision_at_k(part, labels, packs, 10, False)[0].mean()
        x, xc = (r.mean() for r in precision_at_k(part, labels, packs, 10, True))
        present = int((norms[:, 0] > 0).sum())
        print(f"{name:12s} {a:9.3f} {x:10.3f} {xc:9.3f}   (weight {weight}, {present} files non-zero)")


def _resolve(spec: str) -> Callable[[np.ndarray, int], np.ndarray]:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "fingerprint")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--embed", default="companion.embedding.fingerprint:fingerprint", help="module:function to evaluate"
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the MFCC baseline")
    ap.add_argument("--blocks", action="store_true", help="also score each fingerprint block alone")
    ap.add_argument(
        "--oneshots",
        type=Path,
        nargs="+",
        default=None,
        help="instead of the Debian packs: drum hits of generated sets (folders with labels.json "
        "from make_oneshots.py), packs = source families",
    )
    args = ap.parse_args(argv)
    embed = _resolve(args.embed)

    items = generated_drum_hits(args.oneshots) if args.oneshots else labelled_items()
    audio: list[np.ndarray] = []
    kept: list[Item] = []
    for it in items:
        try:
            audio.append(load(it.path))
            kept.append(it)
        except Exception as exc:  # noqa: BLE001 - report and skip undecodable files; the benchmark goes on
            print(f"skipped {it.path}: {exc}", file=sys.stderr)
    items = kept
    if not items:
        print("no labelled samples found (install sonic-pi and lmms sample packages)")
        return 1
    counts = {c: sum(it.label == c for it in items) for c in sorted({it.label for it in items})}
    print(f"{len(items)} labelled one-shots, {len({it.pack for it in items})} packs: {counts}")
    ceiling = {cp: _ceiling(items, 10, cp) for cp in (False, True)}
    print(f"best possible p@10: all {ceiling[False]:.3f}, cross-pack {ceiling[True]:.3f} (p@10cap: 1.000)")

    embed(audio[0], SR)  # warm-up (imports, filter banks)
    t0 = time.process_time()
    vecs = np.stack([embed(y, SR) for y in audio]).astype(np.float64)
    ms_per_file = (time.process_time() - t0) / len(audio) * 1000.0
    secs = sum(y.size for y in audio) / SR / len(audio)
    print(f"fingerprint: {ms_per_file:.1f} ms CPU per file (mean duration {secs:.2f} s)")
    figures = report("fp", vecs, items)
    if args.blocks:
        _block_report(vecs, items)
    if not args.no_baseline:
        base = np.stack([mfcc_baseline(y, SR) for y in audio])
        figures.update(report("mfcc", base, items))
    figures["fp_ms_per_file"] = ms_per_file
    loops = [load(p) for p in sorted(SONIC_PI.glob("loop_*.flac"))] if SONIC_PI.is_dir() else []
    if loops:
        t0 = time.process_time()
        for y in loops:
            embed(y, SR)
        ms_loop = (time.process_time() - t0) / len(loops) * 1000.0
        mean_s = sum(y.size for y in loops) / SR / len(loops)
        print(f"fingerprint: {ms_loop:.1f} ms CPU per loop ({len(loops)} Sonic Pi loops, mean {mean_s:.2f} s)")
        figures["fp_ms_per_loop"] = ms_loop
    figures["n_files"] = float(len(items))
    print(" ".join(f"{k}={v:.3f}" if not k.startswith("n_") else f"{k}={int(v)}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fit the tempo octave model (``companion.analysis.tempo.WEIGHTS``) on generated loops.

Usage::

    python benchmarks/datasets/make_loops.py --set hard --seed 1 --out /tmp/ds/hard1   # etc.
    python benchmarks/datasets/fit_tempo_model.py --train /tmp/ds/hard{1..8} /tmp/ds/easy{1,2} \
        --eval /tmp/ds/hard0 /tmp/ds/easy0 [--write]

Train on draws (seeds) other than the benchmark's seed 0, evaluate on seed 0. The metre is
chosen before the octave (``tempo.choose_metre``); ``--metre DIR… [--metre DIR…]`` prints the
wrong metres of each source at each threshold of the 3/4 evidence, to choose
``tempo.THREE_FOUR_EVIDENCE`` on one source and read it on the others. The model is a
conditional logit: for each loop, every loop-length candidate tempo gets the score
``w · candidate_features``, and the likelihood of the labelled candidate under the softmax of
the scores is maximised with an L2 penalty (scipy L-BFGS). Prints the weights and the Acc1
(among loop-length candidates) of the fitted and current weights; ``--write`` puts the fitted
weights into ``companion/analysis/tempo.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from companion.analysis import tempo
from companion.analysis.features import Features

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis_accuracy import tempo_hits
from leave_one_out import add_arguments, training_items


def _evidence(path: str) -> tuple[Features, float, np.ndarray, float, float]:
    """``(features, duration_s, onset autocorrelation, free_bpm, strength)`` of one loop."""
    from companion.analysis.audio import decode
    from companion.analysis.features import compute_features

    audio = decode(Path(path))
    feat = compute_features(audio.y, audio.sr)
    free_bpm, strength = tempo.free_tempo(feat)
    return feat, audio.duration_s, tempo.onset_autocorrelation(feat.onset), free_bpm, strength


def _loop_features(path: str) -> tuple[list[float], np.ndarray, Features, float]:
    """``(candidate tempi of the chosen metre, their features, the loop's features, duration_s)``."""
    feat, duration_s, ac, free_bpm, strength = _evidence(path)
    ac_low = tempo.low_onset_autocorrelation(feat)
    metre = tempo.choose_metre(feat, ac, duration_s, free_bpm, strength, ac_low=ac_low)
    cands = tempo.loop_length_candidates(duration_s, metre)
    X = (
        np.stack([tempo.candidate_features(feat, bpm, ac, metre, ac_low) for bpm, _ in cands])
        if cands
        else np.zeros((0, len(tempo.FEATURE_NAMES)))
    )
    return [bpm for bpm, _ in cands], X, feat, duration_s


def _metres(path: str) -> list[int]:
    """Beats per bar :func:`tempo.choose_metre` gives the loop at each of :data:`METRE_GRID`."""
    feat, duration_s, ac, free_bpm, strength = _evidence(path)
    return [tempo.choose_metre(feat, ac, duration_s, free_bpm, strength, t) for t in METRE_GRID]


#: Thresholds of the 3/4 evidence tried by ``--metre``.
METRE_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def metre_errors(folders: list[Path]) -> tuple[int, int, list[int]]:
    """``(loops, loops in 3/4, wrong metres at each threshold of METRE_GRID)`` over the folders."""
    rows = [(f, r) for f in folders for r in json.loads((f / "labels.json").read_text()) if r["kind"] == "loop"]
    with ProcessPoolExecutor(2) as pool:
        metres = list(pool.map(_metres, [str(f / r["file"]) for f, r in rows], chunksize=4))
    truth = [r.get("beats_per_bar", 4) for _, r in rows]
    wrong = [sum(m[i] != t for m, t in zip(metres, truth)) for i in range(len(METRE_GRID))]
    return len(rows), sum(t == 3 for t in truth), wrong


def load(folders: list[Path]) -> list[dict]:
    """Candidates, features and labels of every loop in the folders."""
    items = []
    for folder in folders:
        rows = [r for r in json.loads((folder / "labels.json").read_text()) if r["kind"] == "loop"]
        with ProcessPoolExecutor(2) as pool:
            feats = list(pool.map(_loop_features, [str(folder / r["file"]) for r in rows], chunksize=4))
        for row, (cands, X, feat, duration_s) in zip(rows, feats):
            truth = [i for i, c in enumerate(cands) if abs(c - row["bpm"]) <= 0.04 * row["bpm"]]
            items.append(
                {
                    "row": row,
                    "cands": cands,
                    "X": X,
                    "truth": truth[0] if truth else None,
                    "feat": feat,
                    "duration_s": duration_s,
                }
            )
    return items


def neg_log_likelihood(w: np.ndarray, items: list[dict], l2: float) -> tuple[float, np.ndarray]:
    total, grad = 0.0, np.zeros_like(w)
    for it in items:
        if it["truth"] is None or len(it["cands"]) < 2:
            continue
        s = it["X"] @ w
        s -= s.max()
        p = np.exp(s) / np.exp(s).sum()
        total -= np.log(p[it["truth"]] + 1e-12)
        grad -= it["X"][it["truth"]] - p @ it["X"]
    total += l2 * float(w @ w)
    grad += 2 * l2 * w
    return total, grad


def accuracy(w: np.ndarray, items: list[dict]) -> dict[str, float]:
    """Acc1 among the chosen metre's candidates (``"all"``, per style and per metre), and the
    whole estimator's (:func:`tempo.estimate_tempo` with weights ``w``, no name hints): its Acc1
    and Acc2 over all loops and the 3/4 ones, and the share right of its estimates with
    confidence ≥ 0.8 (keys starting with ``"whole"``). Acc1 and Acc2 as
    ``benchmarks/analysis_accuracy.py`` counts them (4 % tolerance; Acc2 forgives ×2, ×½, ×3, ×⅓)."""
    hits: dict[str, list[bool]] = {}
    for it in items:
        ok = bool(it["cands"]) and it["truth"] is not None and int(np.argmax(it["X"] @ w)) == it["truth"]
        metre = "3/4" if it["row"].get("beats_per_bar", 4) == 3 else "4/4"
        for g in (it["row"]["style"], metre, "all"):
            hits.setdefault(g, []).append(ok)
        est = tempo.estimate_tempo(it["feat"], it["duration_s"], weights=w)
        acc1, acc2 = tempo_hits(est.bpm, it["row"]["bpm"])
        figures = {"whole Acc1": acc1, "whole Acc2": acc2}
        if metre == "3/4":
            figures |= {"whole 3/4 Acc1": acc1, "whole 3/4 Acc2": acc2}
        if est.confidence >= 0.8:
            figures["whole right at confidence >= 0.8"] = acc1
        for g, value in figures.items():
            hits.setdefault(g, []).append(value)
    return {g: float(np.mean(v)) for g, v in sorted(hits.items())}


def write_weights(w: np.ndarray, train: list[Path], l2: float) -> Path:
    """Replace the ``WEIGHTS`` literal in tempo.py, and the comment above it, with ``w``.

    Raises:
        RuntimeError: tempo.py has no such literal.
    """
    path = Path(tempo.__file__)
    text = path.read_text()
    source = textwrap.wrap(
        f"Weights fitted by benchmarks/datasets/fit_tempo_model.py (L2 = {l2:g}) on the loops of "
        + " ".join(p.name for p in train)
        + "; do not edit by hand.",
        width=92,
    )
    body = (
        "".join(f"#: {line}\n" for line in source)
        + "WEIGHTS = np.array(\n    [\n"
        + "".join(f"        {v:.3f},  # {name}\n" for v, name in zip(w, tempo.FEATURE_NAMES))
        + "    ]\n)"
    )
    new, count = re.subn(
        r"#: Weights fitted by.*?WEIGHTS = np\.array\(.*?\]\s*\)", lambda _: body, text, count=1, flags=re.S
    )
    if count != 1:
        raise RuntimeError(f"no WEIGHTS literal found in {path}")
    path.write_text(new)
    return path


def fit(items: list[dict], l2: float) -> np.ndarray:
    """Weights (len(FEATURE_NAMES),) float64 maximising the penalised likelihood over ``items``."""
    start = np.zeros(len(tempo.FEATURE_NAMES))
    return minimize(neg_log_likelihood, start, args=(items, l2), jac=True, method="L-BFGS-B").x


def main() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parser.add_argument("--write", action="store_true", help="put the weights into tempo.py")
    parser.add_argument(
        "--metre",
        type=Path,
        nargs="+",
        action="append",
        default=[],
        metavar="DIR",
        help="print how many loops of these folders get the wrong metre at each 3/4 evidence "
        "threshold, and exit (repeat for each source)",
    )
    args = parser.parse_args()
    if args.metre:
        print("wrong metres at 3/4 evidence " + " ".join(f"{t:g}" for t in METRE_GRID))
        for folders in args.metre:
            n, n3, wrong = metre_errors(folders)
            print(f"  {','.join(f.name for f in folders)}: {n} loops, {n3} in 3/4: " + " ".join(map(str, wrong)))
        return
    train = training_items(parser, args, load, fit, accuracy, "tempo octave model: Acc1 among loop-length candidates")
    w = fit(train, args.l2)
    for name, value in zip(tempo.FEATURE_NAMES, w):
        print(f"  {name:<16} {value:+.3f}")
    print("train acc (fitted):", accuracy(w, train)["all"], " current:", accuracy(tempo.WEIGHTS, train)["all"])
    if args.eval:
        ev = load(args.eval)
        fitted, current = accuracy(w, ev), accuracy(tempo.WEIGHTS, ev)
        for g in fitted:
            print(f"  eval {g:<24} fitted {fitted[g]:.3f}  current {current[g]:.3f}")
    if args.write:
        print(f"wrote {write_weights(w, args.train, args.l2)}")


if __name__ == "__main__":
    main()

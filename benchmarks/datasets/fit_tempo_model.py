"""Fit the tempo octave model (``companion.analysis.tempo.WEIGHTS``) on generated loops.

Usage::

    python benchmarks/datasets/make_loops.py --set hard --seed 1 --out /tmp/ds/hard1   # etc.
    python benchmarks/datasets/fit_tempo_model.py --train /tmp/ds/hard1 /tmp/ds/hard2 /tmp/ds/easy1 \
        --eval /tmp/ds/hard0 /tmp/ds/easy0

Train on draws (seeds) other than the benchmark's seed 0, evaluate on seed 0. The model is a
conditional logit: for each loop, every loop-length candidate tempo gets the score
``w · candidate_features``, and the likelihood of the labelled candidate under the softmax of
the scores is maximised with an L2 penalty (scipy L-BFGS). Prints the weights as a Python
literal to paste into ``tempo.py``, and the Acc1 of the fitted and current weights.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from companion.analysis import tempo


def _loop_features(path: str) -> tuple[list[float], np.ndarray, float, float]:
    from companion.analysis.audio import decode
    from companion.analysis.features import compute_features

    audio = decode(Path(path))
    feat = compute_features(audio.y, audio.sr)
    cands = tempo.loop_length_candidates(audio.duration_s)
    ac = tempo.onset_autocorrelation(feat.onset)
    X = np.stack([tempo.candidate_features(feat, bpm, ac) for bpm, _ in cands]) if cands else np.zeros((0, len(tempo.FEATURE_NAMES)))
    free_bpm, strength = tempo.free_tempo(feat)
    return [bpm for bpm, _ in cands], X, free_bpm, strength


def load(folders: list[Path]) -> list[dict]:
    """Candidates, features and labels of every loop in the folders."""
    items = []
    for folder in folders:
        rows = [r for r in json.loads((folder / "labels.json").read_text()) if r["kind"] == "loop"]
        with ProcessPoolExecutor(2) as pool:
            feats = list(pool.map(_loop_features, [str(folder / r["file"]) for r in rows], chunksize=4))
        for row, (cands, X, free_bpm, strength) in zip(rows, feats):
            truth = [i for i, c in enumerate(cands) if abs(c - row["bpm"]) <= 0.04 * row["bpm"]]
            items.append({"row": row, "cands": cands, "X": X, "truth": truth[0] if truth else None})
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
    hits: dict[str, list[bool]] = {}
    for it in items:
        ok = bool(it["cands"]) and it["truth"] is not None and int(np.argmax(it["X"] @ w)) == it["truth"]
        for g in (it["row"]["style"], "all"):
            hits.setdefault(g, []).append(ok)
    return {g: float(np.mean(v)) for g, v in sorted(hits.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, nargs="+", required=True)
    parser.add_argument("--eval", type=Path, nargs="*", default=[])
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    train = load(args.train)
    res = minimize(neg_log_likelihood, tempo.WEIGHTS.astype(float), args=(train, args.l2), jac=True, method="L-BFGS-B")
    w = res.x
    print("WEIGHTS = np.array([" + ", ".join(f"{v:.3f}" for v in w) + "])")
    for name, value in zip(tempo.FEATURE_NAMES, w):
        print(f"  {name:<16} {value:+.3f}")
    print("train acc (fitted):", accuracy(w, train)["all"], " current:", accuracy(tempo.WEIGHTS, train)["all"])
    if args.eval:
        ev = load(args.eval)
        fitted, current = accuracy(w, ev), accuracy(tempo.WEIGHTS, ev)
        for g in fitted:
            print(f"  eval {g:<24} fitted {fitted[g]:.3f}  current {current[g]:.3f}")


if __name__ == "__main__":
    main()

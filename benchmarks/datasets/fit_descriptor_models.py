"""Fit the kind (loop / one-shot) and instrument models, validated on source families held out.

Usage::

    for s in fluidr3 fluidr3mono csound avl synth; do
        python benchmarks/datasets/make_oneshots.py --source $s --out /tmp/os/$s; done
    python benchmarks/datasets/make_loops.py --set hard --seed 1 --out /tmp/loops/fluidr3_hard1
    python benchmarks/datasets/make_loops.py --set hard --seed 2 --out /tmp/loops/fluidr3_hard2
    python benchmarks/datasets/make_loops.py --set hard --seed 1 --out /tmp/loops/csound_hard1 \\
        --soundfont /usr/share/sounds/sf2/sf_GMbank.sf2
    python benchmarks/datasets/fit_descriptor_models.py --oneshots /tmp/os --loops /tmp/loops [--write]

Protocol (issue: "an honest validation protocol"):

* Model selection (logistic regression or a one-hidden-layer MLP, and its regularisation: C or
  alpha; for the instrument model with ``--cnn-lofo``, also its weight in the pool with the
  networks) and the confidence threshold use only
  leave-one-family-out predictions over the fitting families (``fluidr3`` = FluidR3 GM + FluidR3
  Mono, ``csound``, ``avl``, ``freepats``, ``synth``): every prediction comes from a model that
  saw no file of that family. The choice is also made once without each family in turn, and
  that family's accuracy printed: what the choosing itself costs out of family.
* The Debian libraries (Sonic Pi, LMMS; labels from their names; see ``labelled_sets.py``) are
  whole packs never fitted on nor used to choose anything: their figures are reported only.
* Reserved for acceptance checks and never read here: TimGM6mb, MuseScore General, OPL-3 FM,
  ``hydrogen-drumkits``.

``--write`` fits the chosen configuration on all fitting families and writes
``companion/analysis/models/{kind,instrument}.npz``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labelled_sets as L
from reliability import print_reliability as reliability

from companion.analysis.descriptors import NAMES
from companion.analysis.fitted import MODEL_DIR, FittedModel
from companion.analysis.instrument_model import DESCRIPTOR_WEIGHT, network_proba, pool
from companion.analysis.instruments import DRUM_HITS

FAMILIES = ("fluidr3", "csound", "avl", "freepats", "synth")
KIND_COLUMNS = np.asarray([i for i, n in enumerate(NAMES) if not n.startswith(("mel", "mfcc"))])
ALL_COLUMNS = np.arange(len(NAMES))
C_GRID = (0.03, 0.1, 0.3, 1.0)
#: L2 penalty grid of the MLP (one hidden layer of MLP_UNITS ReLU units, scikit-learn's
#: MLPClassifier with Adam); chosen, like C, on leave-one-family-out predictions only.
ALPHA_GRID = (0.1, 1.0, 3.0)
#: Weights of the descriptor model in the pool with the instrument networks
#: (:func:`companion.analysis.instrument_model.pool`), chosen with the configuration.
WEIGHT_GRID = (0.2, 0.3, 0.4, 0.5)
MLP_UNITS = 64
TARGET_PRECISION = 0.9


def load(oneshots: Path, loops: Path) -> tuple[np.ndarray, list[dict]]:
    """Descriptors and label rows of every fitting set found under the two folders."""
    xs, rows = [], []
    for folder in sorted(p for p in oneshots.iterdir() if (p / "labels.json").exists()):
        X, r = L.generated_set(folder)
        xs.append(X)
        rows += r
    for folder in sorted(p for p in loops.iterdir() if (p / "labels.json").exists()):
        source = folder.name.split("_")[0]
        X, r = L.loop_set(folder, source, L_FAMILY.get(source, source))
        xs.append(X)
        rows += r
    return np.vstack(xs), rows


L_FAMILY = {"fluidr3": "fluidr3", "fluidr3mono": "fluidr3", "csound": "csound"}


def _fit(X: np.ndarray, y: np.ndarray, config: tuple[str, float]):
    """Standardiser and classifier for one configuration: ``("logistic", C)`` or ``("mlp", alpha)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    kind, value = config
    if kind == "logistic":
        return scaler, LogisticRegression(C=value, max_iter=5000, class_weight="balanced").fit(Z, y)
    # The MLP has no class weights: balance the classes by repeating the rarer ones' rows.
    classes, counts = np.unique(y, return_counts=True)
    reps = np.concatenate(
        [np.repeat(np.flatnonzero(y == c), int(round(counts.max() / n))) for c, n in zip(classes, counts)]
    )
    mlp = MLPClassifier(hidden_layer_sizes=(MLP_UNITS,), alpha=value, max_iter=400, random_state=0)
    return scaler, mlp.fit(Z[reps], y[reps])


def _to_model(scaler, clf, columns: np.ndarray, min_conf: float) -> FittedModel:
    if hasattr(clf, "coefs_"):  # MLPClassifier: coefs_ are (inputs, units) per layer
        hidden = tuple(
            (w.T.astype(np.float64), b.astype(np.float64)) for w, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1])
        )
        weights, bias = clf.coefs_[-1].T.astype(np.float64), clf.intercepts_[-1].astype(np.float64)
    else:
        hidden, weights, bias = (), clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)
    return FittedModel(
        classes=tuple(str(c) for c in clf.classes_),
        columns=columns,
        mean=scaler.mean_,
        scale=scaler.scale_,
        weights=weights,
        bias=bias,
        min_confidence=min_conf,
        hidden=hidden,
    )


def out_of_family_proba(
    X: np.ndarray, y: np.ndarray, fam: np.ndarray, columns: np.ndarray, config: tuple[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-family-out probabilities (n, k) over the classes (k,) of ``y``, sorted."""
    classes = np.unique(y)
    P = np.zeros((len(y), len(classes)))
    for f in FAMILIES:
        test = fam == f
        if not test.any():
            continue
        scaler, clf = _fit(X[~test][:, columns], y[~test], config)
        cols = np.searchsorted(classes, clf.classes_)
        P[np.ix_(np.flatnonzero(test), cols)] = clf.predict_proba(scaler.transform(X[test][:, columns]))
    return P, classes


def family_accuracies(pred: np.ndarray, y: np.ndarray, fam: np.ndarray) -> list[float]:
    """Accuracy of ``pred`` against ``y`` within each fitting family present, in FAMILIES order."""
    return [float((pred[fam == f] == y[fam == f]).mean()) for f in FAMILIES if (fam == f).any()]


def network_lofo(path: Path, rows: list[dict], classes: np.ndarray) -> np.ndarray:
    """The instrument network's held-out probabilities (``fit_instrument_cnn.py``) for ``rows``,
    columns in the order of ``classes``.

    Raises:
        SystemExit: a row has none (the two scripts saw different sets) or the classes differ.
    """
    data = np.load(path, allow_pickle=False)
    if list(data["classes"]) != list(classes):
        raise SystemExit(f"{path}: classes {list(data['classes'])} differ from {list(classes)}")
    where = {p: i for i, p in enumerate(data["paths"])}
    missing = [r["path"] for r in rows if r["path"] not in where]
    if missing:
        raise SystemExit(
            f"{path} has no probabilities for {len(missing)} files, e.g. {missing[0]}: rerun fit_instrument_cnn.py"
        )
    return data["P"][[where[r["path"]] for r in rows]]


def threshold(correct: np.ndarray, conf: np.ndarray) -> float:
    """Smallest probability t (grid 0.5–0.99) with precision ≥ TARGET_PRECISION on ``conf ≥ t``."""
    for t in np.arange(0.5, 0.995, 0.01):
        sel = conf >= t
        if sel.sum() >= 10 and correct[sel].mean() >= TARGET_PRECISION:
            return round(float(t), 2)
    return 0.99


def per_group(title: str, groups: np.ndarray, correct: np.ndarray) -> None:
    print(
        f"  {title}: "
        + ", ".join(
            f"{g} {correct[groups == g].mean():.3f} (n={int((groups == g).sum())})" for g in sorted(set(groups))
        )
    )


def run(
    task: str,
    X: np.ndarray,
    rows: list[dict],
    Xd: np.ndarray,
    rows_d: list[dict],
    write: bool,
    models: tuple[str, ...],
    cnn_lofo: Path | None = None,
) -> None:
    if task == "kind":
        keep = np.ones(len(rows), dtype=bool)
        y = np.asarray([r["kind"] for r in rows])
        yd = np.asarray([r["kind"] for r in rows_d])
        keep_d = np.ones(len(rows_d), dtype=bool)
        columns = KIND_COLUMNS
    else:
        keep = np.asarray([r.get("instrument") is not None for r in rows])
        y = np.asarray([r.get("instrument") or "" for r in rows])
        yd = np.asarray([r.get("instrument") or "" for r in rows_d])
        keep_d = yd != ""
        columns = ALL_COLUMNS
    fam = np.asarray([r["family"] for r in rows])
    Xk, yk, fk = X[keep], y[keep], fam[keep]
    print(
        f"\n== {task}: {len(yk)} fitting files in families "
        + ", ".join(f"{f} {int((fk == f).sum())}" for f in FAMILIES)
    )
    network = None
    if task == "instrument" and cnn_lofo is not None:
        classes = np.unique(yk)
        network = network_lofo(cnn_lofo, [r for r, k in zip(rows, keep) if k], classes)
        print(
            "  network alone (fit_instrument_cnn.py): held-out family accuracy "
            + ", ".join(f"{a:.3f}" for a in family_accuracies(classes[network.argmax(axis=1)], yk, fk))
        )
    configs = [("logistic", c) for c in C_GRID] * ("logistic" in models) + [("mlp", a) for a in ALPHA_GRID] * (
        "mlp" in models
    )
    # every candidate: (configuration, pooling weight, held-out predictions, their confidences
    # (the top probability), accuracy per held-out family)
    candidates: list[tuple[tuple[str, float], float | None, np.ndarray, np.ndarray, list[float]]] = []
    for config in configs:
        P, classes = out_of_family_proba(Xk, yk, fk, columns, config)
        label = f"{config[0]} {'C' if config[0] == 'logistic' else 'alpha'}={config[1]}"
        pooled = [(None, P, label)]
        if network is not None:
            accs = family_accuracies(classes[P.argmax(axis=1)], yk, fk)
            print(f"  {label} alone: " + ", ".join(f"{a:.3f}" for a in accs) + f"  (mean {np.mean(accs):.3f})")
            pooled = [(w, pool(P, network, w), f"{label} pooled with the network, weight {w}") for w in WEIGHT_GRID]
        for w, Q, name in pooled:
            pred, conf = classes[Q.argmax(axis=1)], Q.max(axis=1)
            accs = family_accuracies(pred, yk, fk)
            print(
                f"  {name}: held-out family accuracy "
                + ", ".join(f"{a:.3f}" for a in accs)
                + f"  (mean {np.mean(accs):.3f})",
                flush=True,
            )
            candidates.append((config, w, pred, conf, accs))
    scores = np.asarray([c[4] for c in candidates])  # (candidates, families)
    config, weight, pred, conf, _ = candidates[int(scores.mean(axis=1).argmax())]
    if len(candidates) > 1:
        # the choice itself, made without each family in turn: what choosing costs out of family
        nested = [scores[int(np.delete(scores, i, axis=1).mean(axis=1).argmax()), i] for i in range(scores.shape[1])]
        print(
            "  chosen without the family it is read on: "
            + ", ".join(f"{a:.3f}" for a in nested)
            + f"  (mean {np.mean(nested):.3f})"
        )
    correct = pred == yk
    t = threshold(correct, conf)
    print(
        f"  chosen {config}"
        + (f", descriptor weight {weight}" if weight is not None else "")
        + f"; trusted from probability {t} (≥ {TARGET_PRECISION:.0%} right out of family)"
    )
    per_group("held-out accuracy per family", fk, correct)
    styles = np.asarray([r.get("style", "") for r in rows])[keep]
    per_group("per style", styles, correct)
    if task == "instrument":
        drums = np.isin(yk, list(DRUM_HITS))
        print(
            f"  drum hits across kits {correct[drums].mean():.3f}, pitched families {correct[~drums & (yk != 'drums') & (yk != 'fx')].mean():.3f}"
        )
        per_group("per class", yk, correct)
    reliability("held-out families", correct, conf)
    scaler, clf = _fit(Xk[:, columns], yk, config)
    model = _to_model(scaler, clf, columns, t)
    p = model.proba(Xd[keep_d])
    if network is not None:
        # the networks written by fit_instrument_cnn.py --write, in its own process
        p = pool(p, np.stack([network_proba(m)[1] for m in L.debian_patches(rows_d)[keep_d]]), weight)
    pd_ = np.asarray(model.classes)[p.argmax(axis=1)]
    cd = p.max(axis=1)
    ok = pd_ == yd[keep_d]
    src = np.asarray([r["source"] for r in rows_d])[keep_d]
    print(
        f"  Debian libraries (never fitted on): accuracy {ok.mean():.3f} on {ok.size} files; "
        f"trusted (p ≥ {t}) {np.mean(cd >= t):.0%} of them, {ok[cd >= t].mean() if (cd >= t).any() else float('nan'):.3f} right"
    )
    per_group("per pack", src, ok)
    if task == "instrument":
        drums = np.isin(yd[keep_d], list(DRUM_HITS))
        print(
            f"  Debian drum hits {ok[drums].mean():.3f} (n={drums.sum()}), other {ok[~drums].mean():.3f} (n={(~drums).sum()})"
        )
    reliability("Debian", ok, cd)
    if write:
        MODEL_DIR.mkdir(exist_ok=True)
        model.save(MODEL_DIR / f"{task}.npz")
        print(f"  wrote {MODEL_DIR / (task + '.npz')}")
        if weight is not None and weight != DESCRIPTOR_WEIGHT:
            print(f"  the app pools with weight {DESCRIPTOR_WEIGHT}: set instrument_model.DESCRIPTOR_WEIGHT = {weight}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oneshots", type=Path, required=True)
    parser.add_argument("--loops", type=Path, required=True)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--task", choices=("kind", "instrument", "both"), default="both")
    parser.add_argument(
        "--models", default="logistic,mlp", help="model families to choose from (comma-separated: logistic, mlp)"
    )
    parser.add_argument(
        "--cnn-lofo",
        type=Path,
        help="held-out probabilities of the instrument network (fit_instrument_cnn.py): choose the "
        "instrument model and its threshold on the pooled probabilities, as the app pools them",
    )
    args = parser.parse_args(argv)
    X, rows = load(args.oneshots, args.loops)
    Xd, rows_d = L.debian_sets()
    good = np.isfinite(X).all(axis=1)
    X, rows = X[good], [r for r, g in zip(rows, good) if g]
    good_d = np.isfinite(Xd).all(axis=1)
    Xd, rows_d = Xd[good_d], [r for r, g in zip(rows_d, good_d) if g]
    for task in ("kind", "instrument") if args.task == "both" else (args.task,):
        run(task, X, rows, Xd, rows_d, args.write, tuple(args.models.split(",")), args.cnn_lofo)


if __name__ == "__main__":
    main()

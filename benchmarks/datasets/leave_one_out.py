"""Leave-one-generator-out fitting, shared by the tempo and key fit scripts.

A *group* is every labelled folder made by one generator (``make_loops.py``,
``compose_band_loops.py``, ``compose_synth_loops.py``), whatever its seed or soundfont. A model
fitted on the other groups and scored on the held-out one says how it does on music whose
progressions, grooves, voicings and sounds it never met; a held-out seed of the same generator
does not (issue 13, item 1). The penalty is chosen on the mean of those held-out scores, and the
shipped model is then fitted on every group.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

Item = TypeVar("Item")

#: L2 penalties tried leaving one generator out.
PENALTIES = (0.3, 1.0, 3.0, 10.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fit scripts' shared options: ``--train``, ``--eval``, ``--group``, ``--l2``."""
    parser.add_argument("--train", type=Path, nargs="+", default=[])
    parser.add_argument("--eval", type=Path, nargs="*", default=[])
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=DIR[,DIR…]",
        help="the folders of one generator; with two or more, the penalty is chosen leaving one "
        "generator out and the model is fitted on all of them",
    )
    parser.add_argument("--l2", type=float, default=1.0)


def training_items(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    load: Callable[[list[Path]], list[Item]],
    fit: Callable[[list[Item], float], np.ndarray],
    score: Callable[[np.ndarray, list[Item]], dict[str, float]],
    title: str,
) -> list[Item]:
    """The items to fit the shipped model on, from ``--group`` (choosing ``args.l2`` leaving one
    generator out, printing the table, and setting ``args.train`` to every group's folders) or
    from ``--train``.

    Raises:
        SystemExit: neither was given (through ``parser.error``).
    """
    groups = dict(parse_group(spec) for spec in args.group)
    if groups:
        data = {name: load(folders) for name, folders in groups.items()}
        args.l2, table = leave_one_group_out(data, fit, score, PENALTIES)
        print_table(title, args.l2, table)
        args.train = [f for folders in groups.values() for f in folders]
        return [it for items in data.values() for it in items]
    if not args.train:
        parser.error("give --train or two or more --group")
    return load(args.train)


def parse_group(spec: str) -> tuple[str, list[Path]]:
    """``NAME=DIR[,DIR…]`` as (name, folders).

    Raises:
        ValueError: no ``=`` or no folder, or a folder without ``labels.json``.
    """
    name, sep, rest = spec.partition("=")
    folders = [Path(p) for p in rest.split(",") if p]
    if not sep or not name or not folders:
        raise ValueError(f"a group is NAME=DIR[,DIR…], got {spec!r}")
    for folder in folders:
        if not (folder / "labels.json").exists():
            raise ValueError(f"{folder} has no labels.json")
    return name, folders


def leave_one_group_out(
    groups: dict[str, list[Item]],
    fit: Callable[[list[Item], float], np.ndarray],
    score: Callable[[np.ndarray, list[Item]], dict[str, float]],
    penalties: Sequence[float],
) -> tuple[float, dict[float, dict[str, dict[str, float]]]]:
    """Held-out scores of every group for every penalty, and the penalty with the best mean.

    Args:
        groups: items (loops with their features and labels) per group; at least two groups.
        fit: ``fit(items, l2)`` → weights.
        score: ``score(weights, items)`` → figures per style plus ``"all"`` (higher is better).
        penalties: L2 penalties to try.

    Returns:
        ``(best_l2, table)`` where ``table[l2][group]`` is ``score`` of the model fitted on the
        other groups, scored on ``group``; best by the mean over groups of ``"all"``.

    Raises:
        ValueError: fewer than two groups.
    """
    if len(groups) < 2:
        raise ValueError("leave-one-group-out needs at least two groups")
    table: dict[float, dict[str, dict[str, float]]] = {}
    for l2 in penalties:
        table[l2] = {}
        for held in groups:
            train = [it for name, items in groups.items() if name != held for it in items]
            table[l2][held] = score(fit(train, l2), groups[held])
    best = max(penalties, key=lambda l2: float(np.mean([t["all"] for t in table[l2].values()])))
    return best, table


def print_table(title: str, best: float, table: dict[float, dict[str, dict[str, Any]]]) -> None:
    """Print :func:`leave_one_group_out`'s table: per penalty the held-out figure of each group
    and their mean, then per style for the chosen penalty."""
    print(f"\n== {title}, leave one generator out (each figure from a model that never saw its generator)")
    for l2, per_group in table.items():
        cells = " ".join(f"{g}={s['all']:.3f}" for g, s in per_group.items())
        mean = np.mean([s["all"] for s in per_group.values()])
        print(f"   l2={l2:<6g} {cells}  mean={mean:.3f}" + ("  <- chosen" if l2 == best else ""))
    for group, styles in table[best].items():
        print(f"   {group}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(styles.items()) if k != "all"))

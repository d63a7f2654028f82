"""The import graph of ``companion`` follows its layers.

Every module under ``companion/`` is parsed (``ast``, no import is executed) and each of its
imports — at the top of the file, inside functions, under ``TYPE_CHECKING`` or ``try`` alike —
is checked against the layer table below. A module may import its own layer and the layers
beneath it, never one above. A failure names the importing file and line.

Layers, low to high (a unit is a top-level module or subpackage of ``companion``):

=========  =====================================================  ================================
layer      units                                                  what lives there
=========  =====================================================  ================================
foundation ``companion`` (the package), ``errors``, ``settings``,  domain errors, the typed
           ``logging_setup``, ``music``                           settings, logs, musical keys
analysis   ``analysis``                                           reading audio, tempo, key, kind
embedding  ``embedding``                                          fingerprint and CLAP vectors,
                                                                  vector indexes
library    ``library``                                            the catalog (SQLite), scanning,
                                                                  watching, backfilling vectors
ranking    ``ranking``                                            candidates, filters, scoring
services   ``preview``, ``sync``, ``bridge``                      audition, hub sync, DAW (OSC)
engine     ``engine``                                             library + session + ranker
app        ``app``                                                the Qt-free application layer
top        ``ui``, ``cli``, ``selftest``, ``__main__``            the front ends
=========  =====================================================  ================================

Besides the layers:

- ``ui`` and ``cli`` never import each other (two front ends over ``app``), but for the one
  launcher: ``companion gui`` (``cli/commands/gui.py``) starts the window;
- no import cycle between units, even within one layer (``preview`` ↔ ``sync`` would be one);
- only ``companion/ui`` imports Qt (``PySide6``), and ``selftest`` to check that Qt loads; the
  packaging scripts outside ``companion/`` may too;
- the hub (``hub/``) and the shared protocol (``protocol/``) never import ``companion``, and the
  protocol never imports the hub.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "companion"

#: Layers, lowest first; each lists its units (``companion.<unit>``; ``""`` = the package itself).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("", "errors", "settings", "logging_setup", "music")),
    ("analysis", ("analysis",)),
    ("embedding", ("embedding",)),
    ("library", ("library",)),
    ("ranking", ("ranking",)),
    ("services", ("preview", "sync", "bridge")),
    ("engine", ("engine",)),
    ("app", ("app",)),
    ("top", ("ui", "cli", "selftest", "__main__")),
)
#: Units of one layer that must not import each other.
APART: tuple[frozenset[str], ...] = (frozenset({"ui", "cli"}),)
#: (importing module, imported module prefix) pairs allowed across APART: the launcher only.
LAUNCHERS = frozenset({("companion.cli.commands.gui", "companion.ui.app")})
#: The only units that may import Qt: the window, and the self-test that checks Qt loads.
QT_UNITS = frozenset({"ui", "selftest"})

LEVEL = {unit: level for level, (_, units) in enumerate(LAYERS) for unit in units}
LAYER_NAME = {unit: name for name, units in LAYERS for unit in units}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as written in ``path`` at ``line``."""

    path: Path
    line: int
    module: str  # the importing module, dotted
    target: str  # the imported module (or ``package.name`` for ``from package import name``)

    def where(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every import in the file (any depth), relative imports resolved; ``root`` is the folder
    that module names are relative to."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, module, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:  # ``from companion import errors`` imports companion.errors
                yield Import(path, node.lineno, module, f"{source}.{alias.name}")


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "build" not in p.relative_to(folder).parts)


def unit_of(dotted: str) -> str | None:
    """The unit of a ``companion`` module (``companion.library.catalog`` → ``library``); None
    outside ``companion``. ``companion.__version__`` and the like belong to the package (``""``)."""
    parts = dotted.split(".")
    if parts[0] != "companion":
        return None
    if len(parts) == 1:
        return ""
    unit = parts[1]
    if (PACKAGE / unit).is_dir() or (PACKAGE / f"{unit}.py").is_file():
        return unit
    return ""  # a name defined in companion/__init__.py


def companion_imports() -> list[Import]:
    return [imp for path in python_files(PACKAGE) for imp in imports_of(path)]


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(module_name(p)) for p in python_files(PACKAGE)}
    missing = sorted(u for u in units if u not in LEVEL)
    assert not missing, f"add these units of companion/ to LAYERS in {Path(__file__).name}: {missing}"


def test_no_import_goes_up_a_layer() -> None:
    problems = []
    for imp in companion_imports():
        source, target = unit_of(imp.module), unit_of(imp.target)
        if target is None or source is None or source not in LEVEL or target not in LEVEL:
            continue
        if LEVEL[target] > LEVEL[source]:
            problems.append(
                f"{imp.where()}: {imp.module} ({LAYER_NAME[source]}) imports {imp.target} "
                f"({LAYER_NAME[target]}, a higher layer)"
            )
        elif (
            source != target
            and any({source, target} <= apart for apart in APART)
            and not any(imp.module == m and imp.target.startswith(t) for m, t in LAUNCHERS)
        ):
            problems.append(f"{imp.where()}: {imp.module} imports {imp.target} ({source} and {target} stay apart)")
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_import_cycle_between_units() -> None:
    edges: dict[str, dict[str, Import]] = {}
    for imp in companion_imports():
        source, target = unit_of(imp.module), unit_of(imp.target)
        if source is not None and target is not None and source != target and "" not in (source, target):
            edges.setdefault(source, {}).setdefault(target, imp)
    cycles = [c for c in strongly_connected(edges) if len(c) > 1]
    report = []
    for cycle in cycles:
        report.append(" ↔ ".join(sorted(cycle)) + ":")
        report += [
            f"  {imp.where()}: {imp.module} imports {imp.target}"
            for a in sorted(cycle)
            for b, imp in sorted(edges.get(a, {}).items())
            if b in cycle
        ]
    assert not cycles, "import cycles between units of companion/:\n" + "\n".join(report)


def test_only_the_ui_imports_qt() -> None:
    problems = [
        f"{imp.where()}: {imp.module} imports {imp.target}"
        for imp in companion_imports()
        if imp.target.split(".")[0] == "PySide6" and unit_of(imp.module) not in QT_UNITS
    ]
    assert not problems, "Qt imported outside companion/ui and the self-test:\n" + "\n".join(problems)


def test_hub_and_protocol_never_import_the_desktop() -> None:
    """The hub and the protocol are distributions of their own (whatever their layout)."""
    forbidden = {"hub": {"companion"}, "protocol": {"companion", "samplemind_hub", "hub"}}
    checked = 0
    problems = []
    for folder, names in forbidden.items():
        for path in python_files(ROOT / folder) if (ROOT / folder).is_dir() else []:
            checked += 1
            problems += [
                f"{imp.where()}: imports {imp.target}" for imp in imports_of(path) if imp.target.split(".")[0] in names
            ]
    assert checked, "found no hub or protocol sources to check"
    assert not problems, "the hub or the protocol imports the desktop:\n" + "\n".join(problems)


def strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's strongly connected components of the unit graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            out.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_checks_see_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The parser itself: imports inside functions and relative ones are found and resolved."""
    pkg = tmp_path / "companion" / "library"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    src = pkg / "x.py"
    src.write_text("from . import catalog\n\ndef f():\n    from ..ui import app\n    import PySide6.QtCore\n")
    found = [(i.line, i.module, i.target) for i in imports_of(src, root=tmp_path)]
    assert found == [
        (1, "companion.library.x", "companion.library.catalog"),
        (4, "companion.library.x", "companion.ui.app"),
        (5, "companion.library.x", "PySide6.QtCore"),
    ]

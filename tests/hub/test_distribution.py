"""The hub is its own distribution: its wheel and its imports stay clear of the desktop.

``samplemind-hub`` (``hub/``) depends on the shared ``samplemind-protocol`` (``protocol/``) and on
its web and database stack, never on ``samplemind-companion`` and its audio stack (librosa,
scipy) or Qt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DESKTOP_ONLY = ("samplemind-companion", "librosa", "scipy", "pyside6", "pyside6-essentials")
DESKTOP_MODULES = ("companion", "librosa", "scipy", "PySide6")


def _copy_project(name: str, dest: Path) -> Path:
    """Copy ``REPO/name`` to ``dest/name`` without build leftovers (the build writes in place)."""
    return Path(
        shutil.copytree(
            REPO / name,
            dest / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
        )
    )


def test_the_hub_wheel_requires_the_protocol_and_nothing_of_the_desktop(tmp_path: Path) -> None:
    hub = _copy_project("hub", tmp_path)
    protocol = _copy_project("protocol", tmp_path)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--wheel-dir",
            str(wheels),
            str(hub),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("samplemind_hub-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(zf.read(metadata_name).decode("utf-8"))
        entry_points = zf.read(metadata_name.replace("METADATA", "entry_points.txt")).decode("utf-8")
    requires = metadata.get_all("Requires-Dist") or []
    names_required = {
        r.split(";")[0].split("[")[0].split("@")[0].split(">")[0].split("=")[0].strip().lower() for r in requires
    }
    assert not names_required & set(DESKTOP_ONLY), requires
    assert {"fastapi", "psycopg", "pgvector", "pyjwt", "samplemind-protocol"} <= names_required, requires
    # The protocol (not on PyPI) comes as a direct reference to the sibling folder.
    assert f"samplemind-protocol @ {protocol.as_uri()}" in requires, requires
    assert any(r.startswith("pgserver") and 'extra == "embedded"' in r for r in requires), requires
    assert "samplemind-hub = samplemind_hub.cli:main" in entry_points
    assert "samplemind_hub/migrations/001_initial.sql" in names
    assert not [n for n in names if n.startswith(("companion/", "samplemind_protocol/"))]


def _imported_after(code: str, tmp_path: Path) -> list[str]:
    """Top-level modules imported by ``code`` in a fresh interpreter, outside the repository."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_hub_imports_nothing_of_the_desktop(tmp_path: Path) -> None:
    modules = _imported_after(
        "import samplemind_hub.app, samplemind_hub.cli, samplemind_hub.testing\n"
        "from samplemind_hub.rules import packaged_default_rules, validate_rules\n"
        "validate_rules(packaged_default_rules())  # the rules parser, once the desktop's",
        tmp_path,
    )
    assert "samplemind_hub" in modules and "samplemind_protocol" in modules
    assert not [m for m in DESKTOP_MODULES if m in modules]


def test_the_protocol_imports_only_pydantic(tmp_path: Path) -> None:
    modules = _imported_after(
        "import samplemind_protocol.rules, samplemind_protocol.payloads, samplemind_protocol.paths\n"
        "samplemind_protocol.rules.load_default_rules()",
        tmp_path,
    )
    assert "pydantic" in modules
    assert not [m for m in (*DESKTOP_MODULES, "samplemind_hub", "numpy", "fastapi") if m in modules]

"""The built app folder: it starts without Python, its self-test passes inside it (with the
bundled PortAudio, sqlite-vec, libsndfile, onnxruntime and Qt), it holds what the app needs and
not the export-only extras, and its Linux installer sets up the menu entry and icons.

Slow: the bundle is built once per session with packaging/build.sh (or taken from
``COMPANION_BUNDLE``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from companion import __version__

from .conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

#: Largest acceptable app folder, MiB (486 MiB when this was written; torch alone would add ~700).
SIZE_BUDGET_MIB = 560


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def test_version_runs_without_python(bundle: Path, app_env: dict[str, str]) -> None:
    env = {k: v for k, v in app_env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([bundle / "companion", "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"companion {__version__}\n"


def test_self_test_passes_inside_the_bundle(bundle: Path, app_env: dict[str, str], tiny_clap_model: Path) -> None:
    env = {k: v for k, v in app_env.items() if k != "PYTHONPATH"}
    env["RECS_CLAP_MODEL_DIR"] = str(tiny_clap_model)
    proc = subprocess.run(
        [bundle / "companion", "self-test", "--json"], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    doc = json.loads(proc.stdout)
    assert doc["frozen"] is True and doc["passed"] is True
    assert Path(doc["executable"]).resolve() == (bundle / "companion").resolve()
    results = {r["name"]: r for r in doc["results"]}
    assert {name: r["status"] for name, r in results.items()} == dict.fromkeys(
        ["logs", "rules", "catalog", "analysis", "embedder", "index", "processes", "clap", "audio", "osc", "qt"], "ok"
    )
    internal = str(bundle.resolve() / "_internal")
    # The native pieces come from the bundle, not from this machine's Python.
    assert f"({internal}/sqlite_vec/vec0)" in results["catalog"]["detail"]
    assert f"({internal}/_soundfile_data/" in results["analysis"]["detail"]
    assert f"({internal}/libportaudio.so" in results["audio"]["detail"]
    assert "onnxruntime" in results["clap"]["detail"] and "embedded a tone" in results["clap"]["detail"]
    assert "xcb" in results["qt"]["detail"]
    log_file = Path(env["XDG_STATE_HOME"]) / "samplemind-companion" / "log" / "companion.log"
    assert "self-test osc: ok" in log_file.read_text(encoding="utf-8")


def test_bundle_scans_real_samples_and_suggests(
    bundle: Path, app_env: dict[str, str], sonic_pi: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in app_env.items() if k != "PYTHONPATH"}
    names = ["loop_amen.flac", "loop_compus.flac", "bd_haus.flac", "bass_voxy_c.flac", "ambi_choir.flac"]
    library = tmp_path / "samples"
    library.mkdir()
    for name in names:
        shutil.copy2(sonic_pi / name, library / name)
    db = tmp_path / "library.db"
    scan = subprocess.run(
        [bundle / "companion", "scan", library, "--library-db", db, "--workers", "2", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert scan.returncode == 0, scan.stdout[-3000:] + scan.stderr[-3000:]
    listed = subprocess.run(
        [bundle / "companion", "list", "--library-db", db, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    rows = rows if isinstance(rows, list) else rows.get("samples", rows.get("items", []))
    by_name = {Path(r["path"]).name: r for r in rows}
    assert set(by_name) == set(names)
    assert by_name["loop_amen.flac"]["kind"] == "loop" and by_name["loop_amen.flac"]["bpm"] is not None
    assert by_name["bd_haus.flac"]["kind"] == "one-shot"
    suggest = subprocess.run(
        [bundle / "companion", "suggest", "--library-db", db, "--bpm", "120", "--top-k", "3", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert suggest.returncode == 0, suggest.stderr
    assert "rationale" in suggest.stdout


def test_bundle_holds_the_app_and_not_the_export_extras(bundle: Path) -> None:
    internal = bundle / "_internal"
    for path in (
        "samplemind_protocol/rules_v1.json",
        "sqlite_vec/vec0.so",
        "libportaudio.so.2",
        "assets/io.samplemind.Companion.svg",
        "assets/io.samplemind.Companion.desktop",
        "assets/io.samplemind.Companion.metainfo.xml",
        "assets/icons/hicolor/512x512/apps/io.samplemind.Companion.png",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
    ):
        assert (internal / path).is_file(), f"missing {path}"
    scripts = [
        p.relative_to(REPO)
        for p in (REPO / "plugin_bridge").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    for script in scripts:  # the DAW scripts and their docs
        assert (internal / script).is_file(), f"missing DAW file {script}"
    for left_out in ("torch", "transformers", "sklearn", "hub", "botocore", "PySide6/Qt/translations"):
        assert not (internal / left_out).exists(), f"{left_out} should not be in the bundle"
    assert not list(internal.glob("aalink*")), "aalink (GPL, the optional link extra) must not be bundled"
    assert not list(internal.glob("libasound.so*")), "libasound must come from the system"
    assert not list(internal.glob("libgtk-3.so*"))
    size = _size_mib(bundle)
    assert size < SIZE_BUDGET_MIB, f"the app folder grew to {size:.0f} MiB (budget {SIZE_BUDGET_MIB})"


def test_linux_installer_sets_up_the_menu_entry_and_icons(bundle: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    install = bundle / "install.sh"
    proc = subprocess.run([install, "--prefix", prefix], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    app_dir = prefix / "lib" / "samplemind-companion"
    desktop = prefix / "share" / "applications" / "io.samplemind.Companion.desktop"
    text = desktop.read_text(encoding="utf-8")
    assert f"Exec={app_dir}/companion\n" in text and f"TryExec={app_dir}/companion\n" in text
    validate = shutil.which("desktop-file-validate")
    assert validate is not None, "install desktop-file-utils (./dev setup)"
    assert subprocess.run([validate, desktop], capture_output=True, text=True).returncode == 0
    for size in (16, 48, 256, 512):
        assert (prefix / f"share/icons/hicolor/{size}x{size}/apps/io.samplemind.Companion.png").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/io.samplemind.Companion.svg").is_file()
    assert (prefix / "share/metainfo/io.samplemind.Companion.metainfo.xml").is_file()
    run = subprocess.run([prefix / "bin" / "companion", "--version"], capture_output=True, text=True, timeout=120)
    assert run.stdout == f"companion {__version__}\n", run.stderr

    proc = subprocess.run([install, "--prefix", prefix, "--uninstall"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not desktop.exists() and not app_dir.exists() and not (prefix / "bin" / "companion").exists()
    assert not list((prefix / "share" / "icons").rglob("io.samplemind.Companion.*"))

"""The self-test: each check on real pieces (SQLite + sqlite-vec, audio files, UDP sockets,
ALSA through PortAudio, an exported ONNX model), and the CLI's report and exit status."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from companion.selftest import (
    CHECKS,
    CheckResult,
    SelfTestReport,
    format_result,
    run_check,
    run_self_test,
)
from companion.settings import Settings

from .conftest import REPO, write_alsa_conf

CHECK = {c.name: c for c in CHECKS}


def _run(name: str, settings: Settings, tmp_path: Path) -> CheckResult:
    return run_check(CHECK[name], settings, tmp_path)


def _companion(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "companion", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("name", ["rules", "catalog", "analysis", "embedder", "index", "processes"])
def test_core_checks_pass_here(name: str, tmp_path: Path) -> None:
    result = _run(name, Settings(), tmp_path)
    assert result.status == "ok", result.detail
    assert result.required and result.passed and result.seconds > 0


def test_catalog_check_reports_sqlite_vec(tmp_path: Path) -> None:
    import sqlite_vec

    result = _run("catalog", Settings(), tmp_path)
    assert "(wal)" in result.detail and sqlite_vec.loadable_path() in result.detail
    assert (tmp_path / "selftest.db").exists()


def test_osc_check_answers_a_ping_on_the_configured_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _run("osc", Settings(osc_port=port), tmp_path)
    assert result.status == "ok", result.detail
    assert f"127.0.0.1:{port}" in result.detail and "/companion/pong" in result.detail


def test_osc_check_fails_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = _run("osc", Settings(osc_port=port), tmp_path)
    assert result.status == "fail" and not result.passed
    assert f"cannot listen for OSC on 127.0.0.1:{port}" in result.detail
    assert "another companion running" in result.detail


def test_clap_is_skipped_without_a_model_and_optional(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty-data"))
    result = _run("clap", Settings(clap_model_dir=None), tmp_path)
    assert result.status == "skip" and not result.required and result.passed
    assert "onnxruntime" in result.detail and "no CLAP model installed" in result.detail


def test_clap_named_but_broken_fails_and_is_required(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    result = _run("clap", Settings(clap_model_dir=folder), tmp_path)
    assert result.status == "fail" and result.required and not result.passed
    assert str(folder) in result.detail or "manifest" in result.detail


def test_clap_embeds_a_tone_with_an_exported_model(tmp_path: Path, tiny_clap_model: Path) -> None:
    result = _run("clap", Settings(clap_model_dir=tiny_clap_model), tmp_path)
    assert result.status == "ok", result.detail
    assert result.required and "CPUExecutionProvider" in result.detail and "embedded a tone" in result.detail


def test_unknown_check_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown self-test check"):
        run_self_test(only=["rules", "gpu"])


def test_report_passes_only_when_every_required_check_is_ok() -> None:
    ok = CheckResult("rules", "ok", "loaded", True, 0.01)
    optional_fail = CheckResult("qt", "fail", "no plugins", False, 0.01)
    required_skip = CheckResult("clap", "skip", "no model", True, 0.01)
    assert SelfTestReport([ok, optional_fail]).passed
    assert not SelfTestReport([ok, required_skip]).passed
    assert format_result(optional_fail).startswith("warn  qt")
    assert SelfTestReport([ok, optional_fail]).footer().startswith("self-test passed: 1 ok, 0 skipped, 1 failed")


def test_cli_self_test_passes_with_a_null_sound_card(app_env: dict[str, str]) -> None:
    proc = _companion(["self-test", "--json"], app_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    status = {r["name"]: r["status"] for r in doc["results"]}
    assert status == {
        "logs": "ok",
        "rules": "ok",
        "catalog": "ok",
        "analysis": "ok",
        "embedder": "ok",
        "index": "ok",
        "processes": "ok",
        "clap": "skip",
        "audio": "ok",
        "osc": "ok",
        "qt": status["qt"],
    }
    assert doc["passed"] is True and doc["frozen"] is False
    audio = next(r for r in doc["results"] if r["name"] == "audio")
    assert "'default' (ALSA)" in audio["detail"] and "libportaudio" in audio["detail"]


def test_root_option_prints_each_check_and_the_verdict(app_env: dict[str, str]) -> None:
    proc = _companion(["--self-test"], app_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("SampleMind Companion ") and "self-test" in lines[0]
    assert [line.split()[1] for line in lines[1:-1]] == [c.name for c in CHECKS]
    assert lines[-1].startswith("self-test passed:")


def test_cli_self_test_fails_without_a_usable_sound_card(app_env: dict[str, str], tmp_path: Path) -> None:
    app_env["ALSA_CONFIG_PATH"] = write_alsa_conf(tmp_path / "alsa-missing-card", "type hw card 99")
    proc = _companion(["self-test", "--check", "audio", "--check", "rules"], app_env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    audio = next(line for line in proc.stdout.splitlines() if line.split()[1:2] == ["audio"])
    assert audio.startswith("fail  audio")
    assert proc.stdout.splitlines()[-1].startswith("self-test FAILED: 1 ok, 0 skipped, 1 failed")

"""``samplemind-hub`` commands as a new user runs them (real processes, real PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import psutil
import pytest

from samplemind_hub import db
from samplemind_hub.testing import EmbeddedPostgres, HubProcess, free_port
from tests.hub.conftest import auth


def hub_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "samplemind_hub.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**clean, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def cli_db(postgres: EmbeddedPostgres) -> str:
    return postgres.create_database("hub_cli")


def test_token_create_works_against_a_running_hub(cli_db: str, tmp_path: Path) -> None:
    created = hub_cli("token", "create", "--user", "zoe", "--device", "studio", "--database-url", cli_db)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    with HubProcess(cli_db, tmp_path / "hub.log") as hub:
        assert httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(token)).status_code == 200
        revoked = hub_cli("token", "revoke", "--user", "zoe", "--device", "studio", "--database-url", cli_db)
        assert revoked.returncode == 0 and "revoked zoe/studio" in revoked.stdout
        assert httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(token)).status_code == 401
    again = hub_cli("token", "revoke", "--user", "zoe", "--device", "studio", "--database-url", cli_db)
    assert again.returncode == 1 and "no active device" in again.stderr


def test_rules_publish_and_show(cli_db: str, tmp_path: Path) -> None:
    good = json.loads(resources.files("samplemind_protocol").joinpath("rules_v1.json").read_text())
    good["mmr"]["lambda"] = 0.65
    (tmp_path / "good.json").write_text(json.dumps(good))
    bad = dict(good, filters={"tempo": {"tolerance_bpm": -1}})
    (tmp_path / "bad.json").write_text(json.dumps(bad))

    refused = hub_cli("rules", "publish", str(tmp_path / "bad.json"), "--database-url", cli_db)
    assert refused.returncode == 1 and "refusing to publish" in refused.stderr
    published = hub_cli("rules", "publish", str(tmp_path / "good.json"), "--database-url", cli_db)
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("published rules version 2 ")  # 1 is the packaged seed
    shown = json.loads(hub_cli("rules", "show", "--database-url", cli_db).stdout)
    assert shown["version"] == 2 and shown["rules"]["mmr"]["lambda"] == 0.65


def test_migrate_is_idempotent(cli_db: str) -> None:
    assert db.migrate(cli_db) == 0
    out = hub_cli("migrate", "--database-url", cli_db)
    assert out.returncode == 0 and out.stdout.strip() == f"schema version {db.SCHEMA_VERSION} (0 migration(s) applied)"


def test_unreachable_database_is_a_clear_error() -> None:
    out = hub_cli("migrate", "--database-url", "postgresql://nobody:secret@127.0.0.1:1/none")
    assert out.returncode == 1
    assert "cannot connect to PostgreSQL" in out.stderr and "secret" not in out.stderr


@pytest.fixture()
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="samplemind-hub-embedded-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_serve_with_the_embedded_postgres_as_in_the_readme(data_dir: Path) -> None:
    """No --database-url: the hub starts its own PostgreSQL, and stops it when it exits."""
    env = {"HUB_DATA_DIR": str(data_dir)}
    token = hub_cli("token", "create", "--user", "me", "--device", "laptop", env=env).stdout.strip()
    assert token.count(".") == 2
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "samplemind_hub.cli", "serve", "--port", str(port)],
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.json()["status"] == "ok", proc.stderr.read() if proc.stderr else ""
        assert tuple(int(x) for x in health.json()["pgvector"].split(".")) >= (0, 5, 0)  # HNSW
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/recommendations/rules", headers=auth(token))
        assert r.status_code == 200 and r.json()["version"] == 1
        assert _postmasters(data_dir / "pgdata")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _postmasters(data_dir / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmasters(data_dir / "pgdata"), "the embedded PostgreSQL outlived the hub"


def test_spaces_add_and_list(cli_db: str, tmp_path: Path) -> None:
    listed = hub_cli("spaces", "list", "--json", "--database-url", cli_db)
    assert listed.returncode == 0, listed.stderr
    before = {s["space"]: s for s in json.loads(listed.stdout)}
    assert before["fingerprint/v1"]["dim"] == 512 and before["clap-htsat-unfused/v1"]["dim"] == 512
    assert before["fingerprint/v1"]["indexed"] is True

    added = hub_cli("spaces", "add", "clap-htsat-unfused/v2", "--dim", "768", "--database-url", cli_db)
    assert added.returncode == 0 and "768 dimensions" in added.stdout, added.stderr
    assert hub_cli("spaces", "add", "clap-htsat-unfused/v2", "--dim", "768", "--database-url", cli_db).returncode == 0
    clash = hub_cli("spaces", "add", "clap-htsat-unfused/v2", "--dim", "512", "--database-url", cli_db)
    assert clash.returncode == 1 and "registered with 768" in clash.stderr
    assert hub_cli("spaces", "add", "no-version", "--dim", "8", "--database-url", cli_db).returncode == 1
    assert hub_cli("spaces", "add", "big/v1", "--dim", "4096", "--database-url", cli_db).returncode == 1
    after = {s["space"]: s for s in json.loads(hub_cli("spaces", "list", "--json", "--database-url", cli_db).stdout)}
    assert set(after) - set(before) == {"clap-htsat-unfused/v2"}
    assert after["clap-htsat-unfused/v2"] == {
        "space": "clap-htsat-unfused/v2",
        "dim": 768,
        "vectors": 0,
        "indexed": True,
    }

    token = hub_cli("token", "create", "--user", "sam", "--device", "laptop", "--database-url", cli_db).stdout.strip()
    item = {"content_hash": "ab" * 16, "space": "clap-htsat-unfused/v2", "dim": 768, "vector": [0.5] * 768}
    late = {**item, "space": "late/v1", "dim": 4, "vector": [0.5] * 4}
    with HubProcess(cli_db, tmp_path / "hub.log") as hub:
        r = httpx.put(f"{hub.base_url}/api/v1/embeddings", headers=auth(token), json={"items": [item]})
        assert r.status_code == 200 and r.json()["upserted"] == 1
        r = httpx.put(f"{hub.base_url}/api/v1/embeddings", headers=auth(token), json={"items": [late]})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "unknown_space"
        assert hub_cli("spaces", "add", "late/v1", "--dim", "4", "--database-url", cli_db).returncode == 0
        r = httpx.put(f"{hub.base_url}/api/v1/embeddings", headers=auth(token), json={"items": [late]})
        assert r.status_code == 200, r.text  # a space added while the hub runs is usable at once

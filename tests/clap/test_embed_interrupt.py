"""Ctrl-C during ``companion embed --backfill``: the vectors made so far are kept, the command
says it was interrupted and exits 130, and the next run embeds only what is left.

Runs the real CLI in a subprocess on all of Sonic Pi's FLACs with the test-built CLAP model, and
sends a real SIGINT to it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from companion.embedding.clap.manifest import Manifest
from companion.library.catalog import Catalog
from companion.library.db import connect
from companion.library.scanner import scan
from tests.conftest import copy_samples


def _clap_vectors(db: Path, space: str) -> int:
    conn = connect(db, readonly=True)
    try:
        row = conn.execute(
            "SELECT count(*) FROM embeddings e JOIN embedding_spaces s ON s.id = e.space_id WHERE s.space = ?",
            (space,),
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


def test_ctrl_c_keeps_vectors_and_exits_130(tmp_path: Path, sonic_pi: Path, tiny_model: Path, data_home: Path) -> None:
    names = sorted(p.name for p in sonic_pi.glob("*.flac"))
    root = tmp_path / "lib"
    copy_samples(sonic_pi, root, names)
    db = tmp_path / "lib.db"
    with Catalog.open(db) as cat:
        scan(cat, [root], workers=2)
    space = Manifest.read(tiny_model).space
    cmd = [sys.executable, "-m", "companion.cli", "embed", "--backfill", "--model", str(tiny_model)]
    cmd += ["--library-db", str(db), "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline, made = time.time() + 120, 0
    while time.time() < deadline and proc.poll() is None:
        made = _clap_vectors(db, space)
        if made > 0:
            break
        time.sleep(0.05)
    assert made > 0, proc.stderr.read().decode() if proc.stderr else "no vector within 120 s"
    assert proc.poll() is None, f"the backfill finished ({made} of {len(names)} vectors) before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    kept = _clap_vectors(db, space)
    assert made <= kept < len(names)
    conn = connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    done = subprocess.run([*cmd, "--json"], capture_output=True, timeout=300, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["todo"] == len(names) - kept  # only what was left
    assert _clap_vectors(db, space) == len(names)

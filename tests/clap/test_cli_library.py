"""The CLAP commands end to end: a scanned library gets CLAP vectors and an index, text search.

Runs the real CLI (typer's CliRunner, in process) on a catalog scanned from Sonic Pi files,
with the test-built model.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from companion.embedding.clap.manifest import Manifest
from companion.embedding.clap.runtime import ClapEmbedder
from companion.library import vectors
from companion.library.backfill import backfill
from companion.library.catalog import Catalog
from companion.library.indexes import index_path
from companion.library.scanner import scan
from tests.conftest import invoke_cli

NAMES = [
    "bd_haus.flac",
    "bd_boom.flac",
    "drum_snare_hard.flac",
    "drum_cymbal_closed.flac",
    "loop_amen.flac",
    "loop_garzul.flac",
    "ambi_choir.flac",
    "ambi_drone.flac",
    "bass_hit_c.flac",
    "elec_blip.flac",
    "perc_bell.flac",
    "guit_harmonics.flac",
]


@pytest.fixture(scope="module")
def library_db(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> Path:
    """12 Sonic Pi files (one of them twice, in another folder) scanned into a catalog."""
    root = tmp_path_factory.mktemp("lib")
    for n in NAMES:
        shutil.copy2(sonic_pi / n, root / n)
    (root / "copies").mkdir()
    shutil.copy2(sonic_pi / "bd_haus.flac", root / "copies" / "kick_copy.flac")
    db = root.parent / "library.db"
    with Catalog.open(db) as cat:
        report = scan(cat, [root], workers=2)
    assert report.analysed + report.reused == len(NAMES) + 1 and report.problems == 0
    return db


def test_backfill_search_and_stats(library_db: Path, tiny_model: Path, data_home: Path) -> None:
    space = Manifest.read(tiny_model).space
    code, out, err = invoke_cli(
        "embed", "--backfill", "--model", str(tiny_model), "--library-db", str(library_db), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["space"] == space
    assert doc["todo"] == len(NAMES)  # the copy shares its content hash: embedded once
    assert doc["embedded"] == len(NAMES) and doc["failed"] == []
    assert doc["coverage"] == {"with_vector": len(NAMES) + 1, "analysed": len(NAMES) + 1}
    assert doc["indexed"] == len(NAMES) + 1
    assert index_path(library_db, space).exists()  # one index per space, beside the fingerprint's

    code, out, err = invoke_cli("stats", "--library-db", str(library_db), "--json")
    assert code == 0, err
    cov = json.loads(out)["embedding_coverage"]
    assert cov[space]["with_vector"] == len(NAMES) + 1
    assert any(s.startswith("fingerprint") for s in cov)

    # A second backfill has nothing to do.
    code, out, _ = invoke_cli(
        "embed", "--backfill", "--model", str(tiny_model), "--library-db", str(library_db), "--json"
    )
    assert code == 0 and json.loads(out)["todo"] == 0

    # Text search ranks the library by cosine to the prompt's CLAP text vector.
    code, out, err = invoke_cli(
        "search",
        "punchy kick drum",
        "--top-k",
        "5",
        "--model",
        str(tiny_model),
        "--library-db",
        str(library_db),
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["space"] == space and len(doc["results"]) == 5
    emb = ClapEmbedder(tiny_model, threads=1)
    q = emb.embed_text(["punchy kick drum"])[0]
    with Catalog.open(library_db) as cat:
        ids, vecs = vectors.load_space(cat.conn, space)
    sims = vecs @ q
    expected = [int(ids[i]) for i in np.argsort(-sims)[:5]]
    assert [r["id"] for r in doc["results"]] == expected
    scores = [r["score"] for r in doc["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(float(sims.max()), abs=1e-4)


def test_search_leaves_out_banned_samples(library_db: Path, tiny_model: Path, data_home: Path) -> None:
    invoke_cli("embed", "--backfill", "--model", str(tiny_model), "--library-db", str(library_db))
    args = (
        "search",
        "ambient choir",
        "--top-k",
        "50",
        "--model",
        str(tiny_model),
        "--library-db",
        str(library_db),
        "--json",
    )
    code, out, _ = invoke_cli(*args)
    first = json.loads(out)["results"][0]
    assert len(json.loads(out)["results"]) == len(NAMES) + 1
    with Catalog.open(library_db) as cat:
        cat.conn.execute("INSERT INTO decisions (sample_id, decision, created_at) VALUES (?, 'ban', 0)", (first["id"],))
    try:
        code, out, _ = invoke_cli(*args)
        ids = [r["id"] for r in json.loads(out)["results"]]
        assert code == 0 and first["id"] not in ids and len(ids) == len(NAMES)
    finally:
        with Catalog.open(library_db) as cat:
            cat.conn.execute("DELETE FROM decisions WHERE sample_id = ?", (first["id"],))


def test_interrupted_backfill_keeps_its_work(library_db: Path, tiny_model: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    with Catalog.open(library_db) as src:
        src.conn.execute(f"VACUUM INTO '{db}'")
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=1, batch_size=2)
    other_space = emb.space + "-interrupt-test"
    emb.space = other_space  # a fresh space, so the backfill starts from nothing
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == 3:
            stop.set()

    with Catalog.open(db) as cat:
        first = backfill(cat, emb, progress, stop=stop, commit_every=2)
        assert first.interrupted and first.embedded == 3
        ids, _ = vectors.load_space(cat.conn, other_space)
        hashes = {cat.get(int(i)).content_hash for i in ids}
        assert len(hashes) == 3  # what was finished is kept (copies of a sound share its vector)
        second = backfill(cat, emb)
        assert not second.interrupted and second.todo == len(NAMES) - 3 and second.embedded == second.todo
        assert cat.embedding_coverage()[other_space] == (len(NAMES) + 1, len(NAMES) + 1)


def test_embed_files_and_text_print_vectors(tiny_model: Path, sonic_pi: Path, tmp_path: Path, data_home: Path) -> None:
    files = [str(sonic_pi / "bd_haus.flac"), str(sonic_pi / "loop_amen.flac")]
    code, out, err = invoke_cli("embed", *files, "--model", str(tiny_model), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["space"] == Manifest.read(tiny_model).space and doc["dim"] == 512
    emb = ClapEmbedder(tiny_model, threads=1)
    got = np.array([r["vector"] for r in doc["results"]], dtype=np.float32)
    want = np.stack([v for _, v in sorted(emb.embed_files([Path(f) for f in files]), key=lambda t: t[0])])
    assert np.abs(got - want).max() < 1e-5

    code, out, _ = invoke_cli("embed", files[0], "--model", str(tiny_model))
    path, numbers = out.strip().split("\t")
    assert code == 0 and path == files[0] and len(numbers.split()) == 512

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    code, out, err = invoke_cli("embed", files[0], str(bad), "--model", str(tiny_model), "--json")
    assert code == 1
    results = json.loads(out)["results"]
    assert "vector" in results[0] and "bad.wav" in results[1]["error"]

    code, out, err = invoke_cli(
        "embed-text", "dark techno rumble", "warm analog bass", "--model", str(tiny_model), "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["results"]
    assert [r["text"] for r in rows] == ["dark techno rumble", "warm analog bass"]
    v = np.array([r["vector"] for r in rows])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.abs(v - emb.embed_text(["dark techno rumble", "warm analog bass"])).max() < 1e-5


def test_commands_without_a_model_say_what_to_do(library_db: Path, sonic_pi: Path, data_home: Path) -> None:
    code, _, err = invoke_cli("embed", str(sonic_pi / "bd_haus.flac"))
    assert code == 1 and "no CLAP model installed" in err and "companion models fetch" in err
    code, _, err = invoke_cli("search", "kick", "--library-db", str(library_db))
    assert code == 1 and "no CLAP model installed" in err
    code, out, _ = invoke_cli("models", "list", "--json")
    assert code == 0 and json.loads(out)["models"] == []


def test_models_export_install_list_use(tiny_checkpoint: Path, tmp_path: Path, data_home: Path) -> None:
    out_dir = tmp_path / "exported"
    code, out, err = invoke_cli(
        "models", "export", "--checkpoint", str(tiny_checkpoint), "--out", str(out_dir), "--install", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["manifest"]["parity"]["audio_min_cosine"] >= 0.9999
    assert "audio_int8" not in doc["manifest"]["files"]  # no --quantize
    code, out, err = invoke_cli("models", "list", "--json", "--verify")
    assert code == 0, err
    [row] = json.loads(out)["models"]
    assert row["default"] and row["ok"] and row["space"] == doc["manifest"]["space"] and row["int8"] is False
    code, _, err = invoke_cli("models", "use", "no-such-model")
    assert code == 1 and "no installed CLAP model" in err
    code, _, err = invoke_cli("models", "use", row["name"])
    assert code == 0
    # The installed default is what `embed` now uses.
    code, out, err = invoke_cli("embed-text", "kick", "--json")
    assert code == 0, err
    assert json.loads(out)["space"] == row["space"]

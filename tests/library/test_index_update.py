"""Reloading the engine after a scan updates the live vector index in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from companion.embedding.index import VectorIndex
from companion.engine import Engine
from companion.library import vectors
from companion.library.catalog import Catalog
from companion.library.indexes import update_in_place
from companion.library.scanner import scan


def _unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_adds_replaces_and_removes_only_what_differs() -> None:
    rng = np.random.default_rng(7)
    old_ids = np.arange(1, 201, dtype=np.int64)
    old = _unit(rng, 200)
    index = VectorIndex.build("test/v1", old_ids, old)
    ids = np.concatenate([old_ids[old_ids != 5], [300, 301]])  # 5 gone, 300 and 301 new
    new = np.vstack([old[old_ids != 5], _unit(rng, 2)])
    new[ids == 17] = _unit(rng, 1)  # sample 17's audio changed
    assert update_in_place(index, old_ids, old, ids, new)
    assert index.ids().tolist() == ids.tolist()
    for sid in (17, 300, 301):
        got = index.get_vectors([sid])[0]
        assert np.allclose(got, new[ids == sid][0], atol=1e-6)
        assert index.query(new[ids == sid][0], 1)[0][0, 0] == sid
    assert index.query(old[4], 5)[0][0].tolist().count(5) == 0


def test_too_many_changes_leave_the_index_untouched() -> None:
    rng = np.random.default_rng(8)
    old_ids = np.arange(1, 101, dtype=np.int64)
    old = _unit(rng, 100)
    index = VectorIndex.build("test/v1", old_ids, old)
    ids = np.arange(1, 121, dtype=np.int64)
    assert not update_in_place(index, old_ids, old, ids, np.vstack([old, _unit(rng, 20)]), limit=10)
    assert index.ids().tolist() == old_ids.tolist()


def test_engine_reload_after_a_scan_keeps_its_index_object(tmp_path: Path, sonic_pi: Path) -> None:
    files = sorted(sonic_pi.glob("*.flac"))[:10]
    folder = tmp_path / "samples"
    folder.mkdir()
    for f in files[:8]:
        shutil.copy2(f, folder / f.name)
    db = tmp_path / "library.db"
    with Catalog.open(db) as cat:
        scan(cat, [folder])
    engine = Engine.open(db)
    try:
        (space,) = engine.spaces
        live = space.index
        (folder / files[0].name).unlink()
        for f in files[8:]:
            shutil.copy2(f, folder / f.name)
        with Catalog.open(db) as cat:
            scan(cat, [folder])
        engine.reload()
        (after,) = engine.spaces
        assert after.index is live
        ids, vecs = vectors.load_space(engine.catalog.conn, after.space)
        assert len(ids) == 9 and live.ids().tolist() == ids.tolist()
        newest = engine.sample_id_of(folder / files[9].name)
        assert live.query(vecs[ids == newest][0], 1)[0][0, 0] == newest
    finally:
        engine.close()

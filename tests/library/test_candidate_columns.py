"""The ranker's input read as columns equals the library as ``Catalog.rows`` shows it.

A real SQLite catalog holds rows written as the scanner writes them, plus the awkward cases: the
producer's corrections of every field, a key without a mode, an unhashed file, a sample without
an analysis row, tags in mixed case and repeated between the path and the analysis, other
statuses. :meth:`Catalog.candidate_columns` (SQL straight into numpy) must build the same
:class:`Candidates` as one record per :class:`SampleRow`, the way the engine built them before.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.result import Analysis
from companion.library.catalog import Catalog, analysis_row
from companion.library.db import transaction
from companion.music.keys import Key
from companion.ranking.candidates import Candidates


def _insert(
    cat: Catalog,
    sid: int,
    path: str,
    analysis: Analysis | None,
    *,
    status: str = "analysed",
    content_hash: str | None = "auto",
    name_tags: str = "",
) -> None:
    chash = f"h{sid:04d}" if content_hash == "auto" else content_hash
    folder, name = path.rsplit("/", 1)
    cat.conn.execute(
        "INSERT INTO samples (id, path, root, folder, name, size, mtime_ns, content_hash, status, name_tags,"
        " added_at, seen_at) VALUES (?,?,?,?,?,0,0,?,?,?,?,0)",
        (sid, path, folder.rsplit("/", 1)[0], folder, name, chash, status, name_tags, 1_700_000_000.0 + sid),
    )
    if analysis is not None and chash is not None:
        cat.conn.execute(
            "INSERT OR REPLACE INTO analyses (content_hash, analyser_version, duration_s, kind, bpm, key_pc, mode,"
            " pitched, loudness_lufs, analysis_json, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            analysis_row(chash, analysis),
        )


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    lib = str(tmp_path.resolve() / "lib")  # absolute, no symlinks: as the scanner stores paths
    cat = Catalog.open(tmp_path / "library.db")
    loop = Analysis(
        duration_s=4.0,
        sample_rate=44100,
        channels=2,
        kind="loop",
        bpm=124.0,
        key_pc=9,
        mode="minor",
        pitched=True,
        tags=["Dark", "house", "dark "],
        instrument="bass",
    )
    shot = Analysis(duration_s=0.4, sample_rate=44100, channels=1, kind="one-shot", tags=["kick"], instrument="bd")
    with transaction(cat.conn):
        _insert(cat, 1, f"{lib}/Loops/bass_124_Am.wav", loop, name_tags="loops bass 124 am Dark")
        _insert(cat, 2, f"{lib}/Drums/bd_01.wav", shot, name_tags="drums BD 01")
        # a key without a mode, an unpitched loop without a tempo, no tags anywhere
        _insert(
            cat,
            3,
            f"{lib}/pads/pad.wav",
            Analysis(duration_s=8.0, sample_rate=44100, channels=2, kind="loop", key_pc=2, pitched=False),
        )
        # pitched without a key; no instrument
        _insert(
            cat,
            4,
            f"{lib}/keys/chord.wav",
            Analysis(duration_s=0.0, sample_rate=44100, channels=2, kind="one-shot", pitched=True, tags=["  ", "Warm"]),
        )
        # analysed, but its analysis row is gone (LEFT JOIN: every field unknown)
        _insert(cat, 5, f"{lib}/odd/orphan.wav", None, name_tags="odd orphan")
        # analysed without a content hash
        _insert(cat, 6, f"{lib}/odd/unhashed.wav", None, content_hash=None)
        # not analysed: not a candidate
        _insert(cat, 7, f"{lib}/odd/pending.wav", None, status="pending")
        _insert(cat, 8, f"{lib}/odd/broken.wav", shot, status="problem", content_hash="h0002")
        # the same audio as sample 1 under another path
        _insert(cat, 9, f"{lib}/copies/bass copy.wav", loop, content_hash="h0001", name_tags="copies")
        # a drone: a loop with no pulse
        _insert(
            cat,
            10,
            f"{lib}/pads/drone.wav",
            Analysis(
                duration_s=12.0,
                sample_rate=44100,
                channels=2,
                kind="loop",
                bpm=None,
                bpm_source="no-pulse",
                key_pc=0,
                mode="major",
                pitched=True,
                instrument="pad",
            ),
        )
    # the producer's corrections: every field of one sample, one field of another
    cat.set_override(f"{lib}/Drums/bd_01.wav", bpm=90.0, key=Key(4, "major"), kind="loop", instrument="snare")
    cat.set_override(f"{lib}/pads/pad.wav", key=Key(11, "minor"))
    cat.set_override(f"{lib}/pads/drone.wav", instrument="strings")
    yield cat
    cat.close()


def _records_from_rows(cat: Catalog) -> list[dict]:
    """The engine's input as it was built before the columns: one record per ``SampleRow``."""
    out = []
    for r in cat.rows(status="analysed"):
        key_pc = -1 if r.key_pc is None else r.key_pc
        mode = -1 if r.key_pc is None else (0 if r.mode == "major" else 1)
        out.append(
            {
                "id": r.id,
                "path": r.path,
                "name": r.name,
                "folder": r.folder,
                "content_hash": r.content_hash or "",
                "is_loop": r.kind == "loop",
                "bpm": np.nan if r.bpm is None else r.bpm,
                "key_pc": key_pc,
                "mode": mode,
                "pitched": r.pitched or key_pc >= 0,
                "added_at": r.added_at,
                "duration_s": r.duration_s or 0.0,
                "kind": r.kind or "one-shot",
                "tags": frozenset(r.tags),
                "instrument": r.instrument,
            }
        )
    return out


def _assert_same(a: Candidates, b: Candidates) -> None:
    assert len(a) == len(b)
    for name in ("ids", "is_loop", "key_pc", "mode", "pitched", "added_at", "instrument", "key_codes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("bpm", "duration_s"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)  # NaN == NaN here
    for name in ("paths", "names", "folders", "content_hash", "kind"):
        assert list(getattr(a, name)) == list(getattr(b, name)), name
    assert list(a.tags) == list(b.tags)
    for tag in {t for tags in b.tags for t in tags} | {"DARK", "nothing"}:
        np.testing.assert_array_equal(a.rows_tagged(tag), b.rows_tagged(tag), err_msg=tag)
    np.testing.assert_array_equal(a.hash_codes, b.hash_codes)


def test_columns_build_the_same_candidates_as_the_rows(catalog: Catalog) -> None:
    cols = catalog.candidate_columns()
    assert len(cols) == 8 and cols.ids.dtype == np.int64 and cols.bpm.dtype == np.float64
    from_columns = Candidates.from_columns(cols)
    _assert_same(from_columns, Candidates.from_records(_records_from_rows(catalog)))

    c = from_columns
    by_name = {name: row for row, name in enumerate(c.names)}
    kick = by_name["bd_01.wav"]  # every field corrected
    assert c.is_loop[kick] and c.bpm_of(kick) == 90.0 and c.key_of(kick) == Key(4, "major")
    assert c.instrument_of(kick) == "snare" and c.pitched[kick]
    assert c.tags[kick] == frozenset({"drums", "bd", "01", "kick"})
    bass = by_name["bass_124_Am.wav"]
    assert c.tags[bass] == frozenset({"loops", "bass", "124", "am", "dark", "house"})
    assert c.instrument_of(bass) == "bass" and c.key_of(bass) == Key(9, "minor")
    pad = by_name["pad.wav"]  # the analysis' key had no mode; the correction gives one
    assert c.key_of(pad) == Key(11, "minor") and c.pitched[pad] and math.isnan(c.bpm[pad])
    chord = by_name["chord.wav"]  # pitched, no key
    assert c.pitched[chord] and c.key_codes[chord] == -1 and c.tags[chord] == frozenset({"warm"})
    orphan = by_name["orphan.wav"]
    assert c.kind[orphan] == "one-shot" and not c.is_loop[orphan] and c.duration_s[orphan] == 0.0
    assert c.instrument_of(orphan) is None and c.key_of(orphan) is None
    assert c.content_hash[by_name["unhashed.wav"]] == ""
    assert c.instrument_of(by_name["drone.wav"]) == "strings"
    assert c.hash_codes[bass] == c.hash_codes[by_name["bass copy.wav"]]
    assert "pending.wav" not in by_name and "broken.wav" not in by_name
    assert list(c.paths) == sorted(c.paths)


def test_text_columns_leave_the_cyclic_collector(catalog: Catalog) -> None:
    """A full collection walks every tracked container; 100k-entry lists of paths, names,
    folders, hashes, kinds and tag words made each one cost the GUI thread ~30 ms."""
    c = Candidates.from_columns(catalog.candidate_columns())
    c.path_range("/")  # builds the sorted path index
    gc.collect()
    for name in ("paths", "names", "folders", "content_hash", "kind"):
        assert not gc.is_tracked(getattr(c, name)), name
    assert not gc.is_tracked(c.tags.vocabulary)
    assert not gc.is_tracked(c._path_index[0])


def test_columns_of_an_empty_catalog(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "empty.db") as cat:
        cols = cat.candidate_columns()
        c = Candidates.from_columns(cols)
    assert len(cols) == 0 and len(c) == 0 and len(c.tags) == 0
    assert c.rows_tagged("dark").tolist() == []


def test_analysis_json_is_the_source_as_for_rows(catalog: Catalog) -> None:
    """The row query reads the analysis JSON, not the summary columns: so do the columns."""
    data = json.loads(
        catalog.conn.execute("SELECT analysis_json FROM analyses WHERE content_hash = 'h0004'").fetchone()[0]
    )
    data.update(bpm=99.0, kind="loop", tags=["Lofi"])
    catalog.conn.execute("UPDATE analyses SET analysis_json = ? WHERE content_hash = 'h0004'", (json.dumps(data),))
    _assert_same(
        Candidates.from_columns(catalog.candidate_columns()), Candidates.from_records(_records_from_rows(catalog))
    )

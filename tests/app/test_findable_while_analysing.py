"""A file is findable by name as soon as the scan has indexed it, before its analysis."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from companion.app.search import search_library
from companion.engine import Engine
from companion.library.catalog import Catalog
from companion.library.scanner import scan


def test_an_indexed_file_is_found_by_name_and_counted_before_analysis(tmp_path: Path, sonic_pi: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    for n in ("bd_haus.flac", "sn_dolf.flac", "loop_amen.flac"):
        shutil.copy2(sonic_pi / n, folder / n)
    with Catalog.open(tmp_path / "lib.db") as catalog:
        scan(catalog, [folder], workers=1)  # analysed
        shutil.copy2(sonic_pi / "elec_blip.flac", folder / "elec_blip.flac")
        stop = threading.Event()
        stop.set()  # index only: the analysis stops before its first file
        report = scan(catalog, [folder], workers=1, stop=stop)
        assert report.new == 1 and report.pending_left == 1

        stats = catalog.stats()
        assert stats["samples"] == 4 and stats["by_status"] == {"analysed": 3, "pending": 1}

        engine = Engine(catalog)
        result = search_library(engine, catalog, "blip")
        assert [Path(h.row.path).name for h in result.hits] == ["elec_blip.flac"]
        hit = result.hits[0]
        assert hit.row.status == "pending" and hit.note == "analysing…" and hit.rationale.endswith("analysing…")
        analysed = search_library(engine, catalog, "haus").hits
        assert [h.note for h in analysed] == [None]
        # not a suggestion: only analysed files are candidates
        assert str(folder.resolve() / "elec_blip.flac") not in {s.path for s in engine.suggest(top_k=50)}


def test_a_pending_file_in_a_banned_folder_is_not_found(tmp_path: Path, sonic_pi: Path) -> None:
    """Bans hold for files not analysed yet (they are not candidates, so the row is checked)."""
    kept, banned = tmp_path / "pack" / "kept", tmp_path / "pack" / "cheesy"
    kept.mkdir(parents=True)
    banned.mkdir()
    shutil.copy2(sonic_pi / "bd_haus.flac", kept / "bd_haus.flac")
    with Catalog.open(tmp_path / "lib.db") as catalog:
        scan(catalog, [tmp_path / "pack"], workers=1)
        engine = Engine(catalog)
        engine.ban_folder(banned.resolve())
        shutil.copy2(sonic_pi / "elec_blip.flac", banned / "elec_blip.flac")
        shutil.copy2(sonic_pi / "elec_ping.flac", kept / "elec_ping.flac")
        stop = threading.Event()
        stop.set()  # index only
        scan(catalog, [tmp_path / "pack"], workers=1, stop=stop)
        names = [Path(h.row.path).name for h in search_library(engine, catalog, "elec").hits]
        assert names == ["elec_ping.flac"]


def test_word_search_reads_only_the_rows_it_keeps(tmp_path: Path, sonic_pi: Path, monkeypatch) -> None:
    """A common word matches many samples: they are ranked by (id, path) and only the kept
    ones are read in full (reading a row parses its analysis)."""
    folder = tmp_path / "pack"
    folder.mkdir()
    names = sorted(p.name for p in sonic_pi.glob("elec_*.flac"))[:8]
    for n in names:
        shutil.copy2(sonic_pi / n, folder / n)
    with Catalog.open(tmp_path / "lib.db") as catalog:
        scan(catalog, [folder], workers=1)
        engine = Engine(catalog)
        read: list[int] = []
        get = Catalog.get
        monkeypatch.setattr(Catalog, "get", lambda self, sid: read.append(sid) or get(self, sid))
        monkeypatch.setattr(Catalog, "rows", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rows() read")))
        hits = search_library(engine, catalog, "elec", limit=3).hits
        assert [Path(h.row.path).name for h in hits] == names[:3]  # by path, as before
        assert len(read) == 3 and all(h.rationale == "matches 'elec'" for h in hits)

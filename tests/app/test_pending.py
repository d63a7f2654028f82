"""Files indexed but not analysed yet are listed for the suggestion list (bans and the folder
filter apply), and a scan follower reloads the engine only when analyses landed."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from companion.app.pending import ScanFollower, pending_for_list
from companion.engine import Engine
from companion.library.catalog import Catalog
from companion.library.indexes import index_dir
from companion.library.scanner import scan
from companion.ranking.list_filter import ListFilter


def _index_only(catalog: Catalog, folder: Path) -> None:
    stop = threading.Event()
    stop.set()  # the analysis stops before its first file: the new files stay pending
    scan(catalog, [folder], workers=1, stop=stop, refresh_index=False)


def test_pending_files_are_listed_first_by_path_with_bans_and_the_folder_filter(tmp_path: Path, sonic_pi: Path):
    pack = tmp_path / "pack"
    (pack / "drums").mkdir(parents=True)
    (pack / "cheesy").mkdir()
    shutil.copy2(sonic_pi / "bd_haus.flac", pack / "drums" / "bd_haus.flac")
    with Catalog.open(tmp_path / "lib.db") as catalog:
        scan(catalog, [pack], workers=1, refresh_index=False)  # bd_haus analysed
        engine = Engine(catalog)
        for n in ("sn_dolf.flac", "bd_tek.flac", "elec_blip.flac"):
            shutil.copy2(sonic_pi / n, pack / "drums" / n)
        shutil.copy2(sonic_pi / "elec_ping.flac", pack / "cheesy" / "elec_ping.flac")
        shutil.copy2(sonic_pi / "elec_bell.flac", pack / "elec_bell.flac")
        _index_only(catalog, pack)

        everything = pending_for_list(engine, catalog, ListFilter())
        assert [Path(r.path).name for r in everything.rows] == [
            "elec_ping.flac",
            "bd_tek.flac",
            "elec_blip.flac",
            "sn_dolf.flac",
            "elec_bell.flac",
        ]
        assert everything.total == 5 and everything.more == 0

        first_two = pending_for_list(engine, catalog, ListFilter(), limit=2)
        assert [Path(r.path).name for r in first_two.rows] == ["elec_ping.flac", "bd_tek.flac"]
        assert first_two.total == 5 and first_two.more == 3

        engine.ban_folder(pack / "cheesy")
        engine.set_decision(catalog.find(pack / "drums" / "bd_tek.flac").id, "ban")
        banned = pending_for_list(engine, catalog, ListFilter())
        assert [Path(r.path).name for r in banned.rows] == ["elec_blip.flac", "sn_dolf.flac", "elec_bell.flac"]
        assert banned.total == 3

        drums = pending_for_list(engine, catalog, ListFilter(folder=str((pack / "drums").resolve())))
        assert [Path(r.path).name for r in drums.rows] == ["elec_blip.flac", "sn_dolf.flac"] and drums.total == 2
        # a kind (BPM, instrument…) cannot be judged before the analysis: no pending file passes
        assert pending_for_list(engine, catalog, ListFilter(kind="loop")).total == 0


def test_the_follower_reloads_when_analyses_land_and_leaves_the_index_files_to_the_scan(tmp_path: Path, sonic_pi: Path):
    pack = tmp_path / "pack"
    pack.mkdir()
    with Catalog.open(tmp_path / "lib.db") as catalog:
        engine = Engine(catalog)  # first run: an empty library
        follower = ScanFollower(engine, catalog)
        for n in ("bd_haus.flac", "sn_dolf.flac", "elec_blip.flac"):
            shutil.copy2(sonic_pi / n, pack / n)
        _index_only(catalog, pack)

        reloaded, pending = follower.step(ListFilter())
        assert not reloaded  # nothing analysed yet: the engine is up to date
        assert [Path(r.path).name for r in pending.rows] == ["bd_haus.flac", "elec_blip.flac", "sn_dolf.flac"]
        assert len(engine.candidates) == 0

        scan(catalog, [pack], workers=1, refresh_index=False)  # the analyses land
        reloaded, pending = follower.step(ListFilter())
        assert reloaded and pending.rows == () and pending.total == 0
        assert sorted(Path(p).name for p in engine.candidates.paths) == [
            "bd_haus.flac",
            "elec_blip.flac",
            "sn_dolf.flac",
        ]
        assert engine.spaces and engine.spaces[0].index is not None  # similarity works at once
        folder = index_dir(catalog.path)
        assert not folder.exists() or not any(folder.iterdir())  # in memory: the scan writes those files

        assert follower.step(ListFilter()) == (False, pending)  # nothing changed: no reload

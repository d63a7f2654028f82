"""The Qt-free application core: one Session on a real scanned catalog, a real OSC socket,
real settings; what the window and ``companion listen`` both rely on."""

from __future__ import annotations

import queue
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonosc.udp_client import SimpleUDPClient

from companion.app.session import Session
from companion.bridge.follower import FollowResult
from companion.errors import CatalogError, CompanionError
from companion.library.catalog import Catalog
from companion.library.scanner import scan
from companion.settings import Settings

FILES = ("loop_amen.flac", "loop_breakbeat.flac", "bd_haus.flac", "sn_dolf.flac", "bass_hit_c.flac", "elec_blip.flac")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> Path:
    """A scanned catalog of six Sonic Pi samples (a copy per test: see ``settings``)."""
    root = tmp_path_factory.mktemp("session-lib")
    folder = root / "samples" / "drums"
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(sonic_pi / name, folder / name)
    db = root / "db" / "library.db"
    db.parent.mkdir()
    with Catalog.open(db) as catalog:
        report = scan(catalog, [root / "samples"], workers=1)
    assert report.analysed == len(FILES)
    return db


@pytest.fixture()
def settings(tmp_path: Path, template: Path) -> Settings:
    target = tmp_path / "library.db"
    for f in template.parent.iterdir():
        (shutil.copytree if f.is_dir() else shutil.copy2)(f, tmp_path / f.name)
    return Settings(library_db=target, osc_port=0, use_clap=False, top_k=5)


class Results:
    """``on_result`` sink: the follower thread's lists, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[FollowResult] = queue.Queue()

    def __call__(self, result: FollowResult) -> None:
        self.queue.put(result)

    def until(self, predicate, timeout: float = 10.0) -> FollowResult:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                result = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if predicate(result):
                return result
        raise AssertionError("no ranked list met the condition in time")


@pytest.fixture()
def session(settings: Settings) -> Iterator[tuple[Session, Results]]:
    results = Results()
    s = Session(settings, on_result=results)
    s.open(create=False)
    yield s, results
    s.close()


def test_an_osc_packet_from_the_daw_reaches_a_ranked_list(session) -> None:
    s, results = session
    states = {st.name: st for st in s.start()}
    assert states["osc"].state == "running" and states["link"].state == "off"
    port = s.sources.osc.port
    SimpleUDPClient("127.0.0.1", port).send_message("/context/bpm", 126.0)
    got = results.until(lambda r: r.context.bpm == 126.0)
    assert got.context.updated["bpm"][0] == "osc"
    assert 0 < len(got.suggestions) <= 5  # top_k of the settings
    loops = [x for x in got.suggestions if x.kind == "loop" and x.bpm]
    assert all(abs(x.bpm - 126.0) <= 5 or abs(x.bpm * 2 - 126.0) <= 5 or abs(x.bpm / 2 - 126.0) <= 5 for x in loops)


def test_manual_edits_and_modes_rerank(session) -> None:
    s, results = session
    s.start()
    s.edit_context(bpm=137.0)
    assert results.until(lambda r: r.context.bpm == 137.0).context.updated["bpm"][0] == "manual"
    with pytest.raises(CompanionError):
        s.edit_context(bpm="fast")
    with pytest.raises(CompanionError):
        s.set_mode("loud")  # type: ignore[arg-type]  # the wrong value is the test
    seen = results.until(lambda r: True, timeout=0.5).seq if not results.queue.empty() else 0
    s.apply_preferences(s.settings.model_copy(update={"recommendation_mode": "rules"}))  # re-ranks at once
    got = results.until(lambda r: r.seq > seen)
    assert s.mode == "rules" and all(x.score_components.get("similarity", 0.0) == 0.0 for x in got.suggestions)


def test_sources_move_to_a_new_port_and_a_busy_port_is_an_error_not_a_crash(session) -> None:
    s, results = session
    s.start()
    old = s.sources.osc.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        taken = busy.getsockname()[1]
        states = {st.name: st for st in s.restart_sources(s.settings.model_copy(update={"osc_port": taken}))}
        assert states["osc"].state == "error" and str(taken) in states["osc"].detail
    states = {st.name: st for st in s.restart_sources(s.settings.model_copy(update={"osc_port": 0}))}
    assert states["osc"].state == "running"
    new = s.sources.osc.port
    SimpleUDPClient("127.0.0.1", new).send_message("/context/bpm", 120.0)
    results.until(lambda r: r.context.bpm == 120.0)
    assert new != taken and old  # the first port was released, the new one listens


def test_search_and_similar_respect_bans(session) -> None:
    s, _ = session
    hits = s.search("amen")
    assert [h.row.path.endswith("loop_amen.flac") for h in hits.hits] == [True]
    assert hits.space is None and "names" in hits.note  # no CLAP here: names and tags
    amen = s.engine.sample_id_of(hits.hits[0].row.path)
    near = s.similar(hits.hits[0].row.path, top_k=10)
    assert near and all(h["id"] != amen for h in near)
    banned = near[0]["id"]
    s.engine.set_decision(banned, "ban")
    assert all(h["id"] != banned for h in s.similar(hits.hits[0].row.path, top_k=10))
    s.engine.set_decision(amen, "ban")
    assert s.search("amen").hits == []


def test_open_without_a_catalog_and_close_twice(tmp_path: Path) -> None:
    s = Session(Settings(library_db=tmp_path / "none.db", use_clap=False))
    with pytest.raises(CatalogError, match="companion scan"):
        s.open(create=False)
    with pytest.raises(CompanionError, match="not open"):
        s.rank()
    s.close()
    s.close()
    assert s.closed and not (tmp_path / "none.db").exists()

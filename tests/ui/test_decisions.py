"""Pin, ban, skip and undo from the keyboard; every action lands in the catalog and the outbox."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QUrl

from companion.library.catalog import Catalog
from companion.ui.audition_adapter import MIME_SAMPLE
from tests.ui.conftest import events, wait_until


def _decisions(db: Path) -> set[tuple[int, str]]:
    with Catalog.open(db) as catalog:
        return set(catalog.conn.execute("SELECT sample_id, decision FROM decisions").fetchall())


def _banned_folders(db: Path) -> set[str]:
    with Catalog.open(db) as catalog:
        return {r[0] for r in catalog.conn.execute("SELECT folder FROM banned_folders")}


def _names(window) -> list[str]:
    return [it.name for it in window.model.items]


def test_ban_removes_the_card_and_undo_brings_it_back(qtbot, make_window, library_db):
    window = make_window()
    window.view.select_row(1)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_B)
    assert item.name not in _names(window)  # at once, before the catalog write
    assert window.view.currentIndex().row() == 1  # the selection stays in place
    wait_until(qtbot, lambda: (item.sample_id, "ban") in _decisions(library_db))
    wait_until(qtbot, lambda: window.latest is not None and item.name not in [i.name for i in window.latest.items])

    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.model.items[1].sample_id == item.sample_id  # back where it was
    wait_until(qtbot, lambda: (item.sample_id, "ban") not in _decisions(library_db))
    types = [t for t, sid, _ in events(library_db) if sid == item.sample_id]
    assert types[-2:] == ["ban", "unban"]
    with Catalog.open(library_db) as catalog:  # each event has its outbox row
        n_events = catalog.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        n_outbox = catalog.conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'event'").fetchone()[0]
    assert n_outbox == n_events


def test_skip_hides_for_the_session_and_undo(qtbot, make_window, library_db):
    window = make_window()
    window.view.select_row(0)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert item.name not in _names(window)
    wait_until(qtbot, lambda: ("skip", item.sample_id) in [(t, s) for t, s, _ in events(library_db)])
    wait_until(
        qtbot,
        lambda: (
            window.latest is not None
            and item.sample_id not in [i.sample_id for i in window.latest.items]
            and window.latest.seq > 1
        ),
    )
    assert item.sample_id in window.controller.engine.state.dismissed
    window.undo_stack.undo()
    assert item.name in _names(window)
    wait_until(qtbot, lambda: item.sample_id not in window.controller.engine.state.dismissed)
    # the engine drops the skip from its state, then writes the event (same lock, db pool):
    # the row may land just after the state changed
    wait_until(qtbot, lambda: events(library_db)[-1][0] == "undo")


def test_ban_folder_and_undo(qtbot, make_window, library_db):
    window = make_window()
    window.view.select_row(0)
    window.view.setFocus()
    folder = window.selected().folder
    qtbot.keyClick(window.view, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    assert window.model.rowCount() == 0  # every test sample lives in that one folder
    wait_until(qtbot, lambda: str(Path(folder).resolve()) in _banned_folders(library_db))
    window.undo_stack.undo()
    assert window.model.rowCount() > 0
    wait_until(qtbot, lambda: not _banned_folders(library_db))


def test_pin_puts_the_sample_first(qtbot, make_window, library_db):
    window = make_window()
    window.view.select_row(window.model.rowCount() - 1)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_P)
    wait_until(qtbot, lambda: (item.sample_id, "pin") in _decisions(library_db))
    wait_until(qtbot, lambda: window.model.items and window.model.items[0].sample_id == item.sample_id)
    assert window.model.items[0].pinned
    assert window.inspector.buttons["pin"].text().startswith("Unpin") or window.selected().sample_id != item.sample_id


def test_enter_accepts_and_records(qtbot, make_window, library_db):
    window = make_window()
    window.view.select_row(0)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    wait_until(qtbot, lambda: ("accept", item.sample_id) in [(t, s) for t, s, _ in events(library_db)])
    meta = json.loads(next(m for t, s, m in events(library_db) if t == "accept"))
    assert meta["via"] == "key" and meta["rank"] == 1
    # an accepted sample is not suggested again
    wait_until(qtbot, lambda: item.sample_id not in [i.sample_id for i in window.model.items])


def test_views_are_recorded_once_the_list_stays_on_screen(qtbot, make_window, library_db):
    window = make_window()
    shown = [it.sample_id for it in window.model.items]
    wait_until(qtbot, lambda: len(events(library_db, "view")) >= len(shown), timeout_s=10)
    views = events(library_db, "view")
    assert {sid for _, sid, _ in views} == set(shown)
    meta = json.loads(views[0][2])
    assert {"rank", "score", "source", "mode", "list"} <= set(meta)


def test_drag_carries_the_file_url_and_the_render(qtbot, make_window, library_db):
    window = make_window()
    c = window.controller
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 124.0):
        c.edit_context({"bpm": 124.0})
    wait_until(qtbot, lambda: any(it.name == "loop_garzul.flac" for it in window.model.items))
    row = next(i for i, it in enumerate(window.model.items) if it.name == "loop_garzul.flac")
    window.view.select_row(row)
    item = window.selected()

    mime = window._mime_for(item)
    assert mime.urls() == [QUrl.fromLocalFile(item.path)]
    assert json.loads(bytes(mime.data(MIME_SAMPLE)).decode())["sample_id"] == item.sample_id

    window.inspector.drag_rendered.setChecked(True)  # prepares the render for the drag
    key = c.audition._export_key(item, True, None)
    wait_until(qtbot, lambda: key in c.audition._exports, timeout_s=30)
    mime = window._mime_for(item)
    rendered = Path(mime.urls()[0].toLocalFile())
    assert rendered != Path(item.path) and rendered.suffix == ".wav" and "124bpm" in rendered.name
    import soundfile as sf

    info = sf.info(rendered)
    assert abs(info.duration - 8.0 * 120 / 124) < 0.01  # 4 bars at 124 BPM

    # a region of it
    region = (0.0, 0.5)
    c.audition.prepare_drag(item, rendered=True, region=region)
    wait_until(qtbot, lambda: c.audition._export_key(item, True, region) in c.audition._exports, timeout_s=30)
    part = Path(window._region_mime(region).urls()[0].toLocalFile())
    assert abs(sf.info(part).duration - info.duration / 2) < 0.01

    window._dropped(item, Qt.DropAction.CopyAction)  # the DAW took it: that is an accept
    wait_until(qtbot, lambda: any(t == "accept" and s == item.sample_id for t, s, _ in events(library_db)))
    assert json.loads(next(m for t, s, m in events(library_db) if t == "accept"))["via"] == "drag"

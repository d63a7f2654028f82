"""A producer's first session, driven through the real app on a real X display (Xvfb).

Run by ``tests/e2e/test_producer_path.py`` in a child process with ``QT_QPA_PLATFORM=xcb``,
``DISPLAY`` on a private Xvfb, fresh XDG folders, ``HF_ENDPOINT`` on a local model hub and ALSA's
null output. It calls :func:`companion.ui.app.run` — the function ``companion gui`` calls — twice
(first start, then a restart) and drives the window the way a producer does, at 480 px wide:

1. first run: pick the sample folder, tick "get the CLAP model", start;
2. the model downloads (progress) and loads while the scan runs; cards show "analysing…" until
   their analysis lands;
3. the DAW sends tempo and key over OSC (``oscsend``, liblo's command-line peer);
4. Space on the top card once its pre-render is cached: key press → first audible audio block;
5. Filter ▾ → Kind → Loops;
6. quit, start again: tempo, key and the filter are back.

Writes what it saw as JSON to the path in ``argv[1]``, a screenshot per step next to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from companion.ui import app as app_module
from companion.ui.main_window import MainWindow

WIDTH, HEIGHT = 480, 860
AUDIBLE = 10 ** (-60 / 20)
Step = Iterator[Callable[[], bool] | float | tuple[Callable[[], bool], float]]


class Driver:
    """Runs a generator of steps inside the Qt event loop: a step yields a condition to wait for
    (polled every 20 ms) or seconds to wait."""

    def __init__(self, steps: Step, out: dict[str, Any], shots: Path, timeout_s: float = 40.0) -> None:
        self.steps, self.out, self.shots, self.timeout_s = steps, out, shots, timeout_s
        self.waiting: Callable[[], bool] | None = None
        self.until = 0.0
        self.deadline = 0.0
        self.timer = QTimer(interval=20)
        self.timer.timeout.connect(self._tick)
        self.done = False

    def start(self) -> None:
        self.timer.start()
        self._advance()

    def _advance(self) -> None:
        try:
            what = next(self.steps)
        except StopIteration:
            self.done = True
            self.timer.stop()
            return
        except Exception:  # noqa: BLE001 - any failure of a step is reported with its traceback
            self.fail(traceback.format_exc())
            return
        now = time.monotonic()
        self.deadline = now + self.timeout_s
        if isinstance(what, tuple):  # (condition, seconds): a step allowed longer than the default
            what, patience = what
            self.deadline = now + float(patience)
        if callable(what):
            self.waiting, self.until = what, 0.0
        else:
            self.waiting, self.until = None, now + float(what)

    def _tick(self) -> None:
        now = time.monotonic()
        try:
            ready = self.waiting() if self.waiting is not None else now >= self.until
        except Exception:  # noqa: BLE001 - any failure of a step is reported with its traceback
            self.fail(traceback.format_exc())
            return
        if ready:
            self._advance()
        elif now > self.deadline:
            self.fail(f"timed out waiting in step {self.out.get('step')!r}")

    def fail(self, text: str) -> None:
        import faulthandler

        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)  # where each thread was
        self.out.setdefault("errors", []).append(text)
        self.timer.stop()
        self.done = True
        for w in QApplication.topLevelWidgets():
            w.close()
        QApplication.instance().quit()


def window() -> MainWindow | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)


def shot(w: Any, shots: Path, name: str) -> None:
    w.grab().save(str(shots / f"{name}.png"))


def first_session(out: dict[str, Any], shots: Path, pack: Path) -> Step:
    out["step"] = "first run dialog"
    yield lambda: window() is not None and getattr(window(), "first_run_dialog", None) is not None
    w = window()
    assert w is not None
    w.resize(WIDTH, HEIGHT)
    c = w.controller
    dlg = w.first_run_dialog
    yield lambda: dlg.isVisible()
    shot(dlg, shots, "1-first-run")
    dlg.folder_list.add_folder(str(pack))
    dlg.get_model.setChecked(True)
    states: list[Any] = []
    c.models.changed.connect(states.append)
    finished: list[tuple[bool, str]] = []
    c.models.finished.connect(lambda ok, text: finished.append((ok, text)))
    scan_done: list[Any] = []
    c.scan_finished.connect(lambda report, error: scan_done.append((report, error)))
    seen: list[tuple[int, int]] = []  # (analysing cards, ranked cards) of each list shown
    w.model.modelReset.connect(
        lambda: seen.append(
            (sum(1 for it in w.model.items if it.analysing), sum(1 for it in w.model.items if not it.analysing))
        )
    )
    dlg.start_button.click()

    out["step"] = "model download and scan"
    yield lambda: bool(finished) and bool(scan_done)
    out["fetch"] = {
        "ok": finished[0][0],
        "text": finished[0][1],
        "progress_events": len(states),
        "bytes_total": max((s.total for s in states), default=0),
        "bytes_done": max((s.done for s in states), default=0),
    }
    yield lambda: c.session.clap is not None and c.session.clap.embedder is not None
    out["clap_loaded"] = True
    out["get_model_button_visible"] = w.get_model_button.isVisible()
    report, error = scan_done[0]
    out["scan"] = {"error": error, "analysed": getattr(report, "analysed", None)}
    out["lists_while_scanning"] = seen
    shot(w, shots, "2-scanned")

    out["step"] = "OSC context"
    port = c.listener.port
    subprocess.run(["oscsend", "127.0.0.1", str(port), "/context/bpm", "f", "124"], check=True)
    subprocess.run(["oscsend", "127.0.0.1", str(port), "/context/key", "s", "Bm"], check=True)
    yield lambda: c.context().bpm == 124.0 and c.context().key is not None and bool(w.model.items)
    yield lambda: w.model.items[0].rank == 1 and not w.model.items[0].analysing
    out["context"] = {"bpm": c.context().bpm, "key": str(c.context().key), "source_text": w.context_bar.source.text()}

    out["step"] = "audition a pre-rendered top card"
    auditioner = c.auditioner
    player = auditioner.player
    w.view.select_row(0)
    w.view.setFocus()
    ctx = c.context()
    waited_from = time.perf_counter()
    lists_before = len(seen)  # lists shown while it waits (re-ranks as CLAP vectors come in)

    def cached() -> bool:
        # the card selected now: a late re-rank may have moved the selection, and the
        # pre-render follows the list (selected card first)
        out["lists_during_prerender"] = len(seen) - lists_before  # reported on a timeout too
        return (it := w.selected()) is not None and auditioner.is_cached(it.audition(), ctx.bpm, ctx.key)

    # The pre-render competes with the scan's last analyses and the CLAP embedding on two
    # cores; how long it took is reported, the press-to-sound time below is what is measured.
    yield (cached, 120.0)
    item = w.selected()
    out["prerender_wait_s"] = round(time.perf_counter() - waited_from, 2)
    heard: list[float] = []

    def tap(block: np.ndarray) -> None:
        if not heard and float(np.max(np.abs(block))) > AUDIBLE:
            heard.append(time.perf_counter())

    out["step"] = "key press → sound"
    w.activateWindow()  # keyboard shortcuts need the active window (no window manager on Xvfb)
    yield lambda: w.isActiveWindow()
    player.tap = tap
    pressed = time.perf_counter()
    QTest.keyClick(w.view, Qt.Key.Key_Space)
    yield lambda: bool(heard)
    player.tap = None
    out["audition"] = {"name": item.name, "cached": True, "press_to_sound_ms": (heard[0] - pressed) * 1000.0}
    yield 0.3
    QTest.keyClick(w.view, Qt.Key.Key_Space)  # stop

    out["step"] = "filter by kind"
    w.filter_menu.entries["kind:loop"].trigger()
    yield lambda: bool(w.model.items) and all(it.kind == "loop" for it in w.model.items if not it.analysing)
    out["filtered_kinds"] = sorted({it.kind for it in w.model.items})
    out["filtered_count"] = len(w.model.items)
    shot(w, shots, "3-filtered")
    out["width"] = w.width()
    out["cut_off"] = [
        (sid, t.role)
        for sid in list(w.view.itemDelegate().painted)
        for t in w.view.itemDelegate().painted[sid].texts
        if t.role in ("name", "kind", "bpm", "key") and t.elided and t.role != "name"
    ]
    yield 1.2  # the context settles and is saved
    w.close()


def second_session(out: dict[str, Any], shots: Path) -> Step:
    out["step"] = "restart"
    yield lambda: window() is not None and bool(window().model.items)
    w = window()
    c = w.controller
    yield lambda: c.context().bpm is not None
    out["restored"] = {
        "bpm": c.context().bpm,
        "key": str(c.context().key),
        "source_text": w.context_bar.source.text(),
        "filter": w.filter_menu.list_filter.describe(),
        "kinds": sorted({it.kind for it in w.model.items}),
        "first_run_dialog": getattr(w, "first_run_dialog", None) is not None,
        "width": w.width(),
    }
    shot(w, shots, "4-restarted")
    w.close()


def main() -> None:
    result_path = Path(sys.argv[1])
    pack = Path(sys.argv[2])
    shots = result_path.parent
    out: dict[str, Any] = {}
    app = app_module.application()
    for session in (lambda: first_session(out, shots, pack), lambda: second_session(out, shots)):
        driver = Driver(session(), out, shots)
        QTimer.singleShot(0, driver.start)
        app_module.run()
        if out.get("errors"):
            break
    out["step"] = "done" if not out.get("errors") else out.get("step")
    result_path.write_text(json.dumps(out, indent=1, default=str))
    del app


if __name__ == "__main__":
    main()

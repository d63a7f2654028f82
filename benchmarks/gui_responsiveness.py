"""Responsiveness of the desktop app on a 100k-sample library (issue 5, item 6).

What it measures, on the real window (offscreen Qt) with the real services:

1. **open**: seconds from ``controller.start()`` to the first painted suggestion list.
2. **context → repaint**: a session context (random tempo and key, sometimes mood words) is sent
   as a real OSC packet over UDP to the app's listener; the time from the packet's arrival (the
   listener's stamp) to the end of the list view's next paint. One change at a time with a
   pause between them (so each is answered on its own), while the app does what it does between
   changes: waveform thumbnails, pre-renders of the likely next auditions (Rubber Band), and
   every 10th change an audition of the selected card through the audio output (ALSA null
   device when there is no sound card, paced to real time as a sound card would consume it:
   :func:`pace_audio_callbacks`) and a library search.
3. **GUI stalls**: a watchdog ``QTimer`` every 5 ms on the GUI thread
   (:class:`companion.ui.stall.StallMonitor`); a stall is the lateness of a tick. Reported for
   phase 2, for an OSC flood (packets as fast as one socket of another process sends them,
   coalesced by the follower), and while a real scan of Sonic Pi samples runs (spawned process) and the engine
   reloads the library.

The library is synthesised straight into a catalog (rows, analyses and 512-d fingerprint vectors
from ``synthetic_library.py``), its files are symlinks to the Debian Sonic Pi samples so that
thumbnails and renders read real audio; catalog and HNSW index are cached under ``--cache``.

Targets: context change → repaint ≤ 100 ms; GUI thread never blocked > 50 ms.

Run:  python benchmarks/gui_responsiveness.py [--n 100000] [--changes 150]
Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

from synthetic_library import TAG_WORDS, candidates, clustered_vectors

from companion.analysis.result import Analysis
from companion.embedding.fingerprint import FINGERPRINT_SPACE
from companion.library import vectors
from companion.library.catalog import ANALYSER_VERSION, Catalog
from companion.library.db import transaction
from companion.library.indexes import refresh_indexes

SONIC_PI = Path("/usr/share/sonic-pi/samples")
GENERATOR = 1  # bump when the synthetic catalog changes


def pace_audio_callbacks() -> None:
    """Give ALSA's null sink the clock of a sound card.

    The null PCM has no clock: it takes each block as soon as the callback returns, so PortAudio
    calls the player's callback in a tight loop and an audition would hold a CPU and Python's
    GIL the whole time — load that no real output device causes. Each callback is followed by a
    sleep (GIL released) until the wall clock reaches the frames played so far, as a device
    consuming ``sample_rate`` frames per second would pace it.
    """
    from companion.preview.player import Player

    original = Player._callback

    def paced(self, generation, outdata, frames, time_info, status):
        clock = self.__dict__.setdefault("_bench_clock", [time.perf_counter(), generation])
        if clock[1] != generation:  # a new stream: its clock starts now
            clock[:] = [time.perf_counter(), generation]
        try:
            original(self, generation, outdata, frames, time_info, status)
        finally:
            clock[0] += frames / float(self._stream_rate or 44100)
            ahead = clock[0] - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)

    Player._callback = paced


def synthesise(n: int, cache: Path) -> Path:
    """A catalog of ``n`` analysed samples with fingerprint vectors and an index (cached)."""
    folder = cache / f"gui_{n}_g{GENERATOR}"
    db = folder / "library.db"
    done = folder / "done.json"
    if done.exists():
        return db
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "files").mkdir(parents=True)
    t0 = time.perf_counter()
    cands = candidates(n)
    vecs, _ = clustered_vectors(n, 512)
    real = sorted(SONIC_PI.glob("*.flac"))
    loops = [p for p in real if p.name.startswith("loop_")]
    shots = [p for p in real if not p.name.startswith("loop_")]
    now = time.time()
    with Catalog.open(db) as catalog:
        conn = catalog.conn
        with transaction(conn):
            for i in range(n):
                pack = cands.folders[i].rsplit("/", 1)[1]
                target = (loops if cands.is_loop[i] else shots)[i % len(loops if cands.is_loop[i] else shots)]
                link_dir = folder / "files" / pack
                link_dir.mkdir(exist_ok=True)
                path = link_dir / (cands.names[i].rsplit(".", 1)[0] + ".flac")
                os.symlink(target, path)
                bpm = None if np.isnan(cands.bpm[i]) else float(cands.bpm[i])
                key_pc = int(cands.key_pc[i]) if cands.key_pc[i] >= 0 else None
                mode = None if key_pc is None else ("minor" if cands.mode[i] == 1 else "major")
                tags = sorted(cands.tags[i])
                a = Analysis(
                    duration_s=float(cands.duration_s[i]),
                    sample_rate=44100,
                    channels=2,
                    kind="loop" if cands.is_loop[i] else "one-shot",
                    bpm=bpm,
                    key_pc=key_pc,
                    mode=mode,
                    pitched=bool(cands.pitched[i]),
                    tags=tags,
                    loudness_lufs=-14.0,
                )
                h = cands.content_hash[i]
                conn.execute(
                    "INSERT INTO samples (id, path, root, folder, name, size, mtime_ns, content_hash, status,"
                    " name_tags, added_at, seen_at, analysed_at) VALUES (?,?,?,?,?,0,0,?,'analysed',?,?,?,?)",
                    (
                        int(cands.ids[i]),
                        str(path),
                        str(folder / "files"),
                        str(link_dir),
                        path.name,
                        h,
                        " ".join([pack, *tags, path.stem]),
                        float(cands.added_at[i]),
                        now,
                        now,
                    ),
                )
                conn.execute(
                    "INSERT OR IGNORE INTO analyses (content_hash, analyser_version, duration_s, kind, bpm,"
                    " key_pc, mode, pitched, loudness_lufs, analysis_json, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        h,
                        ANALYSER_VERSION,
                        a.duration_s,
                        a.kind,
                        bpm,
                        key_pc,
                        mode,
                        int(a.pitched),
                        -14.0,
                        json.dumps(a.to_dict()),
                        now,
                    ),
                )
            vectors.space_id(conn, FINGERPRINT_SPACE, 512)
            first = {}
            for i, h in enumerate(cands.content_hash):
                first.setdefault(h, i)
            vectors.put_vectors(conn, FINGERPRINT_SPACE, ((h, vecs[i]) for h, i in first.items()), enqueue_sync=False)
        t1 = time.perf_counter()
        refresh_indexes(catalog)
        t2 = time.perf_counter()
    done.write_text(json.dumps({"n": n, "rows_s": t1 - t0, "index_s": t2 - t1}))
    print(f"synthesised {n} samples in {t1 - t0:.1f} s, index built in {t2 - t1:.1f} s", file=sys.stderr)
    return db


class Sender:
    """Sends OSC from a thread of its own, so the benchmark never blocks the GUI thread it measures."""

    def __init__(self, client) -> None:
        self.client = client
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, daemon=True).start()

    def send_message(self, address: str, value) -> None:
        self.queue.put((address, value))

    def _run(self) -> None:
        while True:
            address, value = self.queue.get()
            self.client.send_message(address, value)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="library size")
    ap.add_argument("--changes", type=int, default=150, help="context changes in phase 2")
    ap.add_argument("--flood", type=int, default=2000, help="OSC packets in the flood")
    ap.add_argument("--cache", type=Path, default=ROOT / ".bench")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    db_template = synthesise(args.n, args.cache)

    from PySide6.QtCore import QEventLoop, QTimer
    from pythonosc.udp_client import SimpleUDPClient

    from companion.settings import SettingsStore
    from companion.ui.app import application
    from companion.ui.controller import AppController
    from companion.ui.main_window import MainWindow
    from companion.ui.stall import StallMonitor

    work = Path(tempfile.mkdtemp(prefix="gui-bench-"))
    db = work / "library.db"
    shutil.copy2(db_template, db)
    shutil.copytree(db_template.with_name("library.db.indexes"), work / "library.db.indexes")
    scan_src = work / "scan-me"
    scan_src.mkdir()
    for p in sorted(SONIC_PI.glob("*.flac"))[:24]:
        shutil.copy2(p, scan_src / p.name)

    pace_audio_callbacks()
    app = application()  # noqa: F841 - keeps the QApplication alive
    gc_pauses: list[float] = []  # full collections on the GUI thread (ms)
    gc_phases: Counter[str] = Counter()  # ... by phase
    bench_phase = ["open"]
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if threading.current_thread() is not threading.main_thread() or info.get("generation") != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000.0)
            gc_phases[bench_phase[0]] += 1

    gc.callbacks.append(on_gc)
    stall = StallMonitor(interval_ms=5)

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(cond, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > deadline:
                return False
            wait(2)
        return True

    store = SettingsStore(
        work / "settings.json",
        environment=False,
        file_values=dict(library_db=str(db), first_run_done=True, osc_port=0, watch_folders=False, auto_preview=False),
    )
    controller = AppController(store)
    window = MainWindow(controller)
    # GUI-thread CPU time per new list (its handler + the next paint): what our code costs the
    # GUI thread, apart from waiting for a CPU on a busy machine.
    update_cpu: list[float] = []
    pending_cpu: list[float] = []
    on_suggestions = window._on_suggestions

    def timed_on_suggestions(batch, fresh=True):
        t = time.thread_time()
        on_suggestions(batch, fresh)
        pending_cpu.append((time.thread_time() - t) * 1000.0)

    def timed_paint() -> None:
        if pending_cpu:
            update_cpu.append(pending_cpu.pop() + (time.thread_time() - paint_started[0]) * 1000.0)
            pending_cpu.clear()

    paint_started = [0.0]
    window._on_suggestions = timed_on_suggestions
    original_paint = window.view.paintEvent
    window.view.paintEvent = lambda e: (
        paint_started.__setitem__(0, time.thread_time()),
        original_paint(e),
        timed_paint(),
    )
    window.resize(1280, 800)
    window.show()
    stall.start()
    t0 = time.perf_counter()
    failed: list[str] = []
    controller.engine_failed.connect(failed.append)
    controller.start()
    wait_for(lambda: bool(window.repaint_ms) or bool(failed), 600)
    if failed or not window.repaint_ms:
        sys.exit(f"the library did not open: {failed[0] if failed else 'no list within 600 s'}")
    open_s = time.perf_counter() - t0
    open_stall = stall.max_stall_ms
    open_busy = stall.max_busy_ms
    gc_objects = len(gc.get_objects())  # what a full collection traverses
    print(
        f"library of {args.n}: window up, first list painted after {open_s:.2f} s "
        f"(max GUI stall while opening {open_stall:.1f} ms, GUI-thread CPU run ≤ {open_busy:.1f} ms); "
        f"{gc_objects} GC-tracked objects: {Counter(type(o).__name__ for o in gc.get_objects()).most_common(6)}",
        file=sys.stderr,
    )
    wait(1500)

    # ---------------------------------------------------------------- phase 2: context changes
    bench_phase[0] = "changes"
    rng = np.random.default_rng(args.seed)
    osc = Sender(SimpleUDPClient("127.0.0.1", controller.listener.port))
    keys = [
        "C",
        "Cm",
        "Db",
        "C#m",
        "D",
        "Dm",
        "Eb",
        "Ebm",
        "E",
        "Em",
        "F",
        "Fm",
        "F#",
        "F#m",
        "G",
        "Gm",
        "Ab",
        "G#m",
        "A",
        "Am",
        "Bb",
        "Bbm",
        "B",
        "Bm",
    ]
    window.repaint_ms.clear()
    rank_ms: list[float] = []
    ranked_ms: list[float] = []  # packet arrival → ranked list (the follower's latency)
    controller.suggestions_ready.connect(lambda b: (rank_ms.append(b.rank_ms), ranked_ms.append(b.latency_ms)))
    stall.start()
    missed = 0
    for i in range(args.changes):
        before = len(window.repaint_ms)
        bpm = 70.0 + (i * 37) % 105 + (0.5 if i % 2 else 0.0)  # a new tempo every time
        osc.send_message("/context/bpm", bpm)
        osc.send_message("/context/key", keys[int(rng.integers(0, len(keys)))])
        if i % 7 == 0:
            osc.send_message("/context/mood", [TAG_WORDS[int(rng.integers(0, 12))]])
        if not wait_for(lambda b=before: len(window.repaint_ms) > b, 5.0):
            missed += 1
        if i % 10 == 5 and window.model.rowCount():
            window.view.select_row(int(rng.integers(0, min(5, window.model.rowCount()))))
            window.toggle_play()
        if i % 10 == 8:
            window.search.setText(TAG_WORDS[int(rng.integers(0, len(TAG_WORDS)))])
            wait(400)
            window.back_to_suggestions()
        wait(int(rng.integers(60, 160)))
    controller.audition.stop()
    # each packet pair (bpm, key) may paint twice; the first paint after a change answers it
    repaint = list(window.repaint_ms)
    changes_stall = stall.max_stall_ms
    changes_busy = stall.max_busy_ms
    changes_stall_p99 = stall.percentile_stall_ms(99)
    changes_stall_p999 = stall.percentile_stall_ms(99.9)
    over_50 = sum(1 for g in stall.gaps_ms if g - stall.interval_ms > 50)
    print(
        f"context → repaint over {len(repaint)} paints ({args.changes} changes, {missed} unanswered): "
        f"p50 {pct(repaint, 50):.1f} ms, p95 {pct(repaint, 95):.1f} ms, max {max(repaint):.1f} ms; "
        f"ranking p50 {pct(rank_ms, 50):.1f} ms, max {max(rank_ms):.1f} ms; packet → ranked list p50 "
        f"{pct(ranked_ms, 50):.1f} ms, max {max(ranked_ms):.1f} ms",
        file=sys.stderr,
    )
    print(
        f"GUI-thread CPU per new list (handler + paint): p50 {pct(update_cpu, 50):.1f} ms, "
        f"p95 {pct(update_cpu, 95):.1f} ms, max {max(update_cpu, default=float('nan')):.1f} ms "
        f"over {len(update_cpu)} lists; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    print(
        f"GUI stalls during changes: max {changes_stall:.1f} ms, p99 {changes_stall_p99:.1f} ms, "
        f"p99.9 {changes_stall_p999:.1f} ms, ticks late by > 50 ms: {over_50} of {stall.ticks}; "
        f"longest GUI-thread CPU run between ticks {changes_busy:.1f} ms",
        file=sys.stderr,
    )

    # ---------------------------------------------------------------- flood
    bench_phase[0] = "flood"
    wait(500)
    lists_before = len(rank_ms)
    stall.start()
    t = time.perf_counter()
    # from another process, as a DAW sends: a sender thread in this process would compete for
    # the GIL with the GUI thread being measured
    sender = (
        "import sys; from pythonosc.udp_client import SimpleUDPClient as C; c = C('127.0.0.1', int(sys.argv[1]))\n"
        "for i in range(int(sys.argv[2])): c.send_message('/context/bpm', 80.0 + (i % 900) / 10.0)"
    )
    flood = subprocess.Popen([sys.executable, "-c", sender, str(controller.listener.port), str(args.flood)])
    wait_for(lambda: flood.poll() is not None, 60)
    send_s = time.perf_counter() - t
    wait(1500)
    flood_stall = stall.max_stall_ms
    flood_busy = stall.max_busy_ms
    flood_lists = len(rank_ms) - lists_before
    print(
        f"flood: {args.flood} packets from another process in {send_s * 1000:.0f} ms (with its start) → {flood_lists} rankings (coalesced); "
        f"max GUI stall {flood_stall:.1f} ms (GUI-thread CPU run ≤ {flood_busy:.1f} ms)",
        file=sys.stderr,
    )

    # ---------------------------------------------------------------- key press → sound
    bench_phase[0] = "press"
    # Space on a card (the window's own key handling, audio pool, player) to the first audio
    # block above -60 dBFS that PortAudio takes: the top 10 after their pre-render, then cards
    # further down the list that nothing rendered ahead.
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    player = controller.auditioner.player
    heard_at = [0.0]

    def tap(block) -> None:
        if not heard_at[0] and float(np.max(np.abs(block))) > 10 ** (-60 / 20):
            heard_at[0] = time.perf_counter()

    def press_to_sound(row: int) -> tuple[float, bool] | None:
        window.view.select_row(row)
        window.view.setFocus()
        wait(30)
        item = window.selected()
        ctx = controller.context()
        cached = controller.auditioner.is_cached(item.audition(), ctx.bpm, ctx.key)
        heard_at[0] = 0.0
        t = time.perf_counter()
        QTest.keyClick(window.view, Qt.Key.Key_Space)
        if not wait_for(lambda: heard_at[0] > 0.0, 20.0):
            return None
        ms = (heard_at[0] - t) * 1000.0
        QTest.keyClick(window.view, Qt.Key.Key_Space)  # stop
        wait(250)
        return ms, cached

    press: dict[str, list[float]] = {"prefetched": [], "uncached": []}
    if player is not None:
        player.tap = tap
        osc.send_message("/context/bpm", 124.0)
        osc.send_message("/context/key", "Bm")
        wait(4000)  # the new list's top 10 are pre-rendered meanwhile
        rows = window.model.rowCount()
        for row in [*range(min(10, rows)), *range(20, min(30, rows))]:
            got = press_to_sound(row)
            if got is not None:
                press["prefetched" if got[1] else "uncached"].append(got[0])
            wait(300)
        player.tap = None
    for name, values in press.items():
        if values:
            print(
                f"key press → first audible block, {name} ({len(values)} cards): p50 {pct(values, 50):.1f} ms, "
                f"p95 {pct(values, 95):.1f} ms, max {max(values):.1f} ms",
                file=sys.stderr,
            )

    # ---------------------------------------------------------------- during a scan
    bench_phase[0] = "scan"
    window.repaint_ms.clear()
    stall.start()
    t = time.perf_counter()
    controller.library.set_folders([str(scan_src)])
    scanning_changes = 0
    while controller.library.scanning and time.perf_counter() - t < 600:
        osc.send_message("/context/bpm", float(rng.integers(70, 175)))
        scanning_changes += 1
        wait(250)
    scan_s = time.perf_counter() - t
    wait(1000)
    scan_stall = stall.max_stall_ms
    scan_busy = stall.max_busy_ms
    scan_repaint = list(window.repaint_ms)
    print(
        f"during a scan of {len(list(scan_src.iterdir()))} files ({scan_s:.1f} s, then the engine reloads "
        f"{args.n} samples): max GUI stall {scan_stall:.1f} ms (GUI-thread CPU run ≤ {scan_busy:.1f} ms); context → repaint p50 "
        f"{pct(scan_repaint, 50):.1f} ms, max {max(scan_repaint, default=float('nan')):.1f} ms "
        f"over {len(scan_repaint)} paints",
        file=sys.stderr,
    )

    print(
        f"full garbage collections on the GUI thread: {len(gc_pauses)}, longest {max(gc_pauses, default=0.0):.1f} ms "
        f"(by phase: {dict(gc_phases)}; {len(gc.get_objects())} objects tracked outside the frozen start-up heap)",
        file=sys.stderr,
    )
    stall.stop()
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    figures = {
        "n_samples": args.n,
        "open_s": round(open_s, 2),
        "open_stall_max_ms": round(open_stall, 1),
        "repaint_p50_ms": round(pct(repaint, 50), 1),
        "repaint_p95_ms": round(pct(repaint, 95), 1),
        "repaint_max_ms": round(max(repaint), 1),
        "rank_p50_ms": round(pct(rank_ms, 50), 2),
        "update_cpu_p50_ms": round(pct(update_cpu, 50), 1),
        "update_cpu_max_ms": round(max(update_cpu, default=float("nan")), 1),
        "load_avg": round(os.getloadavg()[0], 1),
        "stall_max_ms": round(changes_stall, 1),
        "stall_p99_ms": round(changes_stall_p99, 1),
        "busy_max_ms": round(changes_busy, 1),
        "open_busy_max_ms": round(open_busy, 1),
        "flood_busy_max_ms": round(flood_busy, 1),
        "scan_busy_max_ms": round(scan_busy, 1),
        "stall_over_50ms": over_50,
        "flood_packets": args.flood,
        "flood_rankings": flood_lists,
        "flood_stall_max_ms": round(flood_stall, 1),
        "scan_s": round(scan_s, 1),
        "scan_stall_max_ms": round(scan_stall, 1),
        "scan_repaint_max_ms": round(max(scan_repaint, default=float("nan")), 1),
        "gc_full_on_gui": len(gc_pauses),
        "gc_max_ms": round(max(gc_pauses, default=0.0), 1),
        "gc_objects": gc_objects,
        "press_cached_n": len(press["prefetched"]),
        "press_cached_p50_ms": round(pct(press["prefetched"], 50), 1) if press["prefetched"] else None,
        "press_cached_max_ms": round(max(press["prefetched"]), 1) if press["prefetched"] else None,
        "press_uncached_n": len(press["uncached"]),
        "press_uncached_p50_ms": round(pct(press["uncached"], 50), 1) if press["uncached"] else None,
        "press_uncached_max_ms": round(max(press["uncached"]), 1) if press["uncached"] else None,
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()

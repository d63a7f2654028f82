"""Click → first audible audio block: a pre-rendered (top-10) card vs an uncached sample.

What it measures: the time from a "click" (the request handed to a worker thread, as
:class:`companion.ui.audition_adapter.AuditionAdapter` does on its ``audio`` pool) to the first
audio callback block whose peak is above -60 dBFS, seen through ``Player.tap`` on the real
PortAudio stream (ALSA null sink when there is no sound card, paced to real time as a card would
be: ``gui_responsiveness.pace_audio_callbacks``). Cards are Sonic Pi loops and one-shots in a
124 BPM, B minor session, so loops are time-stretched (Rubber Band) and off-key samples shifted.

* **prefetched**: ``Auditioner.prefetch`` rendered the card first (what the window does for the
  top 10 of each list), so the click only plays from the render cache.
* **uncached**: a fresh render cache: the click renders a draft of the first seconds and plays
  it (``Auditioner.play_at_once``); **uncached_full_render_first**: the same, rendering the
  whole full-quality render before playing (the behaviour before drafts).

The GUI thread and its task queue are not in the loop (see gui_responsiveness.py for those).
Targets: p50/p95 < 30 ms for the top 10, < 150 ms for others.

Run:  python benchmarks/audition_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

from gui_responsiveness import pace_audio_callbacks

from companion.music.keys import parse_key
from companion.preview.audition import Auditioner, AuditionItem
from companion.preview.cache import RenderCache
from companion.preview.player import Player

SONIC_PI = Path("/usr/share/sonic-pi/samples")
#: (file, kind, BPM, key) of the cards, as the test library corrects them (tests/ui/conftest.py).
CARDS = (
    ("loop_amen.flac", "loop", 137.0, None),
    ("loop_breakbeat.flac", "loop", 126.0, None),
    ("loop_garzul.flac", "loop", 120.0, None),
    ("loop_mika.flac", "loop", 120.0, "F# minor"),
    ("loop_safari.flac", "loop", 160.0, "Db major"),
    ("loop_tabla.flac", "loop", 90.0, "Bb major"),
    ("bd_haus.flac", "one-shot", None, None),
    ("sn_dolf.flac", "one-shot", None, None),
    ("ambi_piano.flac", "one-shot", None, "F minor"),
    ("elec_blip.flac", "one-shot", None, None),
)
CONTEXT_BPM, CONTEXT_KEY = 124.0, parse_key("B minor")
#: A block counts as audible above this peak (-60 dBFS).
AUDIBLE = 10 ** (-60 / 20)


def click_to_sound_ms(auditioner: Auditioner, item: AuditionItem, *, draft: bool = True) -> float:
    """One click on a worker, to the first audible block (ms): ``Auditioner.play_at_once`` (what
    the window does: the cached render, else a draft first), or with ``draft=False`` the full
    render first (``prepare`` + ``play``, for comparison)."""
    heard = threading.Event()
    player = auditioner.player
    assert player is not None

    def tap(block: np.ndarray) -> None:
        if not heard.is_set() and float(np.max(np.abs(block))) > AUDIBLE:
            heard.set()
            stamp[0] = time.perf_counter()

    stamp = [0.0]
    player.tap = tap
    t0 = time.perf_counter()
    if draft:
        worker = threading.Thread(target=lambda: auditioner.play_at_once(item, CONTEXT_BPM, CONTEXT_KEY))
    else:
        worker = threading.Thread(target=lambda: auditioner.play(auditioner.prepare(item, CONTEXT_BPM, CONTEXT_KEY)))
    worker.start()
    if not heard.wait(30.0):
        raise RuntimeError(f"{item.path}: no sound within 30 s")
    worker.join()
    player.tap = None
    auditioner.stop()
    time.sleep(0.15)  # the fade-out ends and the stream closes, as between two clicks
    return (stamp[0] - t0) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="clicks per card and case")
    args = parser.parse_args()
    pace_audio_callbacks()
    items = [AuditionItem(str(SONIC_PI / f), kind, bpm, key) for f, kind, bpm, key in CARDS]
    player = Player()
    figures: dict[str, list[float]] = {"prefetched": [], "uncached": [], "uncached_full_render_first": []}
    for _ in range(args.rounds):
        cold = Auditioner(player, RenderCache())
        figures["uncached"] += [click_to_sound_ms(cold, it) for it in items]
        cold = Auditioner(player, RenderCache())
        figures["uncached_full_render_first"] += [click_to_sound_ms(cold, it, draft=False) for it in items]
        warm = Auditioner(player, RenderCache())
        warm.prefetch(items, CONTEXT_BPM, CONTEXT_KEY)
        figures["prefetched"] += [click_to_sound_ms(warm, it) for it in items]
    player.close()
    print(f"cpus={os.cpu_count()} load1={os.getloadavg()[0]:.2f} cards={len(items)} rounds={args.rounds}")
    for name, values in figures.items():
        v = np.array(values)
        print(
            f"{name}: n={v.size} p50={np.percentile(v, 50):.1f}ms p95={np.percentile(v, 95):.1f}ms max={v.max():.1f}ms"
        )


if __name__ == "__main__":
    main()

"""The one-shot generator cuts each labelled item where its sound starts, with either renderer.

Renders a few items with ``benchmarks/datasets/make_oneshots.py`` through FluidSynth (FluidR3
GM) and TiMidity++ (FreePats), then checks the audio itself: the onset of every item is at the
start its file is cut at. TiMidity++ starts its output at the first note; cutting its render at
the MIDI times, as for FluidSynth, put every FreePats file 0.55 s late, past the attack.
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))

import make_oneshots as gen

FREEPATS = Path("/etc/timidity/freepats.cfg")
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def _items(available: tuple[set[int], set[int]] | None) -> list[gen.Item]:
    """Drum hits and short notes of one GM kit and a few programs (fixed seed)."""
    items = gen.soundfont_items("test", "pats", random.Random(5), 0, available)
    hits = [it for it in items if it.style == "hit"][:4]
    notes = [it for it in items if it.style == "note"][:4]
    return hits + notes


def _onsets(audio: np.ndarray, starts: list[float]) -> list[float]:
    """First time (s) each item's envelope passes 5 % of its peak, searched from 1 s before
    its start."""
    env = np.abs(audio).max(axis=1)
    found = []
    for start in starts:
        a = max(0, int((start - 1.0) * gen.SR))
        seg = env[a : a + int(2.5 * gen.SR)]
        found.append((a + int(np.argmax(seg > 0.05 * seg.max()))) / gen.SR)
    return found


@pytest.mark.parametrize("renderer", ["fluidsynth", "timidity"])
def test_each_item_starts_where_its_file_is_cut(renderer: str, tmp_path: Path) -> None:
    patches = {"fluidsynth": FLUIDR3, "timidity": FREEPATS}[renderer]
    if shutil.which(renderer) is None or not patches.exists():
        pytest.fail(f"needs {renderer} and {patches}: see benchmarks/datasets/README.md")
    available = gen.timidity_map(FREEPATS) if renderer == "timidity" else None
    items = _items(available)
    assert len(items) == 8
    audio = gen.render(items, patches, tmp_path)
    _, starts = gen.build_midi(items)
    for item, start, onset in zip(items, starts, _onsets(audio, starts)):
        # the attack of a patch or soundfont zone takes a few ms; 0.55 s was the bug
        assert start - 0.002 <= onset <= start + 0.03, (item.instrument, item.program, start, onset)


def test_freepats_items_use_only_what_the_patch_set_maps() -> None:
    if not FREEPATS.exists():
        pytest.fail("needs freepats: apt install freepats timidity")
    keys, programs = gen.timidity_map(FREEPATS)
    assert 36 in keys and 38 in keys and 42 in keys  # kick, snare, closed hat
    assert 0 in programs and 3 not in programs  # a grand piano; no honky-tonk piano in FreePats
    items = gen.soundfont_items("freepats", "pats", random.Random(0), 0, (keys, programs))
    assert items
    for item in items:
        if item.channel == 9:
            assert {h.pitch for h in item.hits} <= keys
        else:
            assert item.program in programs


def test_textures_come_last_and_leave_every_earlier_synth_item_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped models were fitted on the synth items before the textures: adding them must
    # not change one sample of those, or the fits could not be reproduced.
    items = gen.synth_items(random.Random(0), 0)
    monkeypatch.setattr(gen, "TEXTURES", ())
    before = gen.synth_items(random.Random(0), 0)
    assert len(items) == len(before) + 6 * gen.TEXTURES_EACH
    for (item, y), (old, y_old) in zip(items, before):
        assert item == old
        np.testing.assert_array_equal(y, y_old)
    textures = items[len(before) :]
    assert {(i.instrument, i.kind, i.style, i.pitched) for i, _ in textures} == {("fx", "one-shot", "texture", False)}
    assert all(1.0 <= i.length_s <= 8.0 and np.max(np.abs(y)) == pytest.approx(1.0) for i, y in textures)

"""Generate labelled one-shots and short patterns for the kind and instrument models.

Usage::

    python benchmarks/datasets/make_oneshots.py --source fluidr3 --out /tmp/os/fluidr3 [--seed 0]
    python benchmarks/datasets/make_oneshots.py --source synth --out /tmp/os/synth

Sources (each a *family*: the validation protocol holds a whole family out at a time):

* ``fluidr3``: FluidR3 GM (Debian ``fluid-soundfont-gm``), drum kits and melodic programs;
* ``fluidr3mono``: FluidR3 Mono GM (``fluidr3mono-gm-soundfont``, lossy SF3) — the same
  recordings as ``fluidr3`` re-sampled, so it belongs to the ``fluidr3`` family;
* ``csound``: the csound GM bank (``csound-soundfont``);
* ``avl``: the AVL Black Pearl and Red Zeppelin acoustic drum kits (``avldrums.lv2-soundfont``);
* ``freepats``: the FreePats GUS patches (Debian ``freepats``) rendered by TiMidity++ (``timidity``),
  another set of recordings and another synthesiser (GUS envelopes, its own interpolation): one
  kit and the ~75 GM programs the set has;
* ``synth``: our own numpy synthesis (808-style kicks, noise snares and hats, saw basses, detuned
  pads, Karplus–Strong plucks, risers …) — electronic material the soundfonts lack — and, last
  in each seed, effect *textures* (:data:`TEXTURES`: vinyl crackle, glitch grains, whooshes,
  tape rewinds, impacts with debris, computer bleeps), one-shots whose events fall at random
  times: hits that stand out of the flux but never repeat.

Never used here (reserved for acceptance checks): TimGM6mb, MuseScore General, OPL-3 FM and
Debian's ``hydrogen-drumkits``.

Each soundfont item is either a drum hit (GM percussion map), a short note or chord, a note or
chord *held to the end of the file and cut at a bar line* (1, 2 or 4 bars at 70–160 BPM, as
packs cut sustained samples — these are one-shots), a one-bar roll of one drum (a pattern of
hits: a loop), or a note repeated on the beat (a loop). A random effect (reverb, low-pass, drive,
chorus) on about a quarter of the items and a lossy encoding (OGG Vorbis) on about a sixth.
Names carry no hint (``os_0001.wav``); ``labels.json`` holds instrument, kind, pitched, the GM
program or drum key, source and family.

Deterministic in ``--seed``; needs the ``fluidsynth`` binary (``timidity`` for ``freepats``), the
Debian soundfonts above, mido, soundfile and (for effects) pedalboard.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_loops import midi_from_events

SR = 44100
TPB = 480
BPM = 120.0  # MIDI clock of the render; item times are in seconds
SEC_PER_TICK = 60.0 / BPM / TPB
GAP_S = 3.0

SOUNDFONTS: dict[str, list[tuple[Path, str]]] = {
    # source -> [(soundfont, what it holds: "gm" programs + kits, or "kit0" a kit on bank 0)]
    "fluidr3": [(Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), "gm")],
    "fluidr3mono": [(Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3"), "gm")],
    "csound": [(Path("/usr/share/sounds/sf2/sf_GMbank.sf2"), "gm")],
    "avl": [
        (Path("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2"), "kit0"),
        (Path("/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2"), "kit0"),
    ],
    # a TiMidity++ configuration: "pats", GM programs and drum keys as far as it maps them
    "freepats": [(Path("/etc/timidity/freepats.cfg"), "pats")],
}
FAMILY = {
    "fluidr3": "fluidr3",
    "fluidr3mono": "fluidr3",
    "csound": "csound",
    "avl": "avl",
    "freepats": "freepats",
    "synth": "synth",
}
GM_KITS = (0, 8, 16, 24, 25, 32, 40)

#: GM percussion keys by instrument class (General MIDI 1 percussion map).
DRUM_KEYS: dict[str, tuple[int, ...]] = {
    "kick": (35, 36),
    "snare": (37, 38, 40),
    "clap": (39,),
    "hihat": (42, 44, 46),
    "cymbal": (49, 51, 52, 53, 55, 57, 59),
    "tom": (41, 43, 45, 47, 48, 50),
    "percussion": (54, 56, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 73, 74, 75, 76, 77, 80, 81),
}
#: GM programs (0-based) by instrument class.
PROGRAMS: dict[str, tuple[int, ...]] = {
    "keys": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 112),
    "organ": (16, 17, 18, 19, 20, 21, 23),
    "pluck": (24, 25, 26, 27, 28, 29, 30, 104, 105, 106, 107, 108),
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "strings": (40, 41, 42, 43, 44, 45, 46, 48, 49, 50, 51),
    "vocal": (52, 53, 54),
    "brass": (56, 57, 58, 59, 60, 61, 62, 63),
    "lead": (64, 65, 66, 68, 71, 73, 74, 75, 80, 81, 82, 83, 84, 85, 86, 87),
    "pad": (88, 89, 90, 91, 92, 93, 94, 95),
    "fx": (96, 97, 98, 99, 101, 102, 103, 119, 120, 121, 122, 123, 124, 125, 126, 127),
    "percussion": (113, 114, 115, 116),
}
PITCH_RANGE = {"bass": (28, 52)}
#: Classes whose notes sustain (organs, pads, strings, brass, vocals, leads): their held
#: versions are the "sustained notes cut at a bar line" of the issue.
SUSTAINED = ("organ", "strings", "vocal", "brass", "lead", "pad")


@dataclass
class Hit:
    """One event of an item: a note at ``t`` seconds from the item's start, for ``dur`` s."""

    channel: int
    pitch: int
    t: float
    dur: float
    velocity: int


@dataclass
class Item:
    """One file to write and its label."""

    name: str
    instrument: str
    kind: str  # "loop" | "one-shot"
    style: str  # hit, note, chord, held, roll, repeat
    length_s: float
    bank: int = 0
    program: int = 0
    channel: int = 0
    hits: list[Hit] = field(default_factory=list)
    bpm: float | None = None
    pitched: bool = True


def timidity_map(cfg: Path) -> tuple[set[int], set[int]]:
    """``(drum keys of drumset 0, programs of bank 0)`` that a TiMidity++ configuration maps to a
    patch (lines ``<number> <patch file> …`` after ``drumset 0`` / ``bank 0``)."""
    keys: set[int] = set()
    programs: set[int] = set()
    section: set[int] | None = None
    for line in cfg.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words[:2] == ["drumset", "0"]:
            section = keys
        elif words[:2] == ["bank", "0"]:
            section = programs
        elif words and words[0] in ("drumset", "bank"):
            section = None
        elif len(words) >= 2 and words[0].isdigit() and section is not None:
            section.add(int(words[0]))
    return keys, programs


def soundfont_items(
    source: str,
    holds: str,
    rng: random.Random,
    start: int,
    available: tuple[set[int], set[int]] | None = None,
) -> list[Item]:
    """The items of one soundfont, named from ``start`` on; ``available``: the drum keys and
    programs it has (a TiMidity++ patch set's, :func:`timidity_map`), None for all of GM."""
    items: list[Item] = []
    keys_in, programs_in = available or (set(range(128)), set(range(128)))

    def name() -> str:
        return f"os_{start + len(items) + 1:04d}"

    kits = {"gm": GM_KITS, "pats": (0,)}.get(holds, (None,))
    for kit in kits:
        for instrument, keys in DRUM_KEYS.items():
            if holds == "kit0" and instrument in ("percussion", "clap"):
                continue
            for key in (k for k in keys if k in keys_in):
                channel, bank, program = (9, 128, kit) if kit is not None else (0, 0, 0)
                length = rng.uniform(0.25, 2.0) if instrument != "cymbal" else rng.uniform(1.0, 4.0)
                vel = rng.randint(70, 127)
                items.append(
                    Item(
                        name(),
                        instrument,
                        "one-shot",
                        "hit",
                        length,
                        bank,
                        program,
                        channel,
                        [Hit(channel, key, 0.0, 0.2, vel)],
                        pitched=False,
                    )
                )
        if kit in (0, 24, 25, None):
            for instrument in ("kick", "snare", "hihat", "percussion" if kit is not None else "tom"):
                bpm = float(rng.randint(80, 160))
                beat = 60.0 / bpm
                step = beat / (4 if instrument in ("hihat", "percussion") else 1)
                n = int(round(4 * beat / step))
                key = rng.choice([k for k in DRUM_KEYS[instrument] if k in keys_in])
                channel, bank, program = (9, 128, kit) if kit is not None else (0, 0, 0)
                hits = [
                    Hit(channel, key, i * step, 0.1, rng.randint(80, 127))
                    for i in range(n)
                    if rng.random() < 0.85 or i == 0
                ]
                items.append(
                    Item(
                        name(), "drums", "loop", "roll", 4 * beat, bank, program, channel, hits, bpm=bpm, pitched=False
                    )
                )
    if holds not in ("gm", "pats"):
        return items
    for instrument, programs in PROGRAMS.items():
        lo, hi = PITCH_RANGE.get(instrument, (48, 79))
        for program in (p for p in programs if p in programs_in):
            styles = ["note", "held" if instrument in SUSTAINED or rng.random() < 0.3 else "chord"]
            if rng.random() < 0.2 and instrument not in ("fx",):
                styles.append("repeat")
            for style in styles:
                root = rng.randint(lo, hi)
                chord = style == "chord" or (
                    style == "held" and rng.random() < 0.5 and instrument not in ("bass", "lead")
                )
                pitches = [root, root + rng.choice((3, 4)), root + 7] if chord else [root]
                vel = rng.randint(70, 120)
                if style == "held":
                    bpm = float(rng.randint(70, 160))
                    length = min(rng.choice((1, 2, 4)) * 4 * 60.0 / bpm, 8.0)
                    hits = [Hit(0, p, 0.0, length + 1.0, vel) for p in pitches]
                    items.append(Item(name(), instrument, "one-shot", style, length, 0, program, 0, hits, bpm=bpm))
                elif style == "repeat":
                    bpm = float(rng.randint(80, 150))
                    beat = 60.0 / bpm
                    step = beat / rng.choice((1, 2))
                    n = int(round(4 * beat / step))
                    hits = [Hit(0, root + rng.choice((0, 0, 7, 12)), i * step, step * 0.6, vel) for i in range(n)]
                    items.append(Item(name(), instrument, "loop", style, 4 * beat, 0, program, 0, hits, bpm=bpm))
                else:
                    dur = rng.uniform(0.15, 1.0)
                    length = dur + rng.uniform(0.3, 1.5)
                    hits = [Hit(0, p, 0.0, dur, vel) for p in pitches]
                    items.append(Item(name(), instrument, "one-shot", style, length, 0, program, 0, hits))
            if instrument == "percussion":
                items[-1].pitched = False
    return items


def build_midi(items: list[Item]) -> tuple[mido.MidiFile, list[float]]:
    """One MIDI file playing every item in turn; returns it and each item's start (s)."""
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM)))
    ]
    starts: list[float] = []
    t = 0.5
    for item in items:
        tick0 = int(round(t / SEC_PER_TICK))
        for ch in range(16):
            events.append((tick0, 1, mido.Message("control_change", channel=ch, control=120, value=0)))
        if item.channel != 9:
            events.append((tick0, 2, mido.Message("control_change", channel=item.channel, control=0, value=item.bank)))
            events.append((tick0, 2, mido.Message("program_change", channel=item.channel, program=item.program)))
        else:
            events.append((tick0, 2, mido.Message("program_change", channel=9, program=item.program)))
        lead = 0.05
        for h in item.hits:
            on = tick0 + int(round((lead + h.t) / SEC_PER_TICK))
            off = on + max(1, int(round(h.dur / SEC_PER_TICK)))
            events.append((on, 4, mido.Message("note_on", channel=h.channel, note=h.pitch, velocity=h.velocity)))
            events.append((off, 3, mido.Message("note_off", channel=h.channel, note=h.pitch, velocity=0)))
        starts.append(t + lead)
        t += lead + max(item.length_s, max(h.t + h.dur for h in item.hits)) + GAP_S
    events.append((int(round(t / SEC_PER_TICK)), 0, mido.MetaMessage("end_of_track")))
    return midi_from_events(events, TPB), starts


def render(items: list[Item], soundfont: Path, workdir: Path) -> np.ndarray:
    """Render with FluidSynth, or TiMidity++ for a ``.cfg`` patch set (no reverb or chorus in
    either); returns (n, 2) float32 audio at 44.1 kHz.

    Raises:
        RuntimeError: TiMidity++ played something other than the patch set's own patches.
    """
    mid, starts = build_midi(items)
    mid_path, wav_path = workdir / "items.mid", workdir / "items.wav"
    mid.save(mid_path)
    timidity = soundfont.suffix == ".cfg"
    if timidity:
        # -c: read after the system's timidity.cfg (always read; Debian's maps every program to
        # FluidR3), so it overrides what it maps, and the items use nothing else (timidity_map);
        # -EF…=d: no reverb, chorus or delay; -Ow: stereo 16-bit WAV at SR; -idvv: name each patch
        cmd = ["timidity", "-c", str(soundfont), "-idvv", "-EFreverb=d", "-EFchorus=d", "-EFdelay=d"]
        cmd += ["-Ow", "--output-stereo", "--output-16bit", "-s", str(SR), "-o", str(wav_path), str(mid_path)]
    else:
        cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(SR)]
        cmd += ["-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(mid_path)]
    log = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
    audio, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    assert sr == SR
    if not timidity:
        return audio
    lines = (log.stdout + log.stderr).splitlines()
    loaded = [ln for ln in lines if ln.startswith(("Tonebank", "Drumset"))]  # "Tonebank 0 0: x.pat"
    other = [ln for ln in lines if ln.startswith("Loading SF")]  # a program or key from a soundfont
    other += [ln for ln in loaded if not ln.rstrip().endswith(".pat")]
    if not loaded or other:
        raise RuntimeError(f"TiMidity++ played something other than {soundfont}'s patches: {other[:5]}")
    # TiMidity++ starts its output at the first note: put back the silence before it
    first_note = starts[0] + min(h.t for h in items[0].hits)
    return np.pad(audio, ((int(round(first_note * SR)), 0), (0, 0)))


# ---------------------------------------------------------------- own synthesis


def _env(n: int, attack_s: float, decay_s: float) -> np.ndarray:
    t = np.arange(n) / SR
    a = np.clip(t / max(attack_s, 1e-4), 0, 1)
    return a * np.exp(-t / max(decay_s, 1e-3))


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float64)


def _one_pole(x: np.ndarray, cutoff_hz: float, high: bool = False) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(2, cutoff_hz, btype="high" if high else "low", fs=SR, output="sos")
    return sosfilt(sos, x)


def _saw(freq: np.ndarray | float, n: int, rng: np.random.Generator) -> np.ndarray:
    phase = np.cumsum(np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,)) / SR) + rng.random()
    return 2.0 * (phase % 1.0) - 1.0


def synth_one(instrument: str, style: str, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
    """One synthesised sound; returns mono float audio and its tempo (loops) or None."""
    if style == "roll":
        bpm = float(rng.integers(80, 160))
        beat = 60.0 / bpm
        step = beat / (4 if instrument == "hihat" else 1)
        n = int(4 * beat * SR)
        out = np.zeros(n)
        for i in range(int(round(4 * beat / step))):
            hit, _ = synth_one(instrument, "hit", rng)
            a = int(i * step * SR)
            seg = hit[: n - a]
            out[a : a + seg.size] += seg * rng.uniform(0.6, 1.0)
        return out, bpm
    if style == "held":
        bpm = float(rng.integers(70, 160))
        length = min(float(rng.choice((1, 2, 4))) * 240.0 / bpm, 8.0)
    else:
        length = float(rng.uniform(0.3, 2.0))
    n = int(length * SR)
    t = np.arange(n) / SR
    f0 = 440.0 * 2 ** ((rng.integers(36, 72) - 69) / 12)
    if instrument == "kick":
        f = rng.uniform(40, 60) + rng.uniform(80, 250) * np.exp(-t / rng.uniform(0.02, 0.08))
        y = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env(n, 0.001, rng.uniform(0.1, 0.5))
        y += 0.3 * _one_pole(_noise(rng, n), 3000) * _env(n, 0.0005, 0.01)
        y = np.tanh(y * rng.uniform(1, 3))
    elif instrument == "snare":
        tone = np.sin(2 * np.pi * rng.uniform(150, 250) * t) * _env(n, 0.001, 0.05)
        y = tone + rng.uniform(0.5, 1.5) * _one_pole(_noise(rng, n), rng.uniform(800, 2000), high=True) * _env(
            n, 0.001, rng.uniform(0.08, 0.25)
        )
    elif instrument == "clap":
        env = np.zeros(n)
        for k in range(int(rng.integers(3, 5))):
            a = int(k * rng.uniform(0.008, 0.015) * SR)
            env[a:] += _env(n - a, 0.0005, 0.006 if k < 3 else rng.uniform(0.1, 0.3))
        y = _one_pole(_one_pole(_noise(rng, n), 900, high=True), 3500) * env
    elif instrument == "hihat":
        y = _one_pole(_noise(rng, n), rng.uniform(6000, 9000), high=True) * _env(n, 0.0005, rng.uniform(0.02, 0.4))
    elif instrument == "cymbal":
        partials = sum(np.sin(2 * np.pi * rng.uniform(3000, 9000) * t + rng.random()) for _ in range(12))
        y = (_one_pole(_noise(rng, n), 4000, high=True) + 0.3 * partials) * _env(n, 0.002, rng.uniform(0.6, 2.0))
    elif instrument == "tom":
        f = rng.uniform(80, 220) * (1 + 0.5 * np.exp(-t / 0.05))
        y = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env(n, 0.001, rng.uniform(0.15, 0.5))
    elif instrument == "percussion":
        f = rng.uniform(500, 2500)
        y = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * 1.48 * t)) * _env(
            n, 0.0005, rng.uniform(0.02, 0.12)
        )
        y += 0.2 * _one_pole(_noise(rng, n), 2000, high=True) * _env(n, 0.0005, 0.01)
    elif instrument == "bass":
        f0 = 440.0 * 2 ** ((rng.integers(28, 50) - 69) / 12)
        y = _saw(f0, n, rng) + (_saw(f0 * 1.005, n, rng) if rng.random() < 0.5 else 0)
        y = _one_pole(y, rng.uniform(200, 1200)) * (
            _env(n, 0.003, rng.uniform(0.3, 2.0)) if style != "held" else _env(n, 0.003, 1e3)
        )
    elif instrument == "pad":
        y = sum(_saw(f0 * r * (1 + rng.uniform(-0.004, 0.004)), n, rng) for r in (1, 1.26, 1.5, 2) for _ in range(2))
        y = _one_pole(y, rng.uniform(600, 2500)) * np.clip(t / rng.uniform(0.2, 1.0), 0, 1)
    elif instrument == "lead":
        vib = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t)
        wave = (
            _saw(f0 * 2 * vib, n, rng)
            if rng.random() < 0.5
            else np.sign(np.sin(2 * np.pi * np.cumsum(f0 * 2 * vib) / SR))
        )
        y = _one_pole(wave, rng.uniform(1500, 5000)) * (
            _env(n, 0.01, 1e3) if style == "held" else _env(n, 0.005, rng.uniform(0.3, 1.5))
        )
    elif instrument == "pluck":
        period = int(SR / (f0 * 2))
        buf = rng.uniform(-1, 1, period)
        y = np.zeros(n)
        decay = rng.uniform(0.990, 0.998)
        for i in range(n):
            y[i] = buf[i % period]
            buf[i % period] = decay * 0.5 * (buf[i % period] + buf[(i + 1) % period])
    elif instrument == "keys":
        y = sum(
            np.sin(2 * np.pi * f0 * 2 * h * t) / h**1.5 * np.exp(-t * h / rng.uniform(0.5, 2.0)) for h in range(1, 8)
        )
        y *= _env(n, 0.002, 1e3)
    elif instrument == "organ":
        y = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * f0 * h * t) for h in (0.5, 1, 2, 3, 4, 6, 8))
        y *= np.clip(t / 0.01, 0, 1)
    else:  # fx: risers, downlifters, zaps, noise sweeps
        choice = rng.integers(0, 3)
        if choice == 0:
            f = np.geomspace(rng.uniform(200, 800), rng.uniform(2000, 8000), n)
            y = _saw(f, n, rng) * np.linspace(0.2, 1, n)
        elif choice == 1:
            f = rng.uniform(800, 3000) * np.exp(-t / rng.uniform(0.02, 0.2)) + 40
            y = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env(n, 0.001, rng.uniform(0.1, 0.5))
        else:
            y = _noise(rng, n)
            cut = np.geomspace(rng.uniform(200, 1000), rng.uniform(4000, 12000), n)
            y = _one_pole(y, float(np.median(cut))) * np.sin(np.pi * t / t[-1]) ** 2
    return np.asarray(y, dtype=np.float64), (bpm if style == "held" else None)


#: Effect textures (one-shots of many irregular events, no pulse), after the synth plan's items.
TEXTURES = ("crackle", "grains", "whoosh", "rewind", "debris", "bleeps")
#: Textures of each kind per seed.
TEXTURES_EACH = 6


def _poisson_times(rng: np.random.Generator, rate_hz: float, length_s: float) -> np.ndarray:
    """Event times (seconds) of a Poisson process: exponential gaps, so no pulse to find."""
    gaps = rng.exponential(1.0 / rate_hz, size=int(rate_hz * length_s * 3) + 8)
    times = np.cumsum(gaps)
    return times[times < length_s]


def _smooth_walk(rng: np.random.Generator, n: int, points: int) -> np.ndarray:
    """(n,) a random curve in [0, 1] through ``points`` random values at random places, linearly
    interpolated (knots evenly spaced would repeat at their spacing: a pulse)."""
    at = np.sort(np.concatenate([[0.0, 1.0], rng.random(max(points - 2, 0))]))
    return np.interp(np.linspace(0.0, 1.0, n), at, rng.random(at.size))


def texture(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One effect texture: mono float audio of 1–8 s whose events fall at random (Poisson) times.

    ``crackle``: vinyl hiss and clicks; ``grains``: short tone and noise grains (glitch);
    ``whoosh``: noise through a wandering band-pass with a fluttering level; ``rewind``: a
    chord played at a speed that sweeps up and down (tape rewind, scratch); ``debris``: a
    falling boom followed by thinning debris hits (cinematic impact); ``bleeps``: square-wave
    beeps of random pitch and length (computer, robot). Sample packs file these as one-shots;
    their onsets stand out of the flux but do not repeat.
    """
    shortest, longest = {"crackle": (2.0, 8.0), "grains": (1.0, 4.0), "whoosh": (1.5, 6.0), "debris": (3.0, 8.0)}.get(
        kind, (1.0, 3.0)
    )
    n = int(rng.uniform(shortest, longest) * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)

    def burst(at: float, dur_s: float, x: np.ndarray, gain: float) -> None:
        a = int(at * SR)
        m = min(int(dur_s * SR), n - a, x.size)
        if m > 1:
            y[a : a + m] += gain * x[:m] * np.hanning(2 * m)[m:] ** 2

    if kind == "crackle":
        y = _one_pole(_noise(rng, n), rng.uniform(3000, 9000)) * 10 ** (rng.uniform(-36, -22) / 20)
        for at in _poisson_times(rng, rng.uniform(4, 40), t[-1]):
            burst(
                at, rng.uniform(0.0003, 0.004), _one_pole(_noise(rng, 400), 1500, high=True), rng.lognormal(-1.5, 1.0)
            )
    elif kind == "grains":
        for at in _poisson_times(rng, rng.uniform(3, 20), t[-1]):
            m = int(rng.uniform(0.01, 0.08) * SR)
            tt = np.arange(m) / SR
            x = np.sin(2 * np.pi * rng.uniform(200, 4000) * tt) if rng.random() < 0.6 else _noise(rng, m)
            a = int(at * SR)
            m = min(m, n - a)
            y[a : a + m] += rng.uniform(0.1, 1.0) * x[:m] * np.hanning(m)
    elif kind == "whoosh":
        centre = np.exp(np.log(300) + _smooth_walk(rng, n, int(rng.integers(3, 7))) * np.log(30))  # 300 Hz – 9 kHz
        from scipy.signal import butter, sosfilt

        x = _noise(rng, n)
        y = np.zeros(n)
        block = 2048
        for i in range(0, n, block):  # a band-pass stepped along the wandering centre
            fc = float(centre[i])
            sos = butter(2, [fc / 1.5, min(fc * 1.5, 0.45 * SR)], btype="band", fs=SR, output="sos")
            y[i : i + block] = sosfilt(sos, x[max(0, i - 4096) : i + block])[-min(block, n - i) :]
        level = sum(
            np.exp(-0.5 * ((t - rng.uniform(0, t[-1])) / rng.uniform(0.15, 0.8)) ** 2)
            for _ in range(rng.integers(2, 5))
        )
        y *= level * (0.6 + 0.4 * _smooth_walk(rng, n, int(rng.integers(10, 40))))
    elif kind == "rewind":
        speed = np.exp((_smooth_walk(rng, n, int(rng.integers(4, 9))) - 0.5) * np.log(rng.uniform(4, 16)))
        for midi in rng.choice(np.arange(48, 72), size=3, replace=False):
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            y += _saw(f0 * speed, n, rng)
        y = _one_pole(y, rng.uniform(1500, 5000)) * np.clip(speed, 0.2, 1.0)
    elif kind == "debris":
        f = 35 + rng.uniform(60, 120) * np.exp(-t / rng.uniform(0.1, 0.4))
        y = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env(n, 0.002, rng.uniform(0.6, 1.5))
        y += 0.5 * _one_pole(_noise(rng, n), rng.uniform(800, 3000)) * _env(n, 0.001, rng.uniform(0.1, 0.4))
        rate = rng.uniform(10, 30)
        for at in _poisson_times(rng, rate, t[-1]):
            if rng.random() < np.exp(-at / (0.3 * t[-1])):  # thinning debris
                burst(
                    at,
                    rng.uniform(0.01, 0.06),
                    _one_pole(_noise(rng, 3000), rng.uniform(1000, 5000), high=True),
                    rng.uniform(0.05, 0.4) * np.exp(-at / t[-1]),
                )
    else:  # bleeps
        for at in _poisson_times(rng, rng.uniform(3, 10), t[-1]):
            m = int(rng.uniform(0.03, 0.2) * SR)
            a = int(at * SR)
            m = min(m, n - a)
            f0 = rng.uniform(300, 3000)
            y[a : a + m] += 0.4 * np.sign(np.sin(2 * np.pi * f0 * np.arange(m) / SR)) * _env(m, 0.002, 1e3)
    peak = float(np.max(np.abs(y))) or 1.0
    return y / peak


def synth_items(rng: random.Random, seed: int) -> list[tuple[Item, np.ndarray]]:
    """The synthesised items, each with its audio; the :data:`TEXTURES` last, from their own
    random stream, so that adding them left every earlier item as it was."""
    g = np.random.default_rng(seed + 1000)
    out = []
    plan = {
        "kick": ("hit",) * 24 + ("roll",) * 4,
        "snare": ("hit",) * 24 + ("roll",) * 3,
        "clap": ("hit",) * 20,
        "hihat": ("hit",) * 24 + ("roll",) * 4,
        "cymbal": ("hit",) * 16,
        "tom": ("hit",) * 16,
        "percussion": ("hit",) * 16,
        "bass": ("note",) * 16 + ("held",) * 8,
        "pad": ("held",) * 20,
        "lead": ("note",) * 10 + ("held",) * 10,
        "pluck": ("note",) * 16,
        "keys": ("note",) * 16,
        "organ": ("held",) * 10 + ("note",) * 6,
        "fx": ("note",) * 24,
    }
    for instrument, styles in plan.items():
        for style in styles:
            y, bpm = synth_one(instrument, style, g)
            kind = "loop" if style == "roll" else "one-shot"
            label = "drums" if style == "roll" else instrument
            item = Item(
                f"os_{len(out) + 1:04d}",
                label,
                kind,
                style,
                y.size / SR,
                bpm=bpm,
                pitched=label in ("bass", "pad", "lead", "pluck", "keys", "organ"),
            )
            out.append((item, y))
    tex = np.random.default_rng(seed + 3000)
    for kind in TEXTURES:
        for _ in range(TEXTURES_EACH):
            y = texture(kind, tex)
            out.append((Item(f"os_{len(out) + 1:04d}", "fx", "one-shot", "texture", y.size / SR, pitched=False), y))
    return out


# ---------------------------------------------------------------- effects, writing


def _augment(y: np.ndarray, rng: random.Random) -> tuple[np.ndarray, list[str]]:
    """A random effect on about a quarter of the items: reverb, low-pass, drive or chorus."""
    if rng.random() > 0.25:
        return y, []
    import pedalboard as pb

    choice = rng.choice(("reverb", "lowpass", "drive", "chorus"))
    effect = {
        "reverb": lambda: pb.Reverb(room_size=rng.uniform(0.2, 0.8), wet_level=rng.uniform(0.1, 0.35)),
        "lowpass": lambda: pb.LowpassFilter(cutoff_frequency_hz=rng.uniform(800, 5000)),
        "drive": lambda: pb.Distortion(drive_db=rng.uniform(6, 20)),
        "chorus": lambda: pb.Chorus(depth=rng.uniform(0.1, 0.4)),
    }[choice]()
    out = pb.Pedalboard([effect])(y.T.astype(np.float32), SR).T
    return out[: y.shape[0]], [choice]


def write(out: Path, item: Item, y: np.ndarray, rng: random.Random, source: str) -> dict:
    """Normalise, maybe colour and encode, write one item; returns its label row."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    n = int(round(item.length_s * SR))
    y = y[:n] if y.shape[0] >= n else np.pad(y, ((0, n - y.shape[0]), (0, 0)))
    y, effects = _augment(y, rng)
    if item.kind == "one-shot" and item.style != "held":
        fade = min(y.shape[0], int(0.01 * SR))
        y[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    peak = float(np.max(np.abs(y)))
    if peak <= 1e-5:
        return {}
    y = y * (10 ** (rng.uniform(-12.0, -0.5) / 20) / peak)
    ext = "ogg" if rng.random() < 0.17 else "wav"
    if ext == "ogg":
        effects.append("vorbis")
    path = out / f"{item.name}.{ext}"
    sf.write(path, y, SR, **({"subtype": "PCM_16"} if ext == "wav" else {}))
    return {
        "file": path.name,
        "source": source,
        "family": FAMILY[source],
        "instrument": item.instrument,
        "kind": item.kind,
        "style": item.style,
        "pitched": item.pitched,
        "bpm": item.bpm if item.kind == "loop" else None,
        "program": item.program if item.channel != 9 else None,
        "drum_key": item.hits[0].pitch if item.channel == 9 or source == "avl" else None,
        "duration_s": round(y.shape[0] / SR, 4),
        "effects": effects,
    }


def generate(source: str, out: Path, seed: int = 0) -> list[dict]:
    """Generate one source's items into ``out``; returns (and writes) the label rows.

    Raises:
        RuntimeError: fluidsynth or a soundfont of the source is missing.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{source}:{seed}")
    rows: list[dict] = []
    if source == "synth":
        for item, y in synth_items(rng, seed):
            row = write(out, item, y, rng, source)
            if row:
                rows.append(row)
    else:
        for soundfont, holds in SOUNDFONTS[source]:
            if not soundfont.exists():
                raise RuntimeError(
                    f"missing soundfont {soundfont}: see this script's docstring for the Debian packages"
                )
            available = timidity_map(soundfont) if holds == "pats" else None
            items = soundfont_items(
                source,
                holds,
                rng,
                start=len(rows) + 10_000 * SOUNDFONTS[source].index((soundfont, holds)),
                available=available,
            )
            with tempfile.TemporaryDirectory() as tmp:
                audio = render(items, soundfont, Path(tmp))
            _, starts = build_midi(items)
            for item, start in zip(items, starts):
                a = int(round(start * SR))
                row = write(out, item, audio[a : a + int(round(item.length_s * SR))], rng, source)
                if row:
                    row["soundfont"] = soundfont.name
                    rows.append(row)
    (out / "labels.json").write_text(json.dumps(rows, indent=1))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=(*SOUNDFONTS, "synth"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = generate(args.source, args.out, seed=args.seed)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["instrument"]] = counts.get(r["instrument"], 0) + 1
    print(f"wrote {len(rows)} files to {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()

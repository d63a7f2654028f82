"""Grooves and parts for ``compose_band_loops.py``: one arranger per band / acoustic style.

Written for the band-loop generator and independent of ``make_loops.py`` / ``loop_styles.py``.
Times are in beats from the loop start (before swing and humanising, which the renderer
applies); pitches are MIDI note numbers; drums use the General MIDI percussion map on
channel 10 (index 9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from compose_band_harmony import SCALES, Chord, close, drop2, in_range, pitch_near, shell, spread

# General MIDI percussion notes
KICK, RIM, SNARE, CLAP, HAT, PEDAL, OPEN = 36, 37, 38, 39, 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE, BELL = 45, 47, 50, 49, 51, 53
TAMB, COWBELL, BONGO_HI, CONGA_MUTE, CONGA_OPEN, CONGA_LOW = 54, 56, 60, 62, 63, 64
GUIRO, CLAVES, SHAKER = 74, 75, 70

DRUM_CH = 9


@dataclass
class Note:
    """A note: ``t`` and ``dur`` in beats, MIDI ``pitch``, ``vel`` 1–127."""

    t: float
    dur: float
    pitch: int
    vel: int


@dataclass
class Part:
    """One MIDI channel of an arrangement.

    Attributes:
        name: what plays it ("bass", "comp", "drums" …), for the labels.
        program: GM program 0–127 (for drums: the kit, 0 standard, 8 room, 16 power, 32 jazz, 40 brush).
        channel: MIDI channel index 0–15 (9 = drums).
        volume, pan, reverb, chorus: CC7, CC10, CC91, CC93 values 0–127.
        pedal: sustain pedal changes as (beat, down) pairs.
        detune: pitch bend in cents for the whole part (0 = none).
    """

    name: str
    program: int
    channel: int
    notes: list[Note] = field(default_factory=list)
    volume: int = 100
    pan: int = 64
    reverb: int = 40
    chorus: int = 0
    pedal: list[tuple[float, bool]] = field(default_factory=list)
    detune: float = 0.0

    def add(self, t: float, dur: float, pitch: int, vel: float) -> None:
        """Append a note (velocity clipped to 1–127)."""
        self.notes.append(Note(float(t), float(dur), int(pitch), int(np.clip(round(vel), 1, 127))))


@dataclass
class Ctx:
    """What an arranger needs: rng, key, meter, length and the placed chords."""

    rng: np.random.Generator
    tonic: int
    mode: str
    bars: int
    bpb: int
    chords: list[Chord]
    style: str

    @property
    def length(self) -> float:
        """Loop length in beats."""
        return float(self.bars * self.bpb)

    def chord_at(self, t: float) -> Chord:
        """The chord sounding at beat ``t``."""
        for c in self.chords:
            if c.start <= t + 1e-6 < c.start + c.dur:
                return c
        return self.chords[-1]

    def next_chord(self, c: Chord) -> Chord:
        """The chord after ``c`` (the first one after the last: the loop wraps)."""
        i = self.chords.index(c)
        return self.chords[(i + 1) % len(self.chords)]

    def pcs(self, c: Chord) -> list[int]:
        """Absolute pitch classes of ``c``, root first."""
        return [(self.tonic + x) % 12 for x in c.tones]

    def scale(self, c: Chord | None = None) -> list[int]:
        """Absolute pitch classes of the key's scale (harmonic minor over a minor key's V)."""
        name = "major" if self.mode == "major" else "natural"
        if self.mode == "minor" and c is not None and c.degree == "V":
            name = "harmonic"
        return [(self.tonic + x) % 12 for x in SCALES[name]]

    def p(self, prob: float) -> bool:
        """True with probability ``prob``."""
        return bool(self.rng.random() < prob)

    def pick(self, options: list):
        """One of ``options``, uniformly."""
        return options[int(self.rng.integers(len(options)))]


# ------------------------------------------------------------------------------------ drums


def _fill(part: Part, c: Ctx, bar: int, vel: float) -> float:
    """A fill over the last beat or two of ``bar``; returns the beat where it starts."""
    span = 2.0 if c.bpb == 4 and c.p(0.5) else 1.0
    start = bar * c.bpb + c.bpb - span
    step = 0.25 if c.p(0.7) else 1 / 3
    toms = [HIGH_TOM, HIGH_TOM, MID_TOM, MID_TOM, LOW_TOM, LOW_TOM]
    k, t = 0, start
    while t < start + span - 1e-6:
        drum = SNARE if c.p(0.35) else toms[min(k * len(toms) // int(span / step), len(toms) - 1)]
        part.add(t, 0.1, drum, vel * (0.75 + 0.25 * (k % 2 == 0)) + c.rng.normal(0, 4))
        k += 1
        t += step
    return start


def drums(c: Ctx, groove: str, kit: int, fills: bool = True) -> Part:
    """A drum part for ``groove`` over the whole loop, with an optional fill in the last bar."""
    loud = (96, 116) if not c.chords else (72, 96)  # under a band, the kit sits back in the mix
    d = Part("drums", kit, DRUM_CH, volume=int(c.rng.integers(*loud)), reverb=int(c.rng.integers(15, 60)))
    v = float(c.rng.uniform(85, 112))
    fill_bar = c.bars - 1 if fills and c.p(0.4 if c.bars > 1 else 0.15) else -1
    variant = int(c.rng.integers(3))
    hat = RIDE if c.p(0.2) else HAT
    for bar in range(c.bars):
        o = bar * c.bpb
        end = _fill(d, c, bar, v) if bar == fill_bar else o + c.bpb
        notes: list[tuple[float, int, float]] = []  # (beat in bar, drum, relative velocity)
        if groove == "rock":
            notes += [(x * 0.5, hat, 0.85 if x % 2 == 0 else 0.6) for x in range(8)]
            notes += [(1, SNARE, 1.0), (3, SNARE, 1.0)]
            kicks = [[0, 2, 2.5], [0, 1.5, 2], [0, 0.5, 2, 2.75]][variant]
            notes += [(k, KICK, 1.0) for k in kicks]
            if bar == 0 and c.p(0.4):
                notes.append((0, CRASH, 0.8))
        elif groove == "funk":
            opens = {1.5} if variant == 0 else {3.5} if variant == 1 else {1.5, 3.75}
            for x in range(16):
                t = x * 0.25
                notes.append((t, OPEN if t in opens else HAT, 0.65 if x % 4 == 0 else 0.45 if x % 2 == 0 else 0.3))
            notes += [(1, SNARE, 1.0), (3, SNARE, 1.0)]
            for t in (0.75, 1.75, 2.25, 2.5, 3.25, 3.75):
                if c.p(0.35):
                    notes.append((t, SNARE, 0.25))  # ghost notes
            kicks = [0] + [t for t in (0.75, 1.5, 2.25, 2.5, 2.75, 3.5) if c.p(0.4)]
            notes += [(k, KICK, 0.95) for k in kicks]
        elif groove == "bossa":
            notes += [(x * 0.5, SHAKER if kit != 40 else HAT, 0.55 if x % 2 else 0.7) for x in range(8)]
            rims = [0, 1.5, 3] if bar % 2 == 0 else [1, 2.5]
            notes += [(t, RIM, 0.8) for t in rims]
            notes += [(0, KICK, 0.8), (1.5, KICK, 0.6), (2, KICK, 0.8), (3.5, KICK, 0.6)]
        elif groove == "waltz":
            notes += [(0, RIDE, 0.85), (1, RIDE, 0.7), (1.5, RIDE, 0.55), (2, RIDE, 0.7)]
            notes += [(1, PEDAL, 0.6)] + ([(2, PEDAL, 0.5)] if c.p(0.5) else [])
            notes += [(0, KICK, 0.45)]
            notes += [(t, SNARE, 0.3) for t in (0.5, 1.5, 2.5) if c.p(0.3)]
        elif groove == "onedrop":
            sub = 0.25 if variant == 2 else 0.5
            notes += [(x * sub, HAT, 0.6 if (x * sub) % 1 else 0.45) for x in range(int(4 / sub))]
            notes += [(2, KICK, 1.0), (2, RIM if c.p(0.6) else SNARE, 0.9)]
            if variant == 1:  # steppers: the kick on every beat
                notes += [(t, KICK, 0.85) for t in (0, 1, 3)]
            if c.p(0.4):
                notes.append((3.5, OPEN, 0.6))
        elif groove == "gospel":
            notes += [(x * 0.5, HAT, 0.7 if x % 2 == 0 else 0.5) for x in range(8)]
            notes += [(1, SNARE, 1.0), (1, CLAP, 0.8), (3, SNARE, 1.0), (3, CLAP, 0.8)]
            notes += [(0, KICK, 1.0), (2.5, KICK, 0.8)] + ([(1.75, KICK, 0.6)] if variant else [])
            notes += [(t, TAMB, 0.6) for t in (1, 3)] if c.p(0.5) else []
        elif groove == "train":
            for x in range(16):
                accent = x in (4, 12)
                notes.append((x * 0.25, SNARE, 0.85 if accent else 0.3 + 0.1 * (x % 2 == 0)))
            notes += [(0, KICK, 0.9), (2, KICK, 0.9)]
        elif groove == "boomchick":
            notes += [(0, KICK, 0.9), (2, KICK, 0.85), (1, SNARE, 0.9), (3, SNARE, 0.9)]
            notes += [(x * 0.5, HAT, 0.6 if x % 2 == 0 else 0.4) for x in range(8)]
        elif groove == "motown":
            notes += [(t, SNARE, 0.9 if t in (1, 3) else 0.65) for t in range(4)]
            notes += [(t, TAMB, 0.9 if t in (1, 3) else 0.55) for t in range(4)]
            notes += [(x * 0.5, HAT, 0.45) for x in range(8)]
            notes += [(0, KICK, 0.95), (1.5, KICK, 0.6), (2, KICK, 0.9), (2.5, KICK, 0.6)]
        elif groove == "shuffle":
            notes += [(x * 0.5, hat, 0.8 if x % 2 == 0 else 0.55) for x in range(8)]
            notes += [(1, SNARE, 1.0), (3, SNARE, 1.0), (0, KICK, 0.95), (2, KICK, 0.9)]
            if c.p(0.5):
                notes.append((1.5, KICK, 0.5))
        elif groove == "ballad":
            notes += [(x * 0.5, HAT, 0.5 if x % 2 == 0 else 0.35) for x in range(8)]
            notes += [(1, RIM if variant == 0 else SNARE, 0.75), (3, RIM if variant == 0 else SNARE, 0.8)]
            notes += [(0, KICK, 0.85), (2.5, KICK, 0.7)]
        elif groove == "salsa":
            clave = [0, 1.5, 3] if (bar + variant) % 2 == 0 else [1, 2]  # son clave, 3-2 or 2-3
            notes += [(t, CLAVES, 0.6) for t in clave]
            notes += [(t, COWBELL, 0.6 if t % 2 == 0 else 0.45) for t in range(4)]
            notes += [(0, CONGA_MUTE, 0.35), (1, CONGA_MUTE, 0.8), (2, CONGA_MUTE, 0.35)]
            notes += [(3, CONGA_OPEN, 0.85), (3.5, CONGA_OPEN, 0.8), (2.5, CONGA_LOW, 0.5)]
            notes += [(x * 0.5, GUIRO, 0.45) for x in range(8)] if c.p(0.5) else []
            notes += [(x * 0.5, BONGO_HI, 0.3 + 0.15 * (x % 2)) for x in range(8)] if c.p(0.4) else []
        for t, drum, rel in notes:
            if t >= c.bpb:
                continue
            at = o + t
            if bar == fill_bar and at >= end and drum not in (KICK, CRASH):
                continue
            d.add(at, 0.1, drum, v * rel + c.rng.normal(0, 5))
    return d


# ------------------------------------------------------------------------------------ pitched parts


def bass_line(c: Ctx, pattern: str, program: int, lo: int = 28) -> Part:
    """A bass part following the chords.

    Patterns: "root" (held roots), "rootfifth" (root on 1, fifth on 3), "eighths" (driving
    roots), "arp" (root-third-fifth-octave), "walk" (walking quarters with approach notes),
    "motown" (busy syncopated 8ths), "slap" (16th octave pops), "tumbao" (anticipated: &2, 4),
    "reggae" (rests on the one, melodic), "boogie" (1-3-5-6-b7-6-5-3 shuffle on dominant chords).
    """
    b = Part("bass", program, 1, volume=int(c.rng.integers(96, 112)), reverb=int(c.rng.integers(5, 30)))
    v = float(c.rng.uniform(85, 110))
    for ch in c.chords:
        root = in_range((c.tonic + ch.root) % 12, lo + 4)
        third = root + (ch.third - ch.root) % 12
        fifth = root + (ch.fifth - ch.root) % 12
        octave = root + 12
        nxt = c.next_chord(ch)
        nroot = in_range((c.tonic + nxt.root) % 12, lo + 4)
        t0, dur = ch.start, ch.dur
        beats = [t0 + i for i in range(int(round(dur)))]
        if pattern == "root":
            b.add(t0, dur * 0.95, root, v)
        elif pattern == "rootfifth":
            for i, t in enumerate(beats[:: 2 if c.bpb == 4 else 1]):
                note = root if i % 2 == 0 else fifth - 12 if fifth - 12 >= lo else fifth
                b.add(t, 0.9 if c.bpb == 3 else 1.8, note, v * (1 if i % 2 == 0 else 0.85))
        elif pattern == "eighths":
            for i in range(int(dur * 2)):
                b.add(
                    t0 + i * 0.5,
                    0.4,
                    root if i != int(dur * 2) - 1 or c.p(0.5) else fifth,
                    v * (0.9 + 0.1 * (i % 2 == 0)),
                )
        elif pattern == "arp":
            seq = [root, third, fifth, octave, fifth, third]
            for i, t in enumerate(beats):
                b.add(t, 0.9, seq[i % len(seq)], v * (1 if i == 0 else 0.85))
        elif pattern == "walk":
            scale = c.scale(ch)
            for i, t in enumerate(beats):
                if i == 0:
                    note = root
                elif i == len(beats) - 1:  # approach the next root from a step below or above
                    if c.p(0.25):
                        note = nroot + c.pick([-1, 1])
                    else:
                        up = [p for p in range(nroot - 2, nroot) if p % 12 in scale]
                        dn = [p for p in range(nroot + 1, nroot + 3) if p % 12 in scale]
                        note = c.pick(up + dn) if up + dn else fifth
                else:
                    note = c.pick([third, fifth, root + 12 if root + 12 < lo + 24 else fifth])
                b.add(t, 0.92, note, v * (0.95 if i == 0 else 0.8))
        elif pattern == "motown":
            for i in range(int(dur * 2)):
                t = t0 + i * 0.5
                if i % 4 == 3 and c.p(0.5):
                    continue
                note = [root, root, octave, fifth, third, fifth, root, fifth][i % 8]
                b.add(t, 0.42, note, v * (1 if i % 2 == 0 else 0.8))
        elif pattern == "slap":
            for i in range(int(dur * 4)):
                pos = i % 8
                if pos in (0, 3, 6):
                    b.add(t0 + i * 0.25, 0.4 if pos == 0 else 0.22, root, v)
                elif pos in (2, 7) and c.p(0.7):
                    b.add(t0 + i * 0.25, 0.15, octave, v * 0.95)  # pop
                elif c.p(0.25):
                    b.add(t0 + i * 0.25, 0.1, root, v * 0.3)  # ghost
        elif pattern == "tumbao":
            for k in range(int(dur // 2)):
                t = t0 + 2 * k
                b.add(t - 0.5 if t - 0.5 >= 0 else t, 1.3, fifth if k % 2 == 0 else root, v * 0.9)
                b.add(t + 1, 1.0, nroot if k == int(dur // 2) - 1 else root, v)
        elif pattern == "reggae":
            for k in range(max(1, int(dur // 4))):
                t = t0 + 4 * k
                b.add(t + 0.5, 0.45, root, v)
                b.add(t + 1, 0.9, root, v * 0.9)
                b.add(t + 2.5, 0.45, third if c.p(0.5) else fifth, v * 0.85)
                b.add(t + 3, 0.5, fifth, v * 0.8)
            if dur < 4:
                b.add(t0, dur * 0.8, root, v)
        elif pattern == "boogie":
            steps = [0, 4, 7, 9, 10, 9, 7, 4]
            for i in range(int(dur * 2)):
                b.add(t0 + i * 0.5, 0.45, root + steps[i % 8], v * (1 if i % 2 == 0 else 0.8))
    return b


def comp(
    c: Ctx, rhythm: str, program: int, center: float, voicing: str = "close", channel: int = 2, name: str = "comp"
) -> Part:
    """A chordal part with voice-led voicings.

    Rhythms: "whole" (one hit per chord, held), "half", "quarter", "pushes" (on 1 and the & of
    2 and 4), "offbeat" (skank on 2 and 4), "bubble" (organ 8ths off the beat), "strum"
    (down-up strumming, strummed chords), "sixteenths" (syncopated 16th chops with ghosts),
    "charleston" (1 and the & of 2), "waltz" (oom-pah-pah, chord on 2 and 3), "montuno" (a two-bar
    syncopated octave-doubled figure), "power" (root-fifth-octave 8ths), "stabs" (short hits on
    the & of beats).
    """
    part = Part(name, program, channel, volume=int(c.rng.integers(80, 104)), reverb=int(c.rng.integers(25, 80)))
    part.pan = int(np.clip(64 + c.rng.normal(0, 18), 20, 108))
    v = float(c.rng.uniform(70, 100))
    prev: list[int] | None = None
    for ch in c.chords:
        pcs = c.pcs(ch)
        if voicing == "shell":
            notes = shell(ch, c.tonic, center)
        elif voicing == "spread":
            notes = spread(pcs, int(center) - 12)
        elif voicing == "power":
            r = in_range(pcs[0], int(center) - 6)
            notes = [r, r + 7, r + 12]
        else:
            notes = close(pcs, center, prev, c.rng)
            if voicing == "drop2":
                notes = drop2(notes)
        prev = notes
        t0, dur = ch.start, ch.dur
        hits: list[tuple[float, float, float]] = []  # (offset, length, relative velocity)
        if rhythm == "whole":
            hits = [(0, dur * 0.97, 0.9)]
        elif rhythm == "half":
            hits = [(x, 1.9, 0.9 if x % 4 == 0 else 0.75) for x in np.arange(0, dur, 2)]
        elif rhythm == "quarter":
            hits = [(x, 0.8, 0.85 if x % 2 == 0 else 0.7) for x in np.arange(0, dur, 1)]
        elif rhythm == "pushes":
            hits = [(x, 0.9, 0.9 if x % 1 == 0 else 0.8) for x in (0, 1.5, 2, 3.5) if x < dur]
        elif rhythm == "offbeat":
            hits = [(x, 0.25, 0.9) for x in np.arange(1, dur, 2)]
        elif rhythm == "bubble":
            hits = [(x, 0.2, 0.6 if x % 1 == 0.5 else 0.35) for x in np.arange(0.5, dur, 0.5)]
        elif rhythm == "strum":
            pattern = c.pick([[0, 1, 1.5, 2.5, 3, 3.5], [0, 1, 2, 2.5, 3.5], [0, 0.5, 1.5, 2, 2.5, 3, 3.5]])
            if c.bpb == 3:
                pattern = c.pick([[0, 1, 1.5, 2, 2.5], [0, 1, 2]])
            hits = [
                (t + k, 0.5 if t % 1 else 0.9, 0.95 if t % 1 == 0 else 0.7)
                for k in np.arange(0, dur, c.bpb)
                for t in pattern
                if t + k < dur
            ]
        elif rhythm == "sixteenths":
            grid = [x * 0.25 for x in range(int(dur * 4))]
            for t in grid:
                pos = round(t * 4) % 16
                if pos in (0, 3, 6, 10, 14) or (pos % 2 == 1 and c.p(0.3)):
                    hits.append((t, 0.35 if pos in (0, 6, 10) else 0.2, 0.9 if pos in (0, 6, 10) else 0.7))
                elif c.p(0.2):
                    hits.append((t, 0.06, 0.25))  # muted ghost scratch
        elif rhythm == "charleston":
            hits = [(x + k, 0.6, 0.85) for k in np.arange(0, dur, c.bpb) for x in (0, 1.5) if x + k < dur]
        elif rhythm == "waltz":
            hits = [(k + x, 0.7, 0.75) for k in np.arange(0, dur, 3) for x in (1, 2) if k + x < dur]
        elif rhythm == "montuno":
            figure = [0, 0.5, 1.5, 2, 3, 3.5, 4.5, 5, 6, 6.5, 7.5]
            hits = [(x, 0.4, 0.85 if x % 1 == 0 else 0.75) for x in figure if x < dur]
        elif rhythm == "power":
            hits = [(x, 0.45, 0.9 if x % 1 == 0 else 0.75) for x in np.arange(0, dur, 0.5)]
        elif rhythm == "stabs":
            hits = [(x, 0.3, 0.9) for x in (0.5, 1.5, 2.5, 3.5) if x < dur and c.p(0.6)] or [(0, 0.4, 0.9)]
        strum = rhythm == "strum" or (rhythm == "whole" and program in range(24, 32))
        for off, length, rel in hits:
            order = notes
            if rhythm == "montuno":  # montuno: octave-doubled broken chord
                top = notes[int(off * 2) % len(notes)]
                chord_notes = [top, top + 12] if int(off * 2) % 3 else notes
                order = chord_notes
            if rhythm == "strum" and off % 1:
                order = list(reversed(notes))  # up-strum
            spread_s = float(c.rng.uniform(0.012, 0.03)) if strum else 0.0
            for k, n in enumerate(order):
                part.add(t0 + off + k * spread_s, length, n, v * rel + c.rng.normal(0, 4))
    return part


def arpeggio(c: Ctx, program: int, center: float, step: float, shape: str, channel: int = 3, name: str = "arp") -> Part:
    """Broken chords: ``step`` beats per note; shapes "up", "updown", "alberti", "wide"."""
    part = Part(name, program, channel, volume=int(c.rng.integers(85, 105)), reverb=int(c.rng.integers(30, 85)))
    v = float(c.rng.uniform(65, 95))
    prev: list[int] | None = None
    for ch in c.chords:
        notes = close(c.pcs(ch), center, prev, c.rng)
        prev = notes
        if shape == "alberti":
            seq = [notes[0], notes[-1], notes[1], notes[-1]]
        elif shape == "updown":
            seq = notes + notes[-2:0:-1]
        elif shape == "wide":
            r = in_range(c.pcs(ch)[0], int(center) - 18)
            seq = [
                r,
                r + 7,
                notes[0] + 12 if notes[0] + 12 < r + 24 else notes[0],
                notes[1] + 12,
                notes[-1] + 12,
                notes[1] + 12,
            ]
        else:
            seq = [*notes, notes[0] + 12]
        n = int(round(ch.dur / step))
        for i in range(n):
            accent = 1.0 if (i * step) % 1 == 0 else 0.8
            part.add(ch.start + i * step, step * 1.6, seq[i % len(seq)], v * accent + c.rng.normal(0, 4))
    return part


def melody(c: Ctx, program: int, center: float, density: float, channel: int = 4, name: str = "lead") -> Part:
    """A melody: chord tones on strong beats, scale steps between, ending on the tonic.

    ``density`` is the chance of an 8th subdivision on each beat (0 = quarters and longer).
    """
    part = Part(name, program, channel, volume=int(c.rng.integers(88, 108)), reverb=int(c.rng.integers(30, 80)))
    v = float(c.rng.uniform(75, 105))
    tonic = pitch_near(c.tonic, center)
    cur = tonic
    onsets: list[tuple[float, float]] = []
    t = 0.0
    while t < c.length - 1e-6:
        if c.p(0.15) and t % 1 == 0 and t + 2 <= c.length:
            onsets.append((t, 2.0))
            t += 2
        elif c.p(density):
            if c.p(0.5):
                onsets += [(t, 0.5), (t + 0.5, 0.5)]
            else:
                onsets += [(t, 0.75), (t + 0.75, 0.25)] if c.p(0.4) else [(t + 0.5, 0.5)]
            t += 1
        else:
            if not c.p(0.12):
                onsets.append((t, 1.0))
            t += 1
    for i, (t, dur) in enumerate(onsets):
        ch = c.chord_at(t)
        strong = t % 1 == 0
        if i == len(onsets) - 1:
            target = [tonic, tonic - 12, tonic + 12]
        elif strong:
            target = [pitch_near(pc, cur) for pc in c.pcs(ch)] + [pitch_near(pc, cur) + 12 for pc in c.pcs(ch)[:1]]
        else:
            scale = c.scale(ch)
            target = [p for p in range(cur - 3, cur + 4) if p % 12 in scale and p != cur]
        target = [p for p in target if center - 9 <= p <= center + 12] or [tonic]
        weights = np.array([1.0 / (1 + abs(p - cur)) for p in target])
        cur = target[int(c.rng.choice(len(target), p=weights / weights.sum()))]
        part.add(t, dur * 0.92, cur, v * (1 if strong else 0.85) + c.rng.normal(0, 5))
    return part


def pedal_per_chord(c: Ctx, part: Part) -> None:
    """Sustain pedal down just after each chord change and up just before the next."""
    for ch in c.chords:
        part.pedal += [(ch.start + 0.05, True), (ch.start + ch.dur - 0.08, False)]


# ------------------------------------------------------------------------------------ styles

Arranger = Callable[[Ctx], list[Part]]


def _ballad(c: Ctx) -> list[Part]:
    keys = c.pick([0, 1, 4])
    parts = []
    if c.p(0.55):
        piano = arpeggio(c, keys, 62, c.pick([0.5, 0.5, 0.25]), c.pick(["up", "updown", "wide"]), name="keys")
        pedal_per_chord(c, piano)
        parts.append(piano)
    else:
        parts.append(comp(c, "strum" if c.p(0.5) else "whole", c.pick([24, 25]), 58, channel=3, name="guitar"))
    if c.p(0.5):
        parts.append(comp(c, "whole", c.pick([48, 49, 89]), 64, channel=5, name="pad"))
        parts[-1].volume = int(c.rng.integers(55, 75))
    parts.append(bass_line(c, c.pick(["root", "rootfifth"]), c.pick([32, 33, 35])))
    if c.p(0.6):
        parts.append(drums(c, "ballad", c.pick([0, 8, 40])))
    return parts


def _rock(c: Ctx) -> list[Part]:
    parts = [comp(c, "power" if c.p(0.7) else "whole", c.pick([29, 30]), 50, "power", channel=2, name="guitar")]
    # a part with the thirds, so the mode is heard: organ, piano or a clean guitar
    parts.append(comp(c, c.pick(["quarter", "half", "pushes"]), c.pick([18, 16, 0, 27]), 64, channel=3, name="keys"))
    parts.append(bass_line(c, "eighths", c.pick([34, 33])))
    parts.append(drums(c, "rock", c.pick([0, 16, 8])))
    return parts


def _funk(c: Ctx) -> list[Part]:
    parts = [comp(c, "sixteenths", c.pick([7, 28, 27]), 66, c.pick(["close", "drop2"]), channel=2, name="chops")]
    parts.append(bass_line(c, "slap", c.pick([36, 37, 33])))
    if c.p(0.8):  # a held Rhodes or organ under the chops
        parts.append(comp(c, "whole", c.pick([4, 5, 16]), 60, c.pick(["close", "drop2"]), channel=5, name="pad"))
        parts[-1].volume = int(c.rng.integers(70, 90))
    if c.p(0.4):
        parts.append(comp(c, "stabs", c.pick([61, 62, 56]), 68, channel=3, name="horns"))
    parts.append(drums(c, "funk", c.pick([0, 8])))
    return parts


def _bossa(c: Ctx) -> list[Part]:
    parts = [comp(c, "pushes", c.pick([24, 24, 0]), 60, c.pick(["close", "drop2"]), channel=2, name="guitar")]
    parts.append(bass_line(c, "rootfifth", c.pick([32, 24, 33]), lo=36 if parts[0].program == 24 else 28))
    if c.p(0.4):
        parts.append(melody(c, c.pick([73, 11, 66, 65]), 76, 0.3))
    parts.append(drums(c, "bossa", c.pick([40, 32, 0]), fills=False))
    return parts


def _jazzwaltz(c: Ctx) -> list[Part]:
    voicing = c.pick(["shell", "drop2", "close"])  # rootless shells, or full drop-2 / close sevenths
    parts = [comp(c, c.pick(["charleston", "waltz"]), c.pick([0, 4, 26]), 62, voicing, channel=2, name="piano")]
    if voicing == "shell" or c.p(0.3):  # the left hand's root under the voicing, on each chord change
        for ch in c.chords:
            parts[0].add(ch.start, min(ch.dur, 3.0) * 0.9, in_range((c.tonic + ch.root) % 12, 43), 62)
    parts.append(bass_line(c, "walk", 32))
    if c.p(0.5):
        parts.append(melody(c, c.pick([11, 66, 56, 73]), 74, 0.35))
    parts.append(drums(c, "waltz", c.pick([32, 40])))
    return parts


def _reggae(c: Ctx) -> list[Part]:
    parts = [comp(c, "offbeat", c.pick([27, 28, 4]), 66, channel=2, name="skank")]
    if c.p(0.6):
        parts.append(comp(c, "bubble", c.pick([16, 17]), 60, channel=3, name="organ"))
    parts.append(bass_line(c, "reggae", c.pick([33, 34, 38])))
    parts.append(drums(c, "onedrop", c.pick([0, 8])))
    return parts


def _gospel(c: Ctx) -> list[Part]:
    parts = [comp(c, "whole", c.pick([16, 17, 19]), 62, c.pick(["close", "drop2"]), channel=2, name="organ")]
    parts.append(
        comp(c, c.pick(["pushes", "quarter", "charleston"]), c.pick([0, 1, 4]), 68, "drop2", channel=3, name="piano")
    )
    parts.append(bass_line(c, c.pick(["arp", "rootfifth", "motown"]), c.pick([33, 38])))
    if c.p(0.7):
        parts.append(drums(c, "gospel", c.pick([0, 8])))
    return parts


def _country(c: Ctx) -> list[Part]:
    parts = [comp(c, "strum", 25, 58, channel=2, name="guitar")]
    if c.p(0.35):
        parts.append(arpeggio(c, c.pick([105, 46]), 70, 0.25 if c.p(0.5) else 0.5, "updown", name="banjo"))
    parts.append(bass_line(c, "rootfifth", c.pick([32, 33])))
    if c.p(0.75):
        parts.append(drums(c, c.pick(["train", "boomchick"]), c.pick([40, 0, 8])))
    return parts


def _motown(c: Ctx) -> list[Part]:
    parts = [comp(c, "quarter", c.pick([0, 1]), 64, channel=2, name="piano")]
    parts.append(bass_line(c, "motown", c.pick([33, 34])))
    if c.p(0.5):
        parts.append(comp(c, "whole", c.pick([48, 61, 49]), 70, "spread", channel=3, name="strings"))
        parts[-1].volume = int(c.rng.integers(60, 80))
    if c.p(0.3):
        parts.append(comp(c, "offbeat", c.pick([26, 11]), 72, channel=4, name="guitar"))
    parts.append(drums(c, "motown", c.pick([0, 8])))
    return parts


def _blues(c: Ctx) -> list[Part]:
    parts = [bass_line(c, "boogie" if c.p(0.6) else "walk", c.pick([33, 32, 34]))]
    parts.append(
        comp(c, c.pick(["charleston", "pushes", "quarter"]), c.pick([0, 16, 26, 4]), 64, channel=2, name="keys")
    )
    if c.p(0.3):
        parts.append(melody(c, c.pick([22, 65, 66, 26]), 72, 0.3))
    parts.append(drums(c, "shuffle", c.pick([0, 32, 8])))
    return parts


def _salsa(c: Ctx) -> list[Part]:
    parts = [comp(c, "montuno", c.pick([0, 1]), 70, channel=2, name="piano")]
    parts[0].volume = int(c.rng.integers(100, 118))
    parts.append(bass_line(c, "tumbao", c.pick([32, 33])))
    if c.p(0.35):
        parts.append(comp(c, "stabs", c.pick([61, 56, 57]), 66, channel=3, name="horns"))
    parts.append(drums(c, "salsa", 0, fills=False))
    return parts


def _strings(c: Ctx) -> list[Part]:
    parts = [comp(c, "whole", c.pick([48, 49, 44]), 62, "spread", channel=2, name="strings")]
    parts[0].volume = int(c.rng.integers(65, 85))
    step = c.pick([0.5, 0.25]) if c.bpb == 4 else 0.5
    parts.append(arpeggio(c, c.pick([40, 45, 41, 110]), 72, step, c.pick(["updown", "up", "alberti"]), name="ostinato"))
    parts.append(bass_line(c, c.pick(["root", "rootfifth"]), c.pick([43, 42]), lo=33))
    if c.p(0.4):
        t = Part("timpani", 47, 5, volume=90)
        for ch in c.chords:
            if ch.degree in ("I", "i", "V"):
                t.add(ch.start, 1.0, in_range((c.tonic + ch.root) % 12, 40), 90)
        parts.append(t)
    return parts


def _piano(c: Ctx) -> list[Part]:
    prog = c.pick([0, 0, 1, 2, 4])
    step = c.pick([0.5, 0.25]) if c.bpb == 4 else 0.5
    right = arpeggio(c, prog, 68, step, c.pick(["up", "updown", "alberti", "wide"]), channel=0, name="piano")
    left = Part("piano-left", prog, 0)
    for ch in c.chords:
        root = in_range((c.tonic + ch.root) % 12, 36)
        left.add(ch.start, ch.dur * 0.95, root, 70)
        if c.p(0.5):
            left.add(ch.start, ch.dur * 0.95, root + 12, 55)
    right.notes += left.notes
    pedal_per_chord(c, right)
    return [right]


def _bassline(c: Ctx) -> list[Part]:
    pattern = c.pick(["arp", "walk", "motown", "arp"])  # each line has the chords' thirds
    return [bass_line(c, pattern, c.pick([32, 33, 34, 35, 36]), lo=c.pick([28, 33]))]


def _melody(c: Ctx) -> list[Part]:
    prog = c.pick([73, 71, 65, 66, 56, 40, 11, 22, 68, 12])
    center = {73: 79, 71: 72, 65: 72, 66: 66, 56: 72, 40: 76, 11: 74, 22: 72, 68: 74, 12: 70}[prog]
    return [melody(c, prog, center, float(c.rng.uniform(0.2, 0.6)), channel=0)]


@dataclass(frozen=True)
class Style:
    """A style: tempo range (BPM), meters, harmony settings and its arranger.

    Attributes:
        bpm: (low, high) tempo range; tempos are drawn log-uniform inside it.
        meters: beats per bar to choose from (4 or 3).
        per_bar: chords-per-bar options (0.5, 1, 2).
        flavours: chord flavour weights for ``compose_band_harmony.spell``.
        borrowed: modal mixture in major keys allowed.
        minor: chance of a minor key (the blues is always labelled major).
        swing: (low, high) swing ratio range or None for straight; "unit": 0.5 (8ths) or 0.25 (16ths).
        drum_groove: the groove its drum-only loops play (None: no drum-only loops).
    """

    name: str
    arrange: Arranger
    bpm: tuple[float, float]
    meters: tuple[int, ...]
    per_bar: tuple[float, ...]
    flavours: dict[str, float]
    borrowed: bool
    minor: float
    swing: tuple[float, float] | None
    unit: float
    drum_groove: str | None
    swing_p: float = 1.0


TRIADS = {"triad": 1.0}
POP = {"triad": 3.0, "add9": 1.0, "sus2": 0.5, "sus4": 0.7, "7": 0.6}
JAZZ = {"7": 3.0, "9": 2.0, "6": 0.5}
SOUL = {"7": 2.0, "9": 2.0, "add9": 1.0, "triad": 0.5}


def _style(name: str, arrange: Arranger, bpm: tuple[float, float], **kw) -> Style:
    defaults = dict(meters=(4,), per_bar=(1,), flavours=TRIADS, borrowed=False, minor=0.5)
    defaults.update(swing=None, unit=0.5, drum_groove=None, swing_p=1.0)
    defaults.update(kw)
    return Style(name, arrange, bpm, **defaults)


STYLES: dict[str, Style] = {
    s.name: s
    for s in [
        _style(
            "ballad",
            _ballad,
            (60, 86),
            meters=(4, 4, 4, 3),
            per_bar=(1, 2, 0.5),
            flavours=POP,
            borrowed=True,
            minor=0.45,
            drum_groove="ballad",
        ),
        _style("rock", _rock, (100, 165), per_bar=(1, 2, 0.5), borrowed=True, minor=0.45, drum_groove="rock"),
        _style(
            "funk",
            _funk,
            (90, 120),
            per_bar=(0.5, 1),
            flavours={"7": 2, "9": 2, "triad": 0.5},
            minor=0.55,
            swing=(0.52, 0.6),
            unit=0.25,
            drum_groove="funk",
            swing_p=0.5,
        ),
        _style("bossa", _bossa, (118, 150), per_bar=(1, 0.5, 2), flavours=JAZZ, minor=0.45, drum_groove="bossa"),
        _style(
            "jazzwaltz",
            _jazzwaltz,
            (100, 180),
            meters=(3,),
            per_bar=(1, 0.5),
            flavours=JAZZ,
            minor=0.45,
            swing=(0.6, 0.7),
            drum_groove="waltz",
        ),
        _style(
            "reggae",
            _reggae,
            (64, 92),
            per_bar=(1, 0.5),
            flavours={"triad": 2, "7": 1},
            minor=0.55,
            swing=(0.55, 0.66),
            unit=0.25,
            drum_groove="onedrop",
            swing_p=0.5,
        ),
        _style(
            "gospel",
            _gospel,
            (62, 100),
            per_bar=(1, 2),
            flavours=SOUL,
            borrowed=True,
            minor=0.35,
            swing=(0.6, 0.7),
            drum_groove="gospel",
            swing_p=0.6,
        ),
        _style(
            "country",
            _country,
            (90, 175),
            per_bar=(1, 0.5),
            flavours={"triad": 4, "sus4": 0.5, "sus2": 0.4},
            minor=0.25,
            drum_groove="train",
        ),
        _style(
            "motown",
            _motown,
            (104, 140),
            per_bar=(1, 2),
            flavours={"triad": 3, "7": 1, "6": 0.4},
            minor=0.3,
            drum_groove="motown",
        ),
        _style(
            "blues", _blues, (72, 140), flavours={"7": 3, "9": 1}, minor=0.0, swing=(0.62, 0.7), drum_groove="shuffle"
        ),
        _style(
            "salsa",
            _salsa,
            (150, 200),
            per_bar=(1, 2),
            flavours={"triad": 2, "7": 1.5, "6": 0.5},
            minor=0.55,
            drum_groove="salsa",
        ),
        _style(
            "strings",
            _strings,
            (80, 140),
            meters=(4, 4, 4, 3),
            per_bar=(1, 0.5),
            flavours={"triad": 3, "sus4": 0.4, "add9": 0.5},
            borrowed=True,
            minor=0.6,
        ),
        _style(
            "piano",
            _piano,
            (60, 130),
            meters=(4, 4, 3),
            per_bar=(1, 0.5, 2),
            flavours=POP,
            borrowed=True,
            swing=(0.55, 0.62),
            swing_p=0.2,
        ),
        _style(
            "bassline",
            _bassline,
            (70, 170),
            per_bar=(1, 2),
            flavours={"triad": 1.0, "7": 0.3},
            swing=(0.55, 0.66),
            swing_p=0.25,
        ),
        _style("melody", _melody, (80, 160), meters=(4, 4, 4, 3), per_bar=(1, 2), swing=(0.55, 0.66), swing_p=0.25),
    ]
}

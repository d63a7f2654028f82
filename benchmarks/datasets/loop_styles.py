"""Musical content of the generated loops: drum patterns, chord progressions, bass and arps.

Everything here is plain data and pure functions of a ``random.Random``; ``make_loops.py``
turns the resulting note lists into MIDI and audio. Times are in sixteenth-note steps from
the loop start (float, so swing can delay off-beats); pitches are MIDI note numbers; drum
notes use the General MIDI percussion map (channel 10).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# General MIDI percussion keys.
KICK, KICK2, RIM, SNARE, CLAP, SNARE2 = 36, 35, 37, 38, 39, 40
HAT_CLOSED, HAT_PEDAL, HAT_OPEN, RIDE, CRASH, TAMB, SHAKER = 42, 44, 46, 51, 49, 54, 70
TOMS = (41, 43, 45, 47, 48, 50)

# GM programs (0-based) by role.
PAD_PROGRAMS = (88, 89, 90, 91, 92, 94, 95, 48, 49, 50, 52, 19, 16)
KEYS_PROGRAMS = (0, 1, 2, 4, 5, 6, 7, 16, 17, 11, 24, 26)
BASS_PROGRAMS = (32, 33, 34, 35, 36, 37, 38, 39, 87)
ARP_PROGRAMS = (80, 81, 82, 84, 85, 8, 9, 10, 11, 12, 13, 0, 6, 24, 25, 46, 108)
FX_PROGRAMS = (121, 122, 125, 126, 127)

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)

#: Progressions as scale degrees (0-based). The chord quality follows from the scale, so a
#: harmonic-minor progression gets a major V. Many do not start on the tonic, but every one
#: sounds the tonic chord (a loop that never does has no defensible key label).
PROGRESSIONS = {
    "major": [
        (0, 4, 5, 3),
        (3, 0, 4, 0),
        (3, 0, 4, 5),
        (1, 4, 0, 0),
        (0, 5, 3, 4),
        (4, 0, 3, 0),
        (4, 5, 3, 0),
        (3, 4, 0, 0),
    ],
    "natural": [(0, 5, 2, 6), (5, 6, 0, 0), (0, 6, 5, 6), (3, 0, 4, 0), (5, 2, 6, 0), (0, 3, 6, 2), (3, 5, 0, 6)],
    "harmonic": [(0, 3, 4, 0), (0, 5, 3, 4), (3, 4, 0, 0), (5, 3, 4, 0), (0, 6, 5, 4), (1, 4, 0, 0)],
}
EASY_PROGRESSIONS = {
    "major": [(0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3)],
    "natural": [(0, 3, 4, 0), (0, 5, 6, 0), (0, 3, 6, 0)],
    "harmonic": [(0, 3, 4, 0)],
}


@dataclass
class Note:
    """One note. ``start``/``length`` in sixteenth steps from the loop start."""

    channel: int
    pitch: int
    start: float
    length: float
    velocity: int


@dataclass
class LoopSpec:
    """Everything that defines one generated loop."""

    style: str
    bpm: float
    bars: int
    tonic: int | None = None
    scale: str | None = None  # "major", "natural", "harmonic"; None for drum-only
    progression: tuple[int, ...] = ()
    sevenths: bool = False
    programs: dict[int, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    @property
    def mode(self) -> str | None:
        if self.scale is None:
            return None
        return "major" if self.scale == "major" else "minor"


def scale_of(name: str) -> tuple[int, ...]:
    return {"major": MAJOR_SCALE, "natural": NATURAL_MINOR, "harmonic": HARMONIC_MINOR}[name]


def chord_pcs(tonic: int, scale: str, degree: int, seventh: bool) -> list[int]:
    """Pitch classes of the diatonic chord on ``degree`` (root, third, fifth[, seventh])."""
    steps = scale_of(scale)
    tones = [steps[(degree + k) % 7] for k in ((0, 2, 4, 6) if seventh else (0, 2, 4))]
    return [(tonic + t) % 12 for t in tones]


def voice(pcs: list[int], low: int = 55) -> list[int]:
    """Closed voicing of pitch classes from the first MIDI note ≥ ``low`` holding the root."""
    root = low + (pcs[0] - low) % 12
    out = [root]
    for pc in pcs[1:]:
        note = out[-1] + 1 + (pc - out[-1] - 1) % 12
        out.append(note)
    return out


def bass_note(pc: int, low: int = 36) -> int:
    return low + (pc - low) % 12


# ---------------------------------------------------------------- drums


def _hit(notes: list[Note], pitch: int, step: float, vel: int, length: float = 1.0) -> None:
    notes.append(Note(9, pitch, step, length, max(1, min(127, vel))))


def drum_pattern(style: str, bars: int, rng: random.Random, swing: float = 0.0) -> list[Note]:
    """Drum notes of a style over ``bars`` bars of sixteenths.

    Styles: ``four_on_floor`` (kick every beat, clap on 2 and 4, off-beat hats), ``halftime``
    (kick on 1, snare on 3), ``breakbeat`` (syncopated kick, snare on 2 and 4 with ghosts),
    ``dnb`` (two-step: kick on 1 and the "and" of 3, snare on 2 and 4), ``swing`` (backbeat
    with swung hats), ``backbeat`` (plain rock/pop beat for the easy set).
    """
    notes: list[Note] = []
    kick = rng.choice((KICK, KICK2))
    snare = rng.choice((SNARE, SNARE2, CLAP))
    variant = rng.randrange(3)
    hat_16ths = rng.random() < 0.5
    for bar in range(bars):
        o = bar * 16
        last = bar == bars - 1
        if style == "four_on_floor":
            for s in (0, 4, 8, 12):
                _hit(notes, kick, o + s, 110 + rng.randint(-5, 5))
            for s in (4, 12):
                _hit(notes, CLAP if variant else snare, o + s, 100)
            for s in range(2, 16, 4):
                _hit(notes, HAT_OPEN if variant == 2 else HAT_CLOSED, o + s, 85)
            if hat_16ths:
                for s in range(1, 16, 2):
                    _hit(notes, HAT_CLOSED, o + s, 45)
        elif style == "halftime":
            _hit(notes, kick, o, 118)
            for s in ((), (10,), (7, 11), (3, 10))[variant + (bar % 2)]:
                _hit(notes, kick, o + s, 100)
            _hit(notes, snare, o + 8, 115)
            step = 1 if hat_16ths else 2
            for s in range(0, 16, step):
                _hit(notes, HAT_CLOSED, o + s, 70 + (15 if s % 4 == 0 else 0))
            if last and variant == 1:
                for s in (13, 13.5, 14, 14.5, 15, 15.5):
                    _hit(notes, HAT_CLOSED, o + s, 60)
        elif style == "breakbeat":
            kicks = ((0, 10), (0, 2, 10), (0, 7, 10))[variant]
            for s in kicks:
                _hit(notes, kick, o + s, 112)
            for s in (4, 12):
                _hit(notes, snare, o + s, 112)
            for s in (7, 9, 15):
                if rng.random() < 0.6:
                    _hit(notes, snare, o + s, 40)
            for s in range(0, 16, 2):
                _hit(notes, HAT_CLOSED if s != 14 or variant else HAT_OPEN, o + s, 80 if s % 4 == 0 else 65)
        elif style == "dnb":
            for s in ((0, 10), (0, 10, 11), (0, 6, 10))[variant]:
                _hit(notes, kick, o + s, 115)
            for s in (4, 12):
                _hit(notes, snare, o + s, 118)
            if rng.random() < 0.5:
                _hit(notes, snare, o + 14.5 if variant == 2 else o + 7, 45)
            for s in range(0, 16, 2):
                _hit(notes, RIDE if variant == 1 else HAT_CLOSED, o + s, 70)
        elif style in ("swing", "backbeat"):
            kicks = ((0, 8), (0, 10), (0, 7, 10), (0, 3, 8))[(variant + bar) % 4] if style == "swing" else (0, 8)
            for s in kicks:
                _hit(notes, kick, o + s, 110)
            for s in (4, 12):
                _hit(notes, snare, o + s, 110)
            step = 1 if (hat_16ths and style == "swing") else 2
            for s in range(0, 16, step):
                _hit(notes, HAT_CLOSED, o + s, 75 if s % 4 == 0 else 55)
        else:
            raise ValueError(f"unknown drum style {style!r}")
    return apply_swing(notes, swing)


def apply_swing(notes: list[Note], swing: float) -> list[Note]:
    """Delay every off-beat sixteenth by ``swing`` of a sixteenth (0 = straight, 1/3 = triplet)."""
    if swing <= 0:
        return notes
    for n in notes:
        frac = n.start % 2
        if abs(frac - 1.0) < 1e-6:
            n.start += swing
    return notes


# ---------------------------------------------------------------- pitched parts


def chord_slots(bars: int, progression: tuple[int, ...], per_bar: int | None = None) -> list[tuple[float, float, int]]:
    """(start step, length in steps, degree) of each chord.

    By default one chord per bar for loops of four bars or more, two per bar for two bars and
    two in one bar for one bar; ``per_bar=1`` forces one chord per bar. A loop too short for
    the whole progression plays the window of it that holds the tonic chord, as late in the
    window as possible (so short loops need not start on the tonic either).
    """
    per_bar = per_bar or (1 if bars >= 4 else 2)
    count = bars * per_bar
    length = 16.0 / per_bar
    chords = [progression[k % len(progression)] for k in range(max(count, len(progression)))]
    if count < len(progression):
        starts = [
            s for s in range(len(progression)) if 0 in [progression[(s + k) % len(progression)] for k in range(count)]
        ]
        best = max(starts, key=lambda s: [progression[(s + k) % len(progression)] for k in range(count)].index(0))
        chords = [progression[(best + k) % len(progression)] for k in range(count)]
    return [(k * length, length, chords[k]) for k in range(count)]


def pad_part(
    spec: LoopSpec, rng: random.Random, channel: int = 0, stab: bool = False, per_bar: int | None = None
) -> list[Note]:
    """Sustained chords (or stabs on the off-beats) following the progression."""
    out = []
    for start, length, degree in chord_slots(spec.bars, spec.progression, per_bar):
        pitches = voice(chord_pcs(spec.tonic, spec.scale, degree, spec.sevenths), low=rng.choice((52, 55, 57)))
        if stab:
            for s in range(int(start) + 2, int(start + length), 4):
                for p in pitches:
                    out.append(Note(channel, p, s, 1.0, 88))
        else:
            for p in pitches:
                out.append(Note(channel, p, start, length - 0.1, 80))
    return out


def bass_part(spec: LoopSpec, rng: random.Random, rhythm: str, channel: int = 1) -> list[Note]:
    """Bass on chord roots. Rhythms: ``quarters`` (every beat), ``offbeat`` (eighth
    off-beats), ``long`` (one note per chord), ``syncopated`` (a fixed syncopated figure that
    also visits the fifth and the octave)."""
    out = []
    figure = rng.choice(((0, 3, 6, 10, 12), (0, 3, 8, 11, 14), (0, 6, 7, 10, 13)))
    for start, length, degree in chord_slots(spec.bars, spec.progression):
        pcs = chord_pcs(spec.tonic, spec.scale, degree, False)
        root = bass_note(pcs[0])
        if rhythm == "quarters":
            for s in range(int(start), int(start + length), 4):
                out.append(Note(channel, root, s, 3.5, 100))
        elif rhythm == "offbeat":
            for s in range(int(start) + 2, int(start + length), 4):
                out.append(Note(channel, root, s, 1.5, 100))
        elif rhythm == "long":
            out.append(Note(channel, root, start, length - 0.2, 105))
        elif rhythm == "syncopated":
            fifth = bass_note(pcs[2])
            for i, s in enumerate(figure):
                if s >= length:
                    break
                pitch = (root, root, fifth, root + 12, root)[i % 5]
                out.append(Note(channel, pitch, start + s, 1.6 if i % 2 else 2.5, 105))
        else:
            raise ValueError(rhythm)
    return out


def arp_part(spec: LoopSpec, rng: random.Random, channel: int = 2) -> list[Note]:
    """Sixteenth-note arpeggio over the chord tones, up or up-down over two octaves."""
    out = []
    shape = rng.choice(("up", "updown", "alberti"))
    low = rng.choice((55, 60, 64))
    for start, length, degree in chord_slots(spec.bars, spec.progression):
        tones = voice(chord_pcs(spec.tonic, spec.scale, degree, spec.sevenths), low=low)
        tones = tones + [t + 12 for t in tones]
        if shape == "updown":
            tones = tones + tones[-2:0:-1]
        elif shape == "alberti":
            tones = [tones[0], tones[2], tones[1], tones[2]]
        for k in range(int(length)):
            out.append(Note(channel, tones[k % len(tones)], start + k, 0.9, 90 if k % 4 == 0 else 72))
    return out

"""Harmony for ``compose_band_loops.py``: keys, a chord grammar, chord spelling and voicings.

Written for the band-loop generator and independent of ``make_loops.py`` / ``loop_styles.py``.
Every pitch here is relative to the tonic (semitones, 0 = tonic) until a voicing turns it into
MIDI note numbers. Chords are built by stacking thirds *of a scale* (major, natural minor, or
harmonic minor for the dominant of a minor key; the parallel minor for borrowed chords in a
major key), so extensions stay in the key; only the blues' dominant sevenths step outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural": (0, 2, 3, 5, 7, 8, 10),
    "harmonic": (0, 2, 3, 5, 7, 8, 11),
}

# numeral -> (scale the chord is stacked from, scale degree 0–6)
MAJOR_NUMERALS: dict[str, tuple[str, int]] = {
    "I": ("major", 0),
    "ii": ("major", 1),
    "iii": ("major", 2),
    "IV": ("major", 3),
    "V": ("major", 4),
    "vi": ("major", 5),
    "vii°": ("major", 6),
    "iv": ("natural", 3),  # borrowed from the parallel minor
    "bVI": ("natural", 5),
    "bVII": ("natural", 6),
}
MINOR_NUMERALS: dict[str, tuple[str, int]] = {
    "i": ("natural", 0),
    "ii°": ("natural", 1),
    "III": ("natural", 2),
    "iv": ("natural", 3),
    "v": ("natural", 4),
    "V": ("harmonic", 4),
    "VI": ("natural", 5),
    "VII": ("natural", 6),
}
BORROWED = {"iv", "bVI", "bVII"}

# The grammar: from each chord, weights of the next one (a functional random walk:
# tonic -> predominant -> dominant -> tonic, with deceptive and plagal moves).
MAJOR_NEXT: dict[str, dict[str, float]] = {
    "I": {"IV": 3, "V": 2, "vi": 3, "ii": 2, "iii": 0.8, "bVII": 0.6, "bVI": 0.4, "iv": 0.3},
    "ii": {"V": 5, "IV": 1, "vii°": 0.4, "I": 0.8, "iii": 0.5},
    "iii": {"vi": 3, "IV": 2, "ii": 1},
    "IV": {"V": 3, "I": 3, "ii": 1, "vi": 1, "iv": 1, "bVII": 0.5, "iii": 0.5},
    "V": {"I": 5, "vi": 2, "IV": 1},
    "vi": {"IV": 3, "ii": 3, "V": 2, "iii": 1, "I": 1},
    "vii°": {"I": 4, "iii": 1},
    "iv": {"I": 3, "V": 1},
    "bVI": {"bVII": 2, "V": 2, "I": 1},
    "bVII": {"I": 3, "IV": 2},
}
MINOR_NEXT: dict[str, dict[str, float]] = {
    "i": {"iv": 3, "VI": 3, "VII": 2, "v": 1, "V": 1.5, "III": 1, "ii°": 1},
    "ii°": {"V": 4, "v": 1},
    "III": {"VI": 2, "iv": 2, "VII": 2},
    "iv": {"V": 3, "i": 2, "VII": 2, "v": 1, "VI": 1},
    "v": {"i": 2, "VI": 2, "iv": 1},
    "V": {"i": 5, "VI": 1},
    "VI": {"VII": 2, "iv": 2, "III": 1, "V": 2, "ii°": 1},
    "VII": {"i": 3, "III": 3, "VI": 1},
}
# first chords: a loop often starts away from the tonic
MAJOR_FIRST = {"I": 2.0, "IV": 2.0, "vi": 2.0, "ii": 1.5, "V": 0.6, "iii": 0.4}
MINOR_FIRST = {"i": 2.2, "iv": 1.5, "VI": 2.0, "VII": 0.8, "III": 0.5}


def key_name(tonic: int, mode: str) -> str:
    """Key label like ``"Ab minor"`` for ``tonic`` (pitch class, C = 0) and ``mode``."""
    return f"{NOTE_NAMES[tonic % 12]} {mode}"


@dataclass
class Chord:
    """One chord of a progression.

    Attributes:
        numeral: roman numeral with its suffix (``"ii7"``, ``"IVadd9"``, ``"V7"``).
        root: root in semitones above the tonic (0–11).
        tones: chord tones in semitones above the tonic, root first, ascending (may pass 12).
        start: onset in beats from the loop start.
        dur: length in beats.
        degree: the bare numeral (``"ii"``), used by the grammar and the bass.
    """

    numeral: str
    root: int
    tones: tuple[int, ...]
    start: float
    dur: float
    degree: str

    @property
    def third(self) -> int:
        """Second chord tone (the third, or the suspension) in semitones above the tonic."""
        return self.tones[1]

    @property
    def fifth(self) -> int:
        """Third chord tone (usually the fifth) in semitones above the tonic."""
        return self.tones[2]


def _stack(scale: tuple[int, ...], degree: int, steps: list[int]) -> tuple[int, ...]:
    """Scale tones ``degree + step`` (steps in scale degrees), in semitones above the tonic."""
    out = []
    for s in steps:
        i = degree + s
        out.append(scale[i % 7] + 12 * (i // 7))
    return tuple(out)


def spell(degree: str, mode: str, flavour: str) -> Chord:
    """Spell a chord ``degree`` of a key in ``mode`` with ``flavour``.

    Args:
        degree: a numeral of ``MAJOR_NUMERALS`` / ``MINOR_NUMERALS``, or ``"I7"``, ``"IV7"``,
            ``"V7"`` for the blues (dominant sevenths on a major key).
        mode: "major" or "minor".
        flavour: "triad", "7", "9", "sus2", "sus4", "add9" or "6".

    Returns:
        A Chord with ``start`` and ``dur`` zero (the caller places it).
    """
    if degree in ("I7", "IV7", "V7"):
        root = {"I7": 0, "IV7": 5, "V7": 7}[degree]
        tones = (root, root + 4, root + 7, root + 10)
        if flavour == "9":
            tones += (root + 14,)
        return Chord(degree + ("(9)" if flavour == "9" else ""), root, tones, 0.0, 0.0, degree)
    table = MAJOR_NUMERALS if mode == "major" else MINOR_NUMERALS
    scale_name, d = table[degree]
    scale = SCALES[scale_name]
    diminished = degree.endswith("°")
    if diminished and flavour in ("sus2", "sus4", "add9", "6", "9"):
        flavour = "triad"
    steps = {
        "triad": [0, 2, 4],
        "7": [0, 2, 4, 6],
        "9": [0, 2, 4, 6, 8],
        "sus2": [0, 1, 4],
        "sus4": [0, 3, 4],
        "add9": [0, 2, 4, 8],
        "6": [0, 2, 4, 5],
    }[flavour]
    tones = _stack(scale, d, steps)
    root = tones[0]
    suffix = ""
    if flavour in ("7", "9"):
        seventh = (tones[3] - root) % 12
        quality_major = (tones[1] - root) % 12 == 4
        if diminished:
            suffix = "ø7"
            degree_text = degree[:-1]
        elif quality_major and seventh == 11:
            suffix = "maj7" if flavour == "7" else "maj9"
        else:
            suffix = "7" if flavour == "7" else "9"
        numeral = (degree_text if diminished else degree) + suffix
    else:
        numeral = degree + ("" if flavour == "triad" else flavour)
    return Chord(numeral, root % 12, tones, 0.0, 0.0, degree)


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def walk(rng: np.random.Generator, mode: str, n: int, borrowed: bool) -> list[str]:
    """A chord sequence of ``n`` numerals from the grammar.

    The sequence holds the tonic and a dominant or predominant chord (so a listener can find
    the key), at most one kind of borrowed chord, and does not end on its first chord (the loop
    wraps round). Retries the walk until those hold.
    """
    nxt = MAJOR_NEXT if mode == "major" else MINOR_NEXT
    first = MAJOR_FIRST if mode == "major" else MINOR_FIRST
    tonic = "I" if mode == "major" else "i"
    support = {"V", "IV", "vii°"} if mode == "major" else {"V", "iv", "v"}
    seq: list[str] = []
    for _ in range(200):
        seq = [_choose(rng, first)]
        while len(seq) < n:
            w = {k: v for k, v in nxt[seq[-1]].items() if borrowed or k not in BORROWED or mode == "minor"}
            if len(seq) >= 2:  # avoid a chord repeating straight away or A-B-A-B ping-pong
                w = {k: v for k, v in w.items() if k != seq[-2] or len(w) == 1}
            seq.append(_choose(rng, w))
        kinds_borrowed = {s for s in seq if s in BORROWED} if mode == "major" else set()
        ok = (
            tonic in seq
            and support & set(seq)
            and len(kinds_borrowed) <= 1
            and (n < 2 or seq[-1] != seq[0])
            and len(set(seq)) >= min(n, 2)
        )
        if ok:
            return seq
    return ([tonic, "IV" if mode == "major" else "iv", "V", tonic] * n)[:n]


def blues_form(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` bars (1–8) of a blues form on dominant sevenths: quick-change, turnaround variants."""
    quick = rng.random() < 0.5
    if n == 1:
        return ["I7", "IV7"]  # the caller gives these two beats each
    if n == 2:
        return ["I7", "IV7"] if rng.random() < 0.6 else ["IV7", "I7"]
    if n == 4:
        forms = [["I7", "IV7" if quick else "I7", "IV7", "V7"], ["IV7", "I7", "V7", "I7"], ["I7", "IV7", "I7", "V7"]]
        return forms[int(rng.integers(len(forms)))]
    head = ["I7", "IV7" if quick else "I7", "I7", "I7", "IV7", "IV7", "I7"]
    return head + (["V7"] if rng.random() < 0.6 else ["I7"])[: n - len(head)]


def progression(
    rng: np.random.Generator, mode: str, bars: int, bpb: int, per_bar: float, flavours: dict[str, float], borrowed: bool
) -> list[Chord]:
    """A placed progression over ``bars`` bars of ``bpb`` beats.

    Args:
        per_bar: chords per bar (0.5 = one chord every two bars, 2 = one every two beats).
        flavours: weights of the chord flavours (see ``spell``), drawn per chord and kept for
            repeats of the same numeral.
        borrowed: allow iv, bVI, bVII in a major key.

    Returns:
        Chords that tile ``[0, bars·bpb)`` beats.
    """
    n = max(2, round(bars * per_bar))
    base_n = n if n <= 4 else int(rng.choice([4, 4, 8])) if n >= 8 else 4
    base_n = min(base_n, n)
    base = walk(rng, mode, base_n, borrowed)
    seq = (base * (n // base_n + 1))[:n]
    if n > base_n and rng.random() < 0.5:  # a turnaround in the last repeat
        dom = "V"
        if seq[-2] != dom and seq[-1] != dom and seq[0] != dom:
            seq[-1] = dom
    return place(rng, seq, mode, bars * bpb, flavours)


def place(
    rng: np.random.Generator, seq: list[str], mode: str, length: float, flavours: dict[str, float]
) -> list[Chord]:
    """Spell ``seq`` and split ``length`` beats equally among its chords."""
    dur = length / len(seq)
    chosen: dict[str, str] = {}
    out = []
    for i, deg in enumerate(seq):
        if deg not in chosen:
            w = flavours
            if deg == "i":  # a minor ninth or sixth on the tonic sounds like the relative major: keep it plain
                w = {k: v for k, v in flavours.items() if k not in ("9", "6")} or {"7": 1.0}
            chosen[deg] = _choose(rng, w)
        c = spell(deg, mode, chosen[deg])
        c.start, c.dur = i * dur, dur
        out.append(c)
    return out


def text(chords: list[Chord]) -> str:
    """Progression text like ``"IV - V7 - iii7 - vi"``."""
    return " - ".join(c.numeral for c in chords)


# ---------------------------------------------------------------- voicings (MIDI note numbers)


def pitch_near(pc: int, target: float) -> int:
    """The MIDI note of pitch class ``pc`` nearest to ``target`` (a MIDI note number)."""
    base = int(round(target)) - 6
    return base + (pc - base) % 12


def in_range(pc: int, lo: int) -> int:
    """The MIDI note of pitch class ``pc`` in ``[lo, lo + 12)``."""
    return lo + (pc - lo) % 12


def close(pcs: list[int], center: float, prev: list[int] | None, rng: np.random.Generator) -> list[int]:
    """A close-position voicing of the pitch classes ``pcs`` around MIDI note ``center``.

    All inversions are tried; the one whose mean is near ``center`` and that moves least from
    ``prev`` (voice leading) wins, with a little noise so equal choices vary.
    """
    uniq: list[int] = []
    for p in pcs:
        if p % 12 not in uniq:
            uniq.append(p % 12)
    best, best_cost = [], 1e9
    for r in range(len(uniq)):
        order = uniq[r:] + uniq[:r]
        for lo in (center - 9, center - 4):
            notes = [in_range(order[0], int(lo))]
            for p in order[1:]:
                notes.append(notes[-1] + 1 + (p - notes[-1] - 1) % 12)
            cost = abs(float(np.mean(notes)) - center) * 0.6
            if prev:
                cost += sum(min(abs(n - q) for q in prev) for n in notes) / len(notes)
            cost += rng.random() * 0.8
            if cost < best_cost:
                best, best_cost = notes, cost
    return best


def drop2(notes: list[int]) -> list[int]:
    """Drop the second voice from the top of a close voicing by an octave."""
    if len(notes) < 4:
        return notes
    s = sorted(notes)
    s[-2] -= 12
    return sorted(s)


def spread(pcs: list[int], low: int) -> list[int]:
    """An open voicing: root at ``low`` (MIDI), fifth above, then the rest spread an octave up."""
    root = in_range(pcs[0], low)
    notes = [root]
    rest = [pcs[2] if len(pcs) > 2 else pcs[1]] + [p for i, p in enumerate(pcs[1:], 1) if i != 2]
    for p in rest:
        notes.append(notes[-1] + 3 + (p - notes[-1] - 3) % 12)
    return notes


def shell(chord: Chord, tonic: int, center: float) -> list[int]:
    """Rootless jazz voicing: third, seventh (or sixth) and ninth/fifth near ``center``."""
    t = [x + tonic for x in chord.tones]
    third = t[1]
    top = t[3] if len(t) > 3 else t[0] + 9 if (t[1] - t[0]) % 12 == 4 else t[0] + 10
    colour = t[4] if len(t) > 4 else t[2]
    pcs = [third % 12, top % 12, colour % 12]
    lo = pitch_near(pcs[0], center - 4)
    notes = [lo]
    for p in pcs[1:]:
        notes.append(notes[-1] + 1 + (p - notes[-1] - 1) % 12)
    return notes

"""Musical content for ``compose_synth_loops.py``: harmony grammar, voicings and grooves.

Designed for this generator alone (independent of ``make_loops.py`` / ``loop_styles.py``):

* a chord grammar — a weighted random walk over diatonic degrees with style-neutral
  transition weights, modal mixture in major (bVI, bVII, iv) and natural / harmonic /
  dorian-flavoured minor — that accepts only walks containing the tonic on a strong slot;
* chords stacked in thirds from the scale (triads, sevenths, ninths, sus2, sus4, add9) with
  their roman-numeral names, voiced by nearest voice leading (inversions, close or drop-2);
* drum grooves written as 16-step strings per instrument, with ghost notes, hat rolls, fills;
* bass, stab, comping, arpeggio and hook generators that read the chord slots.

Times are in beats from the loop start (float); pitches are MIDI numbers; velocities 0–1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
NATURAL = (0, 2, 3, 5, 7, 8, 10)
HARMONIC = (0, 2, 3, 5, 7, 8, 11)
DORIAN = (0, 2, 3, 5, 7, 9, 10)

# roman numeral → (scale it is stacked from, degree index in that scale)
DEGREES = {
    "major": {
        "I": (MAJOR, 0), "ii": (MAJOR, 1), "iii": (MAJOR, 2), "IV": (MAJOR, 3), "V": (MAJOR, 4),
        "vi": (MAJOR, 5), "vii°": (MAJOR, 6), "bVI": (NATURAL, 5), "bVII": (NATURAL, 6), "iv": (NATURAL, 3),
    },
    "minor": {
        "i": (NATURAL, 0), "ii°": (NATURAL, 1), "III": (NATURAL, 2), "iv": (NATURAL, 3), "v": (NATURAL, 4),
        "VI": (NATURAL, 5), "VII": (NATURAL, 6), "V": (HARMONIC, 4), "IV": (DORIAN, 3),
    },
}  # fmt: skip
TONIC = {"major": "I", "minor": "i"}
BORROWED = {"bVI", "bVII", "iv"}

# where a walk goes next (weights); a walk may start anywhere in START
MOVES = {
    "major": {
        "I": {"IV": 3, "V": 2, "vi": 3, "ii": 2, "iii": 1, "bVII": 0.8, "iv": 0.5, "bVI": 0.6},
        "ii": {"V": 4, "IV": 1, "I": 1, "iii": 0.6, "vii°": 0.4},
        "iii": {"vi": 3, "IV": 2, "ii": 1},
        "IV": {"I": 3, "V": 3, "ii": 1, "vi": 1.5, "iv": 0.8, "iii": 0.5, "bVII": 0.5},
        "V": {"I": 4, "vi": 2.5, "IV": 1.5, "iii": 0.5},
        "vi": {"IV": 3, "ii": 2.5, "V": 2, "iii": 1, "I": 1},
        "vii°": {"I": 3, "iii": 1},
        "bVII": {"I": 3, "IV": 2, "bVI": 0.5},
        "iv": {"I": 3, "V": 1, "bVII": 1},
        "bVI": {"bVII": 3, "V": 1, "I": 1},
    },
    "minor": {
        "i": {"VI": 3, "iv": 3, "VII": 2.5, "III": 2, "v": 1, "V": 1.5, "ii°": 0.5, "IV": 1},
        "ii°": {"V": 3, "v": 1, "i": 1, "VII": 1},
        "III": {"VII": 3, "VI": 2, "iv": 2, "i": 1},
        "iv": {"i": 2.5, "VII": 2, "v": 1.5, "V": 2, "VI": 1, "III": 1},
        "v": {"i": 3, "VI": 2, "iv": 1, "III": 0.5},
        "V": {"i": 4, "VI": 1.5},
        "VI": {"VII": 3.5, "iv": 2, "III": 2, "i": 2, "ii°": 0.5, "V": 1},
        "VII": {"i": 3, "III": 3, "VI": 1.5, "iv": 1, "v": 0.5},
        "IV": {"i": 3, "VII": 1, "v": 1},
    },
}
START = {
    "major": {"I": 3, "IV": 3, "vi": 3, "ii": 1.5, "V": 1, "iii": 0.5, "bVI": 0.3, "bVII": 0.3},
    "minor": {"i": 3, "VI": 3, "iv": 2.5, "VII": 1, "III": 1, "v": 0.5, "ii°": 0.3, "IV": 0.3},
}
ALLOWED = {
    "major": {"I", "ii", "iii", "IV", "V", "vi", "vii°"},
    "mixture": {"I", "ii", "iii", "IV", "V", "vi", "bVI", "bVII", "iv"},
    "natural": {"i", "ii°", "III", "iv", "v", "VI", "VII"},
    "harmonic": {"i", "ii°", "III", "iv", "V", "VI", "VII"},
    "dorian": {"i", "III", "iv", "IV", "v", "VI", "VII"},
}


@dataclass(frozen=True)
class Chord:
    """A chord of the key: its roman name and tones as pitch classes relative to the tonic."""

    roman: str
    tones: tuple[int, ...]  # stacked from the root upwards; tones[0] is the root

    @property
    def root(self) -> int:
        return self.tones[0]


@dataclass(frozen=True)
class Slot:
    """One chord held from ``beat`` for ``dur`` beats."""

    beat: float
    dur: float
    chord: Chord


@dataclass
class Note:
    """A note: onset and length in beats, MIDI pitch, velocity 0–1, glide into it (mono lines)."""

    beat: float
    dur: float
    midi: int
    vel: float = 0.8
    glide: bool = False


def pick(rng: np.random.Generator, weights: dict) -> str:
    """Draw a key of ``weights`` with probability proportional to its value."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def progression(rng: np.random.Generator, mode: str, flavour: str, length: int) -> list[str]:
    """A cyclic chord progression from the grammar.

    Args:
        mode: "major" or "minor". flavour: "major", "mixture", "natural", "harmonic" or
            "dorian" (the chord set of :data:`ALLOWED`). length: chords in one cycle (1–4).

    Returns:
        roman numerals; the tonic appears on slot 0 or 2 (a strong slot), no chord repeats
        back to back (the wrap from last to first included), at most one borrowed chord, and a
        harmonic-minor walk holds a major V, a dorian one a major IV.
    """
    tonic = TONIC[mode]
    allowed = ALLOWED[flavour]
    if length == 1:
        return [tonic]
    moves = MOVES[mode]
    for _ in range(400):
        walk = [pick(rng, {k: v for k, v in START[mode].items() if k in allowed})]
        while len(walk) < length:
            options = {k: v for k, v in moves[walk[-1]].items() if k in allowed and k != walk[-1]}
            walk.append(pick(rng, options))
        if tonic not in (walk if length == 2 else walk[0:3:2]) or walk[-1] == walk[0]:
            continue
        if length > 2 and walk[0] not in moves[walk[-1]]:
            continue
        if sum(c in BORROWED for c in walk) > (1 if mode == "major" else 9):
            continue
        if (flavour == "harmonic" and "V" not in walk) or (flavour == "dorian" and "IV" not in walk):
            continue
        # a borrowed chord must not make another key sound like home: start on the tonic and
        # keep two diatonic neighbours of it
        if flavour == "mixture" and (
            not BORROWED & set(walk) or walk[0] != tonic or len({"ii", "IV", "V", "vi"} & set(walk)) < 2
        ):
            continue
        return walk
    fallback = {
        "major": ["IV", "I"],
        "mixture": ["bVII", "I"],
        "natural": ["VI", "i"],
        "harmonic": ["V", "i"],
        "dorian": ["IV", "i"],
    }
    return (
        fallback[flavour][:length]
        if length <= 2
        else [*fallback[flavour], "iv" if mode == "minor" else "ii", "I" if mode == "major" else "i"][:length]
    )


def build_chord(mode: str, roman: str, kind: str) -> Chord:
    """Stack ``roman`` in thirds from its scale.

    Args:
        kind: "triad", "seventh", "ninth" (root, 3rd, 7th, 9th), "sus2", "sus4" or "add9";
            a sus or ninth that the scale would make dissonant (tritone, minor ninth) falls back
            to a triad or a seventh.

    Returns:
        Chord with a roman name such as "vi7", "IVmaj7", "V7", "iiø7", "isus2", "bVIIadd9".
    """
    scale, d = DEGREES[mode][roman]

    def deg(k: int) -> int:
        return scale[(d + k) % 7]

    def iv(k: int) -> int:
        return (deg(k) - deg(0)) % 12

    if kind == "sus2" and not (iv(1) == 2 and iv(4) == 7):
        kind = "triad"
    if kind == "sus4" and not (iv(3) == 5 and iv(4) == 7):
        kind = "triad"
    if kind in ("ninth", "add9") and (iv(1) != 2 or iv(4) != 7):
        kind = "seventh" if kind == "ninth" else "triad"
    steps = {
        "triad": (0, 2, 4),
        "seventh": (0, 2, 4, 6),
        "ninth": (0, 2, 6, 8),
        "sus2": (0, 1, 4),
        "sus4": (0, 3, 4),
        "add9": (0, 2, 4, 8),
    }[kind]
    tones = tuple(deg(k) for k in steps)
    name = roman
    if kind in ("seventh", "ninth"):
        third, seventh = iv(2), iv(6)
        ext = "7" if kind == "seventh" else "9"
        if roman.endswith("°") and seventh == 10:
            name = roman[:-1] + "ø" + ext
        elif third == 4 and seventh == 11:
            name = roman + "maj" + ext
        else:
            name = roman + ext
    elif kind != "triad":
        name = roman + kind
    return Chord(name, tones)


def voice(pcs: list[int], lo: int, target: float, rng: np.random.Generator, spread: bool = False) -> list[int]:
    """Voice a chord near a register: the inversion whose mean pitch is nearest ``target``.

    Args:
        pcs: absolute pitch classes, root first (stacking order). lo: lowest allowed MIDI note.
        target: MIDI pitch the voicing's mean should sit near (the previous chord's mean gives
            smooth voice leading). spread: drop the second-highest voice an octave (drop-2).
    """
    best, best_d = [], 1e9
    for r in range(len(pcs)):
        order = pcs[r:] + pcs[:r]
        notes = [lo + (order[0] - lo) % 12]
        for pc in order[1:]:
            notes.append(notes[-1] + 1 + (pc - notes[-1] - 1) % 12)
        for shift in (0, 12):
            cand = [m + shift for m in notes]
            d = abs(np.mean(cand) - target) + 0.3 * rng.random()
            if d < best_d:
                best, best_d = cand, d
    if spread and len(best) >= 3:
        best = sorted([*best[:-2], best[-2] - 12, best[-1]])
    return best


# ---------------------------------------------------------------- drums

VEL = {"X": 1.0, "x": 0.78, "o": 0.55, "g": 0.3}


def steps(pattern: str, inst: str, bar: int, bpb: int, scale: float = 1.0) -> list[tuple[float, str, float]]:
    """Hits of one bar from a 16-step string (X accent, x normal, o soft, g ghost, . rest).

    In 3/4 only the first 12 steps are used.
    """
    pattern = pattern[: 4 * bpb]
    return [(bar * bpb + i / 4, inst, VEL[c] * scale) for i, c in enumerate(pattern) if c != "."]


GROOVES: dict[str, dict[str, list[str]]] = {
    "house": {
        "kick": ["X...X...X...X..."],
        "clap": ["....X.......X...", "....X.......X..g"],
        "ohh": ["..x...x...x...x."],
        "chh": ["x.o.x.o.x.o.x.o.", "oxo.oxo.oxo.oxoo", "o.o.o.o.o.o.o.o."],
        "shaker": ["", "gogogogogogogogo"],
    },
    "deep_house": {
        "kick": ["X...X...X...X..."],
        "rim": ["...o..o....o..o.", "......o.....o..o", ""],
        "clap": ["....x.......x...", "....o.......o..."],
        "shaker": ["ogogogogogogogog", "oooooooooooooooo"],
        "ohh": ["..o...o...o...o.", ""],
    },
    "techno": {
        "kick": ["X...X...X...X...", "X...X...X...X.g."],
        "ohh": ["..x...x...x...x."],
        "chh": ["oooooooooooooooo", "o.o.o.o.o.o.o.o.", ""],
        "clap": ["....x.......x...", "", "............x..."],
        "rim": ["..o..o....o..o..", "...o......o..o..", ""],
        "ride": ["", "o.o.o.o.o.o.o.o."],
    },
    "trap": {
        "kick": ["X......X..X.....", "X.........X..X..", "X..X......X.....", "X.....X...X...x."],
        "clap": ["........X.......", "........X......g"],
        "chh": ["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "x.xxx.x.x.xxx.x."],
        "ohh": ["", "..............x."],
    },
    "lofi": {
        "kick": ["X......x..X.....", "X.........X..x..", "X.x.......X....."],
        "snare": ["....X.......X...", "....X..g....X..g", "....X.g.....X.g."],
        "chh": ["x.o.x.o.x.o.x.o.", "x.x.x.x.x.x.x.x.", "o.o.x.o.o.o.x.o."],
        "shaker": ["", "..o...o...o...o."],
    },
    "dnb": {
        "kick": ["X.........X.....", "X.X.......X.....", "X.........X..x.."],
        "snare": ["....X.......X...", "....X..g.g..X...", "....X.g.....X..g"],
        "chh": ["x.x.x.x.x.x.x.x.", "x.o.x.o.x.o.xoo."],
        "shaker": ["", "oooooooooooooooo"],
        "ride": ["", "o...o...o...o..."],
    },
    "dubstep": {
        "kick": ["X...............", "X.........x.....", "X......x.x......"],
        "snare": ["........X.......", "........X.....g."],
        "chh": ["x.x.x.x.x.x.x.x.", "x...x...x...x...", "x.xxx.x.x.xxx.x."],
        "ohh": ["", "......x.......x."],
    },
    "garage": {
        "kick": ["X.........X.....", "X......x..X.....", "X........x......"],
        "clap": ["....X.......X...", "....X.......X..g"],
        "chh": ["..x.x.x...x.x.xx", "x.x.xxx.x.x.xx.x", "..x...x.x.x...x."],
        "rim": ["...o..o.......o.", "", "......o..o......"],
        "shaker": ["", "oooooooooooooooo"],
    },
    "synthwave": {
        "kick": ["X...X...X...X...", "X.......X.......", "X.......X.x....."],
        "snare": ["....X.......X..."],
        "chh": ["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo"],
        "ohh": ["", "......x.......x."],
    },
    "ambient": {
        "shaker": ["o.o.o.o.o.o.o.o.", "ogogogogogogogog", "..o...o...o...o."],
        "kick": ["", "", "x.......x.......", "x..............."],
        "rim": ["", "", "......g.......g."],
    },
    "afro_house": {
        "kick": ["X...X...X...X..."],
        "shaker": ["ogoooooooooooogo", "oooooooooooooooo"],
        "tom": ["...x..x...x..x..", "..x..x.x..x...x.", "......x..x....x."],
        "clap": ["....x.......x...", ""],
        "rim": ["..o..o..o..o..o.", ""],
    },
    "reggaeton": {
        "kick": ["X...X...X...X..."],
        "snare": ["...x..x....x..x."],
        "chh": ["x.x.x.x.x.x.x.x.", "o.x.o.x.o.x.o.x."],
        "rim": ["", "...o..o....o..o."],
    },
}


def drum_pattern(
    style: str, rng: np.random.Generator, bars: int, bpb: int, fill: bool
) -> list[tuple[float, str, float]]:
    """Drum hits for a loop: one variant per instrument, light per-bar variation and an optional fill.

    Returns:
        (beat, instrument, velocity) — instruments kick, snare, clap, chh, ohh, rim, tom,
        shaker, ride.
    """
    chosen = {inst: variants[int(rng.integers(len(variants)))] for inst, variants in GROOVES[style].items()}
    hits: list[tuple[float, str, float]] = []
    for bar in range(bars):
        for inst, pat in chosen.items():
            if pat and bar % 2 == 1 and inst in ("kick", "chh", "rim") and rng.random() < 0.3:
                pat = _vary(pat, rng)
            hits += steps(pat, inst, bar, bpb)
    if style in ("trap", "dubstep") and rng.random() < 0.8:
        hits = _rolls(hits, rng, bars, bpb)
    if fill:
        hits = _fill(hits, rng, bars, bpb, style)
    return sorted(hits)


def _vary(pat: str, rng: np.random.Generator) -> str:
    """Move, add or drop one off-beat hit (never the downbeat)."""
    p = list(pat)
    i = int(rng.integers(1, len(p)))
    if i % 4 == 0:
        i += 1
    p[i] = "." if p[i] != "." else "o"
    return "".join(p)


def _rolls(hits: list, rng: np.random.Generator, bars: int, bpb: int) -> list:
    """Trap hi-hat rolls: some half-beats become 1/16 triplets or 1/32 notes with a velocity ramp."""
    out = list(hits)
    for bar in range(bars):
        for half in range(2 * bpb):
            if rng.random() < 0.18:
                t0 = bar * bpb + half / 2
                out = [h for h in out if not (h[1] == "chh" and t0 <= h[0] < t0 + 0.5)]
                n = 3 if rng.random() < 0.5 else 4
                out += [(t0 + k * 0.5 / n, "chh", 0.45 + 0.5 * k / n) for k in range(n)]
    return out


def _fill(hits: list, rng: np.random.Generator, bars: int, bpb: int, style: str) -> list:
    """Replace the end of the last bar with a fill: snare roll, tom run, hat roll or a drop."""
    span = 1.0 if rng.random() < 0.6 else 2.0
    t0 = bars * bpb - span
    kind = pick(rng, {"snare": 2, "toms": 1.5, "hats": 1, "drop": 1})
    if style == "ambient":
        kind = "hats"
    if kind == "drop":
        return [h for h in hits if not (h[1] == "kick" and h[0] >= t0)] + [(t0, "ohh", 0.7)]
    keep = [h for h in hits if h[0] < t0 or h[1] in ("kick", "chh", "shaker", "ride")]
    n = int(span * 4)
    if kind == "snare":
        inst = "clap" if style in ("house", "trap", "garage") else "snare"
        return keep + [(t0 + k / 4, inst, 0.35 + 0.6 * k / n) for k in range(n)]
    if kind == "toms":
        return keep + [(t0 + k / 4, f"tom{min(2, 3 * k // n)}", 0.6 + 0.3 * (k % 2)) for k in range(n)]
    return [h for h in keep if not (h[1] == "chh" and h[0] >= t0)] + [
        (t0 + k / 8, "chh", 0.3 + 0.6 * k / (2 * n)) for k in range(2 * n)
    ]


# ---------------------------------------------------------------- bass, chords, arps, hooks


def bass_pitch(pc: int, base: int) -> int:
    """MIDI note of a pitch class (relative to the tonic) within a fifth around ``base`` (the tonic)."""
    m = base + pc % 12
    return m - 12 if m > base + 7 else m


def bass_line(
    style: str, slots: list[Slot], base: int, bpb: int, rng: np.random.Generator, kicks: list[float]
) -> list[Note]:
    """Bass notes for the chord slots in the style's manner.

    Args:
        base: MIDI note of the tonic in the bass register. kicks: kick onsets in beats (trap
            and reggaeton basses follow the kick).
    """
    notes: list[Note] = []
    for s in slots:
        r = bass_pitch(s.chord.root, base)
        fifth = r + (s.chord.tones[2] - s.chord.tones[0]) % 12 if len(s.chord.tones) > 2 else r + 7
        end = s.beat + s.dur
        if style == "house":
            pat = rng.choice(["offbeat", "synco"])
            for b in np.arange(s.beat, end, 1.0):
                if pat == "offbeat":
                    notes.append(Note(b + 0.5, 0.4, r + (12 if rng.random() < 0.2 else 0), 0.9))
                else:
                    for off, ln in ((0.5, 0.3), (0.75, 0.25)):
                        notes.append(
                            Note(b + off, ln, r if off == 0.5 else (r + 12 if rng.random() < 0.5 else fifth), 0.8)
                        )
        elif style == "techno":
            for b in np.arange(s.beat, end, 1.0):
                for k in (1, 2, 3):
                    m = r if rng.random() < 0.8 else (r + 12 if k == 2 else fifth)
                    notes.append(Note(b + k / 4, 0.2, m, 0.7 + 0.3 * (k == 2)))
        elif style in ("trap", "reggaeton"):
            ks = [k for k in kicks if s.beat <= k < end] or [s.beat]
            for i, k in enumerate(ks):
                nxt = ks[i + 1] if i + 1 < len(ks) else end
                m = r
                if style == "trap" and i > 0 and rng.random() < 0.35:
                    m = rng.choice([r + 12, fifth, r - 12 if r - 12 >= base - 12 else r + 12])
                notes.append(Note(k, nxt - k, int(m), 0.95, glide=style == "trap" and i > 0 and rng.random() < 0.5))
        elif style == "synthwave":
            for b in np.arange(s.beat, end, 0.5):
                notes.append(Note(b, 0.4, r + (12 if int(b * 2) % 2 else 0), 0.85))
        elif style == "afro_house":
            for b in np.arange(s.beat, end, 4.0 if bpb == 4 else bpb):
                for off, m in ((0, r), (0.75, r + 12), (1.5, fifth), (2.5, r), (3.25, r + 12)):
                    if b + off < end and rng.random() < 0.85:
                        notes.append(Note(b + off, 0.5, int(m), 0.9, glide=rng.random() < 0.2))
        elif style in ("dnb", "dubstep", "ambient"):
            n_hits = 1 if style == "ambient" or s.dur <= 2 else int(rng.choice([1, 2]))
            for k in range(n_hits):
                st = s.beat + k * s.dur / n_hits
                notes.append(
                    Note(
                        st, s.dur / n_hits - 0.1, r if k == 0 else int(rng.choice([r, fifth, r + 12])), 0.9, glide=k > 0
                    )
                )
        else:  # deep_house, lofi, garage: syncopated root/fifth with a passing tone to the next root
            grid = {
                "deep_house": [0, 0.75, 1.5, 2.5, 3.5],
                "garage": [0, 0.75, 1.75, 2.5, 3.25],
                "lofi": [0, 1.5, 2.5, 3.5],
            }[style]
            for b in np.arange(s.beat, end, bpb):
                for j, off in enumerate(grid):
                    if b + off >= end or (j > 0 and rng.random() < 0.25):
                        continue
                    m = r if j == 0 else int(rng.choice([r, fifth, r + 12, r]))
                    notes.append(Note(b + off, 0.6 if style != "lofi" else 0.9, m, 0.85 if j == 0 else 0.7))
    return notes


def harmony(
    slots: list[Slot], key_pc: int, lo: int, rhythm: str, rng: np.random.Generator, bpb: int, spread: bool
) -> list[Note]:
    """Chord notes: ``rhythm`` "sustain" (held), "stab" (short off-beat hits) or "comp" (e-piano)."""
    notes: list[Note] = []
    target = lo + 7 + rng.random() * 4
    stab = rng.choice(
        ["..x...x...x...x.", "x..x..x...x..x..", "...x..x....x..x.", "..x..x..x..x..x.", "x.....x...x.x..."]
    )
    comp = [[0, 2.5], [0, 1.5, 3], [0], [0.5, 2.5], [0, 3.5], [0, 2]][int(rng.integers(6))]
    for s in slots:
        pcs = [(key_pc + t) % 12 for t in s.chord.tones]
        v = voice(pcs, lo, target, rng, spread)
        target = 0.6 * float(np.mean(v)) + 0.4 * (lo + 9)
        if rhythm == "sustain":
            hits = [(s.beat, s.dur)]
        elif rhythm == "stab":
            hits = [
                (b + i / 4, 0.3)
                for b in np.arange(s.beat, s.beat + s.dur, bpb)
                for i, c in enumerate(stab[: 4 * bpb])
                if c == "x" and b + i / 4 < s.beat + s.dur
            ]
        else:
            hits = []
            for b in np.arange(s.beat, s.beat + s.dur, bpb):
                on = [b + c for c in comp if b + c < s.beat + s.dur]
                hits += [(t, (on[i + 1] if i + 1 < len(on) else s.beat + s.dur) - t - 0.1) for i, t in enumerate(on)]
        for t, d in hits:
            vel = 0.75 + 0.2 * rng.random()
            notes += [Note(float(t), float(max(d, 0.15)), int(m), vel) for m in v]
    return notes


def arpeggio(
    slots: list[Slot], key_pc: int, lo: int, rng: np.random.Generator, rate: float, shape: str, octaves: int
) -> list[Note]:
    """Arpeggio of each slot's chord tones.

    Args:
        rate: beats per note (0.25 = 16ths, 1/3 = 8th triplets, 0.5 = 8ths). shape: "up",
            "down", "updown", "broken" or "random". octaves: 1 or 2.
    """
    notes: list[Note] = []
    gate = 0.5 + 0.4 * rng.random()
    prev = -1
    for s in slots:
        pcs = (
            [(key_pc + t) % 12 for t in s.chord.tones[:3]]
            if len(s.chord.tones) > 3 and rng.random() < 0.5
            else [(key_pc + t) % 12 for t in s.chord.tones]
        )
        base = voice(pcs, lo, lo + 6, rng)
        pool = sorted(base + [m + 12 for m in base] if octaves == 2 else base)
        n = int(round(s.dur / rate))
        for k in range(n):
            if shape == "up":
                i = k % len(pool)
            elif shape == "down":
                i = len(pool) - 1 - k % len(pool)
            elif shape == "updown":
                period = max(1, 2 * len(pool) - 2)
                j = k % period
                i = j if j < len(pool) else period - j
            elif shape == "broken":
                i = [0, 2, 1, 3, 2, 4, 3, 5][k % 8] % len(pool)
            else:
                i = int(rng.integers(len(pool)))
                if i == prev:
                    i = (i + 1) % len(pool)
            prev = i
            notes.append(Note(s.beat + k * rate, rate * gate, pool[i], 0.6 + 0.3 * (k % 4 == 0) + 0.1 * rng.random()))
    return notes


def hook(
    slots: list[Slot], key_pc: int, scale: tuple[int, ...], lo: int, rng: np.random.Generator, bpb: int
) -> list[Note]:
    """A one-bar melodic hook repeated over the loop: chord tones on strong steps, scale steps between."""
    density = 0.25 + 0.25 * rng.random()
    rhythm = [0] + [i for i in range(1, 4 * bpb) if rng.random() < (density * (1.6 if i % 2 == 0 else 0.7))]
    contour = rng.integers(-2, 3, len(rhythm))
    scale_abs = sorted(m for m in range(lo, lo + 20) if (m - key_pc) % 12 in scale)
    notes: list[Note] = []
    end = max(s.beat + s.dur for s in slots)
    for bar_start in np.arange(0, end, bpb):
        idx = len(scale_abs) // 2
        for j, step in enumerate(rhythm):
            t = bar_start + step / 4
            s = next(x for x in slots if x.beat <= t < x.beat + x.dur)
            idx = int(np.clip(idx + contour[j], 0, len(scale_abs) - 1))
            m = scale_abs[idx]
            if step % 4 == 0:
                chord_pcs = {(key_pc + c) % 12 for c in s.chord.tones}
                m = min((x for x in scale_abs if x % 12 in chord_pcs), key=lambda x: abs(x - m))
                idx = scale_abs.index(m)
            nxt = rhythm[j + 1] if j + 1 < len(rhythm) else 4 * bpb
            notes.append(Note(t, (nxt - step) / 4 * 0.85, m, 0.7 + 0.25 * (step % 4 == 0)))
    return notes

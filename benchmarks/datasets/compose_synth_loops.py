"""Labelled "electronic producer" loops synthesised entirely in numpy/scipy (no soundfonts).

An independent generator: its harmony grammar, grooves, voicings and sounds were designed
for it alone and share nothing with ``make_loops.py`` / ``loop_styles.py``, so the tempo and
key estimators can be measured (and fitted leave-one-generator-out) on loops they did not
learn from. Twelve styles — house, deep house, techno, trap, lo-fi hip-hop, drum & bass,
dubstep, UK garage, synthwave, ambient, afro house / amapiano, reggaeton — are rendered from
``synth_voices.py`` (polyBLEP subtractive voices with filter envelopes, supersaw pads, FM
e-pianos and bells, Karplus-Strong plucks, 808 / sub / reese / wobble basses with glides, log
drums, synthesised drums) with pedalboard effects (reverb, delay, chorus, phaser, distortion,
ladder-filter sweeps, compression) and sidechain pumping computed on the kick.

Every loop is cut to exactly ``bars × beats_per_bar × 60 / bpm`` seconds; tails are cut or
wrapped into the start. About one loop in eight is drums only (no key), some are bass only or
arpeggio only, and some carry no drums. Output: neutral names ``take_0001.wav`` (a sixth as
``.ogg``), ``labels.csv`` and ``labels.json``; not ``synth_…``, nor a folder named so: the app
reads ``synth`` in a name or folder as an instrument. Deterministic in ``--seed``; loop *i* is the same
whatever ``--limit``.

    python benchmarks/datasets/compose_synth_loops.py --out /tmp/gen/electro_s0 --seed 0 [--limit K]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from pedalboard import Chorus, Compressor, Delay, Distortion, LadderFilter, Pedalboard, Phaser, Reverb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth_grooves as g
import synth_voices as v

SET_NAME = "synth"
PER_STYLE = 15
PEAK = 10 ** (-1 / 20)  # −1 dBFS


@dataclass(frozen=True)
class Style:
    """How one style is drawn: tempo range (BPM), share of major keys, lengths and sounds."""

    bpm: tuple[float, float]
    p_major: float
    chord_beats: tuple[int, ...]  # beats per chord in 4/4
    kinds: dict[str, float]  # chord kinds → weight
    harmony: dict[str, float]  # harmony voice → weight
    basses: tuple[str, ...]
    swing: tuple[float, float] | None = None  # 16th-note swing ratio range
    p_swing: float = 0.0
    half_time: bool = False
    p_arp: float = 0.3
    p_hook: float = 0.2
    p_sidechain: float = 0.4
    p_waltz: float = 0.0
    prog_len: tuple[int, ...] = (2, 4, 4)


STYLES: dict[str, Style] = {
    "house": Style((118, 128), 0.5, (2, 4, 8), {"triad": 2, "seventh": 3, "ninth": 1, "sus2": 0.5, "add9": 0.5}, {"stab": 3, "pad": 1, "ep": 1}, ("sub", "saw"), (0.52, 0.58), 0.3, p_sidechain=0.8),
    "deep_house": Style((115, 124), 0.35, (4, 8, 2), {"seventh": 3, "ninth": 3, "add9": 0.5, "sus2": 0.5}, {"ep": 2, "pad": 2, "stab": 1}, ("sub", "saw"), (0.54, 0.62), 0.5, p_arp=0.2, p_hook=0.1, p_sidechain=0.6),
    "techno": Style((124, 142), 0.25, (4, 8), {"triad": 2, "seventh": 1, "sus2": 0.5}, {"stab": 3, "pad": 1}, ("saw", "reese"), p_arp=0.35, p_hook=0.0, p_sidechain=0.6, prog_len=(1, 2)),
    "trap": Style((130, 160), 0.2, (4, 8, 2), {"triad": 3, "seventh": 1, "add9": 0.3}, {"bell": 2, "pluck": 2, "pad": 1}, ("808",), half_time=True, p_arp=0.4, p_hook=0.6, p_sidechain=0.0),
    "lofi": Style((70, 95), 0.55, (4, 2, 8), {"seventh": 3, "ninth": 2, "add9": 0.5}, {"ep": 4, "pluck": 1}, ("sub",), (0.57, 0.66), 1.0, p_arp=0.15, p_hook=0.3, p_sidechain=0.2, p_waltz=0.2),
    "dnb": Style((160, 178), 0.3, (4, 8), {"triad": 1, "seventh": 2, "ninth": 1, "sus2": 0.5}, {"pad": 3, "stab": 1, "ep": 1}, ("reese", "sub"), p_arp=0.35, p_sidechain=0.3),
    "dubstep": Style((136, 150), 0.15, (4, 8), {"triad": 2, "sus2": 0.5, "seventh": 0.5}, {"pad": 2, "pluck": 1}, ("wobble", "reese"), half_time=True, p_hook=0.3, p_sidechain=0.4),
    "garage": Style((128, 138), 0.45, (4, 2, 8), {"seventh": 3, "ninth": 2, "triad": 1}, {"stab": 3, "ep": 1, "pad": 1}, ("sub",), (0.58, 0.70), 1.0, p_arp=0.2, p_sidechain=0.5),
    "synthwave": Style((80, 118), 0.55, (4, 8), {"triad": 3, "add9": 1, "sus2": 1, "seventh": 0.5}, {"pad": 3, "stab": 1}, ("saw",), p_arp=0.8, p_hook=0.3, p_sidechain=0.5, p_waltz=0.1),
    "ambient": Style((60, 100), 0.6, (4, 8), {"add9": 2, "sus2": 2, "seventh": 2, "ninth": 1, "triad": 1}, {"pad": 4, "ep": 1}, ("sub",), p_arp=0.7, p_hook=0.1, p_sidechain=0.0, p_waltz=0.25),
    "afro_house": Style((106, 124), 0.4, (4, 8, 2), {"seventh": 3, "ninth": 2, "triad": 1}, {"ep": 2, "pad": 1, "stab": 2}, ("log", "sub"), (0.53, 0.60), 0.5, p_arp=0.2, p_sidechain=0.4),
    "reggaeton": Style((86, 100), 0.35, (4, 8, 2), {"triad": 3, "seventh": 1, "add9": 0.5}, {"pluck": 2, "stab": 1, "pad": 1}, ("sub", "808"), p_arp=0.3, p_hook=0.5, p_sidechain=0.2),
}  # fmt: skip

# the part each style plays on its first loop (so a short --limit run sees every part)
FIRST_PARTS = ("full", "full", "drums", "full", "bass", "full", "arp", "full", "music", "full", "drums", "full")
BASS_BASE = {"808": (30, 41), "sub": (33, 44), "saw": (36, 47), "reese": (33, 44), "wobble": (31, 40), "log": (36, 47)}
VOICE_NAMES = {
    "pad": "supersaw pad", "stab": "subtractive chord stabs", "ep": "FM e-piano", "bell": "FM bell", "pluck": "Karplus-Strong pluck",
    "808": "808 bass (glides, distortion)", "sub": "sine sub bass", "saw": "filtered saw bass", "reese": "reese bass",
    "wobble": "wobble bass", "log": "log-drum bass", "arp_saw": "saw", "arp_pulse": "pulse", "lead": "detuned saw lead",
}  # fmt: skip


def plan(seed: int) -> list[dict]:
    """Style, part, tonic and mode of every loop of a seed, styles interleaved.

    Parts: "full" (drums + bass + harmony), "music" (no drums), "drums", "bass", "arp".
    Tonics cycle through shuffled runs of the 12 pitch classes; major keys are drawn per style
    in proportion ``p_major`` (about 40 % overall).
    """
    rng = np.random.default_rng([seed, 1009])
    per_style = []
    for i, (name, st) in enumerate(STYLES.items()):
        if name == "ambient":
            parts = ["full"] * 8 + ["arp"] * 3 + ["music"] * 4
        else:
            parts = ["full"] * 8 + ["drums"] * 2 + ["bass"] + ["arp"] + ["music"] * 3
        rng.shuffle(parts)
        j = parts.index(FIRST_PARTS[i] if not (name == "ambient" and FIRST_PARTS[i] in ("drums", "bass")) else "full")
        parts[0], parts[j] = parts[j], parts[0]
        n_pitched = sum(p != "drums" for p in parts)
        modes = ["major"] * int(round(st.p_major * n_pitched))
        modes += ["minor"] * (n_pitched - len(modes))
        rng.shuffle(modes)
        it = iter(modes)
        per_style.append([{"style": name, "part": p, "mode": None if p == "drums" else next(it)} for p in parts])
    rows = [per_style[s][k] for k in range(PER_STYLE) for s in range(len(STYLES))]
    tonics: list[int] = []
    for r in rows:
        if r["mode"] is None:
            r["key_pc"] = None
            continue
        if not tonics:
            tonics = list(rng.permutation(12))
        r["key_pc"] = int(tonics.pop())
    return rows


class Loop:
    """One loop being composed and rendered: its draws, timing map and tracks."""

    def __init__(self, spec: dict, seed: int, index: int) -> None:
        self.rng = rng = np.random.default_rng([seed, index, 77])
        self.style, self.part = spec["style"], spec["part"]
        self.st = st = STYLES[self.style]
        self.key_pc, self.mode = spec["key_pc"], spec["mode"]
        lo, hi = st.bpm
        bpm = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        self.bpm = round(bpm) if rng.random() < 0.8 else round(bpm, 1)
        self.bpb = 3 if rng.random() < st.p_waltz else 4
        self.bars = int(g.pick(rng, {1: 1, 2: 2, 4: 3, 8: 1.5}))
        while self.bars > 1 and self.bars * self.bpb * 60 / self.bpm > 22:
            self.bars //= 2
        self.spb = 60.0 / self.bpm
        self.beats = self.bars * self.bpb
        self.duration = self.beats * self.spb
        self.n = int(round(self.duration * v.SR))
        self.swing = float(rng.uniform(*st.swing)) if st.swing and rng.random() < st.p_swing else 0.5
        self.human_ms = float(rng.uniform(3, 10))
        self.tail = 2.5 if rng.random() < 0.5 else 0.0  # seconds of tail wrapped into the start; 0 = cut
        self.flavour = self.progression = ""
        self.chord_beats = 0
        self.slots: list[g.Slot] = []
        self.roman: list[str] = []
        if self.mode:
            self._harmony_plan()

    # ------------------------------------------------------------ composition

    def _harmony_plan(self) -> None:
        rng, st = self.rng, self.st
        cb = int(rng.choice(st.chord_beats)) if self.bpb == 4 else int(rng.choice([3, 6]))
        cb = min(cb, self.beats)
        if self.part in ("bass", "arp") and cb == self.beats:
            cb = cb / 2  # a lone bass or arpeggio needs a second chord to show the key
        n_slots = int(self.beats // cb)
        if n_slots == 1:
            length = 1
        elif n_slots == 2:
            length = 2
        else:
            length = int(rng.choice(st.prog_len))
        # a borrowed or dorian chord colours a progression of four; in a shorter one it would
        # hold half the loop and blur the key
        if self.mode == "major":
            self.flavour = "mixture" if length == 4 and rng.random() < 0.3 else "major"
        else:
            self.flavour = g.pick(rng, {"natural": 0.5, "harmonic": 0.35, "dorian": 0.15 if length == 4 else 0.0})
        self.chord_beats = cb
        self.roman = g.progression(rng, self.mode, self.flavour, length)
        base_kind = g.pick(rng, st.kinds)
        chords = [
            g.build_chord(self.mode, r, base_kind if rng.random() < 0.75 else g.pick(rng, st.kinds)) for r in self.roman
        ]
        self.slots = [g.Slot(float(k * cb), float(cb), chords[k % length]) for k in range(n_slots)]
        self.progression = " - ".join(c.roman for c in chords)

    def scale(self) -> tuple[int, ...]:
        """Scale for melodic material: major, natural minor, or harmonic minor."""
        return {"major": g.MAJOR, "mixture": g.MAJOR, "harmonic": g.HARMONIC}.get(self.flavour, g.NATURAL)

    def time(self, beat: float, jitter: float = 1.0) -> int:
        """Sample index of a beat position after swing (16th pairs) and humanised timing."""
        pos = beat * 2.0  # in eighth notes
        k = np.floor(pos)
        u = pos - k
        u = u / 0.5 * self.swing if u < 0.5 else self.swing + (u - 0.5) / 0.5 * (1 - self.swing)
        t = (k + u) / 2.0 * self.spb + jitter * self.rng.uniform(-1, 1) * self.human_ms / 1000
        return max(0, int(round(t * v.SR)))

    # ------------------------------------------------------------ rendering

    def render(self) -> tuple[np.ndarray, list[str]]:
        """Compose and mix the loop; returns audio (2, n) peak −1 dBFS and instrument names."""
        rng, st, part = self.rng, self.st, self.part
        total = self.n + int(3.0 * v.SR)
        mix = np.zeros((2, total))
        names: list[str] = []
        with_drums = part in ("full", "drums")
        hits = g.drum_pattern(
            self.style, rng, self.bars, self.bpb, fill=rng.random() < (0.35 if self.bars > 1 else 0.1)
        )
        kicks = [h[0] for h in hits if h[1] == "kick"]  # also drive the bass and the ducking without drums
        if with_drums:
            drums, used = self._drums(hits, total)
            mix += 0.13 * drums / (_rms(drums) + 1e-9)
            names.append("synth drums (" + ", ".join(used) + ")")
        if part != "drums":
            duck_at = kicks or [float(b) for b in range(self.beats)]
            sc = (
                v.sidechain_gain(
                    total, [self.time(b, 0) for b in duck_at], rng.uniform(0.35, 0.75), rng.uniform(0.5, 0.9) * self.spb
                )
                if rng.random() < st.p_sidechain
                else None
            )
            for role, voice, audio, level in self._music(total, kicks):
                if sc is not None:
                    audio = audio * (0.5 + 0.5 * sc if role == "bass" else sc)
                mix += level * 10 ** (rng.uniform(-2, 2) / 20) * audio / (_rms(audio) + 1e-9)
                names.append(VOICE_NAMES[voice] + ("" if role == "bass" else f" {role}"))
        board = [Compressor(threshold_db=-12, ratio=2.5, attack_ms=5, release_ms=120)]
        if self.style == "lofi":
            board.insert(0, LadderFilter(mode=LadderFilter.Mode.LPF12, cutoff_hz=float(rng.uniform(3500, 8000))))
            mix += 0.004 * rng.standard_normal(mix.shape)
        mix = Pedalboard(board)(mix.astype(np.float32), v.SR).astype(np.float64)
        out = mix[:, : self.n].copy()
        if self.tail:
            for k in range(1, int(np.ceil(total / self.n))):
                seg = mix[:, k * self.n : (k + 1) * self.n]
                out[:, : seg.shape[1]] += seg
        else:
            fade = min(self.n, int(0.003 * v.SR))
            out[:, -fade:] *= np.linspace(1, 0, fade)
        return out * PEAK / (np.abs(out).max() + 1e-12), names

    def _drums(self, hits: list, total: int) -> tuple[np.ndarray, list[str]]:
        """Synthesise the kit for this loop and place the hits: dry bus + reverb bus for snares."""
        rng, style = self.rng, self.style
        long_kick = style in ("trap", "reggaeton", "dubstep")
        if self.key_pc is None:  # drums only: the kit is tuned anywhere
            tune = float(rng.uniform(0, 12))
            degrees = [0.0, 3.0, 7.0]
        else:  # kick, snare and toms tuned to the key, as producers do
            tune = float(self.key_pc)
            degrees = [0.0, 7.0, 3.0 if self.mode == "minor" else 4.0]
        kick_m = 28 + (tune - 28) % 12 + (7.0 if rng.random() < 0.25 else 0.0)
        kick_m -= 12 if kick_m > 39 else 0
        snare_m = 53 + (tune + float(rng.choice([0.0, 7.0])) - 53) % 12
        kit = {
            "kick": [
                v.kick(
                    rng,
                    float(v.midi_hz(kick_m)),
                    rng.uniform(120, 250),
                    rng.uniform(0.02, 0.05),
                    rng.uniform(0.4, 0.7) if long_kick else rng.uniform(0.15, 0.3),
                    rng.uniform(0.2, 0.6),
                )
            ],
            "snare": [
                v.snare(rng, float(v.midi_hz(snare_m)), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.2)) for _ in range(2)
            ],
            "clap": [v.clap(rng, rng.uniform(0.08, 0.18), rng.uniform(1000, 1800)) for _ in range(2)],
            "chh": [
                v.hat(rng, rng.uniform(0.02, 0.05), rng.uniform(6000, 9000), rng.uniform(0, 0.5)) for _ in range(3)
            ],
            "ohh": [v.hat(rng, rng.uniform(0.15, 0.3), rng.uniform(6000, 8500), rng.uniform(0.1, 0.6))],
            "rim": [v.rim(rng, rng.uniform(1500, 2200))],
            "tom": [v.tom(rng, float(v.midi_hz(55 + (tune + d - 55) % 12)), 0.12) for d in degrees],
            "shaker": [v.shaker(rng, rng.uniform(0.03, 0.06), rng.uniform(5000, 8000)) for _ in range(2)],
            "ride": [v.ride(rng, rng.uniform(0.4, 0.7))],
        }
        for k, d in enumerate((12.0, 7.0, 0.0)):
            kit[f"tom{k}"] = [v.tom(rng, float(v.midi_hz(43 + (tune - 43) % 12 + d)), 0.2)]
        level = {
            "kick": 1.0,
            "snare": 0.7,
            "clap": 0.7,
            "chh": 0.3,
            "ohh": 0.3,
            "rim": 0.4,
            "tom": 0.45,
            "shaker": 0.22,
            "ride": 0.2,
            "tom0": 0.5,
            "tom1": 0.5,
            "tom2": 0.5,
        }
        dry, wet = np.zeros(total), np.zeros(total)
        for i, (beat, inst, vel) in enumerate(hits):
            sample = kit[inst][i % len(kit[inst])]
            bus = wet if inst in ("snare", "clap", "rim", "tom0", "tom1", "tom2") else dry
            v.place(
                bus, sample, self.time(beat, 0.5 if inst == "kick" else 1.0), level[inst] * vel * rng.uniform(0.88, 1.0)
            )
        room = {"synthwave": 0.85, "lofi": 0.4, "ambient": 0.8}.get(style, 0.5)
        wet_board = Pedalboard(
            [Reverb(room_size=room, damping=0.5, wet_level=rng.uniform(0.1, 0.35), dry_level=0.8, width=0.8)]
        )
        stereo = v.pan(dry, 0.0) + wet_board(np.stack([wet, wet]).astype(np.float32), v.SR).astype(np.float64)
        chain = [Compressor(threshold_db=-14, ratio=3, attack_ms=8, release_ms=80)]
        if style in ("techno", "lofi") and rng.random() < 0.5:
            chain.insert(0, Distortion(drive_db=float(rng.uniform(4, 12))))
        stereo = Pedalboard(chain)(stereo.astype(np.float32), v.SR).astype(np.float64)
        used = sorted({h[1].rstrip("012") for h in hits}, key=list(level).index)
        return stereo, [{"chh": "closed hat", "ohh": "open hat"}.get(u, u) for u in used]

    def _music(self, total: int, kicks: list[float]) -> list[tuple[str, str, np.ndarray, float]]:
        """Bass, harmony, arpeggio and hook tracks of this loop's part: (role, voice, (2, n) audio, level)."""
        rng, st, part = self.rng, self.st, self.part
        tracks: list[tuple[str, str, np.ndarray, float]] = []
        if part in ("full", "music", "bass"):
            bass = str(rng.choice(st.basses))
            if bass == "none" and part == "bass":
                bass = "sub"
            if bass != "none":
                lo, hi = BASS_BASE[bass]
                base = lo + (self.key_pc - lo) % 12
                base = base if base <= hi else base - 12
                notes = g.bass_line(
                    "afro_house" if bass == "log" else self.style, self.slots, base, self.bpb, rng, kicks
                )
                tracks.append(("bass", bass, self._bass(bass, notes, total), 0.11))
        if part in ("full", "music"):
            voice = g.pick(rng, st.harmony)
            rhythm = {"pad": "sustain", "stab": "stab", "ep": "comp", "bell": "comp", "pluck": "stab"}[voice]
            if voice == "pad" and rng.random() < 0.3:
                rhythm = "comp"
            lo = int(rng.integers(50, 57)) if voice != "bell" else int(rng.integers(58, 65))
            notes = g.harmony(self.slots, self.key_pc, lo, rhythm, rng, self.bpb, spread=rng.random() < 0.3)
            tracks.append(("chords", voice, self._poly(voice, notes, total), 0.085))
        want_arp = part == "arp" or (part in ("full", "music") and rng.random() < st.p_arp)
        if self.style == "ambient" and part in ("full", "music"):
            want_arp = want_arp or part == "music" or rng.random() < 0.5
        if want_arp:
            rate = (
                float(rng.choice([0.25, 0.25, 0.5, 1 / 3]))
                if self.style not in ("ambient", "dnb")
                else float(rng.choice([0.5, 1.0 / 3, 0.5]))
            )
            notes = g.arpeggio(
                self.slots,
                self.key_pc,
                int(rng.integers(57, 67)),
                rng,
                rate,
                str(rng.choice(["up", "down", "updown", "broken", "random"])),
                int(rng.choice([1, 2])),
            )
            voice = str(rng.choice(["pluck", "arp_saw", "arp_pulse", "bell"]))
            tracks.append(("arpeggio", voice, self._poly(voice, notes, total), 0.06 if part != "arp" else 0.1))
        if part in ("full", "music") and rng.random() < st.p_hook:
            notes = g.hook(self.slots, self.key_pc, self.scale(), int(rng.integers(62, 70)), rng, self.bpb)
            voice = str(rng.choice(["lead", "bell", "pluck"]))
            tracks.append(("hook", voice, self._poly(voice, notes, total), 0.055))
        return tracks

    def _bass(self, kind: str, notes: list[g.Note], total: int) -> np.ndarray:
        """Render a bass line of ``kind`` (808, sub, saw, reese, wobble, log) to (2, total)."""
        rng = self.rng
        line = [(self.time(nt.beat, 0.6), int(nt.dur * self.spb * v.SR), nt.midi, nt.vel, nt.glide) for nt in notes]
        line.sort()
        if kind == "808":
            y = v.bass_808(
                line,
                total,
                rng.uniform(0.4, 1.2),
                rng.uniform(1.2, 3.5),
                rng.uniform(0.2, 0.8),
                rng.uniform(0.05, 0.12),
            )
        elif kind == "sub":
            y = v.sub_bass(
                line, total, rng, str(rng.choice(["sine", "sine", "triangle"])), 500.0, rng.uniform(1.0, 2.0)
            )
        elif kind == "reese":
            y = v.reese(line, total, rng, rng.uniform(8, 22), rng.uniform(350, 900), rng.uniform(0.1, 0.5))
        elif kind == "wobble":
            rate = float(rng.choice([1.0, 2.0, 1.5, 0.5])) * self.bpm / 60
            y = v.reese(line, total, rng, rng.uniform(6, 15), rng.uniform(150, 300), 0.0, rate, rng.uniform(2.0, 4.0))
            y = y + 0.8 * v.sub_bass(line, total, rng)
        else:
            y = np.zeros(total)
            for st, ln, m, vel, _ in line:
                dur = ln / v.SR
                if kind == "log":
                    x = v.log_drum(float(v.midi_hz(m)), dur, rng.uniform(0.15, 0.35), rng.uniform(1.5, 3.0))
                else:
                    x = v.subtractive(
                        float(v.midi_hz(m)),
                        dur,
                        rng,
                        "saw",
                        0.5,
                        180.0,
                        rng.uniform(600, 2500),
                        0.08,
                        1.3,
                        (0.002, 0.15, 0.7, 0.05),
                    )
                v.place(y, x, st, vel)
        audio = v.pan(y, 0.0)
        chain = [Compressor(threshold_db=-18, ratio=3, attack_ms=10, release_ms=100)]
        if kind == "saw" and rng.random() < 0.4:
            chain.insert(0, Distortion(drive_db=float(rng.uniform(3, 9))))
        return Pedalboard(chain)(audio.astype(np.float32), v.SR).astype(np.float64)

    def _poly(self, voice: str, notes: list[g.Note], total: int) -> np.ndarray:
        """Render chord / arpeggio / hook notes with ``voice`` and its effects to (2, total)."""
        rng = self.rng
        out = np.zeros((2, total))
        spb = self.spb
        if voice == "pad":
            spread, cutoff, attack = rng.uniform(8, 25), rng.uniform(1500, 5000), rng.uniform(0.05, 0.6)
            groups: dict[tuple[float, float], list[int]] = {}
            for nt in notes:
                groups.setdefault((nt.beat, nt.dur), []).append(nt.midi)
            for (beat, dur), ms in groups.items():
                x = v.supersaw(
                    [float(v.midi_hz(m)) for m in ms],
                    dur * spb,
                    rng,
                    5,
                    spread,
                    cutoff,
                    min(attack, dur * spb / 2),
                    0.6,
                )
                v.place(out, x, self.time(beat, 0.3))
        else:
            p = {
                "wave": str(rng.choice(["saw", "square", "pulse"])), "width": rng.uniform(0.15, 0.4), "cutoff": rng.uniform(300, 1200),
                "env": rng.uniform(800, 3500), "decay": rng.uniform(0.05, 0.3), "q": rng.uniform(0.7, 1.8),
                "ratio": float(rng.choice([2.0, 3.0, 4.0, 2.0, 3.5])), "index": rng.uniform(1.0, 3.0), "bright": rng.uniform(0.15, 0.6), "t60": rng.uniform(0.4, 1.5),
            }  # fmt: skip
            if voice == "arp_saw":
                p["wave"] = "saw"
            for nt in notes:
                f, dur = float(v.midi_hz(nt.midi)), nt.dur * spb
                if voice == "ep":
                    x = v.fm(f, dur, 1.0, p["index"], 0.4, 1.5)
                elif voice == "bell":
                    x = v.fm(f, dur, p["ratio"], p["index"], 0.15, 0.9)
                elif voice == "pluck":
                    x = v.pluck(f, dur, rng, p["bright"], p["t60"])
                elif voice == "lead":
                    x = v.subtractive(
                        f, dur, rng, p["wave"], p["width"], 1200.0, p["env"], 0.3, 1.0, (0.01, 0.3, 0.7, 0.12), 9.0
                    )
                elif voice == "stab":
                    x = v.subtractive(
                        f,
                        dur,
                        rng,
                        p["wave"],
                        p["width"],
                        p["cutoff"],
                        p["env"],
                        p["decay"],
                        p["q"],
                        (0.002, 0.15, 0.5, 0.08),
                        7.0,
                    )
                else:  # arp_saw, arp_pulse
                    x = v.subtractive(
                        f,
                        dur,
                        rng,
                        p["wave"],
                        p["width"],
                        p["cutoff"],
                        p["env"],
                        p["decay"] * 0.6,
                        p["q"],
                        (0.002, 0.12, 0.3, 0.05),
                    )
                v.place(out[0], x, self.time(nt.beat), nt.vel)
            out[1] = out[0]
        board = []
        if voice in ("pad", "ep", "stab") and rng.random() < 0.6:
            board.append(
                Chorus(rate_hz=float(rng.uniform(0.3, 1.2)), depth=float(rng.uniform(0.15, 0.4)), mix=0.35)
                if rng.random() < 0.7
                else Phaser(rate_hz=float(rng.uniform(0.2, 0.8)), depth=0.5, mix=0.3)
            )
        if voice in ("stab", "pluck", "bell", "arp_saw", "arp_pulse", "lead") and rng.random() < 0.7:
            board.append(
                Delay(
                    delay_seconds=float(spb * rng.choice([0.75, 0.5, 1.0])),
                    feedback=float(rng.uniform(0.2, 0.45)),
                    mix=float(rng.uniform(0.12, 0.3)),
                )
            )
        room = 0.85 if self.style in ("ambient", "synthwave") else rng.uniform(0.3, 0.75)
        board.append(
            Reverb(
                room_size=float(room), damping=0.5, wet_level=float(rng.uniform(0.15, 0.4)), dry_level=0.8, width=1.0
            )
        )
        out = Pedalboard(board)(out.astype(np.float32), v.SR).astype(np.float64)
        if voice in ("pad", "stab") and rng.random() < 0.25:
            lo, hi = rng.uniform(300, 900), rng.uniform(4000, 12000)
            out = v.ladder_sweep(out, lo, hi) if rng.random() < 0.7 else v.ladder_sweep(out, hi, lo)
        return out

    def row(self, file: str, channels: int) -> dict:
        """The label row of this loop."""
        pitched = self.part != "drums"
        return {
            "file": file,
            "set": SET_NAME,
            "source": "numpy",
            "style": self.style,
            "kind": "loop",
            "bpm": float(self.bpm),
            "bars": self.bars,
            "beats_per_bar": self.bpb,
            "key": f"{g.NAMES[self.key_pc]} {self.mode}" if pitched else "",
            "key_pc": self.key_pc if pitched else None,
            "mode": self.mode if pitched else None,
            "pitched": pitched,
            "drums": self.part == "full" or self.part == "drums",
            "progression": self.progression if pitched else "",
            "instruments": "",
            "duration_s": self.duration,
            "part": self.part,
            "scale": self.flavour,
            "chord_beats": self.chord_beats if pitched else None,
            "swing": round(self.swing, 3),
            "half_time": self.st.half_time,
            "tail": "wrap" if self.tail else "cut",
            "channels": channels,
        }


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def generate(out: Path, seed: int, limit: int | None = None) -> list[dict]:
    """Render the loops of ``seed`` into ``out`` and write ``labels.csv`` and ``labels.json``.

    Args:
        out: output folder (created).
        seed: the seed; the same seed gives identical labels and audio.
        limit: render only the first ``limit`` loops (they are the same as in a full run).

    Returns:
        the label rows, one dict per file.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan(seed)[:limit] if limit is not None else plan(seed)
    rows = []
    for i, spec in enumerate(specs):
        loop = Loop(spec, seed, i)
        audio, names = loop.render()
        ogg = loop.rng.random() < 1 / 6
        mono = loop.rng.random() < 0.15
        data = audio.mean(axis=0) if mono else audio.T
        file = f"take_{i + 1:04d}.{'ogg' if ogg else 'wav'}"
        if ogg:
            sf.write(out / file, data, v.SR, format="OGG", subtype="VORBIS")
        else:
            sf.write(out / file, data, v.SR, subtype="PCM_16")
        row = loop.row(file, 1 if mono else 2)
        row["instruments"] = ", ".join(names)
        rows.append(row)
    (out / "labels.json").write_text(json.dumps(rows, indent=1))
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["file"])
        w.writeheader()
        w.writerows(rows)
    return rows


def summary(rows: list[dict]) -> str:
    """A short text: loops per style, part and mode, and the tempo range."""
    bpms = [r["bpm"] for r in rows]
    lines = [
        f"{len(rows)} loops, {min(bpms):.1f}–{max(bpms):.1f} BPM, {sum(r['duration_s'] for r in rows) / 60:.1f} min",
        "styles: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(r["style"] for r in rows).items())),
        "parts: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(r["part"] for r in rows).items())),
        "modes: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(str(r["mode"]) for r in rows).items())),
        "bars: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(r["bars"] for r in rows).items())),
        "metre: " + ", ".join(f"{k}/4 {n}" for k, n in sorted(Counter(r["beats_per_bar"] for r in rows).items())),
        "ogg: " + str(sum(r["file"].endswith(".ogg") for r in rows)),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="render only the first K loops")
    args = ap.parse_args(argv)
    rows = generate(args.out, args.seed, args.limit)
    print(summary(rows))


if __name__ == "__main__":
    main()

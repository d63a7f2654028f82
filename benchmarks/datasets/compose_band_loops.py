"""Generate labelled "band / acoustic" loops from MIDI rendered with FluidSynth.

An independent generator, written without reading ``make_loops.py`` / ``loop_styles.py``: its
own chord grammar (``compose_band_harmony.py``), its own grooves and arrangers
(``compose_band_parts.py``) and its own soundfont rotation, so tempo and key estimators can be
measured on (and, leave-one-generator-out, trained with) loops the ``make_loops`` models never saw.

Each loop: a style (pop ballad, rock, funk, bossa, jazz waltz, reggae one-drop, gospel,
country, motown, shuffle blues, salsa montuno, string ostinato, solo piano, bass-only,
melody-only; about one in eight drum-only), a tempo drawn log-uniform in the style's range
(60–200 BPM overall), 1/2/4/8 bars of 4/4 or 3/4, a key balanced over the 24 keys, written as
MIDI with ``mido`` (swing, humanised timing ±5–15 ms and velocity, strums, ghost notes, fills)
and rendered by the ``fluidsynth`` command line with one of the FluidR3 GM, csound GM
(``sf_GMbank``) or FluidR3 Mono soundfonts, in turn, at varied reverb / chorus settings. Some
loops then go through pedalboard (saturation, filters, compression, delay, phaser, chorus) or
numpy effects (filter sweep, sidechain pumping, tape saturation), and detuned doubles are made
with pitch bend in the MIDI. The loop is cut to exactly ``bars · beats_per_bar · 60 / bpm``
seconds (sample-accurate at 44.1 kHz); the tail past the end is either dropped or wrapped into
the start. One file in six is OGG Vorbis, the rest 16-bit WAV.

```sh
python benchmarks/datasets/compose_band_loops.py --out /tmp/gen/band_s0 --seed 0 [--limit K]
```

Writes ``band_0001.wav`` … and ``labels.csv`` / ``labels.json`` (see benchmarks/datasets/README.md
for the label columns). Needs ``fluidsynth`` on PATH, the Debian ``fluid-soundfont-gm`` and
``csound-soundfont`` soundfonts (``fluidr3mono-gm-soundfont`` is used if present), mido,
soundfile, scipy and pedalboard. Deterministic in ``--seed``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import mido
import numpy as np
import pedalboard as pb
import soundfile as sf
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compose_band_harmony import blues_form, key_name, place, progression, text
from compose_band_parts import DRUM_CH, STYLES, Ctx, Part, drums

SR = 44100
SET_NAME = "band"
PREFIX = "band"
N_PER_STYLE = 10  # pitched loops per style
TPB = 960  # MIDI ticks per beat
TAIL_S = 3.0  # seconds rendered past the loop end (release and reverb tails)
SOUNDFONT_CANDIDATES = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/sf_GMbank.sf2"),
    Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3"),
    Path("/usr/share/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3"),
)
KIT_NAMES = {0: "standard kit", 8: "room kit", 16: "power kit", 32: "jazz kit", 40: "brush kit"}
BARS_WEIGHTS = {1: 0.15, 2: 0.3, 4: 0.4, 8: 0.15}
MAX_LOOP_S = 24.0


def soundfonts() -> list[Path]:
    """The soundfonts to rotate through (one file per stem; FluidR3 Mono only if installed)."""
    out: dict[str, Path] = {}
    for p in SOUNDFONT_CANDIDATES:
        if p.exists() and p.stem not in out:
            out[p.stem] = p
    if "FluidR3_GM" not in out or "sf_GMbank" not in out:
        raise SystemExit(
            "needs /usr/share/sounds/sf2/FluidR3_GM.sf2 and sf_GMbank.sf2: apt install fluid-soundfont-gm csound-soundfont"
        )
    return list(out.values())


# ------------------------------------------------------------------------------------ planning


def plan(rng: np.random.Generator) -> list[dict]:
    """The loop list: style, drum-only flag and key for each, in generation order.

    Every eighth loop (index 7, 15, …) is drum-only; the pitched loops go round the styles in a
    shuffled order. Modes are balanced (a style's minor preference is followed unless one mode
    runs more than three ahead) and each mode's tonics come from shuffled rounds of the 12 pitch
    classes, so all 24 keys occur about equally often.
    """
    names = list(STYLES)
    pitched = [n for _ in range(N_PER_STYLE) for n in rng.permutation(names)]
    grooves = [n for n in names if STYLES[n].drum_groove]
    n_drums = len(pitched) // 7
    drum_styles = [g for _ in range(n_drums // len(grooves) + 1) for g in rng.permutation(grooves)][:n_drums]
    queues: dict[str, list[int]] = {"major": [], "minor": []}
    count = Counter()
    specs: list[dict] = []
    while pitched or drum_styles:
        if (len(specs) % 8 == 7 and drum_styles) or not pitched:
            specs.append({"style": drum_styles.pop(), "drum_only": True, "tonic": None, "mode": None})
            continue
        style = STYLES[pitched.pop()]
        mode = "minor" if rng.random() < style.minor else "major"
        other = "major" if mode == "minor" else "minor"
        if style.minor > 0 and count[mode] - count[other] > 3:
            mode = other
        count[mode] += 1
        if not queues[mode]:
            queues[mode] = [int(x) for x in rng.permutation(12)]
        specs.append({"style": style.name, "drum_only": False, "tonic": queues[mode].pop(), "mode": mode})
    return specs


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def choose_bpm(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A tempo drawn log-uniform in ``[lo, hi]`` BPM: whole BPM mostly, sometimes with decimals."""
    bpm = _log_uniform(rng, lo, hi)
    return float(round(bpm)) if rng.random() < 0.85 else round(bpm, 2)


def choose_bars(rng: np.random.Generator, bpm: float, bpb: int) -> int:
    """1, 2, 4 or 8 bars, keeping the loop between 1.2 and 24 s (3/4 loops have at least 2)."""
    options = {b: w for b, w in BARS_WEIGHTS.items() if 1.2 <= b * bpb * 60 / bpm <= MAX_LOOP_S and (bpb == 4 or b > 1)}
    if not options:
        options = {2: 1.0}
    bars = list(options)
    p = np.array([options[b] for b in bars])
    return int(bars[int(rng.choice(len(bars), p=p / p.sum()))])


# ------------------------------------------------------------------------------------ MIDI


def swing_beats(t: float, ratio: float, unit: float) -> float:
    """Move beat time ``t`` onto a swung grid: pairs of ``unit``-beat notes become ratio : 1 − ratio."""
    pair = 2 * unit
    k = math.floor(t / pair + 1e-9)
    x = (t - k * pair) / unit  # 0..2 inside the pair
    y = x * 2 * ratio if x <= 1 else 2 * ratio + (x - 1) * (2 - 2 * ratio)
    return k * pair + y * unit


def write_midi(
    path: Path,
    parts: list[Part],
    bpm: float,
    bpb: int,
    length_beats: float,
    swing: tuple[float, float] | None,
    human_ms: float,
    rng: np.random.Generator,
) -> None:
    """Write ``parts`` to a type-0 MIDI file.

    Args:
        bpm: tempo written into the file (beats per minute); bpb: beats per bar (time signature).
        length_beats: loop length in beats; notes starting at or after it are dropped.
        swing: (ratio, unit in beats) or None.
        human_ms: timing spread in ms (each onset moves by up to ± this, drums by 0.7 of it;
            0 = quantised); velocities get a ±6 spread with it.
    """
    spb = 60.0 / bpm
    loop_end_s = length_beats * spb
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []

    def tick(seconds: float) -> int:
        return max(0, round(seconds / spb * TPB))

    for part in parts:
        ch = part.channel
        events.append((0, 0, mido.Message("program_change", channel=ch, program=part.program)))
        for cc, val in ((7, part.volume), (10, part.pan), (91, part.reverb), (93, part.chorus)):
            events.append(
                (0, 0, mido.Message("control_change", channel=ch, control=cc, value=int(np.clip(val, 0, 127))))
            )
        if part.detune:
            events.append((0, 0, mido.Message("pitchwheel", channel=ch, pitch=int(round(part.detune / 200 * 8191)))))
        for t, down in part.pedal:
            tt = swing_beats(t, *swing) if swing else t
            events.append(
                (
                    tick(min(tt * spb, loop_end_s - 0.01)),
                    1,
                    mido.Message("control_change", channel=ch, control=64, value=127 if down else 0),
                )
            )
        amount = human_ms / 1000 * (0.7 if ch == DRUM_CH else 1.0)
        timed: list[tuple[float, float, int, int]] = []  # (on s, off s, pitch, velocity)
        for n in part.notes:
            if n.t >= length_beats - 1e-6:
                continue
            on = swing_beats(n.t, *swing) if swing else n.t
            off = swing_beats(n.t + n.dur, *swing) if swing else n.t + n.dur
            off = max(off, on + 0.03)
            jitter = float(np.clip(rng.normal(0, amount / 2), -amount, amount)) if amount else 0.0
            on_s = min(max(0.0, on * spb + jitter), loop_end_s - 0.005)
            off_s = max(on_s + 0.02, off * spb + jitter)
            vel = int(np.clip(n.vel + (rng.normal(0, 6) if human_ms else 0), 1, 127))
            timed.append((on_s, off_s, n.pitch, vel))
        timed.sort()
        last_on: dict[int, float] = {}
        for on_s, off_s, pitch, vel in reversed(timed):  # a repeated key releases before it sounds again
            if pitch in last_on:
                off_s = max(on_s + 0.005, min(off_s, last_on[pitch] - 0.002))
            last_on[pitch] = on_s
            events.append((tick(on_s), 2, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
            events.append((tick(off_s), 0, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    # a no-op controller keeps the player running through the tail
    events.append((tick(loop_end_s + TAIL_S), 3, mido.Message("control_change", channel=15, control=110, value=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=bpb, denominator=4, time=0))
    now = 0
    for t, _, msg in events:
        track.append(msg.copy(time=t - now))
        now = t
    mid.save(path)


def detune_double(parts: list[Part], rng: np.random.Generator) -> str:
    """Double one pitched, non-bass part on a free channel, bent ± 6–15 cents against the original."""
    candidates = [p for p in parts if p.channel != DRUM_CH and p.name != "bass" and p.notes]
    used = {p.channel for p in parts}
    free = [c for c in range(16) if c not in used and c not in (DRUM_CH, 15)]
    if not candidates or not free:
        return ""
    src = candidates[int(rng.integers(len(candidates)))]
    cents = float(rng.uniform(6, 15))
    twin = Part(
        src.name + "-double", src.program, free[0], list(src.notes), src.volume, 127 - src.pan, src.reverb, src.chorus
    )
    twin.pedal = list(src.pedal)
    src.detune, twin.detune = -cents / 2, cents / 2
    src.volume = twin.volume = int(src.volume * 0.85)
    parts.append(twin)
    return f"detune {cents:.0f}c"


# ------------------------------------------------------------------------------------ audio


def render(mid: Path, wav: Path, soundfont: Path, settings: dict[str, float]) -> np.ndarray:
    """Render ``mid`` with the fluidsynth CLI; returns float32 audio, shape (n, 2), 44.1 kHz."""
    cmd = ["fluidsynth", "-ni", "-q", "-r", str(SR), "-o", "audio.file.format=float"]
    for k, v in settings.items():
        cmd += ["-o", f"{k}={v}"]
    cmd += ["-F", str(wav), str(soundfont), str(mid)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0 or not wav.exists():
        raise RuntimeError(f"fluidsynth failed on {mid.name} with {soundfont.name}: {res.stderr.strip()[:300]}")
    y, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != SR:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz, not {SR} Hz")
    return y


def synth_settings(rng: np.random.Generator) -> dict[str, float]:
    """FluidSynth reverb and chorus settings for one loop (both on or off at random)."""
    s: dict[str, float] = {"synth.gain": round(float(rng.uniform(0.3, 0.6)), 3)}
    s["synth.reverb.active"] = int(rng.random() < 0.8)
    s["synth.reverb.room-size"] = round(float(rng.uniform(0.15, 0.9)), 3)
    s["synth.reverb.damp"] = round(float(rng.uniform(0.1, 0.8)), 3)
    s["synth.reverb.width"] = round(float(rng.uniform(0.3, 1.0)) * 100, 1)
    s["synth.reverb.level"] = round(float(rng.uniform(0.3, 0.95)), 3)
    s["synth.chorus.active"] = int(rng.random() < 0.4)
    s["synth.chorus.nr"] = int(rng.integers(2, 6))
    s["synth.chorus.level"] = round(float(rng.uniform(0.6, 2.0)), 3)
    s["synth.chorus.speed"] = round(float(rng.uniform(0.2, 1.5)), 3)
    s["synth.chorus.depth"] = round(float(rng.uniform(3, 12)), 3)
    return s


def filter_sweep(y: np.ndarray, f0: float, f1: float, span_s: float, q: float = 0.9) -> np.ndarray:
    """Low-pass sweep from ``f0`` to ``f1`` Hz (exponential) over ``span_s`` seconds, then held.

    A biquad (RBJ cookbook) updated every 256 samples, state carried across blocks.
    """
    out = np.empty_like(y)
    zi = np.zeros((2, y.shape[1]))
    block = 256
    for i in range(0, len(y), block):
        frac = min(1.0, i / SR / span_s)
        fc = f0 * (f1 / f0) ** frac
        w0 = 2 * math.pi * fc / SR
        alpha = math.sin(w0) / (2 * q)
        cw = math.cos(w0)
        b = np.array([(1 - cw) / 2, 1 - cw, (1 - cw) / 2])
        a = np.array([1 + alpha, -2 * cw, 1 - alpha])
        seg, zi = lfilter(b / a[0], a / a[0], y[i : i + block], axis=0, zi=zi)
        out[i : i + block] = seg
    return out


def pump(y: np.ndarray, bpm: float, depth: float) -> np.ndarray:
    """Sidechain-style ducking on every beat: gain dips by ``depth`` (0–1) and recovers over ~60 % of a beat."""
    spb = 60.0 / bpm
    t = np.arange(len(y)) / SR
    phase = (t % spb) / spb
    gain = 1 - depth * np.exp(-phase / 0.18) * (phase < 0.95)
    ramp = np.minimum(1.0, phase / 0.01)  # a 1 % attack avoids clicks
    gain = 1 - (1 - gain) * ramp
    return y * gain[:, None]


def apply_effects(
    y: np.ndarray, rng: np.random.Generator, bpm: float, loop_s: float, style: str
) -> tuple[np.ndarray, list[str]]:
    """Zero to two random effects on the rendered audio; returns the audio and their names."""
    n_fx = int(rng.choice([0, 1, 2], p=[0.45, 0.37, 0.18]))
    pool = [
        "saturation",
        "tape",
        "lowpass",
        "highpass",
        "compressor",
        "delay",
        "phaser",
        "chorus",
        "sweep",
        "pump",
        "room",
    ]
    if style == "bassline":
        pool = [f for f in pool if f not in ("highpass", "phaser")]
    names = [str(x) for x in rng.choice(pool, size=n_fx, replace=False)] if n_fx else []
    spb = 60.0 / bpm
    x = np.ascontiguousarray(y.T, dtype=np.float32)
    used = []
    for name in names:
        if name == "saturation":
            drive = float(rng.uniform(4, 14))
            x = pb.Pedalboard(
                [pb.Gain(-6), pb.Distortion(drive_db=drive), pb.LowpassFilter(float(rng.uniform(5000, 12000)))]
            )(x, SR)
            used.append(f"distortion {drive:.0f}dB")
        elif name == "tape":
            drive = float(rng.uniform(1.5, 4))
            peak = float(np.abs(x).max()) or 1.0
            x = (np.tanh(drive * x / peak) / np.tanh(drive)).astype(np.float32)
            used.append(f"tanh x{drive:.1f}")
        elif name == "lowpass":
            fc = float(rng.uniform(1200, 5000))
            x = pb.LowpassFilter(fc)(x, SR)
            used.append(f"lowpass {fc:.0f}Hz")
        elif name == "highpass":
            fc = float(rng.uniform(120, 400))
            x = pb.HighpassFilter(fc)(x, SR)
            used.append(f"highpass {fc:.0f}Hz")
        elif name == "compressor":
            thr, ratio = float(rng.uniform(-28, -14)), float(rng.uniform(2, 6))
            x = pb.Pedalboard(
                [
                    pb.Compressor(
                        threshold_db=thr,
                        ratio=ratio,
                        attack_ms=float(rng.uniform(3, 20)),
                        release_ms=float(rng.uniform(60, 250)),
                    )
                ]
            )(x, SR)
            used.append(f"compressor {thr:.0f}dB {ratio:.1f}:1")
        elif name == "delay":
            frac = float(rng.choice([0.5, 0.75, 1.0, 2 / 3]))
            x = pb.Delay(
                delay_seconds=frac * spb, feedback=float(rng.uniform(0.15, 0.4)), mix=float(rng.uniform(0.12, 0.3))
            )(x, SR)
            used.append(f"delay {frac:.2f} beat")
        elif name == "phaser":
            x = pb.Phaser(rate_hz=float(rng.uniform(0.2, 1.5)), depth=0.5, mix=0.4)(x, SR)
            used.append("phaser")
        elif name == "chorus":
            x = pb.Chorus(rate_hz=float(rng.uniform(0.3, 1.5)), depth=0.25, mix=0.4)(x, SR)
            used.append("chorus")
        elif name == "room":
            x = pb.Reverb(
                room_size=float(rng.uniform(0.3, 0.85)), wet_level=float(rng.uniform(0.12, 0.3)), dry_level=0.8
            )(x, SR)
            used.append("reverb")
        elif name == "sweep":
            up = rng.random() < 0.6
            f0, f1 = (350.0, 14000.0) if up else (12000.0, 600.0)
            x = np.ascontiguousarray(filter_sweep(x.T.astype(np.float64), f0, f1, loop_s).T, dtype=np.float32)
            used.append("sweep up" if up else "sweep down")
        elif name == "pump":
            depth = float(rng.uniform(0.3, 0.6))
            x = np.ascontiguousarray(pump(x.T, bpm, depth).T, dtype=np.float32)
            used.append(f"pump {depth:.1f}")
    return np.ascontiguousarray(x.T), used


def cut_loop(y: np.ndarray, n: int, wrap: bool) -> np.ndarray:
    """Exactly ``n`` samples: the tail past ``n`` is dropped (short fade) or added into the start."""
    if len(y) < n:
        y = np.concatenate([y, np.zeros((n - len(y), y.shape[1]), y.dtype)])
    out = y[:n].copy()
    if wrap:
        tail = y[n:]
        for i in range(0, len(tail), n):
            seg = tail[i : i + n]
            out[: len(seg)] += seg
    else:
        fade = min(64, n)
        out[-fade:] *= np.linspace(1, 0, fade, dtype=out.dtype)[:, None]
    return out


# ------------------------------------------------------------------------------------ one loop


def make_loop(spec: dict, index: int, soundfont: Path, rng: np.random.Generator, out: Path, work: Path) -> dict:
    """Compose, render, process and write loop ``index`` (1-based); returns its label row."""
    style = STYLES[spec["style"]]
    drum_only = spec["drum_only"]
    bpb = int(rng.choice(style.meters)) if not drum_only else (3 if style.drum_groove == "waltz" else 4)
    bpm = choose_bpm(rng, *style.bpm)
    bars = choose_bars(rng, bpm, bpb)
    tonic, mode = (0, "major") if drum_only else (spec["tonic"], spec["mode"])
    if drum_only:
        chords = []
    elif style.name == "blues":
        chords = place(rng, blues_form(rng, bars), mode, bars * bpb, style.flavours)
    else:
        per_bar = 2.0 if bars == 1 and bpb == 4 else float(rng.choice(style.per_bar))
        chords = progression(rng, mode, bars, bpb, per_bar, style.flavours, style.borrowed)
    ctx = Ctx(rng, tonic, mode, bars, bpb, chords, style.name)
    if drum_only:
        assert style.drum_groove is not None
        kit = int(rng.choice([0, 8, 16, 32, 40]))
        parts = [drums(ctx, style.drum_groove, kit)]
    else:
        parts = style.arrange(ctx)
    fx: list[str] = []
    if not drum_only and rng.random() < 0.15:
        d = detune_double(parts, rng)
        fx += [d] if d else []
    for p in parts:
        if p.channel != DRUM_CH and rng.random() < 0.3:
            p.chorus = int(rng.integers(20, 90))
    swing = None
    if style.swing and rng.random() < style.swing_p:
        swing = (round(float(rng.uniform(*style.swing)), 3), style.unit)
    human_ms = 0.0 if rng.random() < 0.2 else round(float(rng.uniform(5, 15)), 1)
    length_beats = bars * bpb
    loop_s = length_beats * 60.0 / bpm
    n = round(loop_s * SR)

    mid_path = work / f"{index:04d}.mid"
    write_midi(mid_path, parts, bpm, bpb, length_beats, swing, human_ms, rng)
    settings = synth_settings(rng)
    y = render(mid_path, work / f"{index:04d}.wav", soundfont, settings)
    y, more = apply_effects(y, rng, bpm, loop_s, style.name)
    fx += more
    if settings["synth.reverb.active"]:
        fx.insert(0, f"fluid reverb {settings['synth.reverb.room-size']:.2f}")
    if settings["synth.chorus.active"]:
        fx.insert(0, "fluid chorus")
    wrap = bool(rng.random() < 0.5)
    y = cut_loop(y, n, wrap)
    if rng.random() < 0.25:
        y = y.mean(axis=1, keepdims=True)
    peak = float(np.abs(y).max())
    if peak > 0:
        y = y * (10 ** (float(rng.uniform(-6, -1)) / 20) / peak)
    ogg = index % 6 == 4
    name = f"{PREFIX}_{index:04d}." + ("ogg" if ogg else "wav")
    if ogg:
        sf.write(out / name, y, SR, format="OGG", subtype="VORBIS")
    else:
        sf.write(out / name, y, SR, subtype="PCM_16")

    programs = []
    for p in parts:
        programs.append(f"{p.name}:kit{p.program}" if p.channel == DRUM_CH else f"{p.name}:{p.program}")
    return {
        "file": name,
        "set": SET_NAME,
        "source": soundfont.stem,
        "style": style.name,
        "kind": "loop",
        "bpm": float(bpm),
        "bars": int(bars),
        "beats_per_bar": int(bpb),
        "key": "" if drum_only else key_name(tonic, mode),
        "key_pc": None if drum_only else int(tonic),
        "mode": None if drum_only else mode,
        "pitched": not drum_only,
        "drums": any(p.channel == DRUM_CH for p in parts),
        "progression": text(chords),
        "programs": " ".join(programs),
        "duration_s": round(n / SR, 6),
        "swing": swing[0] if swing else 0.0,
        "humanise_ms": human_ms,
        "tail": "wrap" if wrap else "cut",
        "channels": int(y.shape[1]),
        "fx": "; ".join(fx),
    }


def generate(out: Path, seed: int, limit: int | None = None) -> list[dict]:
    """Write the loops of ``seed`` (the first ``limit`` of them) and their labels into ``out``.

    Args:
        out: output folder (created).
        seed: seeds the numpy Generator that draws everything; same seed, same files.
        limit: stop after this many loops (None: all, about 170).

    Returns:
        The label rows, also written to ``out/labels.csv`` and ``out/labels.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    specs = plan(rng)
    if limit is not None:
        specs = specs[:limit]
    fonts = soundfonts()
    rows = []
    with tempfile.TemporaryDirectory(prefix="band_loops_") as tmp:
        for i, spec in enumerate(specs, 1):
            loop_rng = np.random.default_rng([seed, i])
            rows.append(make_loop(spec, i, fonts[(i - 1) % len(fonts)], loop_rng, out, Path(tmp)))
    (out / "labels.json").write_text(json.dumps(rows, indent=1))
    with open(out / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})
    return rows


def summary(rows: list[dict]) -> str:
    """A short text summary: counts per style, source and mode, tempo and length ranges."""
    bpms = [r["bpm"] for r in rows]
    lines = [
        f"{len(rows)} loops, {sum(not r['pitched'] for r in rows)} drum-only, "
        f"{sum(r['file'].endswith('.ogg') for r in rows)} ogg, tempo {min(bpms):.0f}–{max(bpms):.0f} BPM",
        "per style: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["style"] for r in rows).items())),
        "per source: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["source"] for r in rows).items())),
        "per mode: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(str(r["mode"]) for r in rows).items())),
        "per bars: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["bars"] for r in rows).items())),
        "per meter: " + ", ".join(f"{k}/4 {v}" for k, v in sorted(Counter(r["beats_per_bar"] for r in rows).items())),
        "keys: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["key"] for r in rows if r["key"]).items())),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI: ``--out DIR [--seed N] [--limit K]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="only the first K loops")
    args = ap.parse_args(argv)
    rows = generate(args.out, args.seed, args.limit)
    print(summary(rows))


if __name__ == "__main__":
    main()

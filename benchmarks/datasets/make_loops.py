"""Generate labelled loops at known tempo and key: MIDI written with mido, rendered by FluidSynth.

Usage::

    python benchmarks/datasets/make_loops.py --set easy --out /tmp/loops-easy
    python benchmarks/datasets/make_loops.py --set hard --out /tmp/loops-hard [--seed 1] [--limit 20]

Writes ``<set>_NNNN.wav`` (44.1 kHz, 16-bit, stereo; names carry no hint) plus ``labels.csv``
and ``labels.json`` with, per file: style, kind (loop / one-shot), bpm, bars, key, key_pc,
mode, scale (major / natural / harmonic minor), pitched, drums, progression and GM programs.

* ``easy``: 72 loops of exactly 4 bars at 70–170 BPM, drums on most, bass on every beat,
  progressions that start on the tonic.
* ``hard``: 1, 2, 4 and 8 bars at 60–190 BPM; four-on-the-floor, half-time (kick on 1, snare
  on 3, labelled at the full tempo as packs do), breakbeat, two-step drum and bass at 160–178,
  swung grooves; loops without drums (sixteenth arpeggios, syncopated bass, bare pads changing
  chord once a bar); natural and harmonic minor; progressions that do not start on the tonic;
  seventh chords; many GM programs; drum-only loops and one-shots (no key).

Deterministic: every item draws from its own ``random.Random("<set>:<seed>:<index>")``; the
synthesiser runs without reverb and chorus and writes float samples. Each loop is rendered
twice in a row and the second pass is cut out at whole bars, so tails of the notes at its end
sound at its start, as in a loop bounced from a session. Requires the ``fluidsynth`` binary and
``/usr/share/sounds/sf2/FluidR3_GM.sf2`` (Debian: fluidsynth, fluid-soundfont-gm) and mido.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loop_styles as ls

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 44100
TPB = 960
GAP_S = 1.5
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

#: Hard set: (style, count, tempo range in BPM).
HARD_PLAN = (
    ("four_on_floor", 12, (110, 150)),
    ("halftime", 12, (125, 185)),
    ("breakbeat", 12, (85, 150)),
    ("dnb", 12, (160, 178)),
    ("swing", 12, (70, 110)),
    ("arp", 12, (90, 150)),
    ("bass", 12, (95, 130)),
    ("pad", 12, (60, 190)),
    ("drums", 16, (70, 178)),
    ("oneshot", 16, (120, 120)),
)
DRUM_STYLES = ("four_on_floor", "halftime", "breakbeat", "dnb", "swing")
DRUM_TEMPO = {
    "four_on_floor": (110, 150),
    "halftime": (125, 185),
    "breakbeat": (85, 150),
    "dnb": (160, 178),
    "swing": (70, 110),
}


@dataclass
class Item:
    """One file to generate: a loop spec (or a one-shot) and its label row."""

    name: str
    spec: ls.LoopSpec
    kind: str  # "loop" | "one-shot"
    oneshot_s: float = 0.0
    peak_dbfs: float = -1.0


def _key_and_scale(rng: random.Random) -> tuple[int, str]:
    tonic = rng.randrange(12)
    scale = rng.choices(("major", "natural", "harmonic"), weights=(0.45, 0.3, 0.25))[0]
    return tonic, scale


def hard_items(seed: int) -> list[Item]:
    """The hard set's items, deterministic in ``seed``."""
    items: list[Item] = []
    index = 0
    for style, count, (lo, hi) in HARD_PLAN:
        for k in range(count):
            rng = random.Random(f"hard:{seed}:{index}")
            index += 1
            name = f"hard_{index:04d}.wav"
            if style == "oneshot":
                items.append(_oneshot_item(name, rng, k))
                continue
            drum_style = DRUM_STYLES[k % len(DRUM_STYLES)] if style == "drums" else style
            if style == "drums":
                lo, hi = DRUM_TEMPO[drum_style]
            bpm = float(rng.randint(lo, hi))
            bars = rng.choices((1, 2, 4, 8), weights=(0.15, 0.3, 0.4, 0.15))[0]
            spec = ls.LoopSpec(style=style if style != "drums" else f"drums_{drum_style}", bpm=bpm, bars=bars)
            swing = rng.uniform(0.25, 0.4) if drum_style == "swing" else 0.0
            if style in DRUM_STYLES or style == "drums":
                spec.notes += ls.drum_pattern(drum_style, bars, rng, swing=swing)
            if style != "drums":
                spec.tonic, spec.scale = _key_and_scale(rng)
                spec.progression = rng.choice(ls.PROGRESSIONS[spec.scale])
                spec.sevenths = rng.random() < 0.35 or style == "swing"
                _pitched_parts(spec, rng, style)
            items.append(Item(name, spec, "loop", peak_dbfs=rng.uniform(-6.0, -0.5)))
    return items


def _pitched_parts(spec: ls.LoopSpec, rng: random.Random, style: str) -> None:
    if style == "arp":
        spec.programs[2] = rng.choice(ls.ARP_PROGRAMS)
        spec.notes += ls.arp_part(spec, rng)
        return
    if style == "bass":
        spec.programs[1] = rng.choice(ls.BASS_PROGRAMS)
        spec.notes += ls.bass_part(spec, rng, "syncopated")
        return
    if style == "pad":
        spec.programs[0] = rng.choice(ls.PAD_PROGRAMS)
        spec.notes += ls.pad_part(spec, rng, per_bar=1)
        return
    spec.programs[1] = rng.choice(ls.BASS_PROGRAMS)
    rhythm = {
        "four_on_floor": "offbeat",
        "halftime": "long",
        "dnb": "long",
        "breakbeat": "syncopated",
        "swing": "quarters",
    }[style]
    spec.notes += ls.bass_part(spec, rng, rhythm)
    if style == "swing":
        spec.programs[0] = rng.choice(ls.KEYS_PROGRAMS)
        spec.notes += ls.pad_part(spec, rng)
    elif rng.random() < 0.5:
        spec.programs[0] = rng.choice(ls.PAD_PROGRAMS + ls.KEYS_PROGRAMS)
        spec.notes += ls.pad_part(spec, rng, stab=style == "four_on_floor" and rng.random() < 0.5)
    else:
        spec.programs[2] = rng.choice(ls.ARP_PROGRAMS)
        spec.notes += ls.arp_part(spec, rng)


def _oneshot_item(name: str, rng: random.Random, k: int) -> Item:
    spec = ls.LoopSpec(style="oneshot_drum" if k < 12 else "oneshot_fx", bpm=120.0, bars=1)
    if k < 12:
        pitch = rng.choice(
            (
                ls.KICK,
                ls.KICK2,
                ls.SNARE,
                ls.SNARE2,
                ls.CLAP,
                ls.HAT_CLOSED,
                ls.HAT_OPEN,
                ls.CRASH,
                ls.RIDE,
                ls.RIM,
                *ls.TOMS[:2],
            )
        )
        spec.notes.append(ls.Note(9, pitch, 0.0, 2.0, rng.randint(90, 127)))
        length = rng.uniform(0.3, 1.2)
    else:
        spec.programs[0] = rng.choice(ls.FX_PROGRAMS)
        spec.notes.append(ls.Note(0, rng.randint(48, 72), 0.0, 6.0, 110))
        length = rng.uniform(1.0, 2.5)
    return Item(name, spec, "one-shot", oneshot_s=length, peak_dbfs=rng.uniform(-6.0, -0.5))


def easy_items(seed: int) -> list[Item]:
    """72 loops of exactly 4 bars, drums on 60, bass on every beat, tonic-first progressions."""
    items = []
    for index in range(72):
        rng = random.Random(f"easy:{seed}:{index}")
        spec = ls.LoopSpec(
            style="easy_drums" if index < 60 else "easy_nodrums", bpm=float(rng.randint(70, 170)), bars=4
        )
        spec.tonic, spec.scale = _key_and_scale(rng)
        spec.progression = rng.choice(ls.EASY_PROGRESSIONS[spec.scale])
        if index < 60:
            spec.notes += ls.drum_pattern(rng.choice(("four_on_floor", "backbeat")), 4, rng)
        spec.programs = {0: rng.choice(ls.PAD_PROGRAMS + ls.KEYS_PROGRAMS), 1: rng.choice(ls.BASS_PROGRAMS)}
        spec.notes += ls.pad_part(spec, rng) + ls.bass_part(spec, rng, "quarters")
        items.append(Item(f"easy_{index + 1:04d}.wav", spec, "loop", peak_dbfs=rng.uniform(-6.0, -0.5)))
    return items


# ---------------------------------------------------------------- rendering


def _loop_steps(item: Item) -> int:
    return 16 * item.spec.bars


def build_midi(items: list[Item]) -> tuple[mido.MidiFile, list[tuple[float, float]]]:
    """One MIDI file holding every item in turn; returns it and each item's (start s, length s)
    in the rendered audio."""
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []  # (tick, order, msg)
    tick = 0
    seconds = 0.0
    cuts = []
    for item in items:
        spec = item.spec
        tempo = mido.bpm2tempo(spec.bpm)
        sec_per_tick = tempo / 1e6 / TPB
        step = TPB // 4
        events.append((tick, 0, mido.MetaMessage("set_tempo", tempo=tempo)))
        for ch in range(16):
            events.append((tick, 1, mido.Message("control_change", channel=ch, control=120, value=0)))
        for ch, program in spec.programs.items():
            events.append((tick, 2, mido.Message("program_change", channel=ch, program=program)))
        passes = 1 if item.kind == "one-shot" else 2
        lead = TPB if item.kind == "loop" else 0  # one beat of silence before the first pass
        loop_ticks = _loop_steps(item) * step
        for p in range(passes):
            base = tick + lead + p * loop_ticks
            for n in spec.notes:
                on = base + int(round(n.start * step))
                off = base + int(round((n.start + n.length) * step))
                events.append((on, 4, mido.Message("note_on", channel=n.channel, note=n.pitch, velocity=n.velocity)))
                events.append(
                    (max(off, on + 1), 3, mido.Message("note_off", channel=n.channel, note=n.pitch, velocity=0))
                )
        if item.kind == "loop":
            cut_start = seconds + (lead + loop_ticks) * sec_per_tick
            cut_len = spec.bars * 4 * 60.0 / spec.bpm
            body = lead + passes * loop_ticks
        else:
            cut_start = seconds
            cut_len = item.oneshot_s
            body = int(np.ceil(max(item.oneshot_s, 2.0) / sec_per_tick))
        gap = int(round(GAP_S / sec_per_tick))
        cuts.append((cut_start, cut_len))
        tick += body + gap
        seconds += (body + gap) * sec_per_tick
    events.append((tick, 0, mido.MetaMessage("end_of_track")))
    return midi_from_events(events, TPB), cuts


def midi_from_events(
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]], ticks_per_beat: int
) -> mido.MidiFile:
    """A type-0 MIDI file of ``(absolute tick, order, message)`` events, sorted by tick and then
    by order (so that a note-off sorts before a note-on at the same tick)."""
    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat, type=0)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    last = 0
    for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=t - last))
        last = t
    return mid


def render(items: list[Item], workdir: Path, tag: str, soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Render items with FluidSynth; returns (n, 2) float32 audio at 44.1 kHz."""
    mid, _ = build_midi(items)
    mid_path = workdir / f"{tag}.mid"
    wav_path = workdir / f"{tag}.wav"
    mid.save(mid_path)
    cmd = [
        "fluidsynth",
        "-ni",
        "-q",
        "-R",
        "0",
        "-C",
        "0",
        "-g",
        "0.5",
        "-r",
        str(SR),
        "-O",
        "float",
        "-T",
        "wav",
        "-F",
        str(wav_path),
        str(soundfont),
        str(mid_path),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=1800)
    audio, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    assert sr == SR
    return audio


def _label(item: Item, duration_s: float, set_name: str) -> dict:
    spec = item.spec
    pitched = spec.scale is not None
    return {
        "file": item.name,
        "set": set_name,
        "style": spec.style,
        "kind": item.kind,
        "bpm": spec.bpm if item.kind == "loop" else None,
        "bars": spec.bars if item.kind == "loop" else None,
        "key": f"{NAMES[spec.tonic]} {spec.mode}" if pitched else None,
        "key_pc": spec.tonic if pitched else None,
        "mode": spec.mode,
        "scale": spec.scale,
        "pitched": pitched,
        "drums": any(n.channel == 9 for n in spec.notes),
        "progression": "-".join(str(d + 1) for d in spec.progression) if pitched else None,
        "sevenths": spec.sevenths if pitched else None,
        "programs": ";".join(f"{ch}:{p}" for ch, p in sorted(spec.programs.items())),
        "duration_s": round(duration_s, 6),
    }


def generate(
    set_name: str,
    out: Path,
    seed: int = 0,
    limit: int | None = None,
    styles: set[str] | None = None,
    jobs: int = 2,
    soundfont: Path = SOUNDFONT,
) -> list[dict]:
    """Generate a labelled set.

    Args:
        set_name: ``"easy"`` or ``"hard"``.
        out: output folder (created).
        seed: draw of the set; 0 is the reference draw used for the reported figures.
        limit: keep only every k-th item so that about ``limit`` remain (spread over styles).
        styles: keep only items whose style starts with one of these.
        jobs: FluidSynth processes run at once.
        soundfont: the GM soundfont to render with (FluidR3 GM by default; e.g. the csound
            GM bank ``/usr/share/sounds/sf2/sf_GMbank.sf2`` for another source family).

    Returns:
        The label rows, also written to ``labels.csv`` and ``labels.json``.
    """
    if shutil.which("fluidsynth") is None or not soundfont.exists():
        raise RuntimeError(
            "needs the fluidsynth binary and fluid-soundfont-gm (apt install fluidsynth fluid-soundfont-gm)"
        )
    items = hard_items(seed) if set_name == "hard" else easy_items(seed)
    if styles:
        items = [it for it in items if any(it.spec.style.startswith(s) for s in styles)]
    if limit is not None and limit < len(items):
        stride = len(items) / limit
        items = [items[int(i * stride)] for i in range(limit)]
    out.mkdir(parents=True, exist_ok=True)
    batches = [items[i::jobs] for i in range(max(1, min(jobs, len(items))))]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(len(batches)) as pool:
        audios = list(pool.map(lambda b: render(b[1], Path(tmp), f"batch{b[0]}", soundfont), enumerate(batches)))
    rows = []
    for batch, audio in zip(batches, audios):
        _, cuts = build_midi(batch)
        for item, (start, length) in zip(batch, cuts):
            a, n = int(round(start * SR)), int(round(length * SR))
            clip = audio[a : a + n].copy()
            if clip.shape[0] < n:
                clip = np.pad(clip, ((0, n - clip.shape[0]), (0, 0)))
            if item.kind == "one-shot":
                fade = min(n, int(0.01 * SR))
                clip[n - fade :] *= np.linspace(1.0, 0.0, fade)[:, None]
            peak = float(np.max(np.abs(clip))) or 1.0
            clip *= 10 ** (item.peak_dbfs / 20) / peak
            sf.write(out / item.name, clip, SR, subtype="PCM_16")
            rows.append(_label(item, n / SR, set_name))
    rows.sort(key=lambda r: r["file"])
    with (out / "labels.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "labels.json").write_text(json.dumps(rows, indent=1))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=("easy", "hard"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--soundfont", type=Path, default=SOUNDFONT)
    args = parser.parse_args(argv)
    rows = generate(args.set, args.out, seed=args.seed, limit=args.limit, jobs=args.jobs, soundfont=args.soundfont)
    print(f"wrote {len(rows)} files and labels to {args.out}")


if __name__ == "__main__":
    main()

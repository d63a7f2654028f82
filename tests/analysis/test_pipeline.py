"""analyse()/analyse_file(): precedence of tags, names and estimates on real files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.id3 import TBPM, TKEY
from mutagen.wave import WAVE

from companion.analysis.audio import decode
from companion.analysis.pipeline import analyse, analyse_file
from companion.errors import AudioDecodeError
from companion.preview.render import load_audio

SR = 44100


def _chord_loop(bpm: float = 120.0, bars: int = 2, root_hz: float = 220.0) -> np.ndarray:
    """A minor-triad pad plus a click on every beat, cut to whole bars."""
    n = int(round(bars * 4 * 60.0 / bpm * SR))
    t = np.arange(n) / SR
    pad = sum(np.sin(2 * np.pi * root_hz * r * t) for r in (1.0, 2 ** (3 / 12), 2 ** (7 / 12)))
    y = 0.15 * pad
    beat = int(round(60.0 / bpm * SR))
    click = np.exp(-np.arange(800) / 80.0) * np.random.default_rng(0).standard_normal(800)
    for start in range(0, n - 800, beat):
        y[start : start + 800] += 0.5 * click
    return (y / np.max(np.abs(y)) * 0.8).astype(np.float32)


def test_name_hints_win_over_estimates(tmp_path: Path) -> None:
    path = tmp_path / "Pad_Loop_Cm_100bpm.wav"
    sf.write(path, _chord_loop(bpm=120.0), SR)  # the name disagrees with the audio on purpose
    analysis, audio = analyse_file(path)
    assert analysis.kind == "loop" and analysis.kind_source == "name"
    assert (analysis.bpm, analysis.bpm_source) == (100.0, "name")
    assert (analysis.key_pc, analysis.mode, analysis.key_source) == (0, "minor", "name")
    assert analysis.pitched
    assert analysis.duration_s == pytest.approx(4.0, abs=1e-3)
    assert audio.sr == 22050 and "pad" in analysis.tags


def test_embedded_tags_win_over_names(tmp_path: Path) -> None:
    path = tmp_path / "Pad_Loop_Cm_100bpm.wav"
    sf.write(path, _chord_loop(), SR)
    wav = WAVE(path)
    wav.add_tags()
    wav.tags.add(TBPM(encoding=3, text=["120"]))
    wav.tags.add(TKEY(encoding=3, text=["Am"]))
    wav.save()
    analysis, _ = analyse_file(path)
    assert (analysis.bpm, analysis.bpm_source) == (120.0, "tag")
    assert (analysis.key_pc, analysis.mode, analysis.key_source) == (9, "minor", "tag")


def test_acid_root_note_gives_tonic_with_estimated_mode(tmp_path: Path) -> None:
    path = tmp_path / "untitled.wav"
    sf.write(path, _chord_loop(root_hz=220.0), SR)
    data = bytearray(path.read_bytes())
    body = struct.pack("<IHHfIHHf", 0x02, 57, 0x8000, 0.0, 8, 4, 4, 120.0)
    data += b"acid" + struct.pack("<I", len(body)) + body
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))
    analysis, _ = analyse_file(path)
    assert analysis.kind_source == "tag" and analysis.bpm == 120.0
    assert (analysis.key_pc, analysis.mode) == (9, "minor")


def test_estimates_without_hints(tmp_path: Path) -> None:
    path = tmp_path / "untitled_7.wav"
    sf.write(path, _chord_loop(bpm=120.0, bars=2, root_hz=220.0), SR)
    analysis, _ = analyse_file(path)
    assert analysis.kind == "loop" and analysis.kind_source == "estimate"
    assert analysis.bpm_source == "estimate" and analysis.bpm == pytest.approx(120.0, rel=0.04)
    assert (analysis.key_pc, analysis.mode, analysis.key_source) == (9, "minor", "estimate")
    assert 0.0 <= analysis.key_confidence <= 1.0 and 0.0 <= analysis.bpm_confidence <= 1.0


def test_a_held_chord_cut_at_a_bar_line_is_a_one_shot_without_tempo(tmp_path: Path) -> None:
    # One bar of 4/4 at 120 BPM, held at full level to the cut: no pulse, no chord change.
    t = np.arange(2 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    path = tmp_path / "take_07.wav"
    sf.write(path, (0.25 * chord).astype(np.float32), SR, subtype="PCM_16")
    analysis, _ = analyse_file(path)
    assert (analysis.kind, analysis.kind_source, analysis.bpm) == ("one-shot", "estimate", None)
    assert analysis.pitched and analysis.key_pc == 9


def test_a_dc_offset_changes_nothing_the_analysis_says(sonic_pi: Path, tmp_path: Path) -> None:
    # A blip with a DC offset used to read as pitched, with a key, and a kick lost its class.
    for name in ("elec_blip.flac", "bd_fat.flac"):
        y, sr = sf.read(sonic_pi / name, dtype="float32")
        fields = []
        for dc in (0.0, 0.2):
            path = tmp_path / f"hit_{dc}.wav"
            sf.write(path, y * (1 - dc) + dc, sr, subtype="FLOAT")
            a, _ = analyse_file(path)
            fields.append((a.kind, a.bpm, a.pitched, a.key_pc, a.instrument))
        assert fields[0] == fields[1], name


def test_a_quieter_copy_gets_the_same_analysis(lmms: Path, tmp_path: Path) -> None:
    # 20 dB down, these kicks used to lose their class: the analysis scales every file to one peak.
    for name in ("kick04.ogg", "kick_hiphop01.ogg"):
        y, sr = load_audio(lmms / "drums" / name)  # Ogg Vorbis inside RIFF: our decoder reads it
        fields = []
        for gain in (1.0, 0.1, 0.01):
            path = tmp_path / f"take_{gain}.wav"
            sf.write(path, y * gain, sr, subtype="FLOAT")
            a, _ = analyse_file(path)
            fields.append((a.kind, a.bpm, a.pitched, a.key_pc, a.instrument))
        assert fields[0] == fields[1] == fields[2] and fields[0][-1] == "kick", name


def test_bare_number_accepted_only_when_the_length_agrees(tmp_path: Path) -> None:
    good = tmp_path / "Loop_90.wav"
    sf.write(good, _chord_loop(bpm=90.0, bars=1), SR)
    a, _ = analyse_file(good)
    assert (a.bpm, a.bpm_source) == (90.0, "name")
    bad = tmp_path / "Loop_101.wav"
    sf.write(bad, _chord_loop(bpm=90.0, bars=1), SR)
    b, _ = analyse_file(bad)
    assert b.bpm_source == "estimate"


def test_debian_samples(sonic_pi: Path, lmms: Path) -> None:
    amen, _ = analyse_file(sonic_pi / "loop_amen.flac")
    assert amen.kind == "loop" and amen.bpm is not None and amen.key_pc is None
    kick, _ = analyse_file(sonic_pi / "bd_haus.flac")
    assert kick.kind == "one-shot" and kick.bpm is None and not kick.pitched
    snare, _ = analyse_file(lmms / "drums" / "snare01.ogg")
    assert snare.kind == "one-shot" and snare.key_pc is None and snare.tags[:2] == ["drums", "snare"]
    loop, _ = analyse_file(lmms / "bassloops" / "tb303_01.ogg")
    assert loop.kind == "loop" and loop.kind_source == "name" and loop.bpm is not None
    assert loop.to_dict()["sample_rate"] == 44100


def test_effects_of_irregular_events_are_one_shots_without_tempo(sonic_pi: Path, lmms: Path) -> None:
    # A tape rewind, a warp sweep and phone beeps: onsets that stand out but never repeat. The
    # kind model called them loops, with an invented tempo, until effect textures were part
    # of its material (``make_oneshots.py`` synth: crackle, grains, whooshes, rewinds, debris,
    # bleeps). These packs were never fitted on.
    for path in (sonic_pi / "vinyl_rewind.flac", sonic_pi / "mehackit_phone4.flac", lmms / "effects" / "warp02.ogg"):
        a, _ = analyse_file(path)
        assert (a.kind, a.bpm) == ("one-shot", None), path.name


def test_a_four_four_genre_name_keeps_a_loop_out_of_three_four(lmms: Path, tmp_path: Path) -> None:
    # LMMS techno_bass01 (1.63 s): its onsets repeat more after a third of the bar than after
    # a quarter, so the audio alone reads it as a bar of 3/4 at 110.6 BPM; techno is in 4/4,
    # and the name keeps the 4/4 reading (147.4 BPM)
    techno, _ = analyse_file(lmms / "bassloops" / "techno_bass01.ogg")
    assert techno.bpm == pytest.approx(147.4, abs=0.1)
    unnamed = tmp_path / "bass01.ogg"
    unnamed.write_bytes((lmms / "bassloops" / "techno_bass01.ogg").read_bytes())
    plain, _ = analyse_file(unnamed)
    assert plain.bpm == pytest.approx(110.6, abs=0.1)


def test_analyse_reuses_decoded_audio(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    sf.write(path, _chord_loop(), SR)
    audio = decode(path)
    assert analyse(path, audio).duration_s == pytest.approx(audio.duration_s, abs=1e-4)


def test_broken_file_raises_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.flac"
    path.write_bytes(b"fLaC" + b"\x00" * 50)
    with pytest.raises(AudioDecodeError, match="broken.flac"):
        analyse_file(path)

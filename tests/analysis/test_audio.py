"""decode(): formats, levels, loudness and clear errors on broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.analysis.audio import ANALYSIS_PEAK_DBFS, MAX_ANALYSIS_S, SILENCE_DBFS, decode
from companion.errors import AudioDecodeError

SR = 44100


def _sine(freq: float = 997.0, amp: float = 0.1, seconds: float = 2.0, sr: int = SR, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype"),
    [
        (".wav", "WAV", "PCM_16"),
        (".aiff", "AIFF", "PCM_24"),
        (".flac", "FLAC", "PCM_16"),
        (".ogg", "OGG", "VORBIS"),
        (".mp3", "MP3", "MPEG_LAYER_III"),
    ],
)
def test_decodes_every_supported_format(tmp_path: Path, suffix: str, fmt: str, subtype: str) -> None:
    path = tmp_path / f"tone{suffix}"
    sf.write(path, _sine(amp=0.5, channels=2), SR, format=fmt, subtype=subtype)
    audio = decode(path)
    assert audio.sr == 22050 and audio.native_sr == SR and audio.channels == 2
    assert audio.y.dtype == np.float32 and audio.y.ndim == 1
    # lossy codecs may pad a few ms of priming/padding frames
    assert audio.duration_s == pytest.approx(2.0, abs=0.06)
    assert audio.y.size == pytest.approx(audio.duration_s * 22050, abs=300)
    # lossy codecs overshoot at the start of a tone by a dB or two
    lossy = subtype in ("VORBIS", "MPEG_LAYER_III")
    assert audio.peak_dbfs == pytest.approx(20 * np.log10(0.5), abs=2.0 if lossy else 0.01)


def test_loudness_matches_bs1770_reference(tmp_path: Path) -> None:
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads −3.01 LUFS, so −20 dBFS reads −23.01.
    path = tmp_path / "ref.wav"
    sf.write(path, _sine(amp=0.1, seconds=5.0), SR, subtype="FLOAT")
    audio = decode(path)
    assert audio.loudness_lufs == pytest.approx(-23.01, abs=0.1)
    assert audio.peak_dbfs == pytest.approx(-20.0, abs=0.01)


def test_short_and_silent_files_have_no_loudness(tmp_path: Path) -> None:
    short = tmp_path / "click.wav"
    sf.write(short, _sine(seconds=0.2), SR)
    assert decode(short).loudness_lufs is None
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(SR, dtype=np.float32), SR)
    audio = decode(silent)
    assert audio.loudness_lufs is None
    assert audio.peak_dbfs == SILENCE_DBFS


def test_resamples_to_the_analysis_rate(tmp_path: Path) -> None:
    path = tmp_path / "hi.wav"
    sf.write(path, _sine(freq=440.0, seconds=1.0, sr=96000), 96000)
    audio = decode(path)
    assert audio.native_sr == 96000 and audio.sr == 22050
    spectrum = np.abs(np.fft.rfft(audio.y))
    assert np.argmax(spectrum) * 22050 / audio.y.size == pytest.approx(440.0, abs=2.0)


ANALYSIS_PEAK = 10 ** (ANALYSIS_PEAK_DBFS / 20)


def test_dc_offset_is_removed_from_the_analysis_signal(tmp_path: Path) -> None:
    path = tmp_path / "offset.wav"
    sf.write(path, _sine(freq=440.0, amp=0.4) + np.float32(0.3), SR, subtype="FLOAT")
    audio = decode(path)
    assert abs(float(audio.y.mean())) < 1e-4
    assert float(np.max(np.abs(audio.y))) == pytest.approx(ANALYSIS_PEAK, rel=1e-3)
    assert audio.peak_dbfs == pytest.approx(20 * np.log10(0.7), abs=0.05)  # the file's own peak


@pytest.mark.parametrize("amp", [2.0, 0.5, 0.001])
def test_the_analysis_signal_is_the_same_at_any_gain(tmp_path: Path, amp: float) -> None:
    # Twice full scale (a float file) is scaled, not clipped; 60 dB down is raised.
    path = tmp_path / "sine.wav"
    sf.write(path, _sine(freq=440.0, amp=amp), SR, subtype="FLOAT")
    audio = decode(path)
    assert audio.peak_dbfs == pytest.approx(20 * np.log10(amp), abs=0.05)
    reference = _sine(freq=440.0, amp=ANALYSIS_PEAK, sr=22050)
    np.testing.assert_allclose(audio.y[100:-100], reference[100:-100], atol=2e-3)


def test_silence_is_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "dither.wav"
    sf.write(path, _sine(amp=1e-6), SR, subtype="FLOAT")
    assert float(np.max(np.abs(decode(path).y))) < 2e-6


def test_long_file_is_excerpted_but_peak_covers_it_all(tmp_path: Path) -> None:
    sr = 8000
    seconds = MAX_ANALYSIS_S + 10
    x = np.full(int(seconds * sr), 0.01, dtype=np.float32)
    x[-100] = 0.9  # loudest sample lies beyond the analysed excerpt
    path = tmp_path / "long.wav"
    sf.write(path, x, sr)
    audio = decode(path, sr=sr)
    assert audio.duration_s == pytest.approx(seconds)
    assert audio.y.size == int(MAX_ANALYSIS_S * sr)
    assert audio.peak_dbfs == pytest.approx(20 * np.log10(0.9), abs=0.01)


def test_empty_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        decode(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="nope.wav"):
        decode(tmp_path / "nope.wav")


def test_not_audio_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not a RIFF file\n" * 20)
    with pytest.raises(AudioDecodeError, match="notes.wav"):
        decode(path)


def test_header_only_raises(tmp_path: Path) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, _sine(seconds=1.0), SR, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:44])  # RIFF header, no sample frames
    with pytest.raises(AudioDecodeError, match="cut.wav"):
        decode(cut)


def test_truncated_file_yields_what_it_holds(tmp_path: Path) -> None:
    full = tmp_path / "full.flac"
    sf.write(full, _sine(seconds=4.0), SR, format="FLAC")
    data = full.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    try:
        audio = decode(cut)
    except AudioDecodeError as exc:  # libsndfile may refuse it outright: then say why
        assert "cut.flac" in str(exc)
    else:
        assert 0.5 < audio.duration_s <= 4.0
        assert audio.y.size > 0


def test_garbage_after_valid_header_raises_or_decodes(tmp_path: Path) -> None:
    full = tmp_path / "full.ogg"
    sf.write(full, _sine(seconds=2.0), SR, format="OGG")
    data = bytearray(full.read_bytes())
    rng = np.random.default_rng(0)
    data[200:] = rng.integers(0, 256, len(data) - 200, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(bytes(data))
    try:
        audio = decode(bad)
    except AudioDecodeError as exc:
        assert "bad.ogg" in str(exc)
    else:
        assert np.all(np.isfinite(audio.y))


def test_wav_with_ogg_vorbis_codec_is_decoded(lmms: Path) -> None:
    # LMMS ships some .ogg samples as RIFF/WAVE files with format tag 0x674F (Ogg Vorbis).
    path = lmms / "drums" / "kick04.ogg"
    assert path.read_bytes()[:4] == b"RIFF"
    audio = decode(path)
    assert audio.native_sr == 44100 and audio.duration_s > 0.1
    assert audio.peak_dbfs > -30.0


def test_channels_in_opposite_phase_are_not_analysed_as_silence(tmp_path: Path) -> None:
    path = tmp_path / "wide.wav"
    tone = _sine(freq=440.0, amp=0.5)
    sf.write(path, np.stack([tone, -tone], axis=1), SR, subtype="FLOAT")  # a polarity-flipped copy
    audio = decode(path)
    reference = _sine(freq=440.0, amp=ANALYSIS_PEAK, sr=22050)
    np.testing.assert_allclose(audio.y[100:-100], reference[100:-100], atol=2e-3)


def test_an_ordinary_stereo_file_is_mixed_to_the_mean_of_its_channels(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    left, right = _sine(freq=440.0, amp=0.5), _sine(freq=660.0, amp=0.5)
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    spectrum = np.abs(np.fft.rfft(decode(path).y))
    hz = np.fft.rfftfreq(2 * (spectrum.size - 1), 1 / 22050)
    assert spectrum[np.argmin(np.abs(hz - 440))] == pytest.approx(spectrum[np.argmin(np.abs(hz - 660))], rel=0.05)


def test_the_silent_tail_of_an_asymmetric_hit_stays_silent(tmp_path: Path) -> None:
    # The mean of a one-sided thump is no DC offset: removing it would lay a floor under the tail.
    path = tmp_path / "thump.wav"
    t = np.arange(int(0.1 * SR)) / SR
    hit = 0.8 * np.exp(-t * 40) * (1 + np.sin(2 * np.pi * 50 * t)) / 2
    sf.write(path, np.concatenate([hit, np.zeros(SR)]).astype(np.float32), SR, subtype="FLOAT")
    audio = decode(path)
    assert float(np.max(np.abs(audio.y[-audio.sr // 2 :]))) == 0.0
    assert float(np.max(np.abs(audio.y))) == pytest.approx(ANALYSIS_PEAK, rel=1e-3)

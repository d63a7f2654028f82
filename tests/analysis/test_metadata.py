"""Embedded tags: ID3 in WAV/MP3, Vorbis comments in FLAC/OGG, the RIFF acid chunk."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import TBPM, TCON, TKEY
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from companion.analysis.metadata import parse_tag_bpm, parse_tag_key, read_tags
from companion.music.keys import Key

SR = 44100


def _noise(seconds: float = 1.0) -> np.ndarray:
    return (0.1 * np.random.default_rng(1).standard_normal(int(seconds * SR))).astype(np.float32)


def test_id3_in_wav(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, _noise(), SR)
    wav = WAVE(path)
    wav.add_tags()
    wav.tags.add(TBPM(encoding=3, text=["126"]))
    wav.tags.add(TKEY(encoding=3, text=["F#m"]))
    wav.tags.add(TCON(encoding=3, text=["Deep House"]))
    wav.save()
    tags = read_tags(path)
    assert tags.bpm == 126.0
    assert tags.key == Key(6, "minor")
    assert tags.words == ["deep", "house"]


def test_vorbis_comments_in_flac_and_ogg(tmp_path: Path) -> None:
    flac_path = tmp_path / "a.flac"
    sf.write(flac_path, _noise(), SR, format="FLAC")
    flac = FLAC(flac_path)
    flac["BPM"] = "98.5"
    flac["INITIALKEY"] = "8A"
    flac.save()
    tags = read_tags(flac_path)
    assert tags.bpm == 98.5 and tags.key == Key(9, "minor")

    ogg_path = tmp_path / "a.ogg"
    sf.write(ogg_path, _noise(), SR, format="OGG")
    ogg = OggVorbis(ogg_path)
    ogg["TEMPO"] = "140 BPM"
    ogg["KEY"] = "Bb major"
    ogg.save()
    tags = read_tags(ogg_path)
    assert tags.bpm == 140.0 and tags.key == Key(10, "major")


def _append_chunk(path: Path, cid: bytes, body: bytes) -> None:
    data = bytearray(path.read_bytes())
    data += cid + struct.pack("<I", len(body)) + body
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))


def test_acid_chunk_loop(tmp_path: Path) -> None:
    path = tmp_path / "loop.wav"
    sf.write(path, _noise(2.0), SR)
    # flags: root note set (0x02); root 57 = A3; 8 beats in 4/4 at 120 BPM
    _append_chunk(path, b"acid", struct.pack("<IHHfIHHf", 0x02, 57, 0x8000, 0.0, 8, 4, 4, 120.0))
    tags = read_tags(path)
    assert tags.kind == "loop" and tags.bpm == 120.0 and tags.root_pc == 9
    assert tags.beats == 8 and tags.meter == (4, 4)
    assert sf.info(str(path)).frames == 2 * SR  # still a valid WAV


def test_acid_chunk_one_shot(tmp_path: Path) -> None:
    path = tmp_path / "hit.wav"
    sf.write(path, _noise(0.5), SR)
    _append_chunk(path, b"acid", struct.pack("<IHHfIHHf", 0x01, 60, 0x8000, 0.0, 0, 4, 4, 120.0))
    tags = read_tags(path)
    assert tags.kind == "one-shot" and tags.bpm is None and tags.root_pc is None


def test_untagged_and_unreadable_files_give_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    sf.write(path, _noise(), SR)
    assert read_tags(path).bpm is None
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00" * 100)
    assert read_tags(junk).key is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Am", Key(9, "minor")),
        ("1d", Key(0, "major")),
        ("1m", Key(9, "minor")),
        ("2d", Key(7, "major")),
        ("12m", Key(2, "minor")),
        ("A minor", Key(9, "minor")),
        ("", None),
        ("n/a", None),
    ],
)
def test_parse_tag_key(text: str, key: Key | None) -> None:
    assert parse_tag_key(text) == key


def test_parse_tag_bpm() -> None:
    assert parse_tag_bpm("124.00") == 124.0
    assert parse_tag_bpm("0") is None
    assert parse_tag_bpm("fast") is None

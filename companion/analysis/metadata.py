"""Tempo, key and kind from metadata embedded in audio files.

Read with mutagen: ID3 frames ``TBPM`` / ``TKEY`` / ``TCON`` (mp3, and the ``id3 `` chunk of
WAV and AIFF), Vorbis comments ``BPM`` / ``TEMPO`` / ``KEY`` / ``INITIALKEY`` / ``GENRE`` (ogg,
flac). The RIFF ``acid`` chunk that ACID-ised WAV loops carry is parsed with :mod:`struct`;
its layout (24 bytes, little-endian), as documented by libsndfile (``src/wav.c``) and the
ACIDizer format notes::

    uint32 flags        bit 0 one-shot, bit 1 root note set, bit 2 stretch, bit 3 disk-based
    uint16 root note    MIDI note number (60 = C4)
    uint16 unknown
    float  unknown
    uint32 number of beats
    uint16 meter denominator
    uint16 meter numerator
    float  tempo        BPM

Key values also come in Open Key notation (``1d`` … ``12d`` major, ``1m`` … ``12m`` minor,
as Traktor writes them); they are converted too.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import mutagen

from companion.errors import KeyParseError
from companion.music.keys import Key, parse_key

log = logging.getLogger(__name__)

_ACID_FORMAT = "<IHHfIHHf"
_ACID_SIZE = struct.calcsize(_ACID_FORMAT)
_OPEN_KEY_RE = re.compile(r"^\s*(1[0-2]|[1-9])\s*([dm])\s*$", re.IGNORECASE)
_BPM_FIELDS = ("tbpm", "bpm", "tempo", "fbpm")
_KEY_FIELDS = ("tkey", "initialkey", "key", "initial_key")
_GENRE_FIELDS = ("tcon", "genre", "style", "mood")
#: Largest file (bytes) whose RIFF chunks are walked for an ``acid`` chunk.
_MAX_RIFF_WALK = 1 << 31


@dataclass
class EmbeddedTags:
    """What a file's own metadata says.

    Attributes:
        bpm: tempo in BPM from ``TBPM`` / ``BPM`` / the ACID chunk, or None.
        key: key from ``TKEY`` / ``KEY`` / ``INITIALKEY``, or None.
        root_pc: tonic pitch class 0–11 from the ACID root note (mode unknown), or None.
        kind: ``"one-shot"`` / ``"loop"`` from the ACID flags, or None.
        beats: number of beats from the ACID chunk, or None.
        meter: ``(numerator, denominator)`` from the ACID chunk, or None.
        words: lower-case genre / mood words.
    """

    bpm: float | None = None
    key: Key | None = None
    root_pc: int | None = None
    kind: Literal["loop", "one-shot"] | None = None
    beats: int | None = None
    meter: tuple[int, int] | None = None
    words: list[str] = field(default_factory=list)


def read_tags(path: Path) -> EmbeddedTags:
    """Read the embedded tempo, key, kind and genre words of an audio file.

    Args:
        path: an audio file.

    Returns:
        The :class:`EmbeddedTags`; empty when the file has none. Unreadable metadata is
        logged and ignored: it never stops the analysis of the audio itself.
    """
    path = Path(path)
    tags = EmbeddedTags()
    try:
        _read_mutagen(path, tags)
    except Exception as exc:  # noqa: BLE001 - mutagen raises many types on odd files; metadata is optional
        log.info("ignoring unreadable metadata in %s: %s", path.name, exc)
    if path.suffix.lower() in (".wav", ".wave"):
        try:
            _read_acid(path, tags)
        except (OSError, struct.error) as exc:
            log.info("ignoring unreadable RIFF chunks in %s: %s", path.name, exc)
    return tags


def parse_tag_key(text: str) -> Key | None:
    """Parse a key tag: common spellings, Camelot, or Open Key (``"8m"``); None if none fits."""
    text = text.strip()
    if not text:
        return None
    open_key = _OPEN_KEY_RE.match(text)
    if open_key:
        number = int(open_key.group(1))
        major_pc = ((number - 1) * 7) % 12  # Open Key 1d = C major, one step = a fifth up
        if open_key.group(2).lower() == "d":
            return Key(major_pc, "major")
        return Key((major_pc + 9) % 12, "minor")
    try:
        return parse_key(text)
    except KeyParseError:
        return None


def parse_tag_bpm(text: str) -> float | None:
    """Parse a tempo tag (``"124"``, ``"124.00"``, ``"128 BPM"``); None outside 20–400 BPM."""
    match = re.search(r"\d+(?:[.,]\d+)?", str(text))
    if not match:
        return None
    value = float(match.group(0).replace(",", "."))
    return value if 20.0 <= value <= 400.0 else None


def _read_mutagen(path: Path, tags: EmbeddedTags) -> None:
    audio = mutagen.File(path)
    if audio is None or audio.tags is None:
        return
    for raw_key, raw_value in _items(audio.tags):
        name = raw_key.lower().split(":")[0]
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        texts = [str(v) for v in getattr(raw_value, "text", values)]
        if not texts:
            continue
        if name in _BPM_FIELDS and tags.bpm is None:
            tags.bpm = parse_tag_bpm(texts[0])
        elif name in _KEY_FIELDS and tags.key is None:
            tags.key = parse_tag_key(texts[0])
        elif name in _GENRE_FIELDS:
            for text in texts:
                tags.words.extend(w for w in re.split(r"[^a-z0-9]+", text.lower()) if w.isalpha() and len(w) > 1)


def _items(container: object) -> list[tuple[str, object]]:
    """(key, value) pairs of a mutagen tag container (ID3 frames or Vorbis comments)."""
    try:
        return [(str(k), v) for k, v in container.items()]  # type: ignore[attr-defined]  # duck-typed mutagen container; AttributeError is caught
    except (AttributeError, TypeError):
        return []


def _read_acid(path: Path, tags: EmbeddedTags) -> None:
    """Walk the RIFF chunks for ``acid`` without reading the audio."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return
        pos = 12
        while pos < _MAX_RIFF_WALK:
            fh.seek(pos)
            header = fh.read(8)
            if len(header) < 8:
                return
            cid, size = header[:4], struct.unpack("<I", header[4:])[0]
            if cid == b"acid" and size >= _ACID_SIZE:
                _apply_acid(fh.read(_ACID_SIZE), tags)
                return
            pos += 8 + size + (size & 1)


def _apply_acid(body: bytes, tags: EmbeddedTags) -> None:
    flags, root, _, _, beats, denom, numer, tempo = struct.unpack(_ACID_FORMAT, body)
    tags.kind = "one-shot" if flags & 0x01 else "loop"
    if flags & 0x02 and 0 <= root <= 127:
        tags.root_pc = root % 12
    if beats > 0:
        tags.beats = int(beats)
    if 1 <= numer <= 32 and denom in (1, 2, 4, 8, 16, 32):
        tags.meter = (int(numer), int(denom))
    if tags.bpm is None and 20.0 <= tempo <= 400.0 and not flags & 0x01:
        tags.bpm = float(tempo)

"""The result of analysing one audio file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from companion.analysis.instruments import Instrument

Kind = Literal["loop", "one-shot"]
#: Where a value came from, strongest first: the producer's own correction, an embedded tag,
#: the file or folder name, or an estimate from the audio.
Source = Literal["user", "tag", "name", "estimate"]
#: Why a loop has no tempo (``bpm`` None): ``"no-pulse"`` — the audio holds no rhythmic pulse
#: (a drone, a held pad or note, a crowd texture), so no tempo is invented for it.
NoBpmReason = Literal["no-pulse"]


@dataclass
class Analysis:
    """Everything the analysis knows about one file.

    Attributes:
        duration_s: duration in seconds.
        sample_rate: native sample rate in Hz.
        channels: native channel count.
        kind: ``"loop"`` or ``"one-shot"``; ``kind_source`` says why.
        peak_dbfs: sample peak in dBFS (≤ 0 for unclipped audio).
        loudness_lufs: integrated loudness in LUFS (ITU-R BS.1770-4); None when the file is
            shorter than one 400 ms gating block.
        bpm: tempo in beats per minute for loops with a rhythmic pulse; None for one-shots
            and for material without a pulse.
        bpm_source / bpm_confidence: origin and confidence in [0, 1] of ``bpm``; when a loop
            has no ``bpm``, ``bpm_source`` gives the reason (``"no-pulse"``).
        beats_per_bar: the metre of a loop whose tempo was estimated from whole bars: 4 (4/4)
            or 3 (3/4, read at the 3/4 beat, not 4/3 of it); None when the tempo came from a
            tag or name, or the loop is not cut to whole bars.
        key_pc: tonic pitch class 0–11 (C = 0) or None for unpitched / unknown material.
        mode: ``"major"`` / ``"minor"`` or None.
        key_source / key_confidence: origin and confidence in [0, 1] of the key.
        pitched: whether the material has a tonal centre (False for drums, noise, FX).
        tags: lower-case words from the folder and file names and from embedded metadata.
        instrument: one of :data:`companion.analysis.instruments.INSTRUMENTS` (``"kick"``,
            ``"drums"`` for a drum loop, ``"pad"`` …), or None when unknown.
        instrument_source / instrument_confidence: origin (``"name"``, ``"tag"``,
            ``"estimate"``, ``"user"``) and confidence in [0, 1] of ``instrument``.
    """

    duration_s: float
    sample_rate: int
    channels: int
    kind: Kind
    kind_source: Source = "estimate"
    peak_dbfs: float | None = None
    loudness_lufs: float | None = None
    bpm: float | None = None
    bpm_source: Source | NoBpmReason | None = None
    bpm_confidence: float | None = None
    beats_per_bar: int | None = None
    key_pc: int | None = None
    mode: Literal["major", "minor"] | None = None
    key_source: Source | None = None
    key_confidence: float | None = None
    pitched: bool = False
    tags: list[str] = field(default_factory=list)
    instrument: Instrument | None = None
    instrument_source: Source | None = None
    instrument_confidence: float | None = None

    def to_dict(self) -> dict:
        """Plain-dict form for JSON and SQLite."""
        return asdict(self)

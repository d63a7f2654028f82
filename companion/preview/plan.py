"""How a sample is auditioned in the project's tempo and key: the stretch and the pitch shift.

A *preview plan* says how to render one sample for the current session context:

* **Loops** with a known BPM are time-stretched to the context tempo. Half- and double-time count
  as matches (docs/architecture.md §3), so a 70 BPM loop in a 140 BPM session is stretched to 70, not 140:
  the target is whichever of ``context/2``, ``context`` and ``2·context`` is nearest (in ratio) to
  the loop's own tempo. Ratios outside :data:`MAX_STRETCH` are not applied (the result would
  sound worse than the mismatch).
* **Pitched** loops and one-shots with a known key are transposed by the smallest shift (−6 … +5
  semitones) that brings their key onto the context key. A minor sample in a major session is
  moved onto the session's relative minor (A minor under C major is left alone), so the shift
  follows the shared scale rather than the tonic name.
* Everything else plays as it is.

These functions are pure; :mod:`companion.preview.render` applies a plan to audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from companion.music.keys import Key

#: Largest tempo ratio applied (either way; 90 → 120 BPM is 1.33); beyond it the loop plays at
#: its own tempo. Half/double-time folding already keeps ratios within √2.
MAX_STRETCH = 1.34
#: Tempo differences below this (BPM) are not worth a render: the loop plays unstretched.
MIN_BPM_DELTA = 0.05


@dataclass(frozen=True)
class PreviewPlan:
    """How to render one sample.

    Attributes:
        speed: Rubber Band's ``stretch_factor``: > 1 plays faster (shorter), 1.0 = unchanged.
            Equals ``target_bpm / source_bpm``.
        semitones: pitch shift in semitones, −6 … +5; 0 = unchanged.
        loop: play it in a loop (loops) or once (one-shots).
        source_bpm / target_bpm: the loop's tempo and the tempo it is rendered at (BPM), or
            None when the tempo is left alone.
        note: human-readable summary, e.g. ``"124 → 128 BPM, +2 st"``.
    """

    speed: float = 1.0
    semitones: int = 0
    loop: bool = False
    source_bpm: float | None = None
    target_bpm: float | None = None
    note: str = "as recorded"

    @property
    def is_identity(self) -> bool:
        """True when the audio plays as it is (no render needed)."""
        return self.speed == 1.0 and self.semitones == 0


def fold_tempo(source_bpm: float, context_bpm: float) -> float:
    """The context tempo, halved or doubled to be nearest (in ratio) to the source tempo.

    Args:
        source_bpm: the loop's tempo, BPM > 0.
        context_bpm: the session tempo, BPM > 0.

    Returns:
        One of ``context_bpm / 2``, ``context_bpm``, ``2 * context_bpm`` (BPM).
    """
    options = (context_bpm / 2.0, context_bpm, context_bpm * 2.0)
    return min(options, key=lambda t: abs(math.log(t / source_bpm)))


def semitone_shift(source: Key, target: Key) -> int:
    """Smallest transposition (semitones, −6 … +5) that moves ``source`` onto ``target``.

    When the modes differ, the target's relative key in the source's mode is used (A minor onto
    C major → 0; E minor onto C major → −7 ≡ +5 → +5).
    """
    goal = target if target.mode == source.mode else target.relative()
    shift = (goal.pitch_class - source.pitch_class) % 12
    return shift - 12 if shift >= 6 else shift


def plan_preview(
    *,
    kind: str,
    bpm: float | None,
    key: Key | None,
    context_bpm: float | None,
    context_key: Key | None,
    follow_tempo: bool = True,
    follow_key: bool = True,
) -> PreviewPlan:
    """The preview plan of one sample for one context.

    Args:
        kind: ``"loop"`` or ``"one-shot"``.
        bpm: the sample's tempo (BPM) or None.
        key: the sample's key or None (unpitched / unknown).
        context_bpm / context_key: the session's tempo and key, or None.
        follow_tempo / follow_key: the producer's switches for each adaptation.

    Returns:
        The :class:`PreviewPlan`; loops loop, one-shots play once.
    """
    loop = kind == "loop"
    speed, source_bpm, target_bpm = 1.0, None, None
    parts: list[str] = []
    if follow_tempo and loop and bpm and context_bpm and bpm > 0 and context_bpm > 0:
        target = fold_tempo(bpm, context_bpm)
        ratio = target / bpm
        if abs(target - bpm) >= MIN_BPM_DELTA and 1.0 / MAX_STRETCH <= ratio <= MAX_STRETCH:
            speed, source_bpm, target_bpm = ratio, bpm, target
            parts.append(f"{bpm:.0f} → {target:.0f} BPM")
    semitones = 0
    if follow_key and key is not None and context_key is not None:
        semitones = semitone_shift(key, context_key)
        if semitones:
            parts.append(f"{semitones:+d} st")
    return PreviewPlan(
        speed=speed,
        semitones=semitones,
        loop=loop,
        source_bpm=source_bpm,
        target_bpm=target_bpm,
        note=", ".join(parts) or "as recorded",
    )

"""How a sample is auditioned in the project's tempo and key: the stretch and the pitch shift.

A *preview plan* says how to render one sample for the current session context:

* **Loops** with a known BPM are time-stretched to the context tempo. Half- and double-time count
  as matches (docs/architecture.md §3), so a 70 BPM loop in a 140 BPM session is stretched to 70, not 140:
  the target is whichever of ``context/2``, ``context`` and ``2·context`` is nearest (in ratio) to
  the loop's own tempo. Ratios outside :data:`MAX_STRETCH` are not applied (the result would
  sound worse than the mismatch).
* **Pitched** loops and one-shots with a known key are left alone when their key is already
  compatible with the context key, by the same rule the ranking's key filter uses
  (:func:`companion.music.keys.compatible`: the same key, the relative major/minor, or one step on
  the Camelot wheel) — so a card whose rationale says "key compatible" auditions in its own key.
  Otherwise they are transposed by the smallest shift that makes them compatible (see
  :func:`semitone_shift`). When the modes agree there are three compatible keys to aim at (the
  context key and its Camelot neighbours), so the shift is −2 … +2; a minor sample in a major
  session (or the reverse) has only the relative key, so it may move up to a tritone (−6 … +5).
* Everything else plays as it is.

These functions are pure; :mod:`companion.preview.render` applies a plan to audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from companion.music.keys import Key, compatible

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
        semitones: pitch shift in semitones, −6 … +5 (−2 … +2 when the modes agree); 0 = unchanged.
        loop: play it in a loop (loops) or once (one-shots).
        source_bpm / target_bpm: the loop's tempo and the tempo it is rendered at (BPM), or
            None when the tempo is left alone.
        sounding_key: the key the render sounds in (the sample's key moved by ``semitones``), or
            None when the key is unknown, there is no context key, or following the key is off.
        note: human-readable summary, e.g. ``"124 → 128 BPM, -2 st → G minor (compatible)"``,
            ``"F# minor (compatible)"`` (no shift needed), ``"as recorded"``.
    """

    speed: float = 1.0
    semitones: int = 0
    loop: bool = False
    source_bpm: float | None = None
    target_bpm: float | None = None
    sounding_key: Key | None = None
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


def transpose(key: Key, semitones: int) -> Key:
    """``key`` moved by ``semitones`` (any integer; the mode is kept): A minor + 2 → B minor."""
    return Key((key.pitch_class + semitones) % 12, key.mode)


#: Shifts tried, smallest first; on a tie of size the shift down comes first. −6 and +6 give
#: the same key, so +6 is never needed.
_SHIFT_ORDER = (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6)


def semitone_shift(source: Key, target: Key) -> int:
    """Smallest transposition (semitones, −6 … +5) that makes ``source`` compatible with ``target``.

    Compatibility is :func:`companion.music.keys.compatible` (the ranking's key filter), so a key
    that is already compatible — the same key, the relative major/minor, a Camelot neighbour —
    gets 0: G major under C major → 0 (9B next to 8B), E minor under A minor → 0.
    Otherwise the shift is the smallest in size that lands on any compatible key; the mode is
    never changed (B minor under C major → −2 → A minor, its relative minor; E minor under
    C major → +5 → A minor, since 9A and 8B are not neighbours).

    Ties: a shift onto the exact context key (or its relative) can never tie with one onto a
    Camelot neighbour, because the neighbours lie 5 and 7 semitones (odd) from it, so no
    "prefer the exact key" rule is needed. The only ties are between the two neighbours, when
    ``source`` is a tritone from the context key in the same mode (F# major under C major:
    −1 → F major or +1 → G major), and −6 vs +6 onto the same key; the shift down wins both,
    keeping the range −6 … +5 of a plain transposition.

    Returns:
        The shift in semitones, −6 … +5; |shift| ≤ 2 when the modes agree (each pitch class is
        at most 2 semitones from one of the three compatible keys of that mode).
    """
    for shift in _SHIFT_ORDER:
        if compatible(transpose(source, shift), target):
            return shift
    raise AssertionError("unreachable: every key transposes onto the context key's scale")  # pragma: no cover


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
        The :class:`PreviewPlan`; loops loop, one-shots play once. Its note names the key the
        render sounds in and whether that is the context key (``match``) or a compatible one.
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
    semitones, sounding = 0, None
    if follow_key and key is not None and context_key is not None:
        semitones = semitone_shift(key, context_key)
        sounding = transpose(key, semitones)
        relation = "match" if sounding == context_key else "compatible"
        if semitones:
            parts.append(f"{semitones:+d} st → {sounding.name} ({relation})")
        else:
            parts.append(f"{sounding.name} ({relation})")
    return PreviewPlan(
        speed=speed,
        semitones=semitones,
        loop=loop,
        source_bpm=source_bpm,
        target_bpm=target_bpm,
        sounding_key=sounding,
        note=", ".join(parts) or "as recorded",
    )

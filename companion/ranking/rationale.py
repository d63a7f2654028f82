"""Human-readable reasons shown beside each suggestion (docs/architecture.md §3, ``rationale``).

Examples: ``"tempo Δ2 BPM"``, ``"tempo Δ1 BPM (half-time)"``, ``"key match: A minor"``,
``"key compatible: C major"``, ``"added 3 days ago"``, ``"similar to kick_03.wav (0.91)"``,
``"matches prompt: dark, techno (0.31)"``, ``"mood: dark"``, ``"genre: techno"``, ``"pinned"``,
``"same instrument: kick"``, ``"instrument mix: kick"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from companion.music.keys import Key
from companion.ranking.scoring import SECONDS_PER_DAY


def format_number(value: float) -> str:
    """``2.0`` → ``"2"``, ``2.46`` → ``"2.5"`` (one decimal at most)."""
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def tempo_reason(sample_bpm: float, context_bpm: float, multiples: Iterable[float]) -> str:
    """``"tempo Δ2 BPM"``; the fold is named when it is not 1 (``"(half-time)"``).

    A loop at half the session tempo (folded by ×2) is ``half-time``; at double the session
    tempo (folded by ×0.5) it is ``double-time``.
    """
    best_k, best_d = 1.0, math.inf
    for k in sorted(multiples, key=lambda m: abs(math.log(m))):  # prefer the plain tempo on ties
        d = abs(sample_bpm * k - context_bpm)
        if d < best_d - 1e-9:
            best_k, best_d = k, d
    text = f"tempo Δ{format_number(best_d)} BPM"
    if best_k > 1:
        text += " (half-time)"
    elif best_k < 1:
        text += " (double-time)"
    return text


def key_reason(sample_key: Key, context_key: Key) -> str:
    """``"key match: A minor"`` for the same key, else ``"key compatible: C major"``."""
    if sample_key == context_key:
        return f"key match: {sample_key.name}"
    return f"key compatible: {sample_key.name}"


def age_reason(added_at: float, now: float) -> str:
    """``"added today"``, ``"added yesterday"``, ``"added 3 days ago"``, ``"added 5 weeks ago"``…"""
    days = max(now - added_at, 0.0) / SECONDS_PER_DAY
    whole = int(days)
    if whole == 0:
        return "added today"
    if whole == 1:
        return "added yesterday"
    if whole < 21:
        return f"added {whole} days ago"
    if whole < 90:
        return f"added {whole // 7} weeks ago"
    if whole < 730:
        return f"added {whole // 30} months ago"
    return f"added {whole // 365} years ago"


def similarity_reason(
    nearest_name: str | None, nearest_sim: float | None, prompt_words: Sequence[str], sim: float
) -> str | None:
    """``"similar to kick_03.wav (0.91)"``; ``"matches prompt: dark (0.31)"`` without accepted.

    None when the cosine similarity shown would not be positive: an embedding at 90° or more
    from the accepted sample (or the prompt) is not like it, so no likeness is claimed (the
    score's similarity term still counts, as its tooltip shows).
    """
    if nearest_name is not None and nearest_sim is not None:
        return f"similar to {nearest_name} ({nearest_sim:.2f})" if nearest_sim > 0.0 else None
    if sim <= 0.0:
        return None
    words = ", ".join(prompt_words) if prompt_words else "the prompt"
    return f"matches prompt: {words} ({sim:.2f})"


def tag_reasons(matched: Iterable[str], mood_tags: Sequence[str], genre: str | None) -> list[str]:
    """``["mood: dark", "genre: techno"]`` for the matched context words."""
    out = []
    for word in matched:
        out.append(f"genre: {word}" if word == genre and word not in mood_tags else f"mood: {word}")
    return out


def word_reason(word: str) -> str:
    """``"matches 'pad'"``: a context word that names the sample's instrument (a synonym)."""
    return f"matches '{word}'"


def instrument_reason(instrument: str, *, cold_start: bool) -> str:
    """``"same instrument: kick"`` ("more like this" boost), or ``"instrument mix: kick"`` for
    the cold-start boost of the instruments a producer reaches for first."""
    return f"{'instrument mix' if cold_start else 'same instrument'}: {instrument}"

"""Session decisions that filter suggestions: accepted, dismissed, banned, pinned."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SessionState:
    """What the producer decided in this session (docs/architecture.md §3, ban list and duplicates).

    Attributes:
        accepted: sample ids accepted in this session, oldest first; never suggested again and
            the latest ones build the similarity target.
        dismissed: sample ids skipped in this session; hidden for the rest of the session.
        banned_ids: sample ids banned for good.
        banned_folders: folder path prefixes banned for good (``/samples/packs/cheesy``).
        pinned: sample ids pinned by the user; shown first (flagged) when they pass the filters.
    """

    accepted: list[int] = field(default_factory=list)
    dismissed: set[int] = field(default_factory=set)
    banned_ids: set[int] = field(default_factory=set)
    banned_folders: set[str] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)

"""Session context: what the producer is working on right now (docs/architecture.md §2).

The context is a handful of optional fields (tempo, key, mood tags, genre, time remaining,
transport state, a free-text prompt, preferences). Several sources update it — the DAW over
OSC or Ableton Link, manual entry in the UI, the CLI — and the **latest value per field wins**;
every field records which source set it and when (unix seconds).

:class:`SessionContext` is an immutable snapshot; :class:`ContextStore` is the thread-safe
mutable holder that the plugin bridge and the UI write to and that the ranker reads from.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

from companion.errors import ContextError, KeyParseError
from companion.music.keys import Key, Mode, parse_key, parse_mode

log = logging.getLogger(__name__)

#: ``restored``: the context of the previous run, read back at start-up
#: (:meth:`companion.app.session.Session.restore_context`).
ContextSource = Literal["osc", "link", "manual", "cli", "ableton", "restored"]
CONTEXT_SOURCES: frozenset[str] = frozenset(get_args(ContextSource))

#: Fields a source may set with :meth:`ContextStore.update` (``mode`` is applied to ``key``).
CONTEXT_FIELDS: tuple[str, ...] = (
    "bpm",
    "key",
    "mood_tags",
    "genre",
    "time_remaining_s",
    "playing",
    "prompt",
    "preferences",
)

# Tempo range accepted from any source, in BPM (covers 20 BPM drones to 999 BPM DAW maximum).
_BPM_RANGE = (20.0, 999.0)
_BARE_TONIC_RE = re.compile(r"^\s*[A-Ga-g]\s*(#|♯|b|♭|sharp|flat)?\s*$")


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class SessionContext:
    """An immutable snapshot of the session context. Every field is optional.

    Attributes:
        bpm: session tempo in BPM, or None.
        key: session key (pitch class + mode), or None.
        mood_tags: mood words, lower case, e.g. ``("dark", "warm")``.
        genre: genre word, lower case, e.g. ``"techno"``.
        time_remaining_s: time left in the session (s), or None.
        playing: whether the DAW transport is playing, or None when unknown.
        prompt: free-text prompt for CLAP text search, e.g. ``"dusty vinyl piano"``.
        preferences: free-form user preferences (JSON-serialisable values).
        updated: field name → ``(source, unix time s)`` of the update that set its value;
            only fields that hold a value appear.
    """

    bpm: float | None = None
    key: Key | None = None
    mood_tags: tuple[str, ...] = ()
    genre: str | None = None
    time_remaining_s: float | None = None
    playing: bool | None = None
    prompt: str | None = None
    preferences: Mapping[str, Any] = field(default_factory=_empty_mapping)
    updated: Mapping[str, tuple[ContextSource, float]] = field(default_factory=_empty_mapping)

    __hash__ = None  # type: ignore[assignment]  # holds mappings: compare, never hash

    @property
    def is_empty(self) -> bool:
        """True when no field holds a value."""
        return all(_is_unset(name, getattr(self, name)) for name in CONTEXT_FIELDS)

    def prompt_words(self) -> list[str]:
        """The texts to embed as CLAP text prompts: mood tags, genre, then the free prompt."""
        words = list(self.mood_tags)
        if self.genre:
            words.append(self.genre)
        if self.prompt:
            words.append(self.prompt)
        return words

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict; the key is given as name, pitch class, mode and Camelot."""
        return {
            "bpm": self.bpm,
            "key": self.key.name if self.key else None,
            "key_pc": self.key.pitch_class if self.key else None,
            "mode": self.key.mode if self.key else None,
            "camelot": self.key.camelot if self.key else None,
            "mood_tags": list(self.mood_tags),
            "genre": self.genre,
            "time_remaining_s": self.time_remaining_s,
            "playing": self.playing,
            "prompt": self.prompt,
            "preferences": dict(self.preferences),
            "updated": {name: {"source": src, "at": at} for name, (src, at) in self.updated.items()},
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SessionContext:
        """Inverse of :meth:`to_json`. Accepts ``key`` in any spelling :func:`parse_key` reads.

        Raises:
            ContextError: on an unknown source or a value of the wrong type.
            KeyParseError: on an unreadable key name.
        """
        fields = {name: d.get(name) for name in CONTEXT_FIELDS if name in d}
        if d.get("key") is None and d.get("key_pc") is not None:
            fields["key"] = Key(int(d["key_pc"]), parse_mode(str(d.get("mode") or "major")))
        elif d.get("key") is not None and d.get("mode") is not None:
            fields["key"] = parse_key(str(d["key"]), str(d["mode"]))
        values = _normalise_fields(fields)
        updated: dict[str, tuple[ContextSource, float]] = {}
        for name, entry in (d.get("updated") or {}).items():
            if name not in CONTEXT_FIELDS:
                raise ContextError(f"unknown context field {name!r} in 'updated'")
            src, at = (entry["source"], entry["at"]) if isinstance(entry, Mapping) else entry
            updated[name] = (_check_source(src), float(at))
        return cls(**values, updated=MappingProxyType(updated))


def _is_unset(name: str, value: Any) -> bool:
    if name == "mood_tags":
        return len(value) == 0
    if name == "preferences":
        return len(value) == 0
    return value is None


def _check_source(source: str) -> ContextSource:
    if source not in CONTEXT_SOURCES:
        raise ContextError(f"unknown context source {source!r}: use one of {', '.join(sorted(CONTEXT_SOURCES))}")
    return cast(ContextSource, source)  # one of CONTEXT_SOURCES, checked above


def _normalise_tags(value: str | Iterable[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ContextError(f"mood tag {item!r} is not text")
        word = item.strip().lower()
        if word and word not in out:
            out.append(word)
    return tuple(out)


def _as_float(name: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ContextError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(number) or not low <= number <= high:
        raise ContextError(f"{name} = {value!r} is outside {low:g}–{high:g}")
    return number


def _normalise_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise field values; ``None`` stays ``None`` (clears the field)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in CONTEXT_FIELDS:
            raise ContextError(f"unknown context field {name!r}: use one of {', '.join(CONTEXT_FIELDS)} or mode")
        if value is None:
            out[name] = () if name == "mood_tags" else (_empty_mapping() if name == "preferences" else None)
            continue
        if name == "bpm":
            out[name] = _as_float("bpm", value, *_BPM_RANGE)
        elif name == "key":
            if isinstance(value, Key):
                out[name] = value
            elif isinstance(value, str):
                out[name] = parse_key(value)
            else:
                raise ContextError(f"key must be a Key or a key name such as 'Am', got {value!r}")
        elif name == "mood_tags":
            out[name] = _normalise_tags(value)
        elif name in ("genre", "prompt"):
            text = str(value).strip()
            out[name] = (text.lower() if name == "genre" else text) or None
        elif name == "time_remaining_s":
            out[name] = _as_float("time_remaining_s", value, 0.0, math.inf)
        elif name == "playing":
            if not isinstance(value, (bool, int)):
                raise ContextError(f"playing must be true or false, got {value!r}")
            out[name] = bool(value)
        elif name == "preferences":
            if not isinstance(value, Mapping):
                raise ContextError(f"preferences must be a mapping, got {type(value).__name__}")
            out[name] = MappingProxyType(dict(value))
    return out


class ContextStore:
    """Thread-safe holder of the current :class:`SessionContext`.

    The latest value per field wins, whatever its source. Subscribers are called (on the
    updating thread, outside the lock) with the new snapshot whenever a value changes; an update
    that changes no value refreshes the provenance but notifies nobody.

    Args:
        now: clock returning unix seconds; injectable for tests.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._context = SessionContext()
        self._pending_mode: Mode | None = None
        self._subscribers: list[Callable[[SessionContext], None]] = []
        self.last_reset: tuple[ContextSource, float] | None = None

    def snapshot(self) -> SessionContext:
        """The current context (immutable)."""
        with self._lock:
            return self._context

    def update(self, source: ContextSource, **fields: Any) -> SessionContext:
        """Set some fields; ``None`` clears a field.

        Args:
            source: who sends the update (``osc``, ``link``, ``manual``, ``cli``, ``ableton``,
                ``restored``).
            **fields: any of :data:`CONTEXT_FIELDS`, plus ``mode`` (``"minor"``/``"major"``).
                ``key`` may be a :class:`Key` or a name (``"Am"``, ``"A minor"``, ``"8A"``).
                ``mode`` applies to the key given in the same call, else to the current key;
                when there is no key yet it is remembered and applied to the next key given as
                a bare tonic (``"A"``), so a DAW may send mode before key.
                ``mood_tags`` may be a list or a comma-separated string.

        Returns:
            The new snapshot.

        Raises:
            ContextError: unknown field or source, or an invalid value (nothing is changed).
            KeyParseError: unreadable key or mode name (nothing is changed).
        """
        src = _check_source(source)
        mode_text = fields.pop("mode", None)
        mode = parse_mode(mode_text) if isinstance(mode_text, str) and mode_text.strip() else None
        if mode_text is not None and not isinstance(mode_text, str):
            raise ContextError(f"mode must be 'major' or 'minor', got {mode_text!r}")
        key_text = fields.get("key")
        bare_tonic = isinstance(key_text, str) and bool(_BARE_TONIC_RE.match(key_text))
        values = _normalise_fields(fields)
        with self._lock:
            old = self._context
            at = self._now()
            if mode is not None:
                key = values.get("key", old.key)
                if key is not None:
                    values["key"] = Key(key.pitch_class, mode)
                    self._pending_mode = None
                else:
                    self._pending_mode = mode
            elif bare_tonic and values.get("key") is not None and self._pending_mode is not None:
                values["key"] = Key(values["key"].pitch_class, self._pending_mode)
                self._pending_mode = None
            updated = dict(old.updated)
            for name, value in values.items():
                if _is_unset(name, value):
                    updated.pop(name, None)
                else:
                    updated[name] = (src, at)
            new = replace(old, **values, updated=MappingProxyType(updated))
            self._context = new
            changed = any(getattr(new, n) != getattr(old, n) for n in values)
            subscribers = list(self._subscribers) if changed else []
        self._notify(subscribers, new)
        return new

    def reset(self, source: ContextSource) -> SessionContext:
        """Clear every field (a new song, a new session). Subscribers are notified."""
        src = _check_source(source)
        with self._lock:
            was_empty = self._context.is_empty
            self._context = SessionContext()
            self._pending_mode = None
            self.last_reset = (src, self._now())
            subscribers = [] if was_empty else list(self._subscribers)
            new = self._context
        self._notify(subscribers, new)
        return new

    def subscribe(self, callback: Callable[[SessionContext], None]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every change. Returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @staticmethod
    def _notify(subscribers: list[Callable[[SessionContext], None]], ctx: SessionContext) -> None:
        for callback in subscribers:
            try:
                callback(ctx)
            except Exception:  # one broken listener must not starve the others
                log.exception("context subscriber %r failed; other subscribers still notified", callback)


__all__ = [
    "CONTEXT_FIELDS",
    "CONTEXT_SOURCES",
    "ContextSource",
    "ContextStore",
    "KeyParseError",
    "SessionContext",
]

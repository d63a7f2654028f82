"""Domain errors. Every error the companion raises on purpose derives from CompanionError.

Messages say what was wrong and what to do, e.g.
``cannot decode kick.wav: not a RIFF file — skipped; see `companion problems```.
"""

from __future__ import annotations

from samplemind_protocol.errors import RulesError as ProtocolRulesError


class CompanionError(Exception):
    """Base class of all companion errors."""


class AudioDecodeError(CompanionError):
    """An audio file could not be read or decoded (corrupt, truncated, unsupported)."""


class AudioTooShortError(CompanionError):
    """The audio is too short for the requested analysis."""


class KeyParseError(CompanionError, ValueError):
    """A key name (``"A minor"``, ``"Am"``, ``"8A"``) could not be understood."""


class CatalogError(CompanionError):
    """The catalog database is unusable (wrong schema version, locked, corrupt)."""


class RulesError(CompanionError, ProtocolRulesError):
    """A fusion rules document is missing fields or holds invalid values.

    Also a ``samplemind_protocol.RulesError``, the error of the shared rules parser, which
    :mod:`companion.ranking.rules` turns into this one."""


class ModelError(CompanionError):
    """An embedding model is missing, incomplete or fails its checksum."""


class ContextError(CompanionError, ValueError):
    """A session-context update holds an unknown field or an invalid value."""


class VectorIndexError(CompanionError):
    """A persisted vector index is missing, corrupt or belongs to another space; rebuild it."""


class AudioOutputError(CompanionError):
    """The audio output (PortAudio device) cannot be opened or used for audition."""

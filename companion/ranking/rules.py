"""The shared fusion rules document (docs/architecture.md §3), as the desktop ranks with it.

Every weight, tolerance and the MMR λ used by the ranker come from a versioned JSON document;
the ranker never holds such numbers as literals: it reads them from a :class:`FusionRules`.
The document's schema, its validation and the shipped documents (format 1 ``rules_v1.json`` and
format 2 ``rules_v2.json``, the default) live in the shared protocol package
(:mod:`samplemind_protocol.rules`, which lists every field), because the hub validates and
publishes the same documents. This module re-exports them for the desktop and turns the
protocol's errors into the desktop's :class:`~companion.errors.RulesError`, which is a
:class:`~companion.errors.CompanionError` as well as a ``samplemind_protocol.RulesError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from companion.errors import RulesError
from samplemind_protocol import rules as _protocol
from samplemind_protocol.errors import RulesError as ProtocolRulesError
from samplemind_protocol.rules import (
    DEFAULT_RULES_RESOURCE,
    PACKAGED_RULES,
    SUPPORTED_VERSIONS,
    ColdStart,
    DuplicateFilter,
    Filters,
    FreshnessScore,
    FusionRules,
    InstrumentScore,
    KeyFilter,
    KeyScore,
    Mmr,
    Score,
    TagScore,
    Target,
    TempoFilter,
    TempoScore,
)

__all__ = [
    "DEFAULT_RULES_RESOURCE",
    "PACKAGED_RULES",
    "SUPPORTED_VERSIONS",
    "ColdStart",
    "DuplicateFilter",
    "Filters",
    "FreshnessScore",
    "FusionRules",
    "InstrumentScore",
    "KeyFilter",
    "KeyScore",
    "Mmr",
    "Score",
    "TagScore",
    "Target",
    "TempoFilter",
    "TempoScore",
    "load_default_rules",
    "load_packaged_rules",
    "parse_rules",
]


@contextmanager
def _desktop_errors() -> Iterator[None]:
    """Re-raise the protocol's RulesError as the desktop's (same message, chained)."""
    try:
        yield
    except RulesError:
        raise
    except ProtocolRulesError as exc:
        raise RulesError(str(exc)) from exc


def parse_rules(doc: dict[str, Any] | str) -> FusionRules:
    """Validate a rules document (:func:`samplemind_protocol.rules.parse_rules`).

    Args:
        doc: the parsed document or its JSON text.

    Returns:
        The typed :class:`FusionRules`.

    Raises:
        RulesError: invalid JSON, a missing or unknown field, a value out of range, or an
            unsupported version. The message lists each problem with its dotted path.
    """
    with _desktop_errors():
        return _protocol.parse_rules(doc)


def load_default_rules() -> FusionRules:
    """The default rules shipped with the protocol package (``rules_v2.json``).

    Raises:
        RulesError: if the shipped document is missing or invalid (a broken install).
    """
    with _desktop_errors():
        return _protocol.load_default_rules()


def load_packaged_rules(resource: str | int) -> FusionRules:
    """A shipped rules document, by file name or format version (1 or 2).

    Raises:
        RulesError: unknown version, or the document is missing or invalid (a broken install).
    """
    with _desktop_errors():
        return _protocol.load_packaged_rules(resource)

"""Errors of the shared protocol.

The desktop's ``companion.errors.RulesError`` subclasses :class:`RulesError` (and the desktop's
``CompanionError``), so ``except RulesError`` works on either side of the wire.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of the errors the shared protocol raises on purpose."""


class RulesError(ProtocolError):
    """A fusion rules document is missing fields or holds invalid values."""

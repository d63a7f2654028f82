"""The last good shared fusion rules pulled from the hub, cached in the catalog's ``kv`` table.

Keys (values are JSON): ``rules.cached`` (the document), ``rules.etag`` (the hub's ETag of it),
``rules.version`` (the hub's version number), ``rules.pulled_at`` (unix s), and
``rules.refused`` (``{"version", "error", "at"}`` of the last document refused as invalid).
Only a document that passes :func:`companion.ranking.rules.parse_rules` is ever stored, so the
ranker can prefer :func:`cached_rules` over the packaged default.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from companion.errors import RulesError
from companion.library.db import Connection
from companion.ranking.rules import FusionRules, parse_rules
from companion.sync.outbox import kv_get, kv_get_json, kv_set

log = logging.getLogger(__name__)

KEY_DOCUMENT = "rules.cached"
KEY_ETAG = "rules.etag"
KEY_VERSION = "rules.version"
KEY_PULLED_AT = "rules.pulled_at"
KEY_REFUSED = "rules.refused"


def cached_rules(conn: Connection) -> FusionRules | None:
    """The cached rules, validated; None when nothing valid was ever pulled.

    A cached document that no longer validates (e.g. written by a newer companion) is logged
    and ignored, so the caller falls back to the packaged default.
    """
    text = kv_get(conn, KEY_DOCUMENT)
    if text is None:
        return None
    try:
        return parse_rules(text)
    except RulesError as exc:
        log.warning("ignoring the cached fusion rules: %s", exc)
        return None


def cached_version(conn: Connection) -> int | None:
    """The hub's version number of the cached rules (None when nothing valid is cached)."""
    if cached_rules(conn) is None:
        return None
    value = kv_get_json(conn, KEY_VERSION)
    return int(value) if isinstance(value, int) else None


def cached_etag(conn: Connection) -> str | None:
    """The ETag to send as ``If-None-Match`` (None when nothing valid is cached)."""
    if cached_rules(conn) is None:
        return None
    value = kv_get_json(conn, KEY_ETAG)
    return value if isinstance(value, str) else None


def store_rules(conn: Connection, document: dict[str, Any], *, version: int, etag: str | None) -> FusionRules:
    """Validate and cache a pulled document (atomically with its version and ETag).

    Raises:
        RulesError: the document is invalid; the cache is left as it was and the refusal is
            recorded under ``rules.refused``.
    """
    try:
        rules = parse_rules(document)
    except RulesError as exc:
        kv_set(conn, {KEY_REFUSED: {"version": version, "error": str(exc), "at": time.time()}})
        raise
    kv_set(
        conn,
        {
            KEY_DOCUMENT: document,
            KEY_VERSION: int(version),
            KEY_ETAG: etag,
            KEY_PULLED_AT: time.time(),
            KEY_REFUSED: None,
        },
    )
    return rules


def mark_checked(conn: Connection) -> None:
    """Record that the hub confirmed the cached version is current (a 304)."""
    kv_set(conn, {KEY_PULLED_AT: time.time()})


def refused(conn: Connection) -> dict[str, Any] | None:
    """``{"version", "error", "at"}`` of the last refused document, if any since the last good one."""
    value = kv_get_json(conn, KEY_REFUSED)
    return value if isinstance(value, dict) else None

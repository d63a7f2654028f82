"""Shared fusion rules versions and ``GET /api/v1/recommendations/rules``.

The rules document is the one of docs/architecture.md §3, shipped by the shared protocol package as
``samplemind_protocol/rules_v2.json``; the hub seeds its first version from that very file, so
desktop and hub start from the same rules. Later versions are published with
``samplemind-hub rules publish FILE`` after validation by the same
``samplemind_protocol.rules.parse_rules`` the desktop uses.

Two numbers are involved: the hub's *version* counts published documents (1, 2, 3 …, the newest
is current); the document's own ``version`` field is its format version (what the desktop's
``parse_rules`` supports). The ETag is ``"r<version>-<sha256 of the canonical JSON, 16 hex>"``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from samplemind_hub import HubError
from samplemind_hub.auth import Principal, require_device
from samplemind_hub.schemas import RulesResponse
from samplemind_protocol.errors import RulesError
from samplemind_protocol.paths import RULES_PATH
from samplemind_protocol.rules import DEFAULT_RULES_RESOURCE, parse_rules, read_packaged_rules

router = APIRouter(tags=["rules"])

#: The shipped document the hub seeds as version 1 (in the package ``samplemind_protocol``).
DEFAULT_RULES_FILE = DEFAULT_RULES_RESOURCE


def canonical_json(document: dict[str, Any]) -> str:
    """The document as sorted, compact JSON (what the ETag hashes)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_etag(version: int, document: dict[str, Any]) -> str:
    """Strong ETag of one rules version (RFC 9110 §8.8.3)."""
    digest = hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()[:16]
    return f'"r{version}-{digest}"'


def validate_rules(document: dict[str, Any]) -> None:
    """Validate with the desktop's own parser (the shared protocol's) so the hub never
    publishes what clients refuse.

    Raises:
        HubError: the document is invalid (the message lists each problem).
    """
    try:
        parse_rules(document)
    except RulesError as exc:
        raise HubError(f"refusing to publish these fusion rules: {exc}") from exc


def publish_rules(conn: Any, document: dict[str, Any], *, source: str, validate: bool = True) -> tuple[int, str]:
    """Store ``document`` as the next rules version; returns ``(version, etag)``.

    Args:
        source: where it came from (a file path, ``packaged:rules_v2.json``), for the record.
        validate: check with ``parse_rules`` first (tests turn it off to publish a bad one).

    Raises:
        HubError: invalid document.
    """
    if validate:
        validate_rules(document)
    with conn.transaction():
        conn.execute("LOCK TABLE rules_versions IN EXCLUSIVE MODE")
        row = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM rules_versions").fetchone()
        version = int(row[0])
        etag = make_etag(version, document)
        conn.execute(
            "INSERT INTO rules_versions (version, document, etag, source) VALUES (%s, %s, %s, %s)",
            (version, Jsonb(document), etag, source),
        )
    return version, etag


def packaged_default_rules() -> dict[str, Any]:
    """The default rules document the desktop ships (``samplemind_protocol/rules_v2.json``), as
    written in the file.

    Raises:
        HubError: the file is missing or not a JSON object (a broken install).
    """
    try:
        return read_packaged_rules(DEFAULT_RULES_FILE)
    except RulesError as exc:
        raise HubError(f"the packaged fusion rules {DEFAULT_RULES_FILE} are unreadable: {exc} — reinstall") from exc


def seed_default_rules(conn: Any) -> int | None:
    """Publish the packaged rules as version 1 if no version exists yet; returns it or None."""
    document = packaged_default_rules()
    validate_rules(document)
    with conn.transaction():
        conn.execute("LOCK TABLE rules_versions IN EXCLUSIVE MODE")
        if conn.execute("SELECT 1 FROM rules_versions LIMIT 1").fetchone() is not None:
            return None
        conn.execute(
            "INSERT INTO rules_versions (version, document, etag, source) VALUES (1, %s, %s, %s)",
            (Jsonb(document), make_etag(1, document), f"packaged:{DEFAULT_RULES_FILE}"),
        )
    return 1


def current_rules(conn: Any) -> tuple[int, str, str, dict[str, Any]] | None:
    """``(version, etag, published_at ISO 8601, document)`` of the newest version, or None."""
    row = conn.execute(
        "SELECT version, etag, published_at, document FROM rules_versions ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), str(row[1]), row[2].isoformat(), dict(row[3])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison of ``If-None-Match`` against ``etag`` (``*`` matches)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@router.get(
    RULES_PATH,
    response_model=RulesResponse,
    summary="The current shared fusion rules",
    responses={
        304: {"description": "`If-None-Match` names the current ETag: the client's copy is current."},
        401: {"description": "Missing, invalid or revoked bearer token."},
        404: {"description": "No rules version is published."},
    },
)
def get_rules(
    request: Request,
    response: Response,
    if_none_match: str | None = Header(default=None),
    principal: Principal = Depends(require_device),
) -> RulesResponse | Response:
    """The newest rules version with its ETag; ``If-None-Match`` with that ETag answers 304."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        current = current_rules(conn)
    if current is None:
        raise HTTPException(
            status_code=404, detail="no fusion rules published — run 'samplemind-hub rules publish FILE'"
        )
    version, etag, published_at, document = current
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return RulesResponse(version=version, etag=etag, published_at=published_at, rules=document)

"""Bearer tokens: HS256 JWTs signed by the hub's key, one per (user, device).

Claims (RFC 7519): ``iss`` = ``samplemind-hub``, ``sub`` = user id (uuid), ``dev`` = device id
(uuid), ``scope`` = ``device`` (read/write the user's own data) or ``metrics`` (``/metrics``
only), ``iat``, and ``exp`` when the token was created with an expiry. A token is accepted only
while its device row exists and is not revoked, so ``samplemind-hub token revoke`` takes effect
on the next request. Every data query filters on the token's user id: a token only ever reads
and writes its own user's data.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import psycopg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from samplemind_hub import HubError

ISSUER = "samplemind-hub"
ALGORITHM = "HS256"
Scope = Literal["device", "metrics"]

_bearer = HTTPBearer(auto_error=False, description="`samplemind-hub token create` prints one.")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the user and device of its bearer token."""

    user_id: uuid.UUID
    device_id: uuid.UUID
    scope: Scope


def issue_token(
    secret: str,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    *,
    scope: Scope = "device",
    expires_in_s: float | None = None,
) -> str:
    """Sign a bearer token for one device of one user.

    Args:
        secret: the hub's HS256 key (:func:`signing_secret`).
        expires_in_s: lifetime in seconds; None for a token valid until its device is revoked.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "dev": str(device_id),
        "scope": scope,
        "iat": now,
    }
    if expires_in_s is not None:
        claims["exp"] = now + int(expires_in_s)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    """Verify a token's signature, issuer and expiry and read its principal.

    Raises:
        jwt.InvalidTokenError: bad signature, wrong issuer, expired, or missing claims.
    """
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["iss", "sub", "dev", "scope", "iat"]},
    )
    scope = claims["scope"]
    if scope not in ("device", "metrics"):
        raise jwt.InvalidTokenError(f"unknown scope {scope!r}")
    try:
        return Principal(uuid.UUID(claims["sub"]), uuid.UUID(claims["dev"]), scope)
    except (ValueError, TypeError) as exc:
        raise jwt.InvalidTokenError(f"malformed subject or device: {exc}") from exc


def signing_secret(conn: psycopg.Connection[Any], override: str | None = None) -> str:
    """The HS256 key: ``override`` (``HUB_JWT_SECRET``) or the one kept in ``hub_secrets``.

    Generates and stores a random 256-bit key on first use, so every hub replica on the same
    database signs and verifies with the same key.
    """
    if override:
        return override
    with conn.transaction():
        conn.execute(
            "INSERT INTO hub_secrets (name, value) VALUES ('jwt_hs256', %s) ON CONFLICT (name) DO NOTHING",
            (secrets.token_urlsafe(32),),
        )
        row = conn.execute("SELECT value FROM hub_secrets WHERE name = 'jwt_hs256'").fetchone()
    assert row is not None
    return str(row[0])


def create_device(conn: psycopg.Connection[Any], user_name: str, device_name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """Create (or find) a user and one of its devices; returns ``(user_id, device_id)``.

    A revoked device of the same name is re-activated with a new id, so tokens issued before
    the revocation stay invalid.

    Raises:
        HubError: empty names.
    """
    if not user_name.strip() or not device_name.strip():
        raise HubError("user and device names must not be empty")
    with conn.transaction():
        conn.execute(
            "INSERT INTO users (id, name) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (uuid.uuid4(), user_name),
        )
        user_row = conn.execute("SELECT id FROM users WHERE name = %s", (user_name,)).fetchone()
        assert user_row is not None
        user_id: uuid.UUID = user_row[0]
        device_row = conn.execute(
            "SELECT id, revoked_at FROM devices WHERE user_id = %s AND name = %s",
            (user_id, device_name),
        ).fetchone()
        if device_row is not None and device_row[1] is None:
            return user_id, device_row[0]
        if device_row is not None:
            conn.execute("DELETE FROM devices WHERE id = %s", (device_row[0],))
        device_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO devices (id, user_id, name) VALUES (%s, %s, %s)",
            (device_id, user_id, device_name),
        )
    return user_id, device_id


def revoke_device(conn: psycopg.Connection[Any], user_name: str, device_name: str) -> bool:
    """Revoke a device's token; returns False if no such active device exists."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE devices SET revoked_at = now() FROM users"
            " WHERE devices.user_id = users.id AND users.name = %s AND devices.name = %s"
            " AND devices.revoked_at IS NULL",
            (user_name, device_name),
        )
        return cur.rowcount > 0


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


_DEVICE_STATE = "SELECT revoked_at FROM devices WHERE id = %s AND user_id = %s"


def _principal_of(secret: str, authorization: str | None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token — send 'Authorization: Bearer <token>'")
    try:
        return decode_token(secret, token)
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid bearer token: {exc}") from exc


def _check_device(row: tuple[Any, ...] | None) -> None:
    if row is None:
        raise _unauthorized("unknown device — create a new token with 'samplemind-hub token create'")
    if row[0] is not None:
        raise _unauthorized("this device's token was revoked — create a new one")


def check_authorization(state: Any, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer <token>`` header (sync: one database query).

    Args:
        state: the app's state, with ``jwt_secret`` and the connection ``pool``.
        authorization: the header's value, or None when absent.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate: Bearer`` when the token is missing,
            malformed, badly signed, expired, or its device is revoked or unknown.
    """
    principal = _principal_of(state.jwt_secret, authorization)
    pool: ConnectionPool = state.pool
    with pool.connection() as conn:
        _check_device(conn.execute(_DEVICE_STATE, (principal.device_id, principal.user_id)).fetchone())
    return principal


async def check_authorization_async(state: Any, authorization: str | None) -> Principal:
    """:func:`check_authorization` on the event loop, over the app's ``auth_pool``
    (a small ``AsyncConnectionPool``): no worker thread, one round trip to PostgreSQL.

    Raises:
        HTTPException: as :func:`check_authorization`.
    """
    principal = _principal_of(state.jwt_secret, authorization)
    pool: AsyncConnectionPool = state.auth_pool
    async with pool.connection() as conn:
        cur = await conn.execute(_DEVICE_STATE, (principal.device_id, principal.user_id))
        _check_device(await cur.fetchone())
    return principal


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the principal :class:`samplemind_hub.guard.RequestGuard` authenticated.

    The guard checks the token before the body is read and stores the principal in the
    request's state; a request that reached a route without it is refused.

    Raises:
        HTTPException: 401 when no principal was established.
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise _unauthorized("missing bearer token — send 'Authorization: Bearer <token>'")
    return principal


async def require_device(principal: Principal = Depends(authenticate)) -> Principal:
    """FastAPI dependency: a ``device``-scope principal (the data endpoints).

    Raises:
        HTTPException: 403 for a token of another scope (e.g. a metrics-only token).
    """
    if principal.scope != "device":
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"a {principal.scope!r} token may not use this endpoint; use a device token",
        )
    return principal


async def require_metrics(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
    """FastAPI dependency: a ``metrics``-scope principal, or any device token when
    ``HUB_METRICS_DEVICE_TOKENS`` opens ``/metrics`` to them.

    Raises:
        HTTPException: 403 for a device token while ``/metrics`` is closed to them.
    """
    if principal.scope == "metrics" or request.app.state.settings.metrics_device_tokens:
        return principal
    raise HTTPException(
        status_code=status.HTTP_403_FORBIDDEN,
        detail="/metrics needs a metrics token ('samplemind-hub token create --scope metrics')",
    )

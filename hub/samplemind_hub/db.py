"""PostgreSQL access for the hub: migrations, the connection pool, embedding spaces.

Migrations are the ``samplemind_hub/migrations/NNN_name.sql`` files, applied in order, each in its own
transaction, under a transaction-level advisory lock so that two hub replicas starting at once
never apply one twice. Applied versions are recorded in ``hub_schema_migrations``.

Every pooled connection has the pgvector types registered (``pgvector.psycopg.register_vector``),
so ``numpy`` float32 arrays go in and come out of ``vector`` columns.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from samplemind_hub import HubError

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_ADVISORY_KEY = 0x53414D50  # "SAMP": the migration lock's key


@dataclass(frozen=True)
class Migration:
    """One schema migration script."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The packaged migration scripts, sorted by version (1, 2, …, no gaps)."""
    found: list[Migration] = []
    for entry in resources.files("samplemind_hub.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise HubError(f"hub migrations are not numbered 1..n: {[m.name for m in found]}")
    return found


SCHEMA_VERSION = len(migrations())


def connect(database_url: str) -> psycopg.Connection[Any]:
    """Open one plain connection (no pgvector types; the extension may not exist yet).

    Raises:
        HubError: the server cannot be reached or refuses the login.
    """
    try:
        return psycopg.connect(database_url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise HubError(
            f"cannot connect to PostgreSQL at {redact(database_url)}: {exc} — check "
            "--database-url / HUB_DATABASE_URL, or leave it empty for the embedded server"
        ) from exc


def migrate(database_url: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns how many migrations ran.

    Raises:
        HubError: the database is newer than this hub, or a migration failed (for example the
            ``vector`` extension is not installed on the server and the role may not create it).
    """
    applied_now = 0
    with connect(database_url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hub_schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        for migration in migrations():
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_KEY,))
                done = conn.execute(
                    "SELECT 1 FROM hub_schema_migrations WHERE version = %s", (migration.version,)
                ).fetchone()
                if done:
                    continue
                try:
                    conn.execute(migration.sql)  # trusted packaged file, not a LiteralString
                except psycopg.Error as exc:
                    raise HubError(
                        f"hub migration {migration.name} failed: {exc} — if the vector extension "
                        "is missing, install pgvector >= 0.5.0 on the server and run "
                        "'CREATE EXTENSION vector' as a superuser"
                    ) from exc
                conn.execute(
                    "INSERT INTO hub_schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                applied_now += 1
        newest = conn.execute("SELECT max(version) FROM hub_schema_migrations").fetchone()
        if newest and newest[0] is not None and newest[0] > SCHEMA_VERSION:
            raise HubError(
                f"the hub database has schema version {newest[0]}, newer than this hub's "
                f"{SCHEMA_VERSION} — update samplemind-hub"
            )
    return applied_now


def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 10, hnsw_ef_search: int = 40) -> ConnectionPool:
    """Open the request connection pool.

    Every connection gets the pgvector types registered and ``hnsw.ef_search`` set (the HNSW
    candidate list size of queries; pgvector's default is 40). Connections are in autocommit
    mode: a lone read is one round trip (no BEGIN, no ROLLBACK when it goes back to the pool);
    writes group their statements with ``conn.transaction()``. Call after :func:`migrate` (the
    ``vector`` type must exist).
    """

    def configure(conn: psycopg.Connection[Any]) -> None:
        register_vector(conn)
        conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(int(hnsw_ef_search))))

    pool = ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        configure=configure,
        kwargs={"autocommit": True},
        open=False,
        timeout=10.0,
        name="hub",
    )
    pool.open(wait=True, timeout=30.0)
    return pool


async def open_auth_pool(database_url: str, *, max_size: int = 4) -> AsyncConnectionPool:
    """Open the small asyncio pool the request guard checks devices with (autocommit reads
    on the event loop, so authenticating a request costs no worker thread)."""
    pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True},
        open=False,
        timeout=10.0,
        name="hub-auth",
    )
    await pool.open(wait=True, timeout=30.0)
    return pool


def redact(database_url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", database_url)


@dataclass(frozen=True)
class Space:
    """A registered embedding space: its row id and fixed dimension."""

    id: int
    name: str
    dim: int


class SpaceRegistry:
    """The operator's embedding spaces by name, cached (a space's id and dimension never change).

    Spaces are registered by the operator (``samplemind-hub spaces add``; ``fingerprint/v1`` and
    ``clap-htsat-unfused/v1`` come with migration 002), never by an upload.
    """

    def __init__(self, *, hnsw_m: int = 16, hnsw_ef_construction: int = 64) -> None:
        self._cache: dict[str, Space] = {}
        self._lock = threading.Lock()
        self._m = hnsw_m
        self._ef_construction = hnsw_ef_construction

    def get(self, conn: psycopg.Connection[Any], name: str) -> Space | None:
        """The space called ``name``, or None if the operator has not registered it."""
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None:
            return cached
        row = conn.execute("SELECT id, name, dim FROM embedding_spaces WHERE name = %s", (name,)).fetchone()
        if row is None:
            return None
        space = Space(*row)
        with self._lock:
            self._cache[name] = space
        return space

    def register(self, conn: psycopg.Connection[Any], name: str, dim: int) -> Space:
        """Register a space with ``dim`` dimensions and its HNSW index; idempotent.

        Runs in the caller's transaction, so a space and its index appear together or not at all.

        Raises:
            HubError: the name is not ``model/version`` or ``dim`` is outside 1–2000, or the space
                exists with another dimension (a space's dimension never changes: register a new
                version instead).
        """
        from samplemind_hub.schemas import MAX_DIM, SPACE_PATTERN

        if not re.match(SPACE_PATTERN, name):
            raise HubError(f"space name {name!r} must look like 'model/version', e.g. 'clap-htsat-unfused/v2'")
        if not 1 <= dim <= MAX_DIM:
            raise HubError(f"dimension {dim} is outside 1–{MAX_DIM} (pgvector's HNSW limit)")
        row = conn.execute(
            "INSERT INTO embedding_spaces (name, dim) VALUES (%s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING id, name, dim",
            (name, dim),
        ).fetchone()
        if row is None:  # registered before (or by a concurrent call)
            existing = self.get(conn, name)
            assert existing is not None
            if existing.dim != dim:
                raise HubError(
                    f"space {name!r} is registered with {existing.dim} dimensions, not {dim}; "
                    "register a new version (e.g. 'model/v2') for another dimension"
                )
            return existing
        space = Space(*row)
        create_space_index(conn, space, m=self._m, ef_construction=self._ef_construction)
        return space


def list_spaces(conn: psycopg.Connection[Any]) -> list[tuple[Space, int, bool]]:
    """Every registered space with its vector count (all users) and whether its index exists."""
    rows = conn.execute(
        "SELECT s.id, s.name, s.dim,"
        " (SELECT count(*) FROM embeddings e WHERE e.space_id = s.id),"
        " EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'embeddings_hnsw_space_' || s.id)"
        " FROM embedding_spaces s ORDER BY s.name"
    ).fetchall()
    return [(Space(r[0], r[1], r[2]), int(r[3]), bool(r[4])) for r in rows]


def space_index_name(space: Space) -> str:
    """Name of the partial HNSW index of one space."""
    return f"embeddings_hnsw_space_{space.id}"


def create_space_index(conn: psycopg.Connection[Any], space: Space, *, m: int = 16, ef_construction: int = 64) -> None:
    """Create the space's partial HNSW index on ``embedding::vector(dim)`` (cosine distance).

    ``CREATE INDEX … USING hnsw (… vector_cosine_ops)`` exists since pgvector 0.5.0; ``m`` and
    ``ef_construction`` are its build parameters (pgvector defaults 16 and 64).
    """
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {index} ON embeddings USING hnsw"
            " ((embedding::vector({dim})) vector_cosine_ops)"
            " WITH (m = {m}, ef_construction = {efc}) WHERE space_id = {space}"
        ).format(
            index=sql.Identifier(space_index_name(space)),
            dim=sql.Literal(space.dim),
            m=sql.Literal(int(m)),
            efc=sql.Literal(int(ef_construction)),
            space=sql.Literal(space.id),
        )
    )


def drop_space_index(conn: psycopg.Connection[Any], space: Space) -> None:
    """Drop the space's HNSW index (before a bulk load; recreate it with :func:`create_space_index`)."""
    conn.execute(sql.SQL("DROP INDEX IF EXISTS {index}").format(index=sql.Identifier(space_index_name(space))))


def pgvector_version(conn: psycopg.Connection[Any]) -> str | None:
    """The installed pgvector extension version, e.g. ``"0.6.2"``."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return None if row is None else str(row[0])

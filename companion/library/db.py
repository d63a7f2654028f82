"""Opening the catalog database: SQLite in WAL mode with sqlite-vec, schema migrations.

This Python's ``sqlite3`` module cannot load extensions, so the catalog uses ``sqlean``
(sqlean.py, a drop-in DB-API 2 replacement that bundles SQLite with extension loading) and loads
sqlite-vec (https://github.com/asg017/sqlite-vec) into every connection.

The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` lists the scripts that
bring a catalog from version ``i`` to ``i + 1``. Opening an older catalog migrates it in one
transaction; opening a newer one raises :class:`CatalogError`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlean
import sqlite_vec

from companion.errors import CatalogError

Connection = Any  # sqlean.Connection; the binding ships no type stubs

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE samples (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,     -- absolute path
        root          TEXT NOT NULL,            -- the scanned folder it was found under
        folder        TEXT NOT NULL,            -- parent folder
        name          TEXT NOT NULL,            -- file name with extension
        size          INTEGER NOT NULL,         -- bytes
        mtime_ns      INTEGER NOT NULL,
        content_hash  TEXT,                     -- blake2b-128 hex of the bytes; NULL until hashed
        status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'analysed', 'problem', 'missing')),
        name_tags     TEXT NOT NULL DEFAULT '', -- space-separated words of folders and file name
        added_at      REAL NOT NULL,            -- unix s, when first found
        seen_at       REAL NOT NULL,            -- unix s, last scan that saw it on disk
        analysed_at   REAL
    );
    CREATE INDEX samples_status ON samples(status);
    CREATE INDEX samples_hash ON samples(content_hash);
    CREATE INDEX samples_root ON samples(root);

    -- Analyses are keyed by content, so a moved or copied file keeps its analysis.
    CREATE TABLE analyses (
        content_hash     TEXT PRIMARY KEY,
        analyser_version TEXT NOT NULL,
        duration_s       REAL NOT NULL,
        kind             TEXT NOT NULL,
        bpm              REAL,
        key_pc           INTEGER,
        mode             TEXT,
        pitched          INTEGER NOT NULL,
        loudness_lufs    REAL,
        analysis_json    TEXT NOT NULL,
        created_at       REAL NOT NULL
    );

    -- The producer's corrections win over every estimate and survive rescans and moves.
    CREATE TABLE overrides (
        content_hash TEXT PRIMARY KEY,
        bpm          REAL,
        key_pc       INTEGER,
        mode         TEXT,
        kind         TEXT,
        updated_at   REAL NOT NULL
    );

    CREATE TABLE problems (
        path      TEXT PRIMARY KEY,
        sample_id INTEGER,
        stage     TEXT NOT NULL,               -- 'decode', 'analyse', 'embed', 'stat'
        reason    TEXT NOT NULL,
        at        REAL NOT NULL
    );

    -- One row per (content, embedding space); the vector itself lives in the sqlite-vec
    -- table of its space (vec_<n>, rowid = embeddings.id), created on first use.
    CREATE TABLE embedding_spaces (
        id        INTEGER PRIMARY KEY,
        space     TEXT NOT NULL UNIQUE,        -- e.g. 'fingerprint/v1', 'clap-htsat-unfused/v1'
        dim       INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE embeddings (
        id           INTEGER PRIMARY KEY,
        space_id     INTEGER NOT NULL REFERENCES embedding_spaces(id),
        content_hash TEXT NOT NULL,
        created_at   REAL NOT NULL,
        UNIQUE (space_id, content_hash)
    );

    CREATE TABLE decisions (
        sample_id  INTEGER NOT NULL,
        decision   TEXT NOT NULL CHECK (decision IN ('pin', 'ban')),
        created_at REAL NOT NULL,
        PRIMARY KEY (sample_id, decision)
    );
    CREATE TABLE banned_folders (
        folder     TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    );

    -- Telemetry: every view/preview/accept/skip/pin/ban/dismiss, written with its outbox row
    -- in the same transaction as the action.
    CREATE TABLE events (
        event_id      TEXT PRIMARY KEY,        -- uuid4 hex; also the idempotency key
        type          TEXT NOT NULL,
        sample_id     INTEGER,
        content_hash  TEXT,
        session_id    TEXT NOT NULL,
        context_json  TEXT NOT NULL,
        metadata_json TEXT NOT NULL,
        created_at    REAL NOT NULL
    );
    CREATE INDEX events_session ON events(session_id, created_at);

    -- Persistent outbox for the sync client: a row is deleted only after the server acked it.
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT NOT NULL CHECK (kind IN ('event', 'embedding')),
        idempotency_key TEXT NOT NULL UNIQUE,
        payload_json    TEXT NOT NULL,
        created_at      REAL NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error      TEXT
    );

    -- Small persistent state: sync cursors, the cached shared fusion rules, settings.
    CREATE TABLE kv (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 1 -> 2: the producer may correct a sample's instrument (one of
    # companion.analysis.instruments.INSTRUMENTS), like its BPM, key and kind.
    """
    ALTER TABLE overrides ADD COLUMN instrument TEXT;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
_migrate_lock = threading.Lock()


def vec_table(space_row_id: int) -> str:
    """Name of the sqlite-vec ``vec0`` table that holds the vectors of one embedding space."""
    return f"vec_{int(space_row_id)}"


def connect(path: Path | str, *, readonly: bool = False, timeout_s: float = 30.0) -> Connection:
    """Open (and create or migrate) a catalog.

    Args:
        path: SQLite file; parent folders are created. ``":memory:"`` is allowed for tests.
        readonly: open with ``mode=ro`` (no migration; the file must exist).
        timeout_s: how long a writer waits for a lock before ``database is locked``.

    Returns:
        A ``sqlean`` connection in autocommit mode (``isolation_level=None``) with sqlite-vec
        loaded, WAL journal, ``synchronous=NORMAL`` and foreign keys on. Use
        :func:`transaction` for atomic groups of writes.

    Raises:
        CatalogError: the file is not a catalog, is corrupt, or is newer than this app.
    """
    target = str(path)
    try:
        if readonly:
            conn = sqlean.connect(
                f"file:{target}?mode=ro",
                uri=True,
                timeout=timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        else:
            if target != ":memory:":
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlean.connect(target, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        if not readonly:
            _migrate(conn, target)
        return conn
    except sqlean.DatabaseError as exc:
        raise CatalogError(
            f"cannot open the catalog {target}: {exc} — check the path, or move the file aside and rescan"
        ) from exc


def _migrate(conn: Connection, target: str) -> None:
    with _migrate_lock:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"the catalog {target} has schema version {version}, newer than this app's "
                f"{SCHEMA_VERSION} — update SampleMind Companion"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[step]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (no ``;`` inside our string literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class transaction:
    """``with transaction(conn):`` runs the block in ``BEGIN IMMEDIATE`` … ``COMMIT``.

    Rolls back on any exception (including KeyboardInterrupt), so a killed or interrupted
    writer never leaves a half-written group of rows.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __enter__(self) -> Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")

"""The catalog: the producer's samples, their analyses, corrections, problems and decisions.

The catalog (SQLite, WAL) is the source of truth on the desktop; vector indexes are derived from
it. :class:`Catalog` is a thin object over one connection; the scanner writes through it, the
CLI, the engine and the UI read through it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from companion.analysis.pipeline import ANALYSIS_VERSION
from companion.analysis.result import Analysis
from companion.errors import CatalogError
from companion.library import vectors
from companion.library.candidate_columns import CandidateColumns, read_candidate_columns
from companion.library.db import Connection, connect, transaction
from companion.library.path_tags import path_tags
from companion.library.search import INSTRUMENT_SQL, parse_instrument, word_clauses
from companion.music.keys import Key

#: Results of another analysis version are redone on the next scan (see the pipeline's constant).
ANALYSER_VERSION = ANALYSIS_VERSION


@dataclass(frozen=True)
class SampleRef:
    """A sample's identity: catalog id, absolute path and content hash (None until hashed)."""

    id: int
    path: str
    content_hash: str | None


@dataclass(frozen=True)
class SampleRow:
    """One sample as ``companion list`` shows it (user corrections applied).

    Attributes:
        duration_s: seconds; bpm: beats per minute; key: e.g. ``"A minor"``; loudness_lufs: LUFS.
        bpm_source: ``"user"``, ``"tag"``, ``"name"``, ``"estimate"``, or for a loop without a
            tempo the reason (``"no-pulse"``: a drone or held pad, ``bpm`` is None).
        beats_per_bar: 4 or 3 (3/4) for a loop whose tempo was estimated; None otherwise, and
            once the producer sets the tempo.
        instrument: one of :data:`companion.analysis.instruments.INSTRUMENTS` or None;
            instrument_source: ``"user"``, ``"tag"``, ``"name"`` or ``"estimate"``;
            instrument_confidence: in [0, 1] (1.0 for the producer's own correction).
    """

    id: int
    path: str
    name: str
    folder: str
    status: str
    content_hash: str | None
    duration_s: float | None
    kind: str | None
    bpm: float | None
    bpm_source: str | None
    key: str | None
    key_pc: int | None
    mode: str | None
    key_source: str | None
    loudness_lufs: float | None
    tags: list[str]
    added_at: float
    pitched: bool = False
    instrument: str | None = None
    instrument_source: str | None = None
    instrument_confidence: float | None = None
    beats_per_bar: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields of ``companion list --json``."""
        return {
            "id": self.id,
            "path": self.path,
            "status": self.status,
            "duration_s": self.duration_s,
            "kind": self.kind,
            "bpm": self.bpm,
            "bpm_source": self.bpm_source,
            "beats_per_bar": self.beats_per_bar,
            "key": self.key,
            "mode": self.mode,
            "key_source": self.key_source,
            "loudness_lufs": self.loudness_lufs,
            "tags": self.tags,
            "instrument": self.instrument,
            "instrument_source": self.instrument_source,
            "instrument_confidence": self.instrument_confidence,
        }


_ROW_SQL = """
SELECT s.id, s.path, s.name, s.folder, s.status, s.content_hash, s.name_tags, s.added_at,
       a.analysis_json, o.bpm, o.key_pc, o.mode, o.kind, o.instrument
FROM samples s
LEFT JOIN analyses a ON a.content_hash = s.content_hash
LEFT JOIN overrides o ON o.content_hash = s.content_hash
"""


def _row_filter(query: str | None, statuses: Sequence[str], instrument: str | None = None) -> tuple[str, list[Any]]:
    """`` WHERE …`` (or ``""``) and its arguments for the row query: the words of ``query``
    (:func:`~companion.library.search.word_clauses`), any of ``statuses`` (all when empty), one
    instrument (any synonym).

    Raises:
        UnknownInstrumentError: ``instrument`` names no instrument.
    """
    where, args = word_clauses(query)
    if statuses:
        where.append(f"s.status IN ({', '.join('?' * len(statuses))})")
        args += list(statuses)
    if instrument is not None:
        where.append(f"{INSTRUMENT_SQL} = ?")
        args.append(parse_instrument(instrument))
    return (" WHERE " + " AND ".join(where) if where else ""), args


class Catalog:
    """The catalog database of one library.

    Args:
        conn: an open connection from :func:`companion.library.db.connect`.
        path: the file it was opened from.
    """

    def __init__(self, conn: Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False) -> Catalog:
        """Open or create the catalog at ``path`` (migrating it if older).

        Raises:
            CatalogError: unreadable, corrupt or newer catalog.
        """
        return cls(connect(path, readonly=readonly), Path(path))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading samples
    def count(self, status: str | None = None) -> int:
        """Number of samples, optionally with one status."""
        n: int
        if status is None:
            n = self.conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            return n
        n = self.conn.execute("SELECT COUNT(*) FROM samples WHERE status = ?", (status,)).fetchone()[0]
        return n

    def rows(
        self, *, status: str | None = None, query: str | None = None, instrument: str | None = None
    ) -> Iterator[SampleRow]:
        """Samples with analysis and corrections applied, ordered by path.

        Args:
            status: only this status (``pending``, ``analysed``, ``problem``, ``missing``).
            query: words that must each occur in the path's tags or name (case-insensitive),
                or name the sample's instrument by any synonym (see
                :mod:`companion.library.search`).
            instrument: only samples of this instrument (any synonym: ``"bd"`` = kick).

        Raises:
            UnknownInstrumentError: ``instrument`` names no instrument.
        """
        where, args = _row_filter(query, () if status is None else (status,), instrument)
        for r in self.conn.execute(_ROW_SQL + where + " ORDER BY s.path", args):
            yield _to_row(r)

    def row_keys(self, *, statuses: Sequence[str] = (), query: str | None = None) -> list[tuple[int, str]]:
        """``(id, path)`` of the samples :meth:`rows` gives for ``query`` (any of ``statuses``;
        all when empty), without reading their analyses: cheap enough to rank thousands of
        search hits and then read only the rows kept (:meth:`get`). Not ordered.
        """
        where, args = _row_filter(query, statuses)
        sql = "SELECT s.id, s.path" + _ROW_SQL[_ROW_SQL.index("\nFROM") :] + where
        return [(int(r[0]), str(r[1])) for r in self.conn.execute(sql, args)]

    def pending_page(self, limit: int, *, under: str | None = None) -> tuple[list[SampleRow], int]:
        """The first ``limit`` samples indexed but not analysed yet (status ``pending``), by
        path, and how many there are in all (what a scan still has to analyse).

        Samples the producer banned, and samples under a banned folder, are left out (the
        ``decisions`` and ``banned_folders`` tables).

        Args:
            limit: most rows returned (0: only the count).
            under: only samples below this folder (absolute path), or None.

        Returns:
            ``(rows, total)``: at most ``limit`` rows ordered by path, and the number of pending
            samples that pass the same conditions (``total >= len(rows)``).
        """
        clause = (
            " WHERE s.status = 'pending'"
            " AND s.id NOT IN (SELECT sample_id FROM decisions WHERE decision = 'ban')"
            " AND NOT EXISTS (SELECT 1 FROM banned_folders b"
            " WHERE substr(s.path, 1, length(b.folder) + 1) = b.folder || '/')"
        )
        args: list[Any] = []
        if under is not None:
            prefix = under.rstrip("/") + "/"
            clause += " AND substr(s.path, 1, ?) = ?"
            args += [len(prefix), prefix]
        total: int = self.conn.execute("SELECT COUNT(*) FROM samples s" + clause, args).fetchone()[0]
        if limit <= 0 or total == 0:
            return [], total
        rows = self.conn.execute(_ROW_SQL + clause + " ORDER BY s.path LIMIT ?", [*args, limit]).fetchall()
        return [_to_row(r) for r in rows], total

    def find(self, path: str | Path) -> SampleRow | None:
        """The sample at ``path`` (resolved to an absolute path), or None."""
        target = str(Path(path).expanduser().resolve())
        r = self.conn.execute(_ROW_SQL + " WHERE s.path = ?", (target,)).fetchone()
        return None if r is None else _to_row(r)

    def get(self, sample_id: int) -> SampleRow | None:
        """The sample with this id, or None."""
        r = self.conn.execute(_ROW_SQL + " WHERE s.id = ?", (sample_id,)).fetchone()
        return None if r is None else _to_row(r)

    def problems(self) -> list[dict[str, Any]]:
        """Files that could not be read or analysed: path, stage, reason, when (unix s)."""
        return [
            {"path": r[0], "stage": r[1], "reason": r[2], "at": r[3]}
            for r in self.conn.execute("SELECT path, stage, reason, at FROM problems ORDER BY path")
        ]

    def record_problem(self, path: str | Path, stage: str, reason: str) -> bool:
        """Record that a catalogued file cannot be used, e.g. it failed to decode for audition.

        The sample's status becomes ``problem`` (so it is no longer a candidate once the engine
        reloads) and ``problems`` gets the row ``companion problems`` and the window list; the
        next scan that finds the file changed analyses it again and clears the row.

        Args:
            path: the file (as catalogued).
            stage: where it failed: ``"audition"``, ``"decode"``, ``"analyse"``, ``"embed"``.
            reason: the error message, e.g. ``"cannot play x.wav: Format not recognised"``.

        Returns:
            True when recorded; False when the file is not in the catalog.
        """
        target = os.path.abspath(os.path.expanduser(str(path)))  # as the scanner stores it
        with transaction(self.conn):
            row = self.conn.execute("SELECT id FROM samples WHERE path = ?", (target,)).fetchone()
            if row is None:
                return False
            self.conn.execute("UPDATE samples SET status = 'problem' WHERE id = ?", (row[0],))
            self.conn.execute(
                "INSERT OR REPLACE INTO problems (path, sample_id, stage, reason, at) VALUES (?,?,?,?,?)",
                (target, row[0], stage, reason, time.time()),
            )
        return True

    def stats(self) -> dict[str, Any]:
        """Counts per status and kind, embedding coverage per space, catalog size in bytes."""
        by_status = dict(self.conn.execute("SELECT status, COUNT(*) FROM samples GROUP BY status").fetchall())
        by_kind = dict(
            self.conn.execute(
                "SELECT a.kind, COUNT(*) FROM samples s JOIN analyses a ON a.content_hash = s.content_hash "
                "WHERE s.status = 'analysed' GROUP BY a.kind"
            ).fetchall()
        )
        with_bpm = self.conn.execute(
            "SELECT COUNT(*) FROM samples s JOIN analyses a ON a.content_hash = s.content_hash "
            "WHERE s.status = 'analysed' AND a.bpm IS NOT NULL"
        ).fetchone()[0]
        with_key = self.conn.execute(
            "SELECT COUNT(*) FROM samples s JOIN analyses a ON a.content_hash = s.content_hash "
            "WHERE s.status = 'analysed' AND a.key_pc IS NOT NULL"
        ).fetchone()[0]
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "catalog": str(self.path),
            "samples": sum(by_status.values()),
            "by_status": by_status,
            "by_kind": by_kind,
            "with_bpm": with_bpm,
            "with_key": with_key,
            "embedding_coverage": {
                space: {"with_vector": have, "analysed": total}
                for space, (have, total) in vectors.coverage(self.conn).items()
            },
            "problems": self.conn.execute("SELECT COUNT(*) FROM problems").fetchone()[0],
            "outbox": dict(self.conn.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()),
            "catalog_bytes": size,
        }

    # ---------------------------------------------------------------- corrections
    def set_override(
        self,
        path: str | Path,
        *,
        bpm: float | None = None,
        key: Key | None = None,
        kind: str | None = None,
        instrument: str | None = None,
    ) -> SampleRow:
        """Record the producer's correction of one sample; it wins over every estimate.

        Corrections are keyed by content hash, so they survive rescans, moves and
        re-analysis. Fields left None keep an earlier correction.

        Args:
            instrument: any word that names an instrument (``"kick"``, ``"bd"``, ``"hats"``);
                stored as its class, shown with source ``"user"``.

        Raises:
            CatalogError: the file is not in the catalog or not hashed yet.
            ValueError: bpm outside 20–999, kind not ``loop`` / ``one-shot``, or an
                instrument word that names no instrument (the message lists the classes).
        """
        row = self.find(path)
        if row is None or row.content_hash is None:
            raise CatalogError(f"{path} is not in the catalog yet — run `companion scan` on its folder first")
        if bpm is not None and not 20.0 <= bpm <= 999.0:
            raise ValueError(f"BPM {bpm} is outside 20–999")
        if kind is not None and kind not in ("loop", "one-shot"):
            raise ValueError(f"kind must be 'loop' or 'one-shot', not {kind!r}")
        instrument_class = None if instrument is None else parse_instrument(instrument)
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO overrides (content_hash, bpm, key_pc, mode, kind, instrument, updated_at) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(content_hash) DO UPDATE SET "
                "bpm = COALESCE(excluded.bpm, bpm), key_pc = COALESCE(excluded.key_pc, key_pc), "
                "mode = COALESCE(excluded.mode, mode), kind = COALESCE(excluded.kind, kind), "
                "instrument = COALESCE(excluded.instrument, instrument), "
                "updated_at = excluded.updated_at",
                (
                    row.content_hash,
                    bpm,
                    None if key is None else key.pitch_class,
                    None if key is None else key.mode,
                    kind,
                    instrument_class,
                    time.time(),
                ),
            )
        updated = self.get(row.id)
        assert updated is not None
        return updated

    # ---------------------------------------------------------------- embeddings
    def samples_missing_embedding(self, space: str) -> list[SampleRef]:
        """Analysed samples with no vector in ``space`` (for backfills)."""
        return [SampleRef(i, p, h) for i, p, h in vectors.missing(self.conn, space)]

    def put_embeddings(self, space: str, dim: int, items: Iterable[tuple[int, np.ndarray]]) -> int:
        """Store vectors of one space for samples given by id, in one transaction.

        Args:
            items: ``(sample_id, vector)``; vector (dim,) float32, L2-normalised.

        Returns:
            The number of vectors stored. The space's vector index is refreshed by the next
            :func:`companion.library.indexes.refresh_indexes` (the scanner and backfill call it).
        """
        pairs = list(items)
        hashes = (
            dict(
                self.conn.execute(
                    f"SELECT id, content_hash FROM samples WHERE id IN ({','.join('?' * len(pairs))})",
                    [sid for sid, _ in pairs],
                ).fetchall()
            )
            if pairs
            else {}
        )
        with transaction(self.conn):
            vectors.space_id(self.conn, space, dim)
            return vectors.put_vectors(self.conn, space, ((hashes[sid], vec) for sid, vec in pairs if hashes.get(sid)))

    def embedding_coverage(self) -> dict[str, tuple[int, int]]:
        """``space -> (analysed samples with a vector, analysed samples)``."""
        return vectors.coverage(self.conn)

    # ---------------------------------------------------------------- ranking input
    def candidate_columns(self) -> CandidateColumns:
        """Every analysed sample as columns (numpy arrays and string lists), ordered by path:
        the ranker's input (:meth:`companion.ranking.candidates.Candidates.from_columns`).

        Corrections are applied; tags are the path tags plus the analysis' own tags;
        ``instrument`` is the sample's instrument class or None. See
        :class:`companion.library.candidate_columns.CandidateColumns` for shapes and dtypes.
        """
        return read_candidate_columns(self.conn)


def _to_row(r: tuple[Any, ...]) -> SampleRow:
    (
        sid,
        path,
        name,
        folder,
        status,
        chash,
        name_tags,
        added_at,
        analysis_json,
        o_bpm,
        o_key_pc,
        o_mode,
        o_kind,
        o_instrument,
    ) = r
    a: dict[str, Any] = json.loads(analysis_json) if analysis_json else {}
    key_pc: Any  # from JSON or the overrides table: an int or None
    bpm, bpm_source, beats_per_bar = a.get("bpm"), a.get("bpm_source"), a.get("beats_per_bar")
    key_pc, mode, key_source = a.get("key_pc"), a.get("mode"), a.get("key_source")
    kind = a.get("kind")
    if o_bpm is not None:
        bpm, bpm_source, beats_per_bar = o_bpm, "user", None
    if o_key_pc is not None:
        key_pc, mode, key_source = o_key_pc, o_mode, "user"
    if o_kind is not None:
        kind = o_kind
    instrument = a.get("instrument")
    instrument_source, instrument_confidence = a.get("instrument_source"), a.get("instrument_confidence")
    if o_instrument is not None:
        instrument, instrument_source, instrument_confidence = o_instrument, "user", 1.0
    elif instrument is None:
        instrument_source = instrument_confidence = None
    tags = list(dict.fromkeys([*name_tags.split(), *a.get("tags", [])]))
    key = Key(int(key_pc), mode).name if key_pc is not None and mode in ("major", "minor") else None
    return SampleRow(
        id=sid,
        path=path,
        name=name,
        folder=folder,
        status=status,
        content_hash=chash,
        duration_s=a.get("duration_s"),
        kind=kind,
        bpm=bpm,
        bpm_source=bpm_source,
        key=key,
        key_pc=int(key_pc) if key else None,
        mode=mode if key else None,
        key_source=key_source if key else None,
        loudness_lufs=a.get("loudness_lufs"),
        tags=tags,
        added_at=added_at,
        pitched=bool(a.get("pitched", False)),
        instrument=instrument,
        instrument_source=instrument_source,
        instrument_confidence=instrument_confidence,
        beats_per_bar=beats_per_bar,
    )


def analysis_row(content_hash: str, analysis: Analysis) -> tuple[Any, ...]:
    """Values of one ``analyses`` row (see the schema in ``db.py``)."""
    return (
        content_hash,
        ANALYSER_VERSION,
        analysis.duration_s,
        analysis.kind,
        analysis.bpm,
        analysis.key_pc,
        analysis.mode,
        int(analysis.pitched),
        analysis.loudness_lufs,
        json.dumps(analysis.to_dict()),
        time.time(),
    )


def sample_tags(path: str, root: str) -> str:
    """The ``name_tags`` column value for a newly found file."""
    return " ".join(path_tags(path, root))

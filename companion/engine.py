"""The engine: one object that holds the library, the session and the ranker.

The CLI, the OSC bridge and the desktop app all talk to the library through :class:`Engine`:
it loads the catalog's candidates and vectors, keeps the session context and the producer's
decisions, ranks suggestions with the shared fusion rules, and records every decision as a
telemetry event (with its outbox row) in the same transaction as the decision itself.

Thread-safety: :meth:`suggest` may run on any thread; writes go through one lock-guarded
catalog connection.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from companion.errors import CatalogError
from companion.library import vectors
from companion.library.catalog import Catalog
from companion.library.db import transaction
from companion.library.events import record_event
from companion.library.indexes import load_or_build, update_in_place
from companion.ranking.candidates import Candidates
from companion.ranking.context import ContextStore, SessionContext
from companion.ranking.list_filter import ListFilter
from companion.ranking.ranker import EmbeddingSpaceData, Ranker, Suggestion
from companion.ranking.rules import FusionRules, load_default_rules
from companion.ranking.spaces import VectorSource
from companion.ranking.state import SessionState

log = logging.getLogger(__name__)

Mode = Literal["fusion", "rules"]


def load_rules(catalog: Catalog) -> FusionRules:
    """The shared fusion rules: the last good version pulled from the hub, else the packaged
    default (format 2, ``rules_v2.json``)."""
    try:
        from companion.sync.rules_cache import cached_rules
    except ImportError:  # the sync package is optional at this layer
        return load_default_rules()
    return cached_rules(catalog.conn) or load_default_rules()


class Engine:
    """Library + session + ranker.

    Args:
        catalog: the open catalog.
        rules: fusion rules (default: :func:`load_rules`).
        default_mode: ``fusion`` or ``rules`` (``RECS_RECOMMENDATION_MODE``).
        text_embedder: optional CLAP embedder with ``space`` and ``embed_text(texts) -> (m, 512)``
            for mood/genre/prompt vectors.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        rules: FusionRules | None = None,
        default_mode: Mode = "fusion",
        text_embedder: Any | None = None,
    ) -> None:
        self.catalog = catalog
        self.rules = rules or load_rules(catalog)
        self.default_mode: Mode = default_mode
        self.text_embedder = text_embedder
        self.context = ContextStore()
        self.session_id = uuid.uuid4().hex
        self.state = SessionState()
        self._lock = threading.RLock()
        self._reload_lock = threading.Lock()
        self._prompt_cache: dict[tuple[str, str], np.ndarray] = {}
        self.ranker: Ranker
        self.reload()

    @classmethod
    def open(cls, db_path: Path | str, *, default_mode: Mode | None = None, text_embedder: Any | None = None) -> Engine:
        """Open the catalog at ``db_path`` and build the engine (no CLAP: a session loads it,
        :class:`companion.app.session.Session`).

        Raises:
            CatalogError: no catalog there (run a scan first) or an unusable one.
        """
        from companion.settings import get_settings

        path = Path(db_path)
        if not path.exists():
            raise CatalogError(f"no catalog at {path} — run `companion scan FOLDER` first")
        catalog = Catalog.open(path)
        mode = default_mode or get_settings().recommendation_mode
        return cls(catalog, default_mode=mode, text_embedder=text_embedder)

    def close(self) -> None:
        """Close the catalog."""
        self.catalog.close()

    def set_text_embedder(self, text_embedder: Any | None) -> None:
        """Use another CLAP embedder (or none) for prompts from the next ranking on (a model
        fetched or chosen while the session runs); waits for a ranking in progress."""
        with self._lock:
            self.text_embedder = text_embedder

    # ------------------------------------------------------------------ library
    def reload(self, *, save_indexes: bool = True) -> None:
        """Re-read candidates, vectors and decisions from the catalog (after a scan).

        Args:
            save_indexes: write a vector index rebuilt here to its file (False while a scan
                runs: the scan process writes those files when it ends).

        The new ranker is built without holding the engine's lock and swapped in at the end,
        so suggestions keep following the context meanwhile. The candidates are read as
        columns (:meth:`Catalog.candidate_columns`), so a library holds a few arrays and
        string lists, not a Python object per sample for the garbage collector to walk.

        When only a few vectors of a space changed, the live index is updated in place
        (:func:`companion.library.indexes.update_in_place`) rather than read again from disk.
        """
        with self._reload_lock:
            cands = Candidates.from_columns(self.catalog.candidate_columns())
            previous = {s.space: s for s in getattr(self, "spaces", ())}
            spaces = []
            for space, _dim in sorted(vectors.spaces(self.catalog.conn), key=lambda s: s[0].startswith("fingerprint")):
                ids, vecs = vectors.load_space(self.catalog.conn, space)
                before = previous.get(space)
                if (
                    before is not None
                    and before.index is not None
                    and len(ids)
                    and update_in_place(before.index, before.ids, before.vectors, ids, vecs)
                ):
                    index = before.index  # a few files changed: no GIL-holding index read
                else:
                    ids, vecs, index = load_or_build(self.catalog, space, ids, vecs, save=save_indexes)
                if len(ids) == 0:
                    continue
                source: VectorSource = "fingerprint" if space.startswith("fingerprint") else "clap"
                spaces.append(EmbeddingSpaceData(space=space, source=source, ids=ids, vectors=vecs, index=index))
            ranker = Ranker(cands, spaces, self.rules)
            with self._lock:
                self.spaces = spaces
                self.candidates = cands
                self._load_decisions()
                self.ranker = ranker

    def _load_decisions(self) -> None:
        conn = self.catalog.conn
        self.state.banned_ids = {r[0] for r in conn.execute("SELECT sample_id FROM decisions WHERE decision = 'ban'")}
        self.state.pinned = {r[0] for r in conn.execute("SELECT sample_id FROM decisions WHERE decision = 'pin'")}
        self.state.banned_folders = {r[0] for r in conn.execute("SELECT folder FROM banned_folders")}

    def sample_id_of(self, path: str | Path) -> int | None:
        """Catalog id of the sample at ``path``, or None."""
        row = self.catalog.find(path)
        return None if row is None else row.id

    # ------------------------------------------------------------------ ranking
    def suggest(
        self,
        top_k: int = 10,
        mode: Mode | None = None,
        context: SessionContext | None = None,
        instrument: str | None = None,
        list_filter: ListFilter | None = None,
    ) -> list[Suggestion]:
        """Ranked suggestions for the current (or given) context.

        Args:
            instrument: only samples of this instrument (any synonym) — for this call only.
            list_filter: the producer's list filter (:class:`~companion.ranking.list_filter.ListFilter`),
                applied before the ``top_k`` are chosen.

        Returns:
            At most ``top_k`` suggestions, each with score, components, source and rationale.

        Raises:
            CompanionError: ``instrument`` names no instrument (the message lists them).
        """
        ctx = context or self.context.snapshot()
        with self._lock:
            prompts = self._prompt_vectors(ctx)
            return self.ranker.suggest(
                ctx,
                self.state,
                mode=mode or self.default_mode,
                top_k=top_k,
                prompt_vectors=prompts,
                instrument=instrument,
                list_filter=list_filter,
            )

    def similar(self, paths: Sequence[str | Path], top_k: int = 10) -> dict[str, list[dict[str, Any]]]:
        """Nearest neighbours of each query file ("more like this").

        Returns:
            ``query path -> [{"path", "score", "id", "instrument"}]`` ranked by cosine
            similarity in the best space that holds the query (CLAP first, then fingerprint);
            under format-2 rules the same instrument as the query adds its boost to the score.

        Raises:
            CatalogError: a query file is not in the catalog or has no vector.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            for p in paths:
                row = self.catalog.find(p)
                if row is None:
                    raise CatalogError(f"{p} is not in the catalog — scan its folder first")
                result = self.ranker.similar([row.id], top_k=top_k)[0]
                rows = self.candidates.rows_of([i for i, _ in result]).tolist()
                out[row.path] = [
                    {
                        "id": int(i),
                        "path": self.candidates.paths[r] if r >= 0 else "",
                        "score": round(float(s), 6),
                        "instrument": self.candidates.instrument_of(r) if r >= 0 else None,
                    }
                    for (i, s), r in zip(result, rows, strict=True)
                ]
        return out

    def _prompt_vectors(self, ctx: SessionContext) -> Mapping[str, np.ndarray] | None:
        if self.text_embedder is None:
            return None
        words = ctx.prompt_words()
        if not words:
            return None
        space = self.text_embedder.space
        missing = [w for w in words if (space, w) not in self._prompt_cache]
        if missing:
            vecs = self.text_embedder.embed_text(missing)
            for w, v in zip(missing, vecs):
                self._prompt_cache[(space, w)] = v
        return {space: np.stack([self._prompt_cache[(space, w)] for w in words])}

    # ------------------------------------------------------------------ decisions
    def record(self, event_type: str, sample_id: int | None = None, **metadata: Any) -> str:
        """Record a telemetry event (view, preview, skip …) with its outbox row."""
        with self._lock:
            return self._record(event_type, sample_id, metadata, in_transaction=False)

    def _record(
        self, event_type: str, sample_id: int | None, metadata: Mapping[str, Any], *, in_transaction: bool
    ) -> str:
        chash = None
        if sample_id is not None:
            row = self.catalog.conn.execute("SELECT content_hash FROM samples WHERE id = ?", (sample_id,)).fetchone()
            chash = None if row is None else row[0]
        return record_event(
            self.catalog.conn,
            event_type,
            session_id=self.session_id,
            sample_id=sample_id,
            content_hash=chash,
            context=self.context.snapshot().to_json(),
            metadata=dict(metadata),
            in_transaction=in_transaction,
        )

    def accept(self, sample_id: int, *, record: bool = True, **metadata: Any) -> None:
        """The producer used this sample: it joins the similarity target and is not suggested again.

        Args:
            record: write an ``accept`` telemetry event (False when the sample is only given as
                context, e.g. ``companion suggest --accepted``).
        """
        with self._lock:
            if sample_id in self.state.accepted:
                self.state.accepted.remove(sample_id)
            self.state.accepted.append(sample_id)
            if record:
                self._record("accept", sample_id, metadata, in_transaction=False)

    def accept_path(self, path: str | Path, *, record: bool = True, **metadata: Any) -> int | None:
        """:meth:`accept` by path (the DAW reports paths); returns the id, None if unknown."""
        sid = self.sample_id_of(path)
        if sid is None:
            log.info("accepted sample %s is not in the catalog; ignored", path)
            return None
        self.accept(sid, record=record, **metadata)
        return sid

    def dismiss(self, sample_id: int, **metadata: Any) -> None:
        """Hide a suggestion for the rest of the session (telemetry ``skip``)."""
        with self._lock:
            self.state.dismissed.add(sample_id)
            self._record("skip", sample_id, metadata, in_transaction=False)

    def undismiss(self, sample_id: int) -> None:
        """Undo :meth:`dismiss`."""
        with self._lock:
            self.state.dismissed.discard(sample_id)
            self._record("undo", sample_id, {"undid": "skip"}, in_transaction=False)

    def set_decision(self, sample_id: int, decision: Literal["pin", "ban"], on: bool = True) -> None:
        """Pin/unpin or ban/unban a sample; persisted with its event in one transaction."""
        with self._lock, transaction(self.catalog.conn) as conn:
            if on:
                conn.execute(
                    "INSERT OR IGNORE INTO decisions (sample_id, decision, created_at) VALUES (?,?,?)",
                    (sample_id, decision, time.time()),
                )
            else:
                conn.execute("DELETE FROM decisions WHERE sample_id = ? AND decision = ?", (sample_id, decision))
            self._record(decision if on else f"un{decision}", sample_id, {}, in_transaction=True)
            target = self.state.pinned if decision == "pin" else self.state.banned_ids
            (target.add if on else target.discard)(sample_id)

    def ban_folder(self, folder: str | Path, on: bool = True) -> None:
        """Ban (or unban) every sample under a folder."""
        folder_s = str(Path(folder).expanduser().resolve())
        with self._lock, transaction(self.catalog.conn) as conn:
            if on:
                conn.execute(
                    "INSERT OR IGNORE INTO banned_folders (folder, created_at) VALUES (?,?)", (folder_s, time.time())
                )
            else:
                conn.execute("DELETE FROM banned_folders WHERE folder = ?", (folder_s,))
            self._record("ban" if on else "unban", None, {"folder": folder_s}, in_transaction=True)
            (self.state.banned_folders.add if on else self.state.banned_folders.discard)(folder_s)

"""One producer session: the object the window and every command drive.

A :class:`Session` is assembled the same way for ``companion gui``, ``companion listen`` and
``companion suggest``/``search``, so they cannot drift apart:

* the :class:`~companion.engine.Engine` (catalog, vectors, ranker, decisions), with CLAP for
  text prompts when a model is installed (:mod:`companion.app.clap`);
* the :class:`~companion.bridge.follower.ContextFollower`, which re-ranks on its own thread
  after every context change and coalesces floods; each ranked list goes to the client's
  ``on_result`` and to the OSC listener's push clients;
* the context sources the settings enable (:class:`~companion.app.sources.ContextSources`: OSC
  listener, AbletonOSC, Ableton Link) plus manual edits (:meth:`edit_context`);
* search and "more like this" with bans applied (:mod:`companion.app.search`);
* audition planning: an :class:`~companion.preview.audition.Auditioner` rendering in the
  session's tempo and key;
* sync with the central service (:class:`~companion.app.sync.SyncRunner`).

The data path from a DAW packet to a repainted list is drawn in ``docs/architecture.md``.

Threading: nothing here needs Qt. :meth:`open` and :meth:`start` block (catalog, CLAP, sockets)
and the window calls them on a worker; results arrive on the follower's thread through
``on_result``. :meth:`close` may be called from any thread, once the client is done.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.app.clap import ClapLoad, ClapSpec, load_text_embedder, vectors_missing
from companion.app.search import DEFAULT_LIMIT, SearchResult, allowed_ids, search_library
from companion.app.sources import ContextSources, SourceState
from companion.app.sync import SyncRunner
from companion.bridge.follower import ContextFollower, FollowResult
from companion.engine import Engine, Mode
from companion.errors import CatalogError, CompanionError
from companion.library.catalog import Catalog
from companion.ranking.context import SessionContext
from companion.ranking.list_filter import ListFilter
from companion.ranking.ranker import Suggestion
from companion.settings import Settings, write_json_atomic

log = logging.getLogger(__name__)

#: Context fields kept between runs (:meth:`Session.save_context`); the transport state and the
#: time remaining describe the moment, not the song, and start empty.
SAVED_CONTEXT_FIELDS: tuple[str, ...] = ("bpm", "key", "mood_tags", "genre", "prompt")


def list_filter_of(settings: Settings) -> ListFilter:
    """The list filter the settings hold (``filter_*`` fields)."""
    return ListFilter(
        kind=settings.filter_kind,
        instrument=settings.filter_instrument,
        bpm=settings.filter_bpm,
        length_s=settings.filter_length_s,
        folder=settings.filter_folder,
        favourites=settings.filter_favourites,
    )


def filter_settings(list_filter: ListFilter) -> dict[str, Any]:
    """The ``filter_*`` settings fields of a list filter (for :meth:`SettingsStore.edit`)."""
    return {
        "filter_kind": list_filter.kind,
        "filter_instrument": list_filter.instrument,
        "filter_bpm": list_filter.bpm,
        "filter_length_s": list_filter.length_s,
        "filter_folder": list_filter.folder,
        "filter_favourites": list_filter.favourites,
    }


class Session:
    """Engine, context follower, context sources, search, audition and sync of one run.

    Args:
        settings: the effective settings (:class:`~companion.settings.SettingsStore`'s).
        on_result: receives every ranked list (:class:`~companion.bridge.follower.FollowResult`
            whose ``suggestions`` are :class:`~companion.ranking.ranker.Suggestion`), on the
            follower thread.
        on_source_state: receives each context source's state changes (any thread).
        on_sync_status: receives one-line sync statuses (any thread).
        context_file: where :meth:`save_context` / :meth:`restore_context` keep the context
            between runs (the window: ``context.json`` beside the settings file); None: never.

    Attributes:
        engine: the open engine (None before :meth:`open`).
        clap: how loading CLAP went (None before :meth:`open`).
        sources: the context sources (None before :meth:`start`).
        auditioner: the audition renderer/player (None until :meth:`open_audition`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        on_result: Callable[[FollowResult], None] | None = None,
        on_source_state: Callable[[SourceState], None] | None = None,
        on_sync_status: Callable[[str], None] | None = None,
        context_file: Path | None = None,
    ) -> None:
        self.settings = settings
        self.context_file = context_file
        self.catalog_path: Path = settings.catalog_path()
        self.mode: Mode = settings.recommendation_mode
        self.top_k = settings.top_k
        self.list_filter = list_filter_of(settings)
        self.engine: Engine | None = None
        self.clap: ClapLoad | None = None
        self.follower: ContextFollower | None = None
        self.sources: ContextSources | None = None
        self.auditioner: Any | None = None
        self._on_result = on_result
        self._on_source_state = on_source_state
        self.sync = SyncRunner(self.catalog_path, on_sync_status)
        self._lifecycle = threading.Lock()
        self._closed = False

    # ================================================================== lifecycle
    def open(self, *, create: bool = True, use_clap: bool | None = None) -> Engine:
        """Open the catalog, load CLAP and build the engine (seconds on a large library).

        Args:
            create: create an empty catalog when there is none (the window); False: a command
                that needs a scanned library fails instead.
            use_clap: override ``settings.use_clap`` (False: never load a model).

        Raises:
            CatalogError: no catalog (with ``create=False``) or an unusable one.
        """
        if not create and not self.catalog_path.exists():
            raise CatalogError(f"no catalog at {self.catalog_path} — run `companion scan FOLDER` first")
        catalog = Catalog.open(self.catalog_path)
        try:
            if use_clap is False or (use_clap is None and not self.settings.use_clap):
                self.clap = ClapLoad(None)
            else:
                self.clap = load_text_embedder(self.settings.model_copy(update={"use_clap": True}))
            self.engine = Engine(catalog, default_mode=self.mode, text_embedder=self.clap.embedder)
        except BaseException:
            catalog.close()
            raise
        return self.engine

    def reload_clap(self, model_dir: Path | None = None) -> ClapLoad:
        """Load CLAP again and use it from the next ranking and search on (a model was just
        fetched, or another one chosen); re-ranks.

        Blocks while the model loads (seconds): call it on a worker.

        Args:
            model_dir: the model folder (default: ``settings.clap_model_dir``, else the
                installed default model).

        Returns:
            How loading went (also in :attr:`clap`); a model that cannot be used leaves the
            session on the fingerprint embedding and says why.

        Raises:
            CompanionError: the session is not open.
        """
        engine = self._engine()
        if self.settings.use_clap:
            load = load_text_embedder(self.settings, model_dir)
        else:
            load = ClapLoad(None, "CLAP is off (RECS_USE_CLAP=false)")
        engine.set_text_embedder(load.embedder)
        self.clap = load
        self.refresh()
        return load

    def clap_searchable(self) -> bool:
        """True when text search goes through CLAP: a model is loaded and the library holds
        vectors in its space (else it matches names and tags, e.g. before a backfill)."""
        engine = self.engine
        if engine is None or engine.text_embedder is None:
            return False
        space = engine.text_embedder.space
        return any(s.space == space for s in engine.spaces)

    def clap_spec(self) -> ClapSpec | None:
        """The loaded CLAP model, for a scan in another process to embed with (None: none loaded)."""
        engine = self.engine
        return ClapSpec.of(engine.text_embedder if engine is not None else None, self.settings)

    def clap_vectors_missing(self, catalog: Catalog | None = None) -> int:
        """Analysed samples without a vector of the loaded CLAP model (0 when none is loaded): a
        scan with :meth:`clap_spec` embeds them. Runs two or three counting queries.

        Args:
            catalog: a catalog connection for the calling thread (default: the engine's).
        """
        engine = self.engine
        if engine is None or engine.text_embedder is None:
            return 0
        return vectors_missing(catalog or engine.catalog, engine.text_embedder.space)

    def start(self) -> list[SourceState]:
        """Start following the context: the follower thread and the sources the settings enable.

        Returns:
            Every source's state (a source that could not start is ``error``, with why).

        Raises:
            CompanionError: the session is not open.
        """
        engine = self._engine()
        with self._lifecycle:
            if self.follower is None:
                self.follower = ContextFollower(engine.context, self.rank, self._ranked, accept=engine.accept_path)
                self.follower.start()
                self.sources = ContextSources(
                    self.follower.apply,
                    snapshot=lambda: engine.context.snapshot().to_json(),
                    on_state=self._on_source_state,
                )
            assert self.sources is not None
            return self.sources.apply_settings(self.settings)

    def apply_settings(self, settings: Settings) -> list[SourceState]:
        """New effective settings: :meth:`apply_preferences`, then :meth:`restart_sources`.

        Blocks while sources restart (sockets close, threads join): call it off the GUI thread.
        Returns every source's state.
        """
        self.apply_preferences(settings)
        return self.restart_sources(settings)

    def apply_preferences(self, settings: Settings) -> None:
        """The part of new settings that never blocks: mode and list length (re-ranks when
        either changed), audition follow-tempo/key, and sync (restarted when the hub URL or
        token changed). Sources keep running: :meth:`restart_sources` moves them."""
        old, self.settings = self.settings, settings
        new_filter = list_filter_of(settings)
        rerank = (settings.recommendation_mode, settings.top_k, new_filter) != (self.mode, self.top_k, self.list_filter)
        self.mode, self.top_k, self.list_filter = settings.recommendation_mode, settings.top_k, new_filter
        if self.auditioner is not None:
            self.auditioner.follow_tempo = settings.follow_tempo
            self.auditioner.follow_key = settings.follow_key
        if (settings.sync_url, settings.sync_token) != (old.sync_url, old.sync_token):
            self.start_sync()
        if rerank:
            self.refresh()

    def restart_sources(self, settings: Settings) -> list[SourceState]:
        """Restart the context sources whose settings changed (OSC port/host, AbletonOSC, Link).

        Blocks while sources restart: call it off the GUI thread. Returns every source's state
        (``[]`` before :meth:`start`).
        """
        with self._lifecycle:
            if self.sources is None:
                return []
            return self.sources.apply_settings(settings)

    def close(self, *, sync_join_s: float = 5.0) -> None:
        """Stop the sources, the follower and sync; release the audio device and the catalog.

        Idempotent. Blocks while the sources' threads stop (well under a second).

        Args:
            sync_join_s: wait this long for the sync loop's request in flight (s); 0: do not
                wait (the window: the daemon thread ends on its own, its outbox is durable).
        """
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
            if self.sources is not None:
                self.sources.stop()
            if self.follower is not None:
                self.follower.stop()
            self.sync.stop()
            if self.auditioner is not None:
                self.auditioner.close()
            if sync_join_s > 0:
                self.sync.join(timeout=sync_join_s)
            if self.engine is not None:
                self.engine.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def _engine(self) -> Engine:
        if self.engine is None:
            raise CompanionError("the session is not open")
        return self.engine

    # ================================================================== ranking and context
    def rank(self) -> list[Suggestion]:
        """Ranked suggestions for the current context (``top_k``, ``mode``, :attr:`list_filter`).

        An instrument filter that names no instrument is dropped for this list (logged) rather
        than leaving the producer without suggestions.
        """
        engine = self._engine()
        try:
            return engine.suggest(top_k=self.top_k, mode=self.mode, list_filter=self.list_filter)
        except CompanionError as exc:
            if self.list_filter.instrument is None:
                raise
            log.warning("list filter ignored for its instrument: %s", exc)
            return engine.suggest(
                top_k=self.top_k, mode=self.mode, list_filter=self.list_filter.with_changes(instrument=None)
            )

    def set_list_filter(self, list_filter: ListFilter) -> None:
        """Show suggestions through this filter from now on; re-ranks when it changed."""
        if list_filter != self.list_filter:
            self.list_filter = list_filter
            self.refresh()

    def _ranked(self, result: FollowResult) -> None:
        """Follower thread: hand the list to the client, then to the OSC listener's push clients."""
        if self._on_result is not None:
            self._on_result(result)
        listener = self.sources.osc if self.sources is not None else None
        if listener is not None and listener.clients():
            listener.push_suggestions(result.seq, result.latency_ms, [(s.path, s.score) for s in result.suggestions])

    def refresh(self) -> None:
        """Re-rank now (after a decision, a scan, a mode change)."""
        if self.follower is not None:
            self.follower.refresh()

    def set_mode(self, mode: Mode) -> None:
        """``fusion`` or ``rules`` for the next rankings.

        Raises:
            CompanionError: another mode.
        """
        if mode not in ("fusion", "rules"):
            raise CompanionError(f"mode must be fusion or rules, not {mode!r}")
        self.mode = mode
        self.refresh()

    def edit_context(self, **fields: Any) -> None:
        """A manual context edit (source ``manual``); the follower re-ranks.

        Raises:
            CompanionError: a field is unknown or its value invalid (ContextError).
        """
        self._engine().context.update("manual", **fields)

    def context(self) -> SessionContext:
        """The current context (empty before :meth:`open`)."""
        return self.engine.context.snapshot() if self.engine is not None else SessionContext()

    def save_context(self) -> bool:
        """Write the context's lasting fields (:data:`SAVED_CONTEXT_FIELDS`: tempo, key, mood
        tags, genre, prompt — not the transport or the time remaining) to :attr:`context_file`,
        atomically (temp file + rename), whichever source set them.

        Blocks on a small file write (well under a millisecond): call it off the GUI thread,
        except at close. Returns False when there is no file or engine, or the write failed
        (logged; the context is only a convenience).
        """
        if self.context_file is None or self.engine is None:
            return False
        ctx = self.engine.context.snapshot().to_json()
        doc = {"version": 1, "context": {k: ctx[k] for k in (*SAVED_CONTEXT_FIELDS, "mode")}}
        try:
            write_json_atomic(self.context_file, doc)
        except OSError as exc:
            log.warning("cannot save the context to %s: %s", self.context_file, exc)
            return False
        return True

    def restore_context(self) -> SessionContext | None:
        """Set the context saved by :meth:`save_context` (source ``restored``), so the first
        list of this run is for the last context; any later packet or edit overrides a field
        as usual. Only fields that hold a value are set.

        Returns:
            The restored context, or None: no file, no engine, or an unreadable file (logged
            and ignored: a context is never worth failing a start for).
        """
        if self.context_file is None or self.engine is None or not self.context_file.exists():
            return None
        try:
            doc = json.loads(self.context_file.read_text(encoding="utf-8"))
            saved = SessionContext.from_json(
                {k: v for k, v in doc["context"].items() if k in (*SAVED_CONTEXT_FIELDS, "mode")}
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, CompanionError) as exc:
            log.warning("cannot read the saved context %s (%s); starting without it", self.context_file, exc)
            return None
        fields = {k: getattr(saved, k) for k in SAVED_CONTEXT_FIELDS if getattr(saved, k) not in (None, ())}
        if not fields:
            return None
        return self.engine.context.update("restored", **fields)

    # ================================================================== search
    def search(self, text: str, *, catalog: Catalog | None = None, limit: int = DEFAULT_LIMIT) -> SearchResult:
        """Search the library (CLAP when loaded, else names and tags), bans applied.

        Args:
            catalog: a catalog connection for the calling thread (default: the engine's).
        """
        engine = self._engine()
        return search_library(engine, catalog or engine.catalog, text, limit)

    def similar(self, path: str, top_k: int = 10) -> list[dict[str, Any]]:
        """Samples that sound like the one at ``path``, bans applied.

        Returns:
            ``[{"id", "path", "score", "instrument"}]``, best first (see :meth:`Engine.similar`).

        Raises:
            CatalogError: the file is not in the catalog or has no vector.
        """
        engine = self._engine()
        ids, allowed = allowed_ids(engine)
        hits = next(
            iter(
                engine.similar([path], top_k=top_k + (len(ids) - len(allowed) if allowed is not None else 0)).values()
            ),
            [],
        )
        if allowed is not None:
            ok = set(allowed.tolist())
            hits = [h for h in hits if h["id"] in ok]
        return hits[:top_k]

    # ================================================================== audition
    def open_audition(
        self, *, audio: bool = True, on_state: Callable[[str], None] | None = None
    ) -> tuple[Any, str | None]:
        """Create the auditioner (renders in the session's tempo and key) and, with ``audio``,
        open the output device of the settings.

        Returns:
            ``(auditioner, problem)``: problem says why no device could be opened (the
            auditioner then renders and exports but does not play).
        """
        from companion.errors import AudioOutputError
        from companion.preview.audition import Auditioner

        player, problem = None, None
        if audio:
            try:
                from companion.preview.player import Player

                player = Player(self.settings.audio_device, volume=self.settings.volume, on_state=on_state)
            except AudioOutputError as exc:
                log.warning("%s", exc)
                problem = str(exc)
        self.auditioner = Auditioner(
            player, follow_tempo=self.settings.follow_tempo, follow_key=self.settings.follow_key
        )
        return self.auditioner, problem

    def report_unplayable(self, path: str, reason: str, *, catalog: Catalog | None = None) -> bool:
        """A catalogued file failed to decode for audition: record it as a problem (stage
        ``audition``) so ``companion problems`` and the window's Problems list show it, reload
        the engine (the file stops being suggested) and re-rank.

        Blocks on the catalog and the reload: call it on a worker (the window's ``db`` pool).

        Args:
            path: the file that failed.
            reason: the :class:`~companion.errors.AudioDecodeError` message.
            catalog: a catalog connection for the calling thread (default: the engine's).

        Returns:
            True when recorded; False when the file is not in the catalog, or is gone from
            disk (a missing file is the scanner's to mark ``missing``: an unplugged drive's
            samples come back unchanged, and a problem would hide them until they change).
        """
        engine = self._engine()
        if not Path(path).is_file():
            return False
        recorded = (catalog or engine.catalog).record_problem(path, "audition", reason)
        if recorded:
            log.warning("cannot audition %s: %s", path, reason)
            engine.reload()
            self.refresh()
        return recorded

    def plan_audition(self, audition: Any) -> Any:
        """How an :class:`~companion.preview.audition.AuditionItem` will sound in this session's
        tempo and key (a :class:`~companion.preview.plan.PreviewPlan`).

        Raises:
            CompanionError: :meth:`open_audition` was not called.
        """
        if self.auditioner is None:
            raise CompanionError("no auditioner: call open_audition first")
        ctx = self.context()
        return self.auditioner.plan(audition, ctx.bpm, ctx.key)

    # ================================================================== sync
    def start_sync(self) -> None:
        """(Re)start sync with the settings' hub URL and token (off when either is empty). Never blocks."""
        self.sync.start(self.settings.sync_url, self.settings.sync_token)

"""Suggestions follow the session: apply bridge updates to the context store, re-rank the latest.

:class:`ContextFollower` sits between the listeners (OSC, AbletonOSC, Link) and the ranker:

* :meth:`ContextFollower.apply` is the listeners' ``on_update`` sink. It runs on the listener
  thread, applies the update to the :class:`~companion.ranking.context.ContextStore` in **one**
  store call (a bundle with ``/context/reset`` and new values never shows an empty context in
  between) and returns at once.
* A worker thread re-ranks whenever the context changed — from any source, manual edits in the
  UI included — and hands a :class:`FollowResult` to ``on_result``. Changes that arrive while it
  ranks are **coalesced**: the next ranking answers all of them with the latest context, so a
  flood of packets costs one pending flag, never a growing queue.
* A change rarely comes alone: a DAW script sends tempo, key and mood as separate packets within
  a millisecond of each other. The worker **settles** before ranking: it waits until no change
  has arrived for ``settle_s`` (2 ms), at most ``max_settle_s`` (10 ms) after it woke, so such a
  burst is answered by one ranking and one repaint instead of a list for the tempo alone followed
  by one for the key (which the window would paint, only to replace ~10 ms later, on the same two
  CPUs the second ranking needs). The settle time is part of the latency, which is still measured
  from the oldest packet.

``latency_ms`` of a result is measured from the arrival of the *oldest* packet it answers (its
``time.perf_counter()`` stamp in :class:`~companion.bridge.updates.ContextUpdate`) to the
moment the ranked list exists, so queueing behind a slow ranking is counted, not hidden.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from companion.bridge.updates import ContextUpdate
from companion.errors import CompanionError
from companion.ranking.context import CONTEXT_FIELDS, ContextStore, SessionContext

log = logging.getLogger(__name__)

#: Accepted paths waiting for the worker; beyond this the oldest are dropped (and logged).
MAX_PENDING_ACCEPTED = 256
#: Quiet time after the last change before the worker ranks, s. A design constant: longer than
#: the gap between the packets of one burst from a DAW script on the same machine (tens to
#: hundreds of microseconds through the listener), short next to a ranking (~7 ms on 100k samples).
SETTLE_S = 0.002
#: The longest the worker settles after waking, s: a packet stream that never pauses (a tempo
#: ramp, a flood) is still answered every ``MAX_SETTLE_S`` plus one ranking.
MAX_SETTLE_S = 0.010


@dataclass(frozen=True)
class FollowResult:
    """One re-ranking after one or more context changes.

    Attributes:
        seq: 1, 2, 3 … per follower.
        context: the context the list was ranked for.
        suggestions: what ``rank`` returned (the engine's ``Suggestion`` objects).
        latency_ms: from the arrival of the oldest packet answered to the ranked list, ms.
        rank_ms: time spent in ``rank`` alone, ms.
        coalesced: how many changes this ranking answers (1 when none were merged).
        extras: DAW facts outside the context model (``time_signature``), latest values.
        addresses: OSC addresses (or ``link:tempo``, …) of the changes answered, oldest first.
    """

    seq: int
    context: SessionContext
    suggestions: Sequence[Any]
    latency_ms: float
    rank_ms: float
    coalesced: int
    extras: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    addresses: tuple[str, ...] = ()


class ContextFollower:
    """Applies bridge updates to a context store and re-ranks on a worker thread.

    Args:
        store: the context store the ranker reads (``engine.context``).
        rank: returns the ranked list for the store's current context, e.g.
            ``lambda: engine.suggest(top_k=5)``. Called on the worker thread only.
        on_result: receives each :class:`FollowResult` on the worker thread.
        accept: records a sample the producer used (``engine.accept_path``); worker thread.
        settle_s: quiet time after the last change before ranking, s (0: rank at once).
        max_settle_s: the longest the worker waits for quiet after waking, s.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        store: ContextStore,
        rank: Callable[[], Sequence[Any]],
        on_result: Callable[[FollowResult], None],
        *,
        accept: Callable[[str], Any] | None = None,
        settle_s: float = SETTLE_S,
        max_settle_s: float = MAX_SETTLE_S,
    ) -> None:
        self.store = store
        self._rank = rank
        self._on_result = on_result
        self._accept = accept
        self._cond = threading.Condition()
        self._settle_s = max(0.0, settle_s)
        self._max_settle_s = max(self._settle_s, max_settle_s)
        self._oldest: float | None = None  # perf_counter s of the oldest unanswered change
        self._last_mark = 0.0  # perf_counter s when the newest change was marked
        self._count = 0
        self._addresses: list[str] = []
        self._accepted: deque[str] = deque(maxlen=MAX_PENDING_ACCEPTED)
        self._extras: dict[str, Any] = {}
        self._stopping = False
        self._seq = 0
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.errors = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ContextFollower:
        """Subscribe to the store and start the worker thread."""
        if self._thread is not None:
            return self
        self._stopping = False
        self._unsubscribe = self.store.subscribe(self._on_store_change)
        self._thread = threading.Thread(target=self._run, name="context-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (after the ranking in progress) and unsubscribe (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> ContextFollower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the sink --------------------------------------------------------------------------------

    def apply(self, update: ContextUpdate) -> None:
        """Apply one update to the store in one call; wake the worker if anything changed.

        Raises:
            ContextError, KeyParseError: the store refused a value (nothing changed); the
                listener counts these as ``rejected``.
        """
        source = update.source
        self._local.received_at = update.received_at
        self._local.addresses = update.addresses
        try:
            if update.reset and not update.fields:
                self.store.reset(source)
            elif update.reset:
                cleared: dict[str, Any] = dict.fromkeys(CONTEXT_FIELDS)
                cleared.update(update.fields)
                self.store.update(source, **cleared)
            elif update.fields:
                self.store.update(source, **update.fields)
        finally:
            self._local.received_at = None
            self._local.addresses = ()
        extras_changed = any(self._extras.get(k) != v for k, v in update.extras.items())
        if extras_changed or update.accepted:
            self._mark(update.received_at, update.addresses, update.extras, update.accepted)

    def refresh(self) -> None:
        """Ask for a re-ranking now (e.g. after the library changed)."""
        self._mark(time.perf_counter(), ("refresh",), {}, ())

    def _on_store_change(self, ctx: SessionContext) -> None:
        received_at = getattr(self._local, "received_at", None)
        addresses = getattr(self._local, "addresses", ())
        if received_at is None:  # a change from another source (UI, CLI) on another thread
            received_at, addresses = time.perf_counter(), ("store",)
        self._mark(received_at, addresses, {}, ())

    def _mark(
        self,
        received_at: float,
        addresses: Sequence[str],
        extras: Mapping[str, Any],
        accepted: Sequence[str],
    ) -> None:
        with self._cond:
            if self._oldest is None or received_at < self._oldest:
                self._oldest = received_at
            self._last_mark = time.perf_counter()
            self._count += 1
            if len(self._addresses) < 64:
                self._addresses.extend(addresses)
            self._extras.update(extras)
            if len(self._accepted) + len(accepted) > MAX_PENDING_ACCEPTED:
                log.warning("more than %d accepted samples pending; the oldest are dropped", MAX_PENDING_ACCEPTED)
            self._accepted.extend(accepted)
            self._cond.notify()

    # -- the worker ------------------------------------------------------------------------------

    def _take(self) -> tuple[float, int, tuple[str, ...], list[str], dict[str, Any]] | None:
        with self._cond:
            while self._oldest is None and not self._stopping:
                self._cond.wait()
            self._settle()
            if self._stopping:
                return None
            assert self._oldest is not None
            taken = (self._oldest, self._count, tuple(self._addresses), list(self._accepted), dict(self._extras))
            self._oldest, self._count = None, 0
            self._addresses.clear()
            self._accepted.clear()
            return taken

    def _settle(self) -> None:
        """With the lock held: wait until no change came for ``settle_s``, at most ``max_settle_s``."""
        if self._settle_s <= 0.0:
            return
        give_up = time.perf_counter() + self._max_settle_s
        while not self._stopping:
            now = time.perf_counter()
            until = min(self._last_mark + self._settle_s, give_up)
            if now >= until:
                return
            self._cond.wait(until - now)

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            oldest, count, addresses, accepted, extras = taken
            for path in accepted:
                self._record_accept(path)
            context = self.store.snapshot()
            started = time.perf_counter()
            try:
                suggestions = list(self._rank())
            except CompanionError as exc:
                self.errors += 1
                log.warning("ranking failed: %s — suggestions not updated", exc)
                continue
            except Exception:
                self.errors += 1
                log.exception("ranking failed — suggestions not updated; the follower goes on")
                continue
            done = time.perf_counter()
            self._seq += 1
            result = FollowResult(
                seq=self._seq,
                context=context,
                suggestions=suggestions,
                latency_ms=(done - oldest) * 1000.0,
                rank_ms=(done - started) * 1000.0,
                coalesced=count,
                extras=MappingProxyType(extras),
                addresses=addresses,
            )
            try:
                self._on_result(result)
            except Exception:
                self.errors += 1
                log.exception("suggestion subscriber failed; the follower goes on")

    def _record_accept(self, path: str) -> None:
        if self._accept is None:
            log.info("accepted %s (no catalog to record it in)", path)
            return
        try:
            self._accept(path)
        except CompanionError as exc:
            log.warning("cannot record accepted sample %s: %s", path, exc)
        except Exception:
            log.exception("recording accepted sample %s failed", path)


__all__ = ["MAX_PENDING_ACCEPTED", "ContextFollower", "FollowResult"]

"""The sync client: outbox up to the hub, shared fusion rules down (httpx).

Protocol, at-least-once with idempotency keys, so the hub holds each event exactly once:

1. Read the oldest outbox rows of one kind (events first, then embeddings) in id order.
2. Send them as one gzip-compressed batch (``POST /api/v1/telemetry/recommendations`` with
   ``{"events": [...]}``, ``PUT /api/v1/embeddings`` with ``{"items": [...]}``).
3. Only on 200 delete exactly those rows. A timeout, a 5xx, a refused connection or a hub that
   dies mid-request leaves them queued: they are sent again later and the hub recognises them.
4. Retries inside a pass wait with exponential backoff and full jitter and spend a bounded
   retry budget; when it is spent the pass ends, the rows record the attempt, and the next pass
   is scheduled with backoff in the catalog's ``kv`` (so a restarted companion resumes it).
5. A 422 that names items parks those rows (kept, reported, not retried); other rows go on.
   A 413 or an unattributed 422 splits the batch in halves.
6. A 500 (the hub failed on what it was sent) narrows the batch down: sent once more whole,
   then in halves, down to single rows. A row that fails alone ``poison_tries`` times while
   the hub acknowledges other rows in the same pass is parked with the hub's answer, so one
   bad row never blocks the outbox; when single rows fail and nothing else gets through, the
   hub is failing for everything and the pass stops (rows stay queued, nothing is parked).

The client is safe to kill at any moment: the outbox is the only queue, and it lives in the
catalog (SQLite, WAL) with the actions that filled it.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import httpx

from companion import __version__
from companion.errors import CompanionError, RulesError
from companion.library.db import connect
from companion.library.vectors import get_vector
from companion.sync import outbox, rules_cache
from companion.sync.backoff import Backoff, RetryBudget
from companion.sync.status import SyncStatus, record_pass, sync_status
from samplemind_protocol.paths import EMBEDDINGS_PATH, EVENTS_PATH, RULES_PATH

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class SyncError(CompanionError):
    """Sync cannot run: no hub URL or token configured."""


@dataclass(frozen=True)
class PushResult:
    """Outcome of one push pass.

    Attributes:
        sent_events / sent_embeddings: rows the hub acknowledged (and that were deleted).
        remaining: rows still queued (not counting parked ones).
        error: why the pass stopped early, or None when the outbox was drained.
        parked: rows parked in this pass because the hub refused them (422) or kept failing on
            them alone (500) while it took other rows.
    """

    sent_events: int
    sent_embeddings: int
    remaining: int
    error: str | None
    parked: int = 0


@dataclass(frozen=True)
class RulesPullResult:
    """Outcome of one rules pull.

    Attributes:
        status: ``updated`` (a new valid version is cached), ``unchanged`` (304: the cached one
            is current), ``refused`` (the hub's document is invalid; the last good one is kept),
            ``offline`` (hub unreachable or refusing the token; the cache is kept).
        version: the hub version now in use from the cache (None if nothing cached).
        error: what went wrong for ``refused`` and ``offline``.
    """

    status: Literal["updated", "unchanged", "refused", "offline"]
    version: int | None
    error: str | None = None


class _PassStopped(Exception):
    """The pass cannot go on (retries spent, token refused, stop requested)."""


class SyncClient:
    """Pushes the catalog's outbox to the hub and pulls the shared fusion rules.

    Args:
        db_path: the catalog SQLite file.
        base_url: the hub, e.g. ``http://localhost:8765`` (``RECS_SYNC_URL``).
        token: bearer token from ``samplemind-hub token create`` (``RECS_SYNC_TOKEN``).
        batch_size: events per request.
        embedding_batch_size: embeddings per request (a 512-d vector is ~5 KB of JSON).
        retry_budget: retries one pass may spend before it gives up until the next pass.
        timeout_s: connect/read/write timeout of one request (s).
        backoff: backoff schedule, within a pass and between failed passes.
        rules_interval_s: how often :meth:`run` pulls the rules (s).
        transport: an httpx transport (tests, proxies); default: httpx's HTTP transport.
        seed: seed of the jitter's random generator (tests).
        poison_tries: how often a single row is sent alone while the hub answers 500 before it
            is parked (only when the hub acknowledged other rows in the same pass).

    Raises:
        SyncError: no ``base_url`` or no ``token``.
        CatalogError: the catalog cannot be opened.
    """

    def __init__(
        self,
        db_path: Path | str,
        base_url: str,
        token: str,
        *,
        batch_size: int = 500,
        embedding_batch_size: int = 100,
        retry_budget: int = 5,
        timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        rules_interval_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        seed: int | None = None,
        poison_tries: int = 3,
    ) -> None:
        if not base_url:
            raise SyncError("no hub URL: set RECS_SYNC_URL (e.g. http://localhost:8765) or pass --url")
        if not token:
            raise SyncError("no hub token: set RECS_SYNC_TOKEN to the output of 'samplemind-hub token create'")
        self.batch_size = max(1, batch_size)
        self.embedding_batch_size = max(1, embedding_batch_size)
        self.retry_budget = max(0, retry_budget)
        self.backoff = backoff or Backoff()
        self.rules_interval_s = rules_interval_s
        self.poison_tries = max(1, poison_tries)
        self._acked = 0  # rows acknowledged in the current pass (evidence the hub works)
        self._sent = {"event": 0, "embedding": 0}  # acknowledged in the current pass, by kind
        self._parked = 0  # parked in the current pass (counted where they are parked, so that
        # rows of a narrowed batch count even when a later part of it stops the pass)
        self._suspects: list[tuple[outbox.OutboxRow, str]] = []  # rows failing alone, no evidence yet
        self._set_aside: set[int] = set()  # rows not sent again in the current pass
        self._conn = connect(db_path)
        self._db = threading.RLock()
        self._pass = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"samplemind-companion/{__version__}"},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client and the catalog connection."""
        self._http.close()
        with self._db:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- push ----------------------------------------------------------------------------------

    def push_once(self) -> PushResult:
        """Send every queued event and embedding (in batches) until the outbox is empty.

        Ignores the between-pass backoff (call it to sync *now*); stops early when the retry
        budget is spent, the token is refused, or :meth:`run`'s stop event is set.
        """
        with self._pass:
            budget = RetryBudget(self.retry_budget)
            error: str | None = None
            contacted = False
            self._acked, self._suspects, self._set_aside = 0, [], set()
            self._sent, self._parked = {"event": 0, "embedding": 0}, 0
            try:
                for kind in outbox.KINDS:
                    size = self.batch_size if kind == "event" else self.embedding_batch_size
                    while not self._stop.is_set():
                        with self._db:
                            rows = outbox.next_batch(self._conn, kind, size, self._set_aside)
                        if not rows:
                            break
                        self._push_rows(kind, rows, budget)
                        contacted = True
            except _PassStopped as exc:
                error = str(exc)
            if self._suspects and self._acked:  # other rows got through: these rows are the problem
                self._park_poison(self._suspects)
            with self._db:
                if error is not None or contacted:
                    record_pass(self._conn, error, self.backoff, self._rng)
                counts = outbox.counts(self._conn)
            if error:
                log.warning("sync pass stopped: %s", error)
            return PushResult(
                self._sent["event"], self._sent["embedding"], counts.events + counts.embeddings, error, self._parked
            )

    def _push_rows(
        self, kind: str, rows: list[outbox.OutboxRow], budget: RetryBudget, tries: int = 0
    ) -> tuple[int, int]:
        """Send one batch; returns ``(acknowledged, parked)``; progress is always ≥ 1 row, or the
        batch's rows are set aside until the next pass.

        Args:
            tries: how often these very rows were answered 500 before in this pass.
        """
        path, method, field = (EVENTS_PATH, "POST", "events") if kind == "event" else (EMBEDDINGS_PATH, "PUT", "items")
        if kind == "embedding":
            rows, payloads = self._with_vectors(rows)
            if not rows:
                return 0, 0
        else:
            payloads = [r.payload_json for r in rows]
        body = f'{{"{field}":[{",".join(payloads)}]}}'.encode()
        response = self._request(
            method,
            path,
            budget,
            content=gzip.compress(body, compresslevel=6),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            rows=rows,
            narrow_500=True,
        )
        code = response.status_code
        if code == 200:
            try:
                received = int(response.json()["received"])
            except (ValueError, KeyError, TypeError) as exc:
                self._fail_rows(rows, f"unreadable acknowledgement from the hub: {exc}")
                raise _PassStopped(f"unreadable acknowledgement from the hub: {exc}") from exc
            if received != len(rows):
                self._fail_rows(rows, f"hub acknowledged {received} of {len(rows)}")
                raise _PassStopped(f"hub acknowledged {received} of {len(rows)} {kind}s")
            with self._db:
                outbox.acknowledge(self._conn, [r.id for r in rows])
            self._acked += len(rows)
            self._sent[kind] += len(rows)
            return len(rows), 0
        if code == 500:
            return self._narrow(
                kind, rows, budget, tries, f"hub answered HTTP 500 to {method} {path}: {_detail(response)}"
            )
        if code in (413, 422):
            refused = _refused_items(response, field, len(rows)) if code == 422 else {}
            if refused:
                with self._db:
                    outbox.park(
                        self._conn, [(rows[i].id, f"hub refused it (422): {msg}") for i, msg in refused.items()]
                    )
                self._parked += len(refused)
                return 0, len(refused)
            if len(rows) > 1:
                half = len(rows) // 2
                a = self._push_rows(kind, rows[:half], budget)
                b = self._push_rows(kind, rows[half:], budget)
                return a[0] + b[0], a[1] + b[1]
            with self._db:
                outbox.park(self._conn, [(rows[0].id, f"hub refused it ({code}): {_detail(response)}")])
            self._parked += 1
            return 0, 1
        if code in (401, 403):
            raise _PassStopped(f"the hub refused the token ({code}): {_detail(response)} — check RECS_SYNC_TOKEN")
        message = f"hub answered HTTP {code} to {method} {path}: {_detail(response)}"
        self._fail_rows(rows, message)
        raise _PassStopped(message)

    def _narrow(
        self, kind: str, rows: list[outbox.OutboxRow], budget: RetryBudget, tries: int, failure: str
    ) -> tuple[int, int]:
        """After a 500: the batch once more whole, then its halves; a single row up to
        ``poison_tries`` times, then parked (or set aside while nothing else got through)."""
        if len(rows) > 1 and tries >= 1:
            half = len(rows) // 2
            a = self._push_rows(kind, rows[:half], budget)
            b = self._push_rows(kind, rows[half:], budget)
            return a[0] + b[0], a[1] + b[1]
        if len(rows) > 1 or tries + 1 < self.poison_tries:
            log.info("hub answered 500 to %d %s row(s); sending them again (%s)", len(rows), kind, failure)
            if self._stop.wait(self.backoff.delay(tries, self._rng)):
                self._fail_rows(rows, failure)
                raise _PassStopped("stopped")
            return self._push_rows(kind, rows, budget, tries + 1)
        row = rows[0]
        failure = f"{failure} — {tries + 1} times for this row alone"
        if self._acked:
            self._park_poison([(row, failure)])
            return 0, 1
        self._fail_rows(rows, failure)
        self._set_aside.add(row.id)
        self._suspects.append((row, failure))
        if len(self._suspects) >= 2:
            raise _PassStopped(f"{failure}, and for other single rows too: the hub fails on everything")
        return 0, 0

    def _park_poison(self, rows: list[tuple[outbox.OutboxRow, str]]) -> None:
        with self._db:
            outbox.park(
                self._conn, [(row.id, f"the hub fails on it while it takes other rows: {why}") for row, why in rows]
            )
        self._parked += len(rows)

    def _with_vectors(self, rows: list[outbox.OutboxRow]) -> tuple[list[outbox.OutboxRow], list[str]]:
        """Embedding rows with their vectors read from the catalog at send time.

        The outbox holds no vector (see ``companion/library/events.py``); a row whose vector is
        gone from the catalog (sample removed, space dropped) has nothing left to upload and is
        deleted. A payload that carries its own ``vector`` is sent as it is.
        """
        kept: list[outbox.OutboxRow] = []
        payloads: list[str] = []
        gone: list[int] = []
        malformed: list[tuple[int, str]] = []
        with self._db:
            for row in rows:
                payload = json.loads(row.payload_json)
                if not isinstance(payload, dict) or not {"space", "content_hash"} <= payload.keys():
                    malformed.append((row.id, "embedding payload without space or content_hash"))
                    continue
                if "vector" not in payload:
                    vector = get_vector(self._conn, str(payload["space"]), str(payload["content_hash"]))
                    if vector is None:
                        gone.append(row.id)
                        continue
                    payload["vector"] = vector.tolist()
                kept.append(row)
                payloads.append(json.dumps(payload))
            if gone:
                log.info("dropping %d embedding upload(s) whose vector left the catalog", len(gone))
                outbox.acknowledge(self._conn, gone)
            outbox.park(self._conn, malformed)
        return kept, payloads

    def _fail_rows(self, rows: list[outbox.OutboxRow], error: str) -> None:
        with self._db:
            failures = sync_status(self._conn).consecutive_failures
            retry_at = time.time() + self.backoff.delay(failures + 1, self._rng)
            outbox.record_failure(self._conn, [r.id for r in rows], error, retry_at)

    def _request(
        self,
        method: str,
        path: str,
        budget: RetryBudget,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        rows: list[outbox.OutboxRow] | None = None,
        narrow_500: bool = False,
    ) -> httpx.Response:
        """One request, retried on timeouts, transport errors and 408/425/429/5xx answers.

        With ``narrow_500`` a 500 answer is returned at once (the caller narrows the batch down).

        Raises:
            _PassStopped: the budget is spent or a stop was requested (rows record the failure).
        """
        attempt = 0
        while True:
            retry_after = 0.0
            try:
                response = self._http.request(method, path, content=content, headers=headers)
                if response.status_code not in RETRYABLE_STATUS or (narrow_500 and response.status_code == 500):
                    return response
                failure = f"hub answered HTTP {response.status_code}: {_detail(response)}"
                retry_after = _retry_after_s(response)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__} talking to {self._http.base_url}: {exc or 'no detail'}"
            if self._stop.is_set() or not budget.take():
                if rows:
                    self._fail_rows(rows, failure)
                raise _PassStopped(f"{failure} (retry budget of {self.retry_budget} spent)")
            wait = max(self.backoff.delay(attempt, self._rng), min(retry_after, self.backoff.cap_s))
            attempt += 1
            log.info("retrying %s %s in %.2f s after: %s", method, path, wait, failure)
            if self._stop.wait(wait):
                if rows:
                    self._fail_rows(rows, failure)
                raise _PassStopped("stopped")

    # -- rules ---------------------------------------------------------------------------------

    def pull_rules(self) -> RulesPullResult:
        """Fetch the shared fusion rules; cache a new valid version, refuse an invalid one."""
        with self._db:
            etag = rules_cache.cached_etag(self._conn)
            version = rules_cache.cached_version(self._conn)
        headers = {"If-None-Match": etag} if etag else {}
        try:
            response = self._request("GET", RULES_PATH, RetryBudget(min(2, self.retry_budget)), headers=headers)
        except _PassStopped as exc:
            return self._rules_result("offline", version, str(exc))
        if response.status_code == 304:
            with self._db:
                rules_cache.mark_checked(self._conn)
            return self._rules_result("unchanged", version)
        if response.status_code != 200:
            return self._rules_result(
                "offline", version, f"hub answered HTTP {response.status_code} to GET {RULES_PATH}: {_detail(response)}"
            )
        try:
            body = response.json()
            document, new_version = body["rules"], int(body["version"])
            if not isinstance(document, dict):
                raise TypeError("'rules' is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            return self._rules_result("refused", version, f"malformed rules response: {exc}")
        try:
            with self._db:
                rules_cache.store_rules(self._conn, document, version=new_version, etag=response.headers.get("ETag"))
        except RulesError as exc:
            log.warning("refusing fusion rules version %d from the hub: %s", new_version, exc)
            return self._rules_result("refused", version, str(exc))
        log.info("fusion rules version %d pulled from the hub", new_version)
        return self._rules_result("updated", new_version)

    def _rules_result(
        self,
        status: Literal["updated", "unchanged", "refused", "offline"],
        version: int | None,
        error: str | None = None,
    ) -> RulesPullResult:
        with self._db:
            outbox.kv_set(self._conn, {"sync.rules_error": error, "sync.rules_checked_at": time.time()})
        return RulesPullResult(status, version, error)

    def retry_parked(self) -> int:
        """Queue again every row the hub refused (after a fix on either side); returns how many."""
        with self._db:
            return outbox.unpark(self._conn)

    # -- loop and status -----------------------------------------------------------------------

    def status(self) -> SyncStatus:
        """Queue sizes, last success and error, rules version (reads the catalog only)."""
        with self._db:
            return sync_status(self._conn)

    def run(
        self,
        stop_event: threading.Event,
        *,
        on_status: Callable[[SyncStatus], Any] | None = None,
        poll_s: float = 2.0,
    ) -> None:
        """Sync until ``stop_event`` is set: rules on start and every ``rules_interval_s``,
        the outbox whenever it holds rows and the between-pass backoff allows.

        Args:
            on_status: called with the status after each round (from this thread; the GUI
                turns it into a signal).
            poll_s: how often the outbox is checked for new rows (s).
        """
        self._stop = stop_event
        next_pull = 0.0
        while not stop_event.is_set():
            now = time.time()
            if now >= next_pull:
                self.pull_rules()
                next_pull = time.time() + self.rules_interval_s
            current = self.status()
            due = current.next_attempt_at is None or now >= current.next_attempt_at
            if due and current.queued_events + current.queued_embeddings > 0:
                self.push_once()
                current = self.status()
            if on_status is not None:
                on_status(current)
            stop_event.wait(max(0.05, min(poll_s, next_pull - time.time())))


def _detail(response: httpx.Response) -> str:
    """The hub's error detail (FastAPI's ``{"detail": ...}``) or the start of the body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail is not None else response.text
    return text[:300] or response.reason_phrase


def _retry_after_s(response: httpx.Response) -> float:
    """``Retry-After`` in seconds (delta-seconds form only; RFC 9110 §10.2.3), else 0."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def _refused_items(response: httpx.Response, field: str, n: int) -> dict[int, str]:
    """Batch indices a 422 names (``loc = ["body", field, i, …]``) and why."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return {}
    refused: dict[int, str] = {}
    if isinstance(detail, list):
        for err in detail:
            loc = err.get("loc", []) if isinstance(err, dict) else []
            if len(loc) >= 3 and loc[0] == "body" and loc[1] == field and isinstance(loc[2], int) and 0 <= loc[2] < n:
                where = ".".join(str(p) for p in loc[3:]) or "item"
                refused.setdefault(loc[2], f"{where}: {err.get('msg', 'invalid')}")
    return refused

"""TEST-ONLY fault injection, so tests can prove the sync protocol loses and duplicates nothing.

Enabled only when ``HUB_FAULTS`` is set (never in a deployment). The value is a comma-separated
list of ``kind:probability`` pairs, e.g. ``"500:0.3,timeout:0.1"``; each request to a data
endpoint (``/api/v1/…`` except health) draws at most one fault:

- ``500``: answer 500 before doing anything.
- ``500-after``: do the work and commit, then answer 500 (the acknowledgement is lost).
- ``timeout``: stall ``HUB_FAULT_DELAY_S`` seconds, then do the work (the client times out).
- ``timeout-after``: do the work and commit, then stall before answering.
- ``stall-in-tx``: stall inside the write transaction, before it commits (kill the hub then
  and PostgreSQL rolls the batch back).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from samplemind_hub import HubError
from samplemind_protocol.paths import API_PREFIX, HEALTH_PATH

KINDS = ("500", "500-after", "timeout", "timeout-after", "stall-in-tx")


@dataclass
class FaultPlan:
    """Which faults to inject and how often.

    Attributes:
        probabilities: kind -> probability in [0, 1]; their sum must be <= 1.
        delay_s: stall length of ``timeout``, ``timeout-after`` and ``stall-in-tx`` (s).
    """

    probabilities: dict[str, float]
    delay_s: float = 5.0
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        """Pick the fault of one request (or None), thread-safe."""
        with self._lock:
            u = self._rng.random()
            acc = 0.0
            for kind, p in self.probabilities.items():
                acc += p
                if u < acc:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind
        return None


def parse_faults(spec: str, *, delay_s: float = 5.0, seed: int | None = None) -> FaultPlan | None:
    """Parse ``HUB_FAULTS``; None when empty.

    Raises:
        HubError: unknown kind, bad probability, or probabilities summing over 1.
    """
    spec = spec.strip()
    if not spec:
        return None
    probabilities: dict[str, float] = {}
    for part in spec.split(","):
        kind, _, value = part.strip().rpartition(":")
        if kind not in KINDS:
            raise HubError(f"HUB_FAULTS: unknown fault {kind!r} in {spec!r}; kinds: {', '.join(KINDS)}")
        try:
            p = float(value)
        except ValueError as exc:
            raise HubError(f"HUB_FAULTS: {part!r} needs a probability, e.g. '500:0.3'") from exc
        if not 0.0 <= p <= 1.0:
            raise HubError(f"HUB_FAULTS: probability {p} of {kind!r} is outside [0, 1]")
        probabilities[kind] = p
    if sum(probabilities.values()) > 1.0 + 1e-9:
        raise HubError(f"HUB_FAULTS: probabilities of {spec!r} sum to more than 1")
    return FaultPlan(probabilities, delay_s=delay_s, seed=seed)


def applies_to(path: str) -> bool:
    """Faults hit the data endpoints only, never health or metrics."""
    return path.startswith(f"{API_PREFIX}/") and path != HEALTH_PATH


def stall_in_transaction(request: Request) -> None:
    """Called by write handlers inside their transaction, before commit (sync code)."""
    if getattr(request.state, "fault", None) == "stall-in-tx":
        time.sleep(request.app.state.faults.delay_s)


async def fault_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """HTTP middleware applying the app's :class:`FaultPlan` (``app.state.faults``)."""
    plan: FaultPlan | None = getattr(request.app.state, "faults", None)
    if plan is None or not applies_to(request.url.path):
        return await call_next(request)
    kind = plan.draw()
    request.state.fault = kind
    if kind is not None:
        counter = getattr(request.app.state, "fault_counter", None)
        if counter is not None:
            counter.labels(kind=kind).inc()
    if kind == "500":
        return JSONResponse({"detail": "injected fault: 500 before processing"}, status_code=500)
    if kind == "timeout":
        await asyncio.sleep(plan.delay_s)
    response = await call_next(request)
    if kind == "500-after":
        return JSONResponse({"detail": "injected fault: 500 after commit"}, status_code=500)
    if kind == "timeout-after":
        await asyncio.sleep(plan.delay_s)
    return response

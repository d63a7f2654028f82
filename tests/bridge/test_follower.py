"""The follower applies updates to a real ContextStore and re-ranks the latest context."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest

from companion.bridge.follower import ContextFollower, FollowResult
from companion.bridge.updates import ContextUpdate
from companion.errors import ContextError
from companion.music.keys import Key
from companion.ranking.context import ContextStore, SessionContext


def update(
    source: str = "osc",
    *,
    reset: bool = False,
    accepted: tuple[str, ...] = (),
    extras: dict[str, Any] | None = None,
    **fields: Any,
) -> ContextUpdate:
    return ContextUpdate(
        fields=MappingProxyType(fields),
        source=source,
        received_at=time.perf_counter(),
        reset=reset,
        accepted=accepted,
        extras=MappingProxyType(extras or {}),
        addresses=tuple(f"/context/{name}" for name in fields),
    )


class Harness:
    def __init__(self, rank_delay_s: float = 0.0, **follower_args: Any) -> None:
        self.store = ContextStore()
        self.results: queue.Queue[FollowResult] = queue.Queue()
        self.accepted: list[tuple[str, str]] = []
        self.rank_delay_s = rank_delay_s
        self.fail_next = False
        self.follower = ContextFollower(self.store, self.rank, self.results.put, accept=self.accept, **follower_args)

    def rank(self) -> list[float | None]:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("ranker broke")
        time.sleep(self.rank_delay_s)
        return [self.store.snapshot().bpm]

    def accept(self, path: str) -> None:
        self.accepted.append((path, threading.current_thread().name))

    def next(self, timeout: float = 3.0) -> FollowResult:
        return self.results.get(timeout=timeout)

    def idle(self, seconds: float = 0.2) -> bool:
        try:
            self.results.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    with harness.follower:
        yield harness


def test_change_reranks_with_latency(h: Harness) -> None:
    h.follower.apply(update(bpm=124.0, key=Key(9, "minor")))
    result = h.next()
    assert result.seq == 1
    assert result.context.bpm == 124.0 and result.context.key == Key(9, "minor")
    assert result.suggestions == [124.0]
    assert 0.0 < result.rank_ms <= result.latency_ms < 1000.0
    assert result.context.updated["bpm"][0] == "osc"


def test_unchanged_value_does_not_rerank(h: Harness) -> None:
    h.follower.apply(update(bpm=120.0))
    h.next()
    h.follower.apply(update(bpm=120.0))
    assert h.idle()


def test_reset_with_values_is_one_store_change(h: Harness) -> None:
    h.follower.apply(update(bpm=100.0, genre="house", mood_tags=("dark",)))
    h.next()
    seen: list[SessionContext] = []
    h.store.subscribe(seen.append)
    h.follower.apply(update(reset=True, bpm=90.0))
    result = h.next()
    assert len(seen) == 1
    assert seen[0].bpm == 90.0 and seen[0].genre is None and seen[0].mood_tags == ()
    assert result.context.bpm == 90.0


def test_reset_alone_clears(h: Harness) -> None:
    h.follower.apply(update(bpm=100.0))
    h.next()
    h.follower.apply(update(reset=True))
    assert h.next().context.is_empty


def test_mode_applies_to_current_key(h: Harness) -> None:
    h.follower.apply(update(key=Key(0, "major")))
    h.next()
    h.follower.apply(update(mode="minor"))
    assert h.next().context.key == Key(0, "minor")


def test_changes_during_a_slow_ranking_are_coalesced() -> None:
    h = Harness(rank_delay_s=0.3)
    with h.follower:
        for i in range(200):
            h.follower.apply(update(bpm=60.0 + i))
        results = []
        while True:
            try:
                results.append(h.next(timeout=1.5))
            except queue.Empty:
                break
    assert 1 <= len(results) <= 3
    assert results[-1].context.bpm == 259.0 and results[-1].suggestions == [259.0]
    assert sum(r.coalesced for r in results) == 200
    assert results[-1].latency_ms >= results[-1].rank_ms


def test_a_burst_of_packets_is_answered_by_one_ranking() -> None:
    """Tempo then key, 20 ms apart (a DAW script on a busy machine): one list, for both."""
    h = Harness(settle_s=0.15, max_settle_s=1.0)
    with h.follower:
        h.follower.apply(update(bpm=124.0))
        time.sleep(0.02)
        h.follower.apply(update(key=Key(9, "minor")))
        result = h.next()
        assert h.idle()
    assert result.coalesced == 2 and result.addresses == ("/context/bpm", "/context/key")
    assert result.context.bpm == 124.0 and result.context.key == Key(9, "minor")
    assert result.latency_ms >= 150.0  # the settle time is counted from the oldest packet


def test_settling_gives_up_on_a_stream_that_never_pauses() -> None:
    """A tempo ramp (a packet every 10 ms for 1.2 s) still gets lists while it lasts."""
    h = Harness(settle_s=0.05, max_settle_s=0.2)
    with h.follower:
        for i in range(120):
            h.follower.apply(update(bpm=100.0 + i * 0.1))
            time.sleep(0.01)
        results = [h.next()]
        while not results[-1].context.bpm or results[-1].context.bpm < 111.85:
            results.append(h.next())
        assert h.idle()
    mid_stream = [r for r in results if r.context.bpm is not None and r.context.bpm < 111.0]
    assert len(mid_stream) >= 3  # 1.2 s of packets, an answer at least every 0.2 s + ranking
    assert abs(results[-1].context.bpm - 111.9) < 1e-9


def test_accepted_paths_recorded_on_worker_and_rerank(h: Harness) -> None:
    h.follower.apply(update(accepted=("/s/a.wav", "/s/b.wav")))
    result = h.next()
    assert [p for p, _ in h.accepted] == ["/s/a.wav", "/s/b.wav"]
    assert {t for _, t in h.accepted} == {"context-follower"}
    assert result.coalesced == 1


def test_extras_change_reranks_and_are_reported(h: Harness) -> None:
    h.follower.apply(update(extras={"time_signature": "3/4"}))
    assert dict(h.next().extras) == {"time_signature": "3/4"}
    h.follower.apply(update(extras={"time_signature": "3/4"}))
    assert h.idle()


def test_manual_change_from_another_thread_reranks(h: Harness) -> None:
    threading.Thread(target=h.store.update, args=("manual",), kwargs={"bpm": 77.0}).start()
    result = h.next()
    assert result.context.bpm == 77.0 and result.addresses == ("store",)


def test_ranking_failure_does_not_stop_the_follower(h: Harness) -> None:
    h.fail_next = True
    h.follower.apply(update(bpm=101.0))
    assert h.idle(0.3)
    assert h.follower.errors == 1
    h.follower.apply(update(bpm=102.0))
    assert h.next().context.bpm == 102.0


def test_store_refusal_propagates_to_the_listener(h: Harness) -> None:
    with pytest.raises(ContextError):
        h.follower.apply(update(bpm="fast"))
    assert h.store.snapshot().bpm is None


def test_stop_unsubscribes() -> None:
    h = Harness()
    h.follower.start()
    h.follower.stop()
    h.store.update("manual", bpm=90.0)
    assert h.idle()

"""Session context: parsing, latest-value-wins, provenance, notifications, thread safety."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from companion.errors import ContextError, KeyParseError
from companion.music.keys import Key
from companion.ranking.context import ContextStore, SessionContext


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


@pytest.mark.parametrize("spelling", ["Am", "A minor", "A min", "8A", "a minor"])
def test_key_spellings_normalise_to_pitch_class_and_mode(spelling: str) -> None:
    store = ContextStore()
    assert store.update("manual", key=spelling).key == Key(9, "minor")


def test_latest_value_per_field_wins_and_records_source_and_time() -> None:
    store = ContextStore(now=Clock())
    store.update("osc", bpm=120, key="C")
    ctx = store.update("manual", bpm=128.5)
    assert ctx.bpm == 128.5
    assert ctx.key == Key(0, "major")
    assert ctx.updated["bpm"] == ("manual", 102.0)
    assert ctx.updated["key"] == ("osc", 101.0)
    assert store.snapshot() is ctx


def test_mode_applies_to_current_key_and_pending_mode_to_next_bare_tonic() -> None:
    store = ContextStore()
    store.update("osc", key="C")
    assert store.update("osc", mode="minor").key == Key(0, "minor")
    store.update("osc", key=None)
    assert store.update("osc", mode="minor").key is None
    assert store.update("osc", key="A").key == Key(9, "minor")
    # an explicit mode in the key name is not overridden by a stale pending mode
    store.update("osc", key=None)
    store.update("osc", mode="major")
    assert store.update("osc", key="Am").key == Key(9, "minor")


def test_none_clears_a_field_and_its_provenance() -> None:
    store = ContextStore()
    store.update("manual", bpm=100, mood_tags=["Dark", " warm ", "dark"], genre="Techno")
    ctx = store.snapshot()
    assert ctx.mood_tags == ("dark", "warm")
    assert ctx.genre == "techno"
    ctx = store.update("manual", bpm=None, mood_tags=None)
    assert ctx.bpm is None and ctx.mood_tags == ()
    assert "bpm" not in ctx.updated and "mood_tags" not in ctx.updated
    assert "genre" in ctx.updated


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"tempo": 120}, ContextError),
        ({"bpm": -3}, ContextError),
        ({"bpm": "fast"}, ContextError),
        ({"bpm": float("nan")}, ContextError),
        ({"time_remaining_s": -1}, ContextError),
        ({"preferences": [1, 2]}, ContextError),
        ({"key": "H sharp"}, KeyParseError),
        ({"bpm": 120, "mode": "lydian"}, KeyParseError),
    ],
)
def test_invalid_updates_raise_and_change_nothing(fields: dict, error: type) -> None:
    store = ContextStore()
    store.update("cli", bpm=90)
    with pytest.raises(error):
        store.update("cli", **fields)
    assert store.snapshot().bpm == 90


def test_unknown_source_is_rejected() -> None:
    with pytest.raises(ContextError, match="unknown context source"):
        ContextStore().update("midi", bpm=120)  # type: ignore[arg-type]


def test_subscribers_see_changes_only_and_can_unsubscribe() -> None:
    store = ContextStore()
    seen: list[SessionContext] = []
    unsubscribe = store.subscribe(seen.append)
    store.update("osc", bpm=120)
    store.update("link", bpm=120)  # same value: provenance refreshed, nobody notified
    assert [c.bpm for c in seen] == [120]
    assert store.snapshot().updated["bpm"][0] == "link"
    store.update("osc", bpm=121)
    unsubscribe()
    store.update("osc", bpm=122)
    assert [c.bpm for c in seen] == [120, 121]


def test_failing_subscriber_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ContextStore()
    seen: list[float | None] = []

    def broken(_: SessionContext) -> None:
        raise RuntimeError("listener bug")

    store.subscribe(broken)
    store.subscribe(lambda c: seen.append(c.bpm))
    with caplog.at_level(logging.ERROR):
        store.update("manual", bpm=99)
    assert seen == [99]
    assert "listener bug" in caplog.text


def test_reset_clears_everything_and_notifies() -> None:
    store = ContextStore()
    seen: list[SessionContext] = []
    store.update("manual", bpm=100, key="Dm", prompt="dusty piano")
    store.subscribe(seen.append)
    ctx = store.reset("manual")
    assert ctx.is_empty and not ctx.updated
    assert len(seen) == 1 and seen[0].is_empty
    assert store.last_reset is not None and store.last_reset[0] == "manual"


def test_json_round_trip() -> None:
    store = ContextStore()
    ctx = store.update(
        "ableton",
        bpm=174,
        key="F#m",
        mood_tags="dark,rolling",
        genre="DnB",
        time_remaining_s=600,
        playing=True,
        prompt="reese bass",
        preferences={"max_len_s": 8},
    )
    doc = json.loads(json.dumps(ctx.to_json()))
    assert doc["key"] == "F# minor" and doc["camelot"] == "11A"
    assert SessionContext.from_json(doc) == ctx
    assert SessionContext.from_json({"key": "A", "mode": "minor"}).key == Key(9, "minor")
    assert SessionContext.from_json({"key_pc": 2, "mode": "major"}).key == Key(2, "major")


def test_concurrent_updates_from_many_threads_keep_every_field() -> None:
    store = ContextStore()
    calls = []
    store.subscribe(lambda c: calls.append(1))
    fields = [("bpm", lambda i: 60 + i), ("time_remaining_s", lambda i: i), ("prompt", str)]

    def worker(name: str, value_of) -> None:
        for i in range(300):
            store.update("osc", **{name: value_of(i)})

    threads = [threading.Thread(target=worker, args=f) for f in fields]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx = store.snapshot()
    assert (ctx.bpm, ctx.time_remaining_s, ctx.prompt) == (359.0, 299.0, "299")
    assert set(ctx.updated) == {"bpm", "time_remaining_s", "prompt"}
    assert len(calls) == 900

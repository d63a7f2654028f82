"""The producer's list filter is applied before the top-k are chosen (a full list, all passing)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.embedding.index import VectorIndex
from companion.errors import CompanionError
from companion.music.keys import parse_key
from companion.ranking.context import SessionContext
from companion.ranking.list_filter import ListFilter
from companion.ranking.ranker import EmbeddingSpaceData, Ranker, SessionState
from companion.ranking.rules import load_default_rules

from .synth import NOW, make_library

RULES = load_default_rules()  # what the app ranks with (format 2, cold start)


@pytest.fixture(scope="module")
def lib():
    return make_library(n=2000, dim=32, clusters=20, seed=0)


@pytest.fixture(scope="module")
def ranker(lib):
    index = VectorIndex.build("fingerprint/v1", lib.candidates.ids, lib.vectors)
    space = EmbeddingSpaceData("fingerprint/v1", "fingerprint", lib.candidates.ids, lib.vectors, index)
    return Ranker(lib.candidates, [space], RULES, now=lambda: NOW)


def _row(lib, sample_id: int) -> int:
    return int(lib.candidates.rows_of([sample_id])[0])


@pytest.mark.parametrize("mode", ["fusion", "rules"])
@pytest.mark.parametrize(
    "state",
    [SessionState(), SessionState(accepted=[7])],  # cold start / a similarity target
    ids=["cold", "accepted"],
)
def test_loops_in_a_bpm_range_fill_the_list(lib, ranker, mode, state) -> None:
    flt = ListFilter(kind="loop", bpm=(110, 130))
    c = lib.candidates
    assert int(flt.mask(c).sum()) >= 60  # the library has enough of them
    unfiltered = ranker.suggest(SessionContext(), state, mode=mode, top_k=30)
    assert not all(s.kind == "loop" and s.bpm is not None and 110 <= s.bpm <= 130 for s in unfiltered)
    out = ranker.suggest(SessionContext(), state, mode=mode, top_k=30, list_filter=flt)
    assert len(out) == 30
    assert all(s.kind == "loop" and s.bpm is not None and 110 <= s.bpm <= 130 for s in out)


def test_filter_and_context_together(lib, ranker) -> None:
    """The session's tempo filter still applies inside the producer's range."""
    ctx = SessionContext(bpm=120.0, key=parse_key("Am"))
    out = ranker.suggest(ctx, SessionState(), top_k=10, list_filter=ListFilter(kind="loop", bpm=(100, 140)))
    assert out and all(s.kind == "loop" and 100 <= (s.bpm or 0) <= 140 for s in out)
    assert all(abs(s.bpm - 120) <= 10 or abs(s.bpm * 2 - 120) <= 10 or abs(s.bpm / 2 - 120) <= 10 for s in out)


def test_one_shots_folder_length_and_favourites(lib, ranker) -> None:
    c = lib.candidates
    shots = ranker.suggest(SessionContext(), SessionState(), top_k=20, list_filter=ListFilter(kind="one-shot"))
    assert len(shots) == 20 and all(s.kind == "one-shot" for s in shots)
    folder = ranker.suggest(SessionContext(), SessionState(), top_k=20, list_filter=ListFilter(folder="/lib/pack3"))
    assert len(folder) == 20 and all(s.path.startswith("/lib/pack3/") for s in folder)
    assert ranker.suggest(SessionContext(), SessionState(), list_filter=ListFilter(length_s=(3.0, 9.0))) == []
    pinned = {int(c.ids[5]), int(c.ids[900]), int(c.ids[1500])}
    fav = ranker.suggest(
        SessionContext(), SessionState(pinned=pinned), top_k=20, list_filter=ListFilter(favourites=True)
    )
    assert {s.sample_id for s in fav} == pinned


def test_accepts_agrees_with_mask(lib) -> None:
    c = lib.candidates
    pinned = {int(c.ids[3]), int(c.ids[4])}
    for flt in (
        ListFilter(kind="loop", bpm=(110, 130)),
        ListFilter(kind="one-shot", folder="/lib/pack1"),
        ListFilter(length_s=(1.0, 2.5), favourites=True),
    ):
        mask = flt.mask(c, pinned)
        each = np.array(
            [
                flt.accepts(
                    kind="loop" if c.is_loop[r] else "one-shot",
                    bpm=None if np.isnan(c.bpm[r]) else float(c.bpm[r]),
                    duration_s=float(c.duration_s[r]),
                    path=c.paths[r],
                    instrument=c.instrument_of(r),
                    pinned=int(c.ids[r]) in pinned,
                )
                for r in range(len(c))
            ]
        )
        assert mask.any() and (mask == each).all()


def test_json_round_trip_and_bad_values() -> None:
    flt = ListFilter(
        kind="loop", instrument="kick", bpm=(110.0, 130.0), length_s=(0.5, 8.0), folder="/x", favourites=True
    )
    assert ListFilter.from_json(flt.to_json()) == flt
    assert ListFilter.from_json(None).is_empty
    assert flt.describe() == "favourites · loops · kick · 110–130 BPM · 0.5–8 s · in x"
    with pytest.raises(ValueError):
        ListFilter.from_json({"kind": "drone"})
    with pytest.raises(ValueError):
        ListFilter.from_json({"bpm": [130, 110]})


def test_unknown_instrument_is_refused(lib, ranker) -> None:
    with pytest.raises(CompanionError, match="unknown instrument"):
        ranker.suggest(SessionContext(), SessionState(), list_filter=ListFilter(instrument="zither"))

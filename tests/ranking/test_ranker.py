"""The fusion ranker end to end: filters, scores, MMR, pins, modes, fallbacks, rationale."""

from __future__ import annotations

import numpy as np
import pytest

from companion.embedding.index import VectorIndex
from companion.errors import CompanionError
from companion.music.keys import compatible, parse_key
from companion.ranking.candidates import Candidates
from companion.ranking.context import SessionContext
from companion.ranking.ranker import EmbeddingSpaceData, Ranker, SessionState
from companion.ranking.rules import load_packaged_rules, parse_rules

from . import reference
from .synth import DAY, NOW, make_library, record

RULES = load_packaged_rules(1)  # format 1 ranks exactly as it always did


def _rules(**changes) -> object:
    doc = RULES.to_json()
    for dotted, value in changes.items():
        node = doc
        *path, last = dotted.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    return parse_rules(doc)


NO_MMR = _rules(mmr__lambda=1.0)


@pytest.fixture(scope="module")
def lib():
    return make_library(n=2000, dim=32, clusters=20, seed=0)


@pytest.fixture(scope="module")
def fp_index(lib):
    return VectorIndex.build("fingerprint/v1", lib.candidates.ids, lib.vectors)


def _ranker(lib, index=None, rules=RULES, spaces=None) -> Ranker:
    spaces = (
        spaces
        if spaces is not None
        else [EmbeddingSpaceData("fingerprint/v1", "fingerprint", lib.candidates.ids, lib.vectors, index)]
    )
    return Ranker(lib.candidates, spaces, rules, now=lambda: NOW)


CONTEXTS = [
    SessionContext(),
    SessionContext(bpm=128, key=parse_key("Am")),
    SessionContext(bpm=90, mood_tags=("dark",), genre="warm"),
    SessionContext(key=parse_key("Eb"), mood_tags=("bright", "gritty")),
    SessionContext(bpm=174, key=parse_key("4B")),
]


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("with_index", [True, False])
def test_fusion_equals_a_plain_reading_of_the_rules(lib, fp_index, ctx, with_index) -> None:
    c = lib.candidates
    ranker = _ranker(lib, fp_index if with_index else None, rules=NO_MMR)
    state = SessionState(accepted=[1004, 1100, 1007], dismissed={1010}, banned_folders={"/lib/pack3"})
    got = [s.sample_id for s in ranker.suggest(ctx, state, top_k=10)]
    by_id = dict(zip(c.ids.tolist(), lib.vectors, strict=True))
    target = reference.target_vector(by_id, state.accepted, NO_MMR)
    want = reference.ranking(c, lib.vectors, target, ctx, state, NO_MMR, NOW, 10)
    assert got == want


def test_strict_filters_fall_back_to_exact_search(lib, fp_index, monkeypatch) -> None:
    import companion.ranking.spaces as spaces

    calls = []
    exact = spaces._exact
    monkeypatch.setattr(spaces, "_exact", lambda *a, **k: calls.append(1) or exact(*a, **k))
    c = lib.candidates
    rules = _rules(mmr__lambda=1.0, mmr__pool_size=10)
    ranker = _ranker(lib, fp_index, rules=rules)
    ranker.fanout, ranker.max_fanout = 10, 10  # too few neighbours pass: exact search
    ctx = SessionContext(bpm=61, key=parse_key("C#m"), mood_tags=("gritty",))
    state = SessionState(accepted=[1002])
    got = [s.sample_id for s in ranker.suggest(ctx, state, top_k=10)]
    by_id = dict(zip(c.ids.tolist(), lib.vectors, strict=True))
    target = reference.target_vector(by_id, state.accepted, NO_MMR)
    assert got == reference.ranking(c, lib.vectors, target, ctx, state, rules, NOW, 10)
    assert calls == [1]


def test_every_suggestion_passes_every_filter(lib, fp_index) -> None:
    c = lib.candidates
    ranker = _ranker(lib, fp_index)
    rng = np.random.default_rng(5)
    for _ in range(20):
        ctx = SessionContext(bpm=float(rng.integers(60, 181)), key=parse_key(f"{rng.integers(1, 13)}A"))
        state = SessionState(
            accepted=[int(x) for x in rng.choice(c.ids, 3)],
            dismissed={int(x) for x in rng.choice(c.ids, 50)},
            banned_ids={int(x) for x in rng.choice(c.ids, 50)},
            banned_folders={"/lib/pack1/loops"},
        )
        out = ranker.suggest(ctx, state, top_k=10)
        assert len(out) == 10
        for s in out:
            row = int(c.rows_of([s.sample_id])[0])
            assert reference.passes(c, row, ctx, state, RULES)
            if s.bpm is not None and s.kind == "loop":
                assert min(abs(s.bpm * k - ctx.bpm) for k in (0.5, 1, 2)) <= 5
            if s.key is not None and c.pitched[row]:
                assert compatible(parse_key(s.key), ctx.key)
        assert len({c.content_hash[int(c.rows_of([s.sample_id])[0])] for s in out}) == 10


def test_similarity_is_cosine_to_the_weighted_target(lib, fp_index) -> None:
    c = lib.candidates
    accepted = [1001, 1002, 1003, 1004, 1005, 1006]  # 6 accepted: only the latest 5 count
    out = _ranker(lib, fp_index).suggest(SessionContext(), SessionState(accepted=accepted))
    by_id = dict(zip(c.ids.tolist(), lib.vectors, strict=True))
    target = reference.target_vector(by_id, accepted, RULES)
    oldest_only = reference.target_vector(by_id, accepted[:1], RULES)
    for s in out:
        assert s.source == "fingerprint"
        assert s.score_components["similarity"] == pytest.approx(float(by_id[s.sample_id] @ target), abs=1e-5)
        assert s.score == pytest.approx(sum(s.score_components.values()))
    assert not np.allclose(target, reference.target_vector(by_id, accepted[1:] + accepted[:1], RULES))
    assert float(target @ oldest_only) < 0.99


def test_mmr_makes_the_list_more_diverse(lib, fp_index) -> None:
    c = lib.candidates
    by_id = dict(zip(c.ids.tolist(), lib.vectors, strict=True))
    state = SessionState(accepted=[1000, 1001])  # two clusters in the target
    plain = _ranker(lib, fp_index, rules=NO_MMR).suggest(SessionContext(), state)
    mmr = _ranker(lib, fp_index).suggest(SessionContext(), state)

    def mean_pairwise(out) -> float:
        v = np.stack([by_id[s.sample_id] for s in out])
        g = v @ v.T
        return float((g.sum() - np.trace(g)) / (len(v) * (len(v) - 1)))

    assert mmr[0].sample_id == plain[0].sample_id
    assert [s.sample_id for s in mmr] != [s.sample_id for s in plain]
    assert mean_pairwise(mmr) < mean_pairwise(plain)
    assert len({lib.labels[int(c.rows_of([s.sample_id])[0])] for s in mmr}) >= len(
        {lib.labels[int(c.rows_of([s.sample_id])[0])] for s in plain}
    )


def test_pinned_samples_that_pass_come_first_flagged(lib, fp_index) -> None:
    c = lib.candidates
    ctx = SessionContext(bpm=120, key=parse_key("Am"))
    hard_fail = next(int(c.ids[r]) for r in range(len(c)) if not reference.passes(c, r, ctx, SessionState(), RULES))
    ok = [int(c.ids[r]) for r in range(len(c)) if reference.passes(c, r, ctx, SessionState(), RULES)]
    state = SessionState(accepted=[ok[0]], pinned={ok[0], ok[5], ok[9], hard_fail})
    out = _ranker(lib, fp_index).suggest(ctx, state, top_k=10)
    assert [s.pinned for s in out[:2]] == [True, True]
    assert {s.sample_id for s in out[:2]} == {ok[5], ok[9]}  # accepted and failing pins hidden
    assert not any(s.pinned for s in out[2:])
    assert out[0].score >= out[1].score and "pinned" in out[0].rationale
    assert len({s.sample_id for s in out}) == 10


def test_duplicates_by_hash_and_by_vector_are_shown_once() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=8)
    vecs = []
    for i in range(6):
        v = base + (0.05 if i in (1, 2) else 0.8) * rng.normal(size=8)
        vecs.append(v / np.linalg.norm(v))
    vecs[3] = vecs[4] + 0.001  # near duplicate vectors (cos ≈ 1)
    v = np.asarray(vecs, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    c = Candidates.from_records(
        [
            record(1),
            record(2, content_hash="same"),
            record(3, content_hash="same"),
            record(4),
            record(5),
            record(6),
        ]
    )
    ranker = Ranker(c, [EmbeddingSpaceData("fp", "fingerprint", c.ids, v)], RULES, now=lambda: NOW)
    out = ranker.suggest(SessionContext(), SessionState(accepted=[1]), top_k=10)
    ids = [s.sample_id for s in out]
    assert len(set(ids) & {2, 3}) == 1 and len(set(ids) & {4, 5}) == 1 and 1 not in ids
    assert sorted(ids + [x for x in (2, 3, 4, 5) if x not in ids]) == [2, 3, 4, 5, 6]


def test_rationale_strings() -> None:
    e1 = np.array([1, 0, 0, 0], np.float32)
    close = np.array([0.91, np.sqrt(1 - 0.91**2), 0, 0], np.float32)
    half = np.array([0.5, 0, np.sqrt(0.75), 0], np.float32)
    c = Candidates.from_records(
        [
            record(1, path="/d/kick_03.wav", kind="one-shot"),
            record(
                2,
                path="/d/loop_a.wav",
                bpm=126,
                key_pc=9,
                mode="minor",
                tags=["dark"],
                added_at=NOW - 3 * DAY - 60,
            ),
            record(3, path="/d/loop_b.wav", bpm=63, key_pc=0, mode="major", added_at=NOW - 1.5 * DAY),
        ]
    )
    ranker = Ranker(
        c,
        [EmbeddingSpaceData("fp", "fingerprint", c.ids, np.stack([e1, close, half]))],
        RULES,
        now=lambda: NOW,
    )
    ctx = SessionContext(bpm=128, key=parse_key("Am"), mood_tags=("dark",))
    out = {s.sample_id: s for s in ranker.suggest(ctx, SessionState(accepted=[1]))}
    assert out[2].rationale == [
        "similar to kick_03.wav (0.91)",
        "tempo Δ2 BPM",
        "key match: A minor",
        "mood: dark",
        "added 3 days ago",
    ]
    assert out[3].rationale == [
        "similar to kick_03.wav (0.50)",
        "tempo Δ2 BPM (half-time)",
        "key compatible: C major",
        "added yesterday",
    ]
    assert out[2].key == "A minor" and out[2].bpm == 126.0 and out[2].kind == "loop"
    doc = out[2].to_json()
    assert doc["source"] == "fingerprint" and doc["rationale"][0].startswith("similar to")
    assert set(doc["score_components"]) == {"similarity", "tempo", "key", "freshness", "tags"}


def test_no_likeness_is_claimed_for_a_sample_pointing_away() -> None:
    """A cosine of -0.03 to the accepted sample is not "similar to" it (a user saw that text)."""
    e1 = np.array([1, 0, 0, 0], np.float32)
    away = np.array([-0.03, np.sqrt(1 - 0.03**2), 0, 0], np.float32)
    c = Candidates.from_records(
        [record(1, path="/d/kick_03.wav", kind="one-shot"), record(2, path="/d/pad.wav", kind="one-shot")]
    )
    ranker = Ranker(c, [EmbeddingSpaceData("fp", "fingerprint", c.ids, np.stack([e1, away]))], RULES, now=lambda: NOW)
    out = {s.sample_id: s for s in ranker.suggest(SessionContext(), SessionState(accepted=[1]))}
    assert out[2].score_components["similarity"] == pytest.approx(-0.03, abs=1e-6)  # still scored
    assert not any(r.startswith("similar to") for r in out[2].rationale), out[2].rationale


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_rules_mode_has_no_similarity_and_follows_the_boosts(lib, fp_index, ctx) -> None:
    c = lib.candidates
    state = SessionState(accepted=[1004], dismissed={1010})
    out = _ranker(lib, fp_index).suggest(ctx, state, mode="rules", top_k=10)
    assert all(s.source == "recency" and s.score_components["similarity"] == 0.0 for s in out)
    want = reference.ranking(c, lib.vectors, None, ctx, state, RULES, NOW, 10)
    assert [s.sample_id for s in out] == want


def test_cold_start_is_recency_newest_first(lib, fp_index) -> None:
    c = lib.candidates
    out = _ranker(lib, fp_index).suggest(SessionContext(), SessionState(), top_k=10)
    assert all(s.source == "recency" for s in out)
    newest = [int(c.ids[r]) for r in c.newest_first[:10]]
    assert [s.sample_id for s in out] == newest
    assert out[0].rationale[-1].startswith("added")


def test_fallback_clap_then_fingerprint_then_recency(lib, fp_index) -> None:
    c = lib.candidates
    rng = np.random.default_rng(2)
    clap_ids = c.ids[: len(c) // 2]  # CLAP covers half of the library
    clap_vecs = rng.normal(size=(len(clap_ids), 16)).astype(np.float32)
    clap_vecs /= np.linalg.norm(clap_vecs, axis=1, keepdims=True)
    clap = EmbeddingSpaceData("clap/v1", "clap", clap_ids, clap_vecs, None)
    fp = EmbeddingSpaceData("fingerprint/v1", "fingerprint", c.ids, lib.vectors, fp_index)
    ranker = _ranker(lib, spaces=[clap, fp])
    late = int(c.ids[-1])  # accepted sample without a CLAP vector
    out = ranker.suggest(SessionContext(), SessionState(accepted=[late]))
    assert {s.source for s in out} == {"fingerprint"}
    out = ranker.suggest(SessionContext(), SessionState(accepted=[int(clap_ids[0]), late]))
    assert {s.source for s in out} == {"clap"}
    prompt = {"clap/v1": clap_vecs[3:4] + 0.01}
    out = ranker.suggest(SessionContext(mood_tags=("dark",)), SessionState(), prompt_vectors=prompt)
    assert out[0].source == "clap" and out[0].sample_id == int(clap_ids[3])
    assert out[0].rationale[0] == "matches prompt: dark (1.00)"
    no_vectors = _ranker(lib, spaces=[])
    out = no_vectors.suggest(SessionContext(), SessionState(accepted=[late]))
    assert {s.source for s in out} == {"recency"} and len(out) == 10


def test_space_that_cannot_fill_the_list_is_topped_up_by_recency(lib) -> None:
    c = lib.candidates
    few = EmbeddingSpaceData("fp", "fingerprint", c.ids[:4], lib.vectors[:4], None)
    out = _ranker(lib, spaces=[few]).suggest(SessionContext(), SessionState(accepted=[int(c.ids[0])]))
    assert [s.source for s in out] == ["fingerprint"] * 3 + ["recency"] * 7
    assert len({s.sample_id for s in out}) == 10


def test_similar_matches_brute_force(lib, fp_index) -> None:
    c = lib.candidates
    ranker = _ranker(lib, fp_index)
    [got] = ranker.similar([1007], top_k=5)
    sims = lib.vectors @ lib.vectors[7]
    order = [int(c.ids[i]) for i in np.argsort(-sims) if int(c.ids[i]) != 1007][:5]
    assert [i for i, _ in got] == order
    assert got[0][1] == pytest.approx(float(np.sort(sims)[-2]), abs=1e-5)
    [with_self] = ranker.similar([1007], top_k=2, exclude_self=False)
    assert with_self[0][0] == 1007
    [by_vector] = _ranker(lib).similar(vectors=lib.vectors[7:8], top_k=5, exclude_self=False)
    assert [i for i, _ in by_vector][1:] == order[:4]
    assert ranker.similar([999_999]) == [[]]
    with pytest.raises(CompanionError, match="no embedding space named"):
        ranker.similar([1007], space="clap/v9")


def test_bad_arguments(lib) -> None:
    ranker = _ranker(lib)
    with pytest.raises(CompanionError, match="unknown ranking mode"):
        ranker.suggest(SessionContext(), SessionState(), mode="magic")  # type: ignore[arg-type]
    assert ranker.suggest(SessionContext(), SessionState(), top_k=0) == []


def test_sonic_pi_library_by_name(sonic_pi) -> None:
    files = sorted(sonic_pi.glob("*.flac"))
    records = []
    for i, f in enumerate(files):
        family = f.stem.split("_")[0]
        records.append(
            record(
                i + 1,
                path=str(f),
                kind="loop" if family == "loop" else "one-shot",
                bpm=None,
                content_hash=f"sp{i}",
                tags=[family],
                added_at=NOW - i * DAY,
            )
        )
    c = Candidates.from_records(records)
    ranker = Ranker(c, [], RULES, now=lambda: NOW)
    out = ranker.suggest(SessionContext(mood_tags=("ambi",)), SessionState(), mode="rules", top_k=5)
    assert all(s.name.startswith("ambi_") for s in out)
    assert [s.rationale[0] for s in out] == ["mood: ambi"] * 5
    banned = ranker.suggest(SessionContext(), SessionState(banned_folders={str(sonic_pi)}))
    assert banned == []
    bd = [int(c.ids[r]) for r in range(len(c)) if c.names[r].startswith("bd_")]
    out = ranker.suggest(SessionContext(), SessionState(banned_ids=set(bd)), top_k=len(c))
    assert len(out) == len(c) - len(bd) and not any(s.name.startswith("bd_") for s in out)

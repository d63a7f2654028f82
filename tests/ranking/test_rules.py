"""The shipped fusion rules document and its validation."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from companion.errors import RulesError
from companion.ranking.rules import FusionRules, load_default_rules, load_packaged_rules, parse_rules


def test_shipped_document_holds_the_design_defaults() -> None:
    rules = load_packaged_rules(1)
    assert isinstance(rules, FusionRules)
    assert rules.version == 1
    # docs/architecture.md §3, shared fusion rules v1
    assert rules.filters.tempo.tolerance_bpm == 5.0
    assert sorted(rules.filters.tempo.tempo_multiples) == [0.5, 1.0, 2.0]
    assert rules.filters.key.allow_relative and rules.filters.key.camelot_steps == 1
    assert rules.filters.duplicates.cosine_threshold == 0.98
    assert (rules.score.tempo.boost, rules.score.tempo.within_bpm) == (0.15, 4.0)
    assert rules.score.key.boost == 0.10
    assert (rules.score.freshness.weight, rules.score.freshness.tau_days) == (0.05, 14.0)
    assert (rules.score.tags.boost_each, rules.score.tags.max_total) == (0.05, 0.10)
    assert rules.target.max_accepted == 5
    assert rules.mmr.lambda_ == 0.7


def test_the_default_is_format_2_with_the_v1_rules_and_instrument_awareness() -> None:
    v1, v2 = load_packaged_rules(1), load_default_rules()
    assert v2.version == 2 and v2 == load_packaged_rules(2)
    # everything of v1 is kept as it was
    assert (v2.filters, v2.target, v2.mmr) == (v1.filters, v1.target, v1.mmr)
    assert v2.score.model_dump(exclude={"instrument"}) == v1.score.model_dump(exclude={"instrument"})
    assert v1.score.instrument is None and v1.cold_start is None
    assert v2.score.instrument is not None and v2.score.instrument.same_boost > 0
    assert v2.cold_start is not None and v2.cold_start.repeat_penalty > 0
    # the instruments a producer reaches for first
    assert set(v2.cold_start.instrument_boost) >= {"drums", "kick", "snare", "hihat", "bass", "keys", "pad"}


@pytest.mark.parametrize("version", [1, 2])
def test_round_trip_through_json_text(version: int) -> None:
    rules = load_packaged_rules(version)
    doc = rules.to_json()
    assert doc["mmr"]["lambda"] == 0.7
    assert parse_rules(json.dumps(doc)) == rules
    # a v1 document comes back exactly as shipped: no v2 fields, not even as nulls (the hub
    # hashes the canonical JSON for its ETag)
    shipped = json.loads(resources.files("samplemind_protocol").joinpath(f"rules_v{version}.json").read_text())
    assert doc == shipped


def test_v2_fields_are_refused_in_v1_and_required_in_v2() -> None:
    v1, v2 = load_packaged_rules(1).to_json(), load_packaged_rules(2).to_json()
    with pytest.raises(RulesError, match="cold_start need format version 2"):
        parse_rules({**v1, "cold_start": v2["cold_start"]})
    with pytest.raises(RulesError, match="requires score.instrument"):
        parse_rules({**v2, "score": v1["score"]})
    with pytest.raises(RulesError, match="unknown instruments"):
        parse_rules({**v2, "cold_start": {**v2["cold_start"], "instrument_boost": {"didgeridoo": 0.1}}})


def _broken(path: list[str], value: object) -> dict:
    doc = copy.deepcopy(load_packaged_rules(1).to_json())
    node = doc
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["score", "tempo", "boost"], -0.1, "score.tempo.boost"),
        (["mmr", "lambda"], 1.5, "mmr.lambda"),
        (["filters", "key", "camelot_steps"], KeyError, "filters.key.camelot_steps"),
        (["filters", "tempo", "tempo_multiples"], [0, 1], "tempo_multiples"),
        (["score", "freshness", "tau_days"], 0, "score.freshness.tau_days"),
        (["score", "surprise"], 0.2, "score.surprise"),
        (["version"], 3, "version 3 is not supported"),
    ],
)
def test_invalid_documents_name_the_offending_field(path, value, message) -> None:
    with pytest.raises(RulesError, match=message.replace(".", r"\.")):
        parse_rules(_broken(path, value))


def test_non_json_and_non_object_documents_are_rejected() -> None:
    with pytest.raises(RulesError, match="not valid JSON"):
        parse_rules("{version: 1")
    with pytest.raises(RulesError, match="JSON object"):
        parse_rules("[1, 2]")

"""The shipped fusion rules document and its validation."""

from __future__ import annotations

import copy
import json

import pytest

from companion.errors import RulesError
from companion.ranking.rules import FusionRules, load_default_rules, parse_rules


def test_shipped_document_holds_the_design_defaults() -> None:
    rules = load_default_rules()
    assert isinstance(rules, FusionRules)
    assert rules.version == 1
    # DESIGN.md §3, shared fusion rules v1
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


def test_round_trip_through_json_text() -> None:
    rules = load_default_rules()
    doc = rules.to_json()
    assert doc["mmr"]["lambda"] == 0.7
    assert parse_rules(json.dumps(doc)) == rules


def _broken(path: list[str], value: object) -> dict:
    doc = copy.deepcopy(load_default_rules().to_json())
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
        (["version"], 2, "version 2 is not supported"),
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

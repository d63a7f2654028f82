"""Columnar candidates: defaults, lookups, folder prefixes, hash groups, tags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.errors import CatalogError
from companion.ranking.candidates import Candidates
from companion.ranking.tag_sets import TagSets

from .synth import record


def test_from_records_defaults_and_types() -> None:
    c = Candidates.from_records(
        [
            record(7, path="/a/Kick 01.wav", kind="one-shot", bpm=None, tags="Dark, Punchy"),
            record(3, path="/a/b/loop.wav", bpm=128, key_pc=9, mode="minor", tags=["warm"]),
        ]
    )
    assert len(c) == 2
    assert c.ids.dtype == np.int64 and c.bpm.dtype == np.float32 and c.key_pc.dtype == np.int8
    assert c.names == ("Kick 01.wav", "loop.wav") and c.folders == ("/a", "/a/b")
    assert c.is_loop.tolist() == [False, True]
    assert math.isnan(c.bpm[0]) and c.bpm[1] == 128
    assert c.key_pc.tolist() == [-1, 9] and c.mode.tolist() == [-1, 1]
    assert c.pitched.tolist() == [False, True]
    assert c.tags[0] == frozenset({"dark", "punchy"})
    assert c.key_codes.tolist() == [-1, 21]
    assert c.key_of(1).name == "A minor" and c.key_of(0) is None
    assert c.bpm_of(0) is None and c.bpm_of(1) == 128.0


def test_rows_of_maps_ids_and_marks_unknown() -> None:
    c = Candidates.from_records([record(i) for i in (50, 10, 30)])
    assert c.rows_of([10, 30, 50, 99, -1]).tolist() == [1, 2, 0, -1, -1]


def test_rows_under_matches_whole_folder_names_only() -> None:
    paths = ["/s/drums/k.wav", "/s/drums/sub/h.wav", "/s/drums2/x.wav", "/s/dru.wav", "/t/y.wav"]
    c = Candidates.from_records([record(i, path=p) for i, p in enumerate(paths)])
    assert sorted(c.rows_under("/s/drums").tolist()) == [0, 1]
    assert sorted(c.rows_under("/s/drums/").tolist()) == [0, 1]
    assert sorted(c.rows_under("/s").tolist()) == [0, 1, 2, 3]
    assert c.rows_under("/nowhere").tolist() == []


def test_hash_codes_group_same_audio_and_never_unknown_hashes() -> None:
    c = Candidates.from_records(
        [
            record(1, content_hash="aa"),
            record(2, content_hash="bb"),
            record(3, content_hash="aa"),
            record(4, content_hash=""),
            record(5, content_hash=""),
        ]
    )
    codes = c.hash_codes
    assert codes[0] == codes[2] and codes[0] != codes[1]
    assert codes[3] != codes[4]
    assert sorted(c.rows_with_hash_of(np.array([0])).tolist()) == [0, 2]
    assert c.rows_with_hash_of(np.array([3])).tolist() == [3]


def test_tag_index_and_newest_first() -> None:
    c = Candidates.from_records(
        [
            record(1, tags=["dark"], added_at=10.0),
            record(2, tags=["Dark", "warm"], added_at=30.0),
            record(3, added_at=20.0),
            record(4, added_at=30.0),
        ]
    )
    assert c.rows_tagged("DARK").tolist() == [0, 1]
    assert c.rows_tagged("none").tolist() == []
    assert c.newest_first.tolist() == [3, 1, 2, 0]  # ties: higher id first


def test_mismatched_columns_and_duplicate_ids_are_rejected() -> None:
    good = Candidates.from_records([record(1), record(2)])
    with pytest.raises(CatalogError, match="disagree in length"):
        Candidates(**{**good.__dict__, "names": ["only one"]})
    with pytest.raises(CatalogError, match="not unique"):
        Candidates.from_records([record(1), record(1)])
    with pytest.raises(CatalogError, match="lacks"):
        Candidates.from_records([{"path": "/x.wav"}])


def test_tag_sets_store_rows_flat_and_read_as_sets() -> None:
    vocab = ["Dark", "dark ", "warm", "  ", "Bright"]
    tags = TagSets.from_pairs(4, np.array([2, 0, 0, 2, 2, 3]), np.array([2, 0, 1, 4, 2, 3]), vocab)
    assert len(tags) == 4 and tags.counts().tolist() == [1, 0, 2, 0]  # repeats and blanks dropped
    assert tags[0] == frozenset({"dark"}) and tags[1] == frozenset() and tags[-2] == frozenset({"warm", "bright"})
    assert list(tags) == [frozenset({"dark"}), frozenset(), frozenset({"warm", "bright"}), frozenset()]
    assert tags.rows_with("warm").tolist() == [2] and tags.rows_with("Dark").tolist() == []
    with pytest.raises(IndexError):
        tags[4]
    with pytest.raises(ValueError):
        TagSets.from_pairs(2, np.array([2]), np.array([0]), ["x"])
    as_given = TagSets.from_sets([{"Dark"}, set(), {"Dark", "b"}])
    assert as_given[0] == frozenset({"Dark"}) and as_given.rows_with("Dark").tolist() == [0, 2]
    assert len(TagSets.empty(3)) == 3 and TagSets.empty(3)[2] == frozenset()

"""Columnar view of the sample library, as the ranker needs it.

The engine builds one :class:`Candidates` per library snapshot from the catalog's columns
(:meth:`Candidates.from_columns` over :meth:`companion.library.catalog.Catalog.candidate_columns`),
without a Python object per sample. Columns are numpy arrays so that the hard filters and the score terms of
the fusion rules run vectorised over the whole library; a few derived indexes (id → row,
sorted paths for folder bans, content-hash groups, tag → rows) are built lazily, once.

A *row* is a position ``0 … n-1`` in these arrays; a *sample id* is the catalog's id.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from companion.analysis.instruments import INSTRUMENTS, normalise_instrument
from companion.errors import CatalogError
from companion.music.keys import Key, parse_mode
from companion.ranking.tag_sets import TagSets

if TYPE_CHECKING:
    from companion.library.candidate_columns import CandidateColumns

#: Key code of a row: ``pitch_class + 12 * mode`` (0–11 major, 12–23 minor); −1 = unknown.
UNKNOWN_KEY = -1
#: Instrument code of a row: its index in ``INSTRUMENTS``; −1 = unknown.
UNKNOWN_INSTRUMENT = -1


def instrument_code(name: str | None) -> int:
    """Code of an instrument class or synonym (``"bd"`` → the code of ``"kick"``); −1 for
    None or a word that names no instrument."""
    found = normalise_instrument(name) if name else None
    return UNKNOWN_INSTRUMENT if found is None else INSTRUMENTS.index(found)


def instrument_name(code: int) -> str | None:
    """The instrument class of a code, None for :data:`UNKNOWN_INSTRUMENT`."""
    return INSTRUMENTS[code] if 0 <= code < len(INSTRUMENTS) else None


def key_code(pitch_class: int, mode: int) -> int:
    """Key code used by the columns: ``pitch_class + 12·mode`` (mode 0 major, 1 minor)."""
    return pitch_class + 12 * mode


def member_of(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Bool mask: which ``values`` occur in ``sorted_set`` (ascending, unique).

    Faster than ``np.isin`` when the set is small or already sorted: one binary search each.
    """
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    found: npt.NDArray[np.bool_] = sorted_set[pos] == values
    return found


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique int64 values (a sort and a diff: cheaper than ``np.unique`` here)."""
    a = np.sort(np.asarray(values, dtype=np.int64))
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def merge_windows(windows: Iterable[tuple[float, float]]) -> list[tuple[np.float32, np.float32]]:
    """Union of closed intervals ``[lo, hi]`` as sorted, disjoint float32 intervals."""
    merged: list[list[float]] = []
    for lo, hi in sorted((float(a), float(b)) for a, b in windows):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(np.float32(lo), np.float32(hi)) for lo, hi in merged]


def _mode_code(value: Any) -> int:
    if value is None:
        return -1
    if isinstance(value, (int, np.integer)):
        return int(value) if int(value) in (0, 1) else -1
    return 1 if parse_mode(str(value)) == "minor" else 0


def _tags(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(t.strip().lower() for t in items if str(t).strip())


def _frozen(values: Sequence[str]) -> tuple[str, ...]:
    """``values`` as a tuple (the same object when it already is one)."""
    return values if isinstance(values, tuple) else tuple(values)


@dataclass
class Candidates:
    """The library as columns; every array has length ``n``.

    Attributes:
        ids: (n,) int64 sample ids, unique.
        paths: absolute file paths (stored as a tuple, as are the other text columns).
        names: file names shown to the user (``kick_03.wav``).
        folders: parent folders of the files.
        content_hash: hash of the audio content; ``""`` = unknown (never a duplicate).
        is_loop: (n,) bool, True for loops, False for one-shots.
        bpm: (n,) float32 tempo in BPM, NaN = unknown.
        key_pc: (n,) int8 tonic pitch class 0–11, −1 = unknown.
        mode: (n,) int8 0 major, 1 minor, −1 unknown.
        pitched: (n,) bool, True when the sample has a tonal centre.
        added_at: (n,) float64 unix time (s) when the sample entered the library.
        duration_s: (n,) float32 duration in seconds.
        kind: ``"loop"`` or ``"one-shot"`` per row.
        tags: tags per row (mood, genre, instrument …; lower-case when built from records
            or columns): ``tags[row]`` is a frozenset; stored flat as :class:`TagSets`
            (a list of sets given to the constructor is converted).
        instrument: (n,) int8 instrument code (index in ``INSTRUMENTS``), −1 = unknown;
            see :func:`instrument_code` / :func:`instrument_name`.
    """

    ids: npt.NDArray[np.int64]
    paths: Sequence[str]
    names: Sequence[str]
    folders: Sequence[str]
    content_hash: Sequence[str]
    is_loop: npt.NDArray[np.bool_]
    bpm: npt.NDArray[np.float32]
    key_pc: npt.NDArray[np.int8]
    mode: npt.NDArray[np.int8]
    pitched: npt.NDArray[np.bool_]
    added_at: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float32]
    kind: Sequence[str]
    if TYPE_CHECKING:
        # The fields as __post_init__ leaves them. The constructor (the stub below; the
        # dataclass generates the real one) takes arrays of any dtype, which __post_init__
        # converts, a list of sets as tags, and None as instrument (the ``else`` branch).
        tags: TagSets
        instrument: npt.NDArray[np.int8]

        def __init__(
            self,
            ids: np.ndarray,
            paths: Sequence[str],
            names: Sequence[str],
            folders: Sequence[str],
            content_hash: Sequence[str],
            is_loop: np.ndarray,
            bpm: np.ndarray,
            key_pc: np.ndarray,
            mode: np.ndarray,
            pitched: np.ndarray,
            added_at: np.ndarray,
            duration_s: np.ndarray,
            kind: Sequence[str],
            tags: TagSets | Sequence[Iterable[str]] = ...,
            instrument: np.ndarray | None = None,
            peak_dbfs: np.ndarray | None = None,
        ) -> None: ...

        peak_dbfs: npt.NDArray[np.float32]

    else:
        tags: TagSets | Sequence[Iterable[str]] = field(default_factory=list)
        instrument: np.ndarray | None = None
        peak_dbfs: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.ids = np.ascontiguousarray(self.ids, dtype=np.int64)
        n = len(self.ids)
        # Text columns are tuples: a tuple of str leaves the cyclic collector's lists at its
        # first collection (CPython untracks tuples that hold only untracked objects), so a full
        # collection never walks 100k references per column (a list of 100k paths costs every
        # full collection several ms, on whichever thread triggers it, the GUI thread included:
        # ~30 ms of CPU for the seven text columns of 100k samples, benchmarks/gui_responsiveness.py).
        self.paths = _frozen(self.paths)
        self.names = _frozen(self.names)
        self.folders = _frozen(self.folders)
        self.content_hash = _frozen(self.content_hash)
        self.kind = _frozen(self.kind)
        self.is_loop = np.ascontiguousarray(self.is_loop, dtype=bool)
        self.bpm = np.ascontiguousarray(self.bpm, dtype=np.float32)
        self.key_pc = np.ascontiguousarray(self.key_pc, dtype=np.int8)
        self.mode = np.ascontiguousarray(self.mode, dtype=np.int8)
        self.pitched = np.ascontiguousarray(self.pitched, dtype=bool)
        self.added_at = np.ascontiguousarray(self.added_at, dtype=np.float64)
        self.duration_s = np.ascontiguousarray(self.duration_s, dtype=np.float32)
        tags: TagSets | Sequence[Iterable[str]] = self.tags  # as given to the constructor
        if not isinstance(tags, TagSets):
            self.tags = TagSets.from_sets(tags) if len(tags) else TagSets.empty(n)
        instrument: np.ndarray | None = self.instrument  # as given to the constructor
        if instrument is None:
            self.instrument = np.full(n, UNKNOWN_INSTRUMENT, dtype=np.int8)
        self.instrument = np.ascontiguousarray(self.instrument, dtype=np.int8)
        peak: np.ndarray | None = self.peak_dbfs  # as given to the constructor
        self.peak_dbfs = np.ascontiguousarray(np.full(n, np.nan) if peak is None else peak, dtype=np.float32)
        columns: dict[str, Sized] = {
            "paths": self.paths,
            "names": self.names,
            "folders": self.folders,
            "content_hash": self.content_hash,
            "is_loop": self.is_loop,
            "bpm": self.bpm,
            "key_pc": self.key_pc,
            "mode": self.mode,
            "pitched": self.pitched,
            "added_at": self.added_at,
            "duration_s": self.duration_s,
            "kind": self.kind,
            "tags": self.tags,
            "instrument": self.instrument,
            "peak_dbfs": self.peak_dbfs,
        }
        bad = [f"{name} ({len(col)})" for name, col in columns.items() if len(col) != n]
        if bad:
            raise CatalogError(
                f"candidate columns disagree in length: ids has {n}, but {', '.join(bad)}; "
                "rebuild the candidates from one catalog snapshot"
            )
        if n and len(np.unique(self.ids)) != n:
            raise CatalogError("candidate sample ids are not unique; rebuild from the catalog")

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Candidates:
        """Build from one mapping per sample; keys are the field names.

        Required keys: ``id`` (or ``ids``) and ``path``. Optional keys default to unknown:
        ``name`` (file name of path), ``folder`` / ``folders`` (parent of path),
        ``content_hash`` (""), ``kind`` ("one-shot"; ``is_loop`` follows it unless given),
        ``bpm`` (None → NaN), ``key_pc`` (None → −1), ``mode`` ("minor"/"major", 0/1 or None),
        ``pitched`` (True when ``key_pc`` ≥ 0), ``added_at`` (0.0), ``duration_s`` (NaN),
        ``tags`` (iterable of words or a comma-separated string), ``instrument`` (a class
        name or synonym, None → unknown).

        Raises:
            CatalogError: if a record lacks ``id`` or ``path``.
        """
        cols: dict[str, list[Any]] = {
            name: []
            for name in (
                "ids",
                "paths",
                "names",
                "folders",
                "content_hash",
                "is_loop",
                "bpm",
                "key_pc",
                "mode",
                "pitched",
                "added_at",
                "duration_s",
                "kind",
                "tags",
                "instrument",
                "peak_dbfs",
            )
        }
        for i, rec in enumerate(records):
            sid = rec.get("id", rec.get("ids", rec.get("sample_id")))
            path = rec.get("path", rec.get("paths"))
            if sid is None or path is None:
                raise CatalogError(f"candidate record {i} lacks an 'id' or a 'path': {dict(rec)!r}")
            path = str(path)
            kind = str(rec.get("kind") or "one-shot")
            bpm = rec.get("bpm")
            key_pc = rec.get("key_pc")
            mode = _mode_code(rec.get("mode"))
            cols["ids"].append(int(sid))
            cols["paths"].append(path)
            cols["names"].append(str(rec.get("name") or rec.get("names") or os.path.basename(path)))
            cols["folders"].append(str(rec.get("folder") or rec.get("folders") or os.path.dirname(path)))
            cols["content_hash"].append(str(rec.get("content_hash") or ""))
            cols["is_loop"].append(bool(rec.get("is_loop", kind == "loop")))
            cols["bpm"].append(math.nan if bpm is None else float(bpm))
            cols["key_pc"].append(-1 if key_pc is None else int(key_pc))
            cols["mode"].append(mode)
            cols["pitched"].append(bool(rec.get("pitched", cols["key_pc"][-1] >= 0)))
            cols["added_at"].append(float(rec.get("added_at") or 0.0))
            duration = rec.get("duration_s")
            cols["duration_s"].append(math.nan if duration is None else float(duration))
            cols["kind"].append(kind)
            cols["tags"].append(_tags(rec.get("tags")))
            cols["instrument"].append(instrument_code(rec.get("instrument")))
            peak = rec.get("peak_dbfs")
            cols["peak_dbfs"].append(math.nan if peak is None else float(peak))
        return cls(
            ids=np.array(cols["ids"], dtype=np.int64),
            paths=cols["paths"],
            names=cols["names"],
            folders=cols["folders"],
            content_hash=cols["content_hash"],
            is_loop=np.array(cols["is_loop"], dtype=bool),
            bpm=np.array(cols["bpm"], dtype=np.float32),
            key_pc=np.array(cols["key_pc"], dtype=np.int8),
            mode=np.array(cols["mode"], dtype=np.int8),
            pitched=np.array(cols["pitched"], dtype=bool),
            added_at=np.array(cols["added_at"], dtype=np.float64),
            duration_s=np.array(cols["duration_s"], dtype=np.float32),
            kind=cols["kind"],
            tags=TagSets.from_sets(cols["tags"]),
            instrument=np.array(cols["instrument"], dtype=np.int8),
            peak_dbfs=np.array(cols["peak_dbfs"], dtype=np.float32),
        )

    @classmethod
    def from_columns(cls, columns: CandidateColumns) -> Candidates:
        """Build from the catalog's columns
        (:meth:`companion.library.catalog.Catalog.candidate_columns`), vectorised.

        The same library as :meth:`from_records` over one record per sample: tags are
        stripped, lower-cased and deduplicated per row; instrument names or synonyms become
        codes (unknown words: −1).

        Raises:
            CatalogError: the columns disagree in length or repeat a sample id.
        """
        n = len(columns.ids)
        codes = {name: instrument_code(name) for name in set(columns.instrument)}
        return cls(
            ids=columns.ids,
            paths=columns.paths,
            names=columns.names,
            folders=columns.folders,
            content_hash=columns.content_hash,
            is_loop=columns.is_loop,
            bpm=columns.bpm,
            key_pc=columns.key_pc,
            mode=columns.mode,
            pitched=columns.pitched,
            added_at=columns.added_at,
            duration_s=columns.duration_s,
            kind=columns.kind,
            tags=TagSets.from_pairs(n, columns.tag_rows, columns.tag_words, columns.tag_vocabulary),
            instrument=np.fromiter(map(codes.__getitem__, columns.instrument), dtype=np.int8, count=n),
            peak_dbfs=columns.peak_dbfs,
        )

    def cold_start_unfit(self, min_duration_s: float, min_peak_dbfs: float, tags: Sequence[str]) -> np.ndarray:
        """Rows a cold start does not offer (rules ``cold_start.min_duration_s``,
        ``min_peak_dbfs``, ``exclude_tags``): shorter than ``min_duration_s`` (s; unknown
        durations pass), a sample peak below ``min_peak_dbfs`` (dBFS: silent or near-silent;
        unknown peaks pass), or carrying one of ``tags`` (single-cycle waveforms, LFO shapes).

        Returns:
            (n,) bool, True where the row is unfit.
        """
        with np.errstate(invalid="ignore"):
            unfit: npt.NDArray[np.bool_] = (self.duration_s > 0) & (self.duration_s < min_duration_s)
            unfit |= self.peak_dbfs < min_peak_dbfs
        for tag in tags:
            unfit[self.tags.rows_with(tag.lower())] = True
        return unfit

    # ----------------------------------------------------------------- derived indexes

    def prepare(self) -> Candidates:
        """Build every derived index now (≈1 s per million rows) instead of on first use."""
        for name in (
            "_id_order",
            "_id_table",
            "key_codes",
            "tempo_free",
            "_path_index",
            "path_rank",
            "hash_codes",
            "_hash_index",
            "newest_first",
            "_loop_bpm_index",
            "_key_index",
        ):
            getattr(self, name)
        self.tags.prepare()
        return self

    @cached_property
    def _id_order(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.ids, kind="stable")
        return self.ids[order], order

    @cached_property
    def _id_table(self) -> np.ndarray | None:
        """Dense id → row table when ids are small non-negative integers (catalog row ids)."""
        if not len(self.ids) or self.ids.min() < 0 or self.ids.max() > 4 * len(self.ids) + 1024:
            return None
        table = np.full(int(self.ids.max()) + 1, -1, dtype=np.int64)
        table[self.ids] = np.arange(len(self.ids), dtype=np.int64)
        return table

    def rows_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Rows of the given sample ids.

        Returns:
            (len(ids),) int64 rows; −1 where an id is not in the library.
        """
        query = np.asarray(ids, dtype=np.int64).reshape(-1)
        table = self._id_table
        if table is not None:
            inside = (query >= 0) & (query < len(table))
            return np.where(inside, table[np.where(inside, query, 0)], -1)
        sorted_ids, order = self._id_order
        if len(sorted_ids) == 0:
            return np.full(len(query), -1, dtype=np.int64)
        pos = np.searchsorted(sorted_ids, query)
        pos = np.minimum(pos, len(sorted_ids) - 1)
        found = sorted_ids[pos] == query
        return np.where(found, order[pos], -1).astype(np.int64)

    @cached_property
    def key_codes(self) -> np.ndarray:
        """(n,) int8 key code ``pitch_class + 12·mode`` of pitched rows with a known key, else −1.

        Unpitched rows and rows whose tonic or mode is unknown get −1: the key filter passes
        them and the key boost never applies to them (docs/architecture.md §3).
        """
        known = self.pitched & (self.key_pc >= 0) & (self.key_pc <= 11) & (self.mode >= 0)
        codes = self.key_pc.astype(np.int16) + 12 * self.mode.astype(np.int16)
        return np.where(known, codes, UNKNOWN_KEY).astype(np.int8)

    @cached_property
    def tempo_free(self) -> np.ndarray:
        """(n,) bool rows the tempo filter always passes: one-shots and unknown BPM."""
        return ~self.is_loop | np.isnan(self.bpm)

    @cached_property
    def _path_index(self) -> tuple[tuple[str, ...], np.ndarray]:
        order = sorted(range(len(self.paths)), key=self.paths.__getitem__)
        return tuple(self.paths[i] for i in order), np.asarray(order, dtype=np.int64)

    def path_range(self, folder: str) -> tuple[int, int]:
        """``(lo, hi)`` such that the rows under ``folder`` are ``path_order[lo:hi]``."""
        sorted_paths, _ = self._path_index
        prefix = folder
        if not prefix.endswith(("/", "\\")):
            prefix += "\\" if ("\\" in prefix and "/" not in prefix) else "/"
        lo = bisect.bisect_left(sorted_paths, prefix)
        hi = bisect.bisect_left(sorted_paths, prefix + "\U0010ffff")
        return lo, hi

    @property
    def path_order(self) -> np.ndarray:
        """(n,) int64 rows sorted by path."""
        return self._path_index[1]

    @cached_property
    def path_rank(self) -> np.ndarray:
        """(n,) int64 position of each row in :attr:`path_order`."""
        rank = np.empty(len(self), dtype=np.int64)
        rank[self.path_order] = np.arange(len(self), dtype=np.int64)
        return rank

    def rows_under(self, folder: str) -> np.ndarray:
        """Rows whose path lies under ``folder`` (a path prefix ending at a separator).

        ``/a/b`` matches ``/a/b/x.wav`` and ``/a/b/c/y.wav`` but not ``/a/bc/z.wav``.

        Returns:
            int64 rows, unordered.
        """
        lo, hi = self.path_range(folder)
        return self.path_order[lo:hi]

    @cached_property
    def hash_codes(self) -> np.ndarray:
        """(n,) int64 code per content hash; rows with the same audio share a code.

        Rows with an unknown hash (``""``) get unique negative codes, so they never collide.
        """
        codes = np.empty(len(self), dtype=np.int64)
        seen: dict[str, int] = {}
        for row, h in enumerate(self.content_hash):
            codes[row] = seen.setdefault(h, len(seen)) if h else -(row + 1)
        return codes

    @cached_property
    def _hash_index(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.hash_codes, kind="stable")
        return self.hash_codes[order], order

    def rows_with_hash_of(self, rows: np.ndarray) -> np.ndarray:
        """All rows whose content hash equals that of one of ``rows`` (including themselves)."""
        sorted_codes, order = self._hash_index
        codes = sorted_unique(self.hash_codes[np.asarray(rows, dtype=np.int64)])
        lo = np.searchsorted(sorted_codes, codes, side="left")
        hi = np.searchsorted(sorted_codes, codes, side="right")
        if len(codes) == 0:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([order[a:b] for a, b in zip(lo, hi, strict=True)])

    def rows_tagged(self, tag: str) -> np.ndarray:
        """Sorted int64 rows carrying ``tag`` (case-insensitive)."""
        return self.tags.rows_with(tag.strip().lower())

    @cached_property
    def _loop_bpm_index(self) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(self.is_loop & ~np.isnan(self.bpm))
        order = np.argsort(self.bpm[rows], kind="stable")
        return self.bpm[rows][order], rows[order].astype(np.int64)

    def loop_slices(self, windows: Sequence[tuple[float | np.float32, float | np.float32]]) -> list[np.ndarray]:
        """Rows of loops whose BPM lies in each closed window ``[lo, hi]`` (one array each)."""
        sorted_bpm, rows = self._loop_bpm_index
        out = []
        for lo, hi in windows:
            a = np.searchsorted(sorted_bpm, np.float32(lo), side="left")
            b = np.searchsorted(sorted_bpm, np.float32(hi), side="right")
            out.append(rows[a:b])
        return out

    @cached_property
    def _key_index(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.key_codes, kind="stable").astype(np.int64)
        return self.key_codes[order], order

    def rows_with_key_code(self, code: int) -> np.ndarray:
        """Rows (ascending) whose :attr:`key_codes` entry equals ``code``."""
        sorted_codes, order = self._key_index
        code8 = np.int8(code)  # same dtype: no conversion of the whole column
        a = np.searchsorted(sorted_codes, code8, side="left")
        b = np.searchsorted(sorted_codes, code8, side="right")
        return order[a:b]

    @cached_property
    def newest_first(self) -> np.ndarray:
        """(n,) int64 rows ordered by ``added_at`` descending (ties: higher id first)."""
        return np.lexsort((-self.ids, -self.added_at)).astype(np.int64)

    def key_of(self, row: int) -> Key | None:
        """The key of a row, or None when unknown (pitched or not)."""
        pc, mode = int(self.key_pc[row]), int(self.mode[row])
        if not 0 <= pc <= 11 or mode not in (0, 1):
            return None
        return Key(pc, "minor" if mode == 1 else "major")

    def instrument_of(self, row: int) -> str | None:
        """The instrument class of a row, or None when unknown."""
        return instrument_name(int(self.instrument[row]))

    def bpm_of(self, row: int) -> float | None:
        """The tempo of a row in BPM, or None when unknown."""
        value = float(self.bpm[row])
        return None if math.isnan(value) else value

"""The ranker's input read from the catalog as columns, not as one Python object per sample.

:func:`read_candidate_columns` runs two queries (the samples, then their analysis tags) and
streams their rows straight into numpy arrays: no row dicts, no :class:`SampleRow`, no
``json.loads`` per sample. SQLite itself applies the producer's corrections and extracts the
analysis fields (``json_extract``), with the same rules as :meth:`Catalog.rows`.

On a 100k-sample library this leaves a handful of long-lived Python containers (the string
lists) instead of a few hundred thousand, so the cyclic garbage collector has nothing to walk.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from companion.library.db import Connection
from companion.library.search import INSTRUMENT_SQL

# One row per analysed sample, ordered by path. The inner query applies the corrections (an
# override wins field by field; a key override brings its mode); the outer one keeps a key only
# when tonic and mode are both valid, as ``Catalog.rows`` shows it.
_SAMPLES_SQL = f"""
SELECT id, path, name, folder, content_hash, name_tags, added_at,
       COALESCE(NULLIF(kind, ''), 'one-shot') AS kind,
       bpm,
       CASE WHEN key_ok THEN key_pc ELSE -1 END AS key_pc,
       CASE WHEN NOT key_ok THEN -1 WHEN mode = 'minor' THEN 1 ELSE 0 END AS mode,
       (COALESCE(pitched, 0) != 0) OR key_ok AS pitched,
       COALESCE(duration_s, 0.0) AS duration_s,
       instrument,
       peak_dbfs
FROM (
    SELECT *, (key_pc IS NOT NULL AND key_pc BETWEEN 0 AND 11 AND mode IN ('major', 'minor')) AS key_ok
    FROM (
        SELECT s.id, s.path, s.name, s.folder, COALESCE(s.content_hash, '') AS content_hash,
               s.name_tags, s.added_at,
               COALESCE(o.kind, json_extract(a.analysis_json, '$.kind')) AS kind,
               COALESCE(o.bpm, json_extract(a.analysis_json, '$.bpm')) AS bpm,
               CAST(IIF(o.key_pc IS NULL, json_extract(a.analysis_json, '$.key_pc'), o.key_pc) AS INTEGER)
                   AS key_pc,
               IIF(o.key_pc IS NULL, json_extract(a.analysis_json, '$.mode'), o.mode) AS mode,
               json_extract(a.analysis_json, '$.pitched') AS pitched,
               json_extract(a.analysis_json, '$.duration_s') AS duration_s,
               json_extract(a.analysis_json, '$.peak_dbfs') AS peak_dbfs,
               {INSTRUMENT_SQL} AS instrument
        FROM samples s
        LEFT JOIN analyses a ON a.content_hash = s.content_hash
        LEFT JOIN overrides o ON o.content_hash = s.content_hash
        WHERE s.status = 'analysed'
    )
)
ORDER BY path
"""

# The analysis' own tags of every analysed sample, one row per (sample, tag).
_ANALYSIS_TAGS_SQL = """
SELECT s.id, j.value
FROM samples s
JOIN analyses a ON a.content_hash = s.content_hash, json_each(a.analysis_json, '$.tags') j
WHERE s.status = 'analysed'
"""

_ROW_DTYPE = np.dtype(
    [
        ("id", np.int64),
        ("path", object),
        ("name", object),
        ("folder", object),
        ("content_hash", object),
        ("name_tags", object),
        ("added_at", np.float64),
        ("kind", object),
        ("bpm", np.float64),
        ("key_pc", np.int8),
        ("mode", np.int8),
        ("pitched", np.bool_),
        ("duration_s", np.float64),
        ("instrument", object),
        ("peak_dbfs", np.float64),
    ]
)


@dataclass(frozen=True)
class CandidateColumns:
    """Every analysed sample as columns, ordered by path; every per-sample column has length n.

    Text columns are tuples, not lists: CPython's collector untracks a tuple of str at its first
    collection, so the 100k-reference columns never slow a full collection down.

    The producer's corrections are applied (as :meth:`Catalog.rows` applies them).

    Attributes:
        ids: (n,) int64 catalog sample ids.
        paths / names / folders: absolute path, file name and parent folder per sample.
        content_hash: per sample; ``""`` when the file is not hashed.
        kind: ``"loop"`` or ``"one-shot"`` (the default when unknown) per sample.
        is_loop: (n,) bool, ``kind == "loop"``.
        bpm: (n,) float64 tempo in BPM, NaN = unknown.
        key_pc: (n,) int8 tonic pitch class 0–11, −1 when the key is unknown.
        mode: (n,) int8 0 major, 1 minor, −1 when the key is unknown.
        pitched: (n,) bool, the analysis says pitched or the sample has a key.
        added_at: (n,) float64 unix time (s) when the sample was first found.
        duration_s: (n,) float64 seconds, 0.0 when unknown.
        peak_dbfs: (n,) float64 sample peak in dBFS, NaN when unknown.
        instrument: instrument class or synonym (the correction, else the analysis'), or None.
        tag_rows / tag_words: (m,) int64 row and (m,) int32 index into ``tag_vocabulary`` of
            each tag of each sample: the words of the file's folders and name, then the
            analysis' tags, as stored (any case; repeats possible).
        tag_vocabulary: the distinct tag words as stored.
    """

    ids: np.ndarray
    paths: tuple[str, ...]
    names: tuple[str, ...]
    folders: tuple[str, ...]
    content_hash: tuple[str, ...]
    kind: tuple[str, ...]
    is_loop: np.ndarray
    bpm: np.ndarray
    key_pc: np.ndarray
    mode: np.ndarray
    pitched: np.ndarray
    added_at: np.ndarray
    duration_s: np.ndarray
    instrument: tuple[str | None, ...]
    tag_rows: np.ndarray
    tag_words: np.ndarray
    tag_vocabulary: tuple[str, ...]
    peak_dbfs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


def read_candidate_columns(conn: Connection) -> CandidateColumns:
    """Read every analysed sample of the catalog as :class:`CandidateColumns`.

    Args:
        conn: an open catalog connection (:func:`companion.library.db.connect`).

    Returns:
        The columns, ordered by path; empty arrays for an empty catalog.
    """
    table = np.fromiter(conn.execute(_SAMPLES_SQL), dtype=_ROW_DTYPE)
    n = len(table)
    ids = table["id"].copy()
    kinds = table["kind"]

    # Tags: the name words of each row, then the analysis' tags, in one long (row, word) list.
    # One pass, no list per row: 100k short-lived lists would be 100k objects for any full
    # collection that runs meanwhile (on whichever thread, the GUI thread included) to walk.
    words: dict[str, int] = {}
    name_counts = np.zeros(n, dtype=np.int64)
    name_codes_buf = array("i")
    for row, text in enumerate(table["name_tags"].tolist()):
        row_words = text.split()
        name_counts[row] = len(row_words)
        name_codes_buf.extend([words.setdefault(w, len(words)) for w in row_words])
    name_codes = np.frombuffer(name_codes_buf, dtype=np.int32) if len(name_codes_buf) else np.zeros(0, np.int32)
    tag_ids, tag_values = [], []
    for sid, value in conn.execute(_ANALYSIS_TAGS_SQL):
        tag_ids.append(sid)
        tag_values.append(value if isinstance(value, str) else str(value))
    analysis_codes = np.fromiter(
        (words.setdefault(w, len(words)) for w in tag_values), dtype=np.int32, count=len(tag_values)
    )
    # Map each tag's sample id to its row. A sample analysed between the two queries (a scan
    # writes meanwhile) is in neither list: its tags are dropped with it.
    by_id = np.argsort(ids)
    sorted_ids = ids[by_id]
    wanted = np.asarray(tag_ids, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, wanted), max(n - 1, 0))
    found = sorted_ids[pos] == wanted if n else np.zeros(len(wanted), dtype=bool)
    analysis_rows, analysis_codes = by_id[pos[found]], analysis_codes[found]
    return CandidateColumns(
        ids=ids,
        paths=tuple(table["path"].tolist()),
        names=tuple(table["name"].tolist()),
        folders=_shared(table["folder"].tolist()),
        content_hash=tuple(table["content_hash"].tolist()),
        kind=_shared(kinds.tolist()),
        is_loop=kinds == "loop",
        bpm=table["bpm"].copy(),
        key_pc=table["key_pc"].copy(),
        mode=table["mode"].copy(),
        pitched=table["pitched"].copy(),
        added_at=table["added_at"].copy(),
        duration_s=table["duration_s"].copy(),
        instrument=tuple(table["instrument"].tolist()),
        tag_rows=np.concatenate([np.repeat(np.arange(n, dtype=np.int64), name_counts), analysis_rows]),
        tag_words=np.concatenate([name_codes, analysis_codes]),
        tag_vocabulary=tuple(words),
        peak_dbfs=table["peak_dbfs"].copy(),
    )


def _shared(values: list[str]) -> tuple[str, ...]:
    """The same values with equal strings as one object (folders and kinds repeat a lot)."""
    seen: dict[str, str] = {}
    return tuple(seen.setdefault(v, v) for v in values)

"""Searching the library by text, and "more like this", with the producer's bans applied.

One implementation for the window's search box and ``companion search``: with a CLAP model the
prompt is embedded and the nearest samples come back by cosine similarity (samples of an
instrument the prompt names first: "kick" finds kicks before kick-like snares); without one,
each word matches names, folder tags and instruments (:mod:`companion.library.search`), and a
sample matching more of the words ranks first ("warm pad" finds pads, warm pads first). Banned
samples and folders never appear (:func:`companion.ranking.filters.banned_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from companion.library.catalog import Catalog, SampleRow
from companion.library.search import query_instruments
from companion.ranking.filters import banned_rows

#: Most hits a search returns.
DEFAULT_LIMIT = 200
#: Note on a hit that is indexed but not analysed yet (findable by name during a scan).
PENDING_NOTE = "analysing…"
#: Statuses a name search covers: analysed files, and files indexed but not analysed yet.
_NAME_SEARCH_STATUSES = ("analysed", "pending")


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    Attributes:
        row: the sample, corrections applied.
        score: cosine similarity of the prompt and the sample (CLAP), or None (name match).
        source: ``clap`` or ``names``.
        rationale: one line saying why it matched (ends with ``" · analysing…"`` for a
            file that is indexed but not analysed yet).
        note: ``"analysing…"`` for such a file (found by name only; no BPM, key or kind yet),
            else None.
    """

    row: SampleRow
    score: float | None
    source: str
    rationale: str
    note: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """What a search found.

    Attributes:
        text: the query as searched (stripped).
        hits: best first.
        space: the CLAP embedding space searched, or None (names and tags).
        note: how it searched, e.g. ``"through CLAP"`` or ``"names and tags (no CLAP model)"``.
    """

    text: str
    hits: list[SearchHit]
    space: str | None
    note: str


def allowed_ids(engine: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Sample ids of the library, and those not banned (None: nothing is banned).

    Returns:
        ``(ids, allowed)``: (n,) int64 every candidate's id, and (m,) int64 the unbanned ones.
    """
    cands = engine.candidates
    banned = banned_rows(cands, engine.state)
    ids = np.asarray(cands.ids, dtype=np.int64)
    return ids, (ids[~banned] if banned.any() else None)


def search_library(engine: Any, catalog: Catalog, text: str, limit: int = DEFAULT_LIMIT) -> SearchResult:
    """Search the library for ``text``.

    Args:
        engine: the session's :class:`~companion.engine.Engine` (candidates, bans, vectors, CLAP).
        catalog: a catalog connection for this thread (the engine's, or the window's own).
        limit: most hits.
    """
    text = text.strip()
    embedder = engine.text_embedder
    space = next((s for s in engine.spaces if embedder is not None and s.space == embedder.space), None)
    if embedder is not None and space is not None and space.index is not None and text:
        ids, allowed = allowed_ids(engine)
        query = embedder.embed_text([text])
        pairs = _nearest_by_prompt(catalog, space.index, query, text, limit, allowed, ids)
        hits = []
        for sid, sim in pairs:
            row = catalog.get(sid)
            if row is not None:
                hits.append(SearchHit(row, sim, "clap", f"text match {sim:.2f}"))
        return SearchResult(text, hits, space.space, "through CLAP")
    # bans are checked on each row (as banned_rows does on the candidates): rows still being
    # analysed are not candidates
    folders = tuple(f.rstrip("/") + "/" for f in engine.state.banned_folders)
    hits = _match_words(catalog, text, set(engine.state.banned_ids), limit, folders)
    return SearchResult(text, hits, None, "names and tags" + (" (no CLAP model)" if embedder is None else ""))


def _match_words(
    catalog: Catalog, text: str, banned: set[int], limit: int, banned_folders: tuple[str, ...] = ()
) -> list[SearchHit]:
    """Search without CLAP: each word on its own (name, folder tags, or the instrument through
    any synonym: :func:`companion.library.search.word_clauses`); a sample matching any word is
    a hit, more matched words rank first (then by path). The rationale names the matched words,
    e.g. ``"matches 'warm', 'pad'"``. A blank query lists the library. ``banned`` sample ids and
    rows under ``banned_folders`` (prefixes ending in ``/``) are left out, pending rows included."""
    words = list(dict.fromkeys(text.lower().split()))
    if not words:
        kept = (
            r for r in catalog.rows(status="analysed") if r.id not in banned and not r.path.startswith(banned_folders)
        )
        rows = islice(kept, limit)
        return [SearchHit(r, None, "names", " ".join(r.tags[:6])) for r in rows]
    # rank (id, path) pairs, then read only the rows kept: a common word matches thousands of
    # samples, and reading each row parses its analysis
    found: dict[int, tuple[str, list[str]]] = {}
    for word in words:
        for sid, path in catalog.row_keys(statuses=_NAME_SEARCH_STATUSES, query=word):
            if sid not in banned and not path.startswith(banned_folders):
                found.setdefault(sid, (path, []))[1].append(word)
    ranked = sorted(found.items(), key=lambda hit: (-len(hit[1][1]), hit[1][0]))[:limit]
    hits = []
    for sid, (_path, matched) in ranked:
        r = catalog.get(sid)
        if r is None:  # removed meanwhile
            continue
        why = "matches " + ", ".join(f"'{w}'" for w in matched)
        pending = r.status == "pending"
        hits.append(
            SearchHit(
                r, None, "names", why + (f" · {PENDING_NOTE}" if pending else ""), PENDING_NOTE if pending else None
            )
        )
    return hits


def _nearest_by_prompt(
    catalog: Catalog,
    index: Any,
    query: np.ndarray,
    prompt: str,
    top_k: int,
    allowed: np.ndarray | None,
    ids: np.ndarray,
) -> list[tuple[int, float]]:
    """``(sample_id, cosine)`` best first; for a prompt naming instruments, samples of those
    instruments first, then the rest."""

    def nearest(k: int, filter_ids: list[int] | None) -> list[tuple[int, float]]:
        if k <= 0 or (filter_ids is not None and not filter_ids):
            return []
        hit_ids, sims = index.query(query, k, filter_ids=filter_ids)
        return [(int(i), float(s)) for i, s in zip(hit_ids[0].tolist(), sims[0].tolist(), strict=True) if i >= 0]

    pool = None if allowed is None else allowed.tolist()
    if query_instruments(prompt) is None:
        return nearest(top_k, pool)
    matching = {r.id for r in catalog.rows(status="analysed", query=prompt)}
    everyone = pool if pool is not None else ids.tolist()
    first = nearest(top_k, [i for i in everyone if i in matching]) if matching else []
    rest = nearest(top_k - len(first), [i for i in everyone if i not in matching])
    return first + rest

"""``companion search "warm analog bass"``: rank the library by a text prompt (CLAP).

The prompt becomes a CLAP text vector; the samples' CLAP vectors in the same space are ranked
by cosine similarity through that space's vector index. Banned samples and folders are left
out, as everywhere else in the app.

A prompt made only of instrument words (``kick``, ``bd``, ``hats``, ``ambient choir``) lists
first the samples that match it by name, folder tags or instrument through any synonym (the
catalog's one text matcher, :mod:`companion.library.search`), in CLAP order, then the rest:
CLAP knows "kick" but not that Sonic Pi's ``bd_*`` files are kicks, nor what "bd" means.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from companion.cli.commands.embed import ModelOption, load_embedder
from companion.cli.options import JsonOption, LibraryDbOption, open_catalog
from companion.cli.output import err_console, fail, print_json

if TYPE_CHECKING:
    import numpy as np

    from companion.library.catalog import Catalog


def search_cmd(
    prompt: str = typer.Argument(..., help='What to look for, e.g. "warm analog bass".'),
    top_k: int = typer.Option(20, "--top-k", min=1, max=1000),
    model: Path | None = ModelOption,
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """Rank the library's samples by how well they match a text prompt."""
    from companion.library.indexes import load_or_build

    with open_catalog(library_db) as catalog:
        embedder = load_embedder(model)
        ids, _vecs, index = load_or_build(catalog, embedder.space)
        if index is None:
            raise fail(
                f"the catalog has no vectors in {embedder.space} — run `companion embed --backfill` "
                "(or scan again with the model installed)"
            )
        query = embedder.embed_text([prompt])
        banned = _banned(catalog)
        allowed = [int(i) for i in ids if int(i) not in banned] if banned else None
        pairs = _ranked(catalog, index, query, prompt, top_k, allowed, [int(i) for i in ids])
        hits = []
        for sid, sim in pairs:
            row = catalog.get(sid)
            if row is not None:
                hits.append({"id": sid, "path": row.path, "name": row.name, "kind": row.kind,
                             "instrument": row.instrument, "score": round(sim, 6)})
        coverage = catalog.embedding_coverage().get(embedder.space, (0, 0))
    if json_out:
        print_json({"prompt": prompt, "space": embedder.space, "results": hits})
        return
    for rank, h in enumerate(hits, 1):
        typer.echo(f"{rank:2d}. {h['score']:.3f}  {h['name']}  [{h['kind'] or '?'}]  {h['path']}")
    err_console.print(f"{len(hits)} results in {embedder.space} ({coverage[0]}/{coverage[1]} samples have a vector)")


def _ranked(
    catalog: Catalog, index: Any, query: np.ndarray, prompt: str, top_k: int,
    allowed: list[int] | None, ids: list[int],
) -> list[tuple[int, float]]:
    """``(sample_id, cosine)`` best first: instrument matches first for an instrument prompt."""
    from companion.library.search import query_instruments

    def nearest(k: int, filter_ids: list[int] | None) -> list[tuple[int, float]]:
        hit_ids, sims = index.query(query, k, filter_ids=filter_ids)
        return [(i, s) for i, s in zip(hit_ids[0].tolist(), sims[0].tolist(), strict=True) if i >= 0]

    if query_instruments(prompt) is None:
        return nearest(top_k, allowed)
    matching = {r.id for r in catalog.rows(status="analysed", query=prompt)}
    pool = allowed if allowed is not None else ids
    first = nearest(top_k, [i for i in pool if i in matching]) if matching else []
    rest = nearest(top_k - len(first), [i for i in pool if i not in matching]) if len(first) < top_k else []
    return first + rest


def _banned(catalog: Catalog) -> set[int]:
    """Ids of banned samples and of samples under banned folders."""
    conn = catalog.conn
    out = {int(r[0]) for r in conn.execute("SELECT sample_id FROM decisions WHERE decision = 'ban'")}
    for (folder,) in conn.execute("SELECT folder FROM banned_folders").fetchall():
        prefix = folder.rstrip("/") + "/"
        out.update(int(r[0]) for r in conn.execute("SELECT id FROM samples WHERE path LIKE ? ESCAPE '\\'", (_like(prefix) + "%",)))
    return out


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def register(app: typer.Typer) -> None:
    """Add ``search`` to the CLI."""
    app.command("search")(search_cmd)

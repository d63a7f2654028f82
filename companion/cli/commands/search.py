"""``companion search "warm analog bass"``: rank the library by a text prompt (CLAP).

The prompt becomes a CLAP text vector; the samples' CLAP vectors in the same space are ranked
by cosine similarity through that space's vector index. Banned samples and folders are left
out, as everywhere else in the app: the search is the window's (:meth:`companion.app.Session.search`).

A prompt made only of instrument words (``kick``, ``bd``, ``hats``, ``ambient choir``) lists
first the samples that match it by name, folder tags or instrument through any synonym (the
catalog's one text matcher, :mod:`companion.library.search`), in CLAP order, then the rest:
CLAP knows "kick" but not that Sonic Pi's ``bd_*`` files are kicks, nor what "bd" means.
"""

from __future__ import annotations

from pathlib import Path

import typer

from companion.cli.commands.embed import ModelOption
from companion.cli.options import JsonOption, LibraryDbOption, open_session
from companion.cli.output import err_console, fail, print_json


def search_cmd(
    prompt: str = typer.Argument(..., help='What to look for, e.g. "warm analog bass".'),
    top_k: int = typer.Option(20, "--top-k", min=1, max=1000),
    model: Path | None = ModelOption,
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """Rank the library's samples by how well they match a text prompt."""
    session = open_session(library_db, clap_model_dir=model)
    try:
        if not session.settings.use_clap:
            raise fail("CLAP is off (RECS_USE_CLAP=false)")
        if session.clap is None or session.clap.embedder is None:
            raise fail(
                (
                    session.clap.problem
                    if session.clap is not None and session.clap.problem
                    else "no CLAP model installed"
                )
                + " — fetch one with `companion models fetch`, export one with `companion models export`, "
                "or give a folder with --model DIR"
            )
        space = session.clap.embedder.space
        result = session.search(prompt, limit=top_k)
        if result.space is None:
            raise fail(
                f"the catalog has no vectors in {space} — run `companion embed --backfill` "
                "(or scan again with the model installed)"
            )
        assert session.engine is not None
        coverage = session.engine.catalog.embedding_coverage().get(space, (0, 0))
    finally:
        session.close()
    hits = [
        {
            "id": h.row.id,
            "path": h.row.path,
            "name": h.row.name,
            "kind": h.row.kind,
            "instrument": h.row.instrument,
            "score": round(h.score or 0.0, 6),
        }
        for h in result.hits
    ]
    if json_out:
        print_json({"prompt": prompt, "space": space, "results": hits})
        return
    for rank, h in enumerate(hits, 1):
        typer.echo(f"{rank:2d}. {h['score']:.3f}  {h['name']}  [{h['kind'] or '?'}]  {h['path']}")
    err_console.print(f"{len(hits)} results in {space} ({coverage[0]}/{coverage[1]} samples have a vector)")


def register(app: typer.Typer) -> None:
    """Add ``search`` to the CLI."""
    app.command("search")(search_cmd)

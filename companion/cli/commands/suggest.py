"""``companion suggest`` and ``companion similar``: ranked suggestions from the catalog."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from companion.cli.options import JsonOption, LibraryDbOption, open_session
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError


def suggest_cmd(
    bpm: float | None = typer.Option(None, help="Project tempo in BPM."),
    key: str | None = typer.Option(None, help='Project key: "A minor", "Am", "8A" …'),
    mood: list[str] = typer.Option([], help="Mood tag (repeatable): dark, warm …"),
    genre: str | None = typer.Option(None, help="Genre: techno, house …"),
    prompt: str | None = typer.Option(None, help="Free text prompt (needs a CLAP model)."),
    accepted: list[Path] = typer.Option([], "--accepted", help="A sample already used (repeatable, oldest first)."),
    mode: str | None = typer.Option(None, help="fusion or rules (default: RECS_RECOMMENDATION_MODE)."),
    instrument: str | None = typer.Option(
        None, help="Only this instrument: kick, snare, hihat, drums, bass, keys, pad … (synonyms such as bd work)."
    ),
    top_k: int = typer.Option(10, "--top-k", min=1, max=500),
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """Suggest samples for a context, with the score and rationale of each."""
    if mode not in (None, "fusion", "rules"):
        raise fail(f"--mode must be fusion or rules, not {mode!r}")
    session = open_session(library_db, recommendation_mode=mode)
    engine = session.engine
    assert engine is not None
    try:
        fields = {"bpm": bpm, "key": key, "mood_tags": tuple(mood), "genre": genre, "prompt": prompt}
        engine.context.update("cli", **{k: v for k, v in fields.items() if v not in (None, ())})
        for p in accepted:
            if engine.accept_path(p, record=False) is None:
                err_console.print(f"[yellow]warning:[/] {p} is not in the catalog; ignored")
        t0 = time.perf_counter()
        suggestions = engine.suggest(top_k=top_k, instrument=instrument)
        ms = (time.perf_counter() - t0) * 1000
        context = engine.context.snapshot().to_json()
    except (CompanionError, ValueError) as exc:
        raise fail(str(exc)) from exc
    finally:
        session.close()
    if json_out:
        print_json(
            {
                "context": context,
                "mode": mode or engine.default_mode,
                "latency_ms": round(ms, 3),
                "suggestions": [s.to_json() for s in suggestions],
            }
        )
        return
    if not suggestions:
        err_console.print("no suggestions: nothing in the library passes the filters for this context")
        return
    for rank, s in enumerate(suggestions, 1):
        bpm_s = f"{s.bpm:.0f} BPM" if s.bpm else "—"
        typer.echo(
            f"{rank:2d}. {s.name}  [{s.instrument or '?'}, {s.kind}, {bpm_s}, {s.key or 'no key'}]  score {s.score:.3f}  ({s.source}{', pinned' if s.pinned else ''})"
        )
        typer.echo(f"    {'; '.join(s.rationale)}")
        typer.echo(f"    {s.path}")
    err_console.print(f"{len(suggestions)} suggestions in {ms:.1f} ms")


def similar_cmd(
    files: list[Path] = typer.Argument(..., help="Query samples (in the catalog)."),
    top_k: int = typer.Option(10, "--top-k", min=1, max=500),
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """More like this: the nearest samples to each query file."""
    session = open_session(library_db, use_clap=False)
    try:
        result = {}
        for f in files:
            row = session.engine.catalog.find(f) if session.engine is not None else None
            if row is None:
                raise CompanionError(f"{f} is not in the catalog — scan its folder first")
            result[row.path] = session.similar(row.path, top_k=top_k)
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    finally:
        session.close()
    if json_out:
        print_json(result)
        return
    for query, neighbours in result.items():
        typer.echo(query)
        for rank, n in enumerate(neighbours, 1):
            typer.echo(f"  {rank:2d}. {n['score']:.3f}  {n['path']}")


def register(app: typer.Typer) -> None:
    """Add ``suggest`` and ``similar`` to the CLI."""
    app.command("suggest")(suggest_cmd)
    app.command("similar")(similar_cmd)

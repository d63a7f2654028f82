"""``companion list``, ``companion problems``, ``companion stats``: read the catalog."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from companion.cli.options import JsonOption, LibraryDbOption, open_catalog
from companion.cli.output import err_console, fail, print_json
from companion.library.search import UnknownInstrumentError


def list_cmd(
    query: str | None = typer.Argument(None, help="Only samples whose name or folder tags contain these words."),
    library_db: Path | None = LibraryDbOption,
    status: str | None = typer.Option(None, help="pending, analysed, problem or missing."),
    instrument: str | None = typer.Option(
        None, help="Only samples of this instrument: kick, snare, hihat, bass, pad … (synonyms such as bd work)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """List the samples in the catalog with their analysis."""
    with open_catalog(library_db) as catalog:
        try:
            rows = list(catalog.rows(status=status, query=query, instrument=instrument))
        except UnknownInstrumentError as exc:
            raise fail(str(exc)) from exc
    if json_out:
        print_json([r.to_json() for r in rows])
        return
    table = Table(box=None, pad_edge=False)
    for col in ("name", "kind", "instrument", "dur s", "BPM", "key", "LUFS", "status"):
        table.add_column(col, justify="right" if col in ("dur s", "BPM", "LUFS") else "left")
    for r in rows:
        table.add_row(
            r.name,
            r.kind or "",
            r.instrument or "",
            f"{r.duration_s:.2f}" if r.duration_s is not None else "",
            (f"{r.bpm:.1f}" + (" (3/4)" if r.beats_per_bar == 3 else "")) if r.bpm else "",
            r.key or "",
            f"{r.loudness_lufs:.1f}" if r.loudness_lufs is not None else "",
            r.status,
        )
    from rich.console import Console

    Console().print(table)
    err_console.print(f"{len(rows)} samples")


def problems_cmd(library_db: Path | None = LibraryDbOption, json_out: bool = JsonOption) -> None:
    """List files that could not be read or analysed, with the reason."""
    with open_catalog(library_db) as catalog:
        problems = catalog.problems()
    if json_out:
        print_json(problems)
        return
    if not problems:
        err_console.print("no problems")
        return
    for p in problems:
        typer.echo(f"{p['path']}\t{p['stage']}\t{p['reason']}")
    err_console.print(f"{len(problems)} problem files")


def stats_cmd(library_db: Path | None = LibraryDbOption, json_out: bool = JsonOption) -> None:
    """Counts per status and kind, embedding coverage per space, catalog size."""
    with open_catalog(library_db) as catalog:
        stats = catalog.stats()
    if json_out:
        print_json(stats)
        return
    typer.echo(f"catalog        {stats['catalog']} ({stats['catalog_bytes'] / 1e6:.1f} MB)")
    typer.echo(
        f"samples        {stats['samples']}  " + "  ".join(f"{k}={v}" for k, v in sorted(stats["by_status"].items()))
    )
    typer.echo("kinds          " + "  ".join(f"{k}={v}" for k, v in sorted(stats["by_kind"].items())))
    typer.echo(f"with BPM       {stats['with_bpm']}\nwith key       {stats['with_key']}")
    for space, cov in stats["embedding_coverage"].items():
        share = cov["with_vector"] / cov["analysed"] if cov["analysed"] else 0.0
        typer.echo(f"vectors        {space}: {cov['with_vector']}/{cov['analysed']} ({share:.0%})")
    typer.echo(f"problems       {stats['problems']}")
    typer.echo("sync outbox    " + ("  ".join(f"{k}={v}" for k, v in stats["outbox"].items()) or "empty"))


def register(app: typer.Typer) -> None:
    """Add ``list``, ``problems`` and ``stats`` to the CLI."""
    app.command("list")(list_cmd)
    app.command("problems")(problems_cmd)
    app.command("stats")(stats_cmd)

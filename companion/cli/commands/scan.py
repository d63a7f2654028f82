"""``companion scan PATH...``: index and analyse sample folders, with a progress bar."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from companion.cli.interrupt import ctrl_c_sets
from companion.cli.options import JsonOption, LibraryDbOption, open_catalog, resolve_db
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError


def scan_cmd(
    paths: list[Path] = typer.Argument(..., help="Folders to scan (recursively).", exists=False),
    library_db: Path | None = LibraryDbOption,
    workers: int | None = typer.Option(None, "--workers", "-j", help="Analysis processes (default: CPU count)."),
    model: Path | None = typer.Option(
        None, "--model", help="CLAP model folder (default: RECS_CLAP_MODEL_DIR or the installed one)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Scan folders: list every audio file at once, then analyse new and changed files."""
    from companion.library.scanner import ScanProgress, scan

    db = resolve_db(library_db)
    catalog = open_catalog(library_db, must_exist=False)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with catalog, Progress(*columns, console=err_console, transient=False, disable=json_out) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(p: ScanProgress) -> None:
            if p.phase not in tasks:
                label = {
                    "index": "Indexing",
                    "analyse": "Analysing",
                    "embed": "CLAP embedding",
                    "vectors": "Vector index",
                }[p.phase]
                tasks[p.phase] = bar.add_task(label, total=p.total, rate="")
            task = tasks[p.phase]
            elapsed = bar.tasks[task].elapsed or 0.0
            rate = f"{p.done / elapsed:5.1f} files/s" if elapsed > 0.5 and p.done else ""
            bar.update(task, completed=p.done, total=p.total, rate=rate)

        stop = threading.Event()
        try:
            with ctrl_c_sets(stop):
                embedder = _load_embedder(model)
                report = scan(catalog, paths, workers=workers, progress=on_progress, embedder=embedder, stop=stop)
        except KeyboardInterrupt:
            stop.set()
        except CompanionError as exc:
            raise fail(str(exc)) from exc
        if stop.is_set():
            left = catalog.count("pending")
            err_console.print(
                f"\n[yellow]interrupted[/] — finished files are saved; {left} files still pending. "
                "Run the same scan again to resume."
            )
            raise typer.Exit(130)
    if json_out:
        print_json(report.to_json())
        return
    for message in report.errors:
        err_console.print(f"[yellow]warning:[/] {message}")
    rate = report.analysed / report.analyse_s if report.analyse_s > 0 else 0.0
    err_console.print(
        f"found {report.found} audio files ({report.new} new, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.missing} now missing); analysed {report.analysed} "
        f"({rate:.1f} files/s), reused {report.reused}, problems {report.problems}"
        + (f", CLAP-embedded {report.embedded}" if report.embedded else "")
        + (" — see `companion problems`" if report.problems else "")
    )
    err_console.print(f"catalog: {db}")


def _load_embedder(model: Path | None):
    """The CLAP embedder if a model is installed (None, said once, otherwise)."""
    try:
        from companion.embedding.clap.runtime import load_clap
    except ImportError:
        return None
    return load_clap(model)


def register(app: typer.Typer) -> None:
    """Add ``scan`` to the CLI."""
    app.command("scan")(scan_cmd)

"""``companion embed FILE...``, ``companion embed --backfill`` and ``companion embed-text``.

Vectors are printed one per line (``path<TAB>v0 v1 …``) or as one JSON document; each is the
(512,) float32 L2-normalised CLAP embedding in the model's space.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from companion.cli.interrupt import ctrl_c_sets
from companion.cli.options import JsonOption, LibraryDbOption, open_catalog
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.embedding.clap.runtime import ClapEmbedder

ModelOption = typer.Option(
    None,
    "--model",
    envvar="RECS_CLAP_MODEL_DIR",
    help="CLAP model folder (default: the installed default model).",
    file_okay=False,
)
PrecisionOption = typer.Option("auto", "--precision", help="Audio encoder: auto (int8 when checked), fp32 or int8.")
ThreadsOption = typer.Option(None, "--threads", min=1, help="CPU threads for inference (default: all cores).")


def load_embedder(model: Path | None, precision: str = "auto", threads: int | None = None) -> ClapEmbedder:
    """Load the CLAP model for a command (:func:`companion.app.clap.require_embedder`), or exit
    with a message saying what to do."""
    from companion.app.clap import require_embedder
    from companion.settings import get_settings

    try:
        embedder: ClapEmbedder = require_embedder(
            get_settings(), model, precision=precision, threads=threads or os.cpu_count() or 1
        )
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    return embedder


def _vector_text(v: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in v.tolist())


def _progress_bar(json_out: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        disable=json_out,
    )


def embed_cmd(
    files: list[Path] = typer.Argument(None, help="Audio files to embed."),
    model: Path | None = ModelOption,
    backfill: bool = typer.Option(
        False, "--backfill", help="Embed every analysed sample of the catalog that has no vector in this model's space."
    ),
    library_db: Path | None = LibraryDbOption,
    precision: str = PrecisionOption,
    threads: int | None = ThreadsOption,
    json_out: bool = JsonOption,
) -> None:
    """Print CLAP vectors of audio files, or backfill the catalog with --backfill."""
    if backfill and files:
        raise fail("give files or --backfill, not both")
    if not backfill and not files:
        raise fail("nothing to embed: give audio files, or --backfill to fill the catalog")
    embedder = load_embedder(model, precision, threads)
    if backfill:
        _backfill(embedder, library_db, json_out)
        return
    results: dict[int, np.ndarray | Exception] = {}
    with _progress_bar(json_out or len(files) < 2) as bar:
        task = bar.add_task("Embedding", total=len(files))
        for i, res in embedder.embed_files(files, progress=lambda done, _total: bar.update(task, completed=done)):
            results[i] = res
    failed = 0
    docs: list[dict[str, str | list[float]]] = []
    for i, path in enumerate(files):
        res = results[i]
        if isinstance(res, Exception):
            failed += 1
            err_console.print(f"[yellow]warning:[/] {path}: {res}", markup=True)
            docs.append({"path": str(path), "error": str(res)})
        else:
            docs.append({"path": str(path), "vector": [round(float(x), 7) for x in res]})
            if not json_out:
                typer.echo(f"{path}\t{_vector_text(res)}")
    if json_out:
        print_json({**embedder.info(), "results": docs})
    if failed:
        raise typer.Exit(1)


def _backfill(embedder: ClapEmbedder, library_db: Path | None, json_out: bool) -> None:
    from companion.library.backfill import backfill

    catalog = open_catalog(library_db)
    stop = threading.Event()
    with catalog, _progress_bar(json_out) as bar:
        task = bar.add_task(f"Embedding ({embedder.space})", total=None)
        try:
            with ctrl_c_sets(stop):
                report = backfill(
                    catalog, embedder, progress=lambda d, t: bar.update(task, completed=d, total=t), stop=stop
                )
        except KeyboardInterrupt:
            stop.set()  # a second Ctrl-C: backfill saved what it had committed on the way out
        if stop.is_set():
            err_console.print("\n[yellow]interrupted[/] — vectors made so far are saved; run it again to finish.")
            raise typer.Exit(130)
        coverage = catalog.embedding_coverage().get(embedder.space, (0, 0))
    if json_out:
        print_json({**report.to_json(), "coverage": {"with_vector": coverage[0], "analysed": coverage[1]}})
        return
    for path, reason in report.failed:
        err_console.print(f"[yellow]warning:[/] {path}: {reason}")
    rate = report.embedded / report.seconds if report.seconds > 0 else 0.0
    err_console.print(
        f"{report.space}: embedded {report.embedded} of {report.todo} missing ({rate:.1f} files/s), "
        f"{len(report.failed)} failed; coverage {coverage[0]}/{coverage[1]}; index {report.indexed or 0} vectors"
    )


def embed_text_cmd(
    texts: list[str] = typer.Argument(..., help='Prompts, e.g. "dark techno rumble".'),
    model: Path | None = ModelOption,
    json_out: bool = JsonOption,
) -> None:
    """Print CLAP text vectors of prompts."""
    embedder = load_embedder(model)
    try:
        vecs = embedder.embed_text(texts)
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        print_json(
            {
                **embedder.info(),
                "results": [
                    {"text": t, "vector": [round(float(x), 7) for x in v]} for t, v in zip(texts, vecs, strict=True)
                ],
            }
        )
        return
    for t, v in zip(texts, vecs, strict=True):
        typer.echo(f"{t}\t{_vector_text(v)}")


def register(app: typer.Typer) -> None:
    """Add ``embed`` and ``embed-text`` to the CLI."""
    app.command("embed")(embed_cmd)
    app.command("embed-text")(embed_text_cmd)

"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import typer

LibraryDbOption = typer.Option(
    None,
    "--library-db",
    envvar="COMPANION_LIBRARY_DB",
    help="Catalog SQLite file (default: the user's data dir). Env: COMPANION_LIBRARY_DB.",
    dir_okay=False,
)

JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def resolve_db(library_db: Path | None) -> Path:
    """The catalog path from ``--library-db`` or the settings default."""
    from companion.settings import get_settings

    return library_db if library_db is not None else get_settings().catalog_path()

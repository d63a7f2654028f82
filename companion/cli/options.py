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


def open_catalog(library_db: Path | None, *, must_exist: bool = True):  # noqa: ANN201
    """Open the catalog for a command, or exit with a clear message.

    Args:
        library_db: ``--library-db`` (None: the settings default).
        must_exist: refuse to create a new catalog (every command but ``scan``).

    Raises:
        typer.Exit: no catalog there (run a scan first) or an unusable one.
    """
    from companion.cli.output import fail
    from companion.errors import CompanionError
    from companion.library.catalog import Catalog

    db = resolve_db(library_db)
    if must_exist and not db.exists():
        raise fail(f"no catalog at {db} — run `companion scan FOLDER` first")
    try:
        return Catalog.open(db)
    except CompanionError as exc:
        raise fail(str(exc)) from exc

"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from companion.app.session import Session
    from companion.settings import Settings

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


def open_catalog(library_db: Path | None, *, must_exist: bool = True):
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


def command_settings(**flags: Any) -> Settings:
    """The settings of this command: file, environment, then this command's flags (None: not
    given). Never saved.

    Raises:
        typer.Exit: a flag or variable holds an invalid value.
    """
    from pydantic import ValidationError

    from companion.cli.output import fail
    from companion.settings import SettingsStore

    try:
        return SettingsStore(flags=flags).settings
    except ValidationError as exc:
        raise fail(f"invalid setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc


def open_session(
    library_db: Path | None, *, use_clap: bool | None = None, on_result: Any = None, **flags: Any
) -> Session:
    """Open a :class:`~companion.app.session.Session` on an existing catalog for a command.

    Args:
        library_db: ``--library-db`` (None: the settings').
        use_clap: False: never load CLAP (commands that do not need text).
        on_result: the session's ``on_result`` (``companion listen``).
        flags: settings given on the command line (None: not given).

    Raises:
        typer.Exit: no catalog there (run a scan first) or an unusable one.
    """
    from companion.app.session import Session
    from companion.cli.output import fail
    from companion.errors import CompanionError

    session = Session(command_settings(library_db=library_db, **flags), on_result=on_result)
    try:
        session.open(create=False, use_clap=use_clap)
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    return session

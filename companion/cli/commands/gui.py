"""``companion gui`` (and ``companion`` with no arguments): the desktop app."""

from __future__ import annotations

from pathlib import Path

import typer

from companion.cli.options import LibraryDbOption
from companion.cli.output import fail


def gui_cmd(
    library_db: Path | None = LibraryDbOption,
    osc_port: int | None = typer.Option(
        None, "--osc-port", help="UDP port for the DAW's OSC, this time (default: settings, 9137)."
    ),
    no_osc: bool = typer.Option(False, "--no-osc", help="Do not listen for OSC this time (not saved)."),
    settings_file: Path | None = typer.Option(
        None, "--settings-file", help="Settings file (default: <config dir>/settings.json).", dir_okay=False
    ),
    quit_after: float | None = typer.Option(
        None, "--quit-after", help="Close after this many seconds (smoke tests).", hidden=True
    ),
) -> None:
    """Open the desktop app: suggestions beside your DAW, audition in tempo and key, drag out."""
    try:
        from companion.ui.app import run
    except ImportError as exc:
        raise fail(f"the desktop app needs PySide6 ({exc}) — install it with `pip install PySide6-Essentials`") from exc
    code = run(
        library_db,
        osc_port=osc_port,
        no_osc=no_osc,
        prefs_file=settings_file,
        quit_after_ms=None if quit_after is None else int(quit_after * 1000),
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``gui`` to the CLI (``companion`` alone runs it)."""
    app.command("gui")(gui_cmd)

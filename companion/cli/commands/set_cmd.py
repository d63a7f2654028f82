"""``companion set FILE --bpm 128 --key Am --kind loop --instrument kick``: the producer's own
corrections."""

from __future__ import annotations

from pathlib import Path

import typer

from companion.cli.options import JsonOption, LibraryDbOption, open_catalog
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError
from companion.music.keys import parse_key


def set_cmd(
    file: Path = typer.Argument(..., help="A sample in the catalog."),
    bpm: float | None = typer.Option(None, help="Tempo in BPM (20–999)."),
    key: str | None = typer.Option(None, help='Key: "A minor", "Am", "8A" …'),
    kind: str | None = typer.Option(None, help="loop or one-shot."),
    instrument: str | None = typer.Option(
        None,
        help="kick, snare, clap, hihat, cymbal, tom, percussion, drums, bass, keys, organ, "
        "strings, pad, lead, brass, pluck, vocal or fx (synonyms such as bd, hh, vox work too).",
    ),
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """Correct a sample's BPM, key, kind or instrument; corrections win over estimates and survive
    rescans and re-analysis."""
    if bpm is None and key is None and kind is None and instrument is None:
        raise fail("nothing to set: give --bpm, --key, --kind and/or --instrument")
    with open_catalog(library_db) as catalog:
        try:
            row = catalog.set_override(
                file, bpm=bpm, key=parse_key(key) if key else None, kind=kind, instrument=instrument
            )
        except (CompanionError, ValueError) as exc:
            raise fail(str(exc)) from exc
    if json_out:
        print_json(row.to_json())
    else:
        err_console.print(
            f"{row.name}: {row.kind}, {row.bpm or '-'} BPM, {row.key or 'no key'}, {row.instrument or 'no instrument'}"
        )


def register(app: typer.Typer) -> None:
    """Add ``set`` to the CLI."""
    app.command("set")(set_cmd)

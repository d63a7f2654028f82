"""``companion self-test``: check every piece the app needs, on this machine or in a bundle.

The same check runs from the root option ``companion --self-test`` (defaults only). Lines go
to stdout as each check ends; ``--json`` prints one document instead. Exit status 0 only if
every required check passed (see :mod:`companion.selftest`).
"""

from __future__ import annotations

import typer

from companion.cli.options import JsonOption


def self_test_cmd(
    json_out: bool = JsonOption,
    check: list[str] | None = typer.Option(
        None,
        "--check",
        help="Run only this check (repeatable): logs, rules, catalog, analysis, "
        "embedder, index, processes, clap, audio, osc, qt.",
    ),
    osc_port: int | None = typer.Option(
        None, "--osc-port", min=0, max=65535, help="UDP port to bind (default: RECS_OSC_PORT, 9137; 0 = any free port)."
    ),
) -> None:
    """Check the catalog, rules, analysis, embedder, audio output and OSC port; exit 0 if all pass."""
    from companion.selftest import CHECKS, main
    from companion.settings import get_settings

    names = {c.name for c in CHECKS}
    unknown = sorted(set(check or ()) - names)
    if unknown:
        raise typer.BadParameter(f"unknown check(s) {unknown}; choose from {sorted(names)}", param_hint="--check")
    settings = get_settings()
    if osc_port is not None:
        settings = settings.model_copy(update={"osc_port": osc_port})
    raise typer.Exit(main(as_json=json_out, only=check or None, settings=settings))


def register(app: typer.Typer) -> None:
    """Add ``self-test`` to the app."""
    app.command("self-test")(self_test_cmd)

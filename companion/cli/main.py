"""The ``companion`` command line: one module per command under ``companion/cli/commands``.

Each command module defines ``register(app: typer.Typer) -> None``; modules are discovered at
start-up, so adding a command never touches this file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from companion import __version__
from companion.cli import commands

app = typer.Typer(
    name="companion",
    help="SampleMind Companion: suggests the next sample or loop from your own library.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"companion {__version__}")
        raise typer.Exit()


def _self_test(value: bool) -> None:
    if value:
        from companion.selftest import main as run_self_test

        raise typer.Exit(run_self_test())


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    self_test: bool = typer.Option(
        False,
        "--self-test",
        callback=_self_test,
        is_eager=True,
        help="Check the catalog, rules, embedder, audio output and OSC port; exit 0 if all pass.",
    ),
) -> None:
    """Run a command; with none, open the desktop app."""
    if ctx.invoked_subcommand is None:
        gui = ctx.command.get_command(ctx, "gui") if isinstance(ctx.command, typer.core.TyperGroup) else None
        if gui is None:
            typer.echo(ctx.get_help())
            raise typer.Exit()
        ctx.invoke(gui)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())

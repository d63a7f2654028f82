"""``companion send``: send session context to a running companion over OSC (for scripts, tests).

All values go in one OSC bundle, so the companion applies them atomically. ``--check`` adds
``/companion/ping`` and waits for the reply, printing any ``/companion/error`` and exiting 1.
"""

from __future__ import annotations

from pathlib import Path

import typer

from companion.cli.output import err_console, fail
from companion.errors import CompanionError


def send_cmd(
    bpm: float | None = typer.Option(None, help="Tempo in BPM (20–999)."),
    key: str | None = typer.Option(None, help='Key: "A minor", "Am", "A min", "8A" …'),
    mode: str | None = typer.Option(None, help="major or minor (applies to the current key)."),
    mood: list[str] = typer.Option([], help="Mood word (repeatable)."),
    clear_mood: bool = typer.Option(False, "--clear-mood", help="Send an empty mood (clears it)."),
    genre: str | None = typer.Option(None, help='Genre word ("" clears).'),
    prompt: str | None = typer.Option(None, help='Free-text prompt ("" clears).'),
    time_remaining: float | None = typer.Option(None, "--time-remaining", help="Seconds left."),
    playing: bool | None = typer.Option(None, "--playing/--stopped", help="Transport state."),
    accepted: list[Path] = typer.Option([], "--accepted", help="A sample used (repeatable)."),
    reset: bool = typer.Option(False, "--reset", help="Clear the context first."),
    host: str = typer.Option("127.0.0.1", "--host", help="Where the companion listens."),
    port: int = typer.Option(0, "--port", help="Its UDP port (default: RECS_OSC_PORT, 9137)."),
    check: bool = typer.Option(False, "--check", help="Wait for the reply; exit 1 on error or silence."),
    timeout: float = typer.Option(2.0, "--timeout", help="Seconds to wait with --check."),
) -> None:
    """Send tempo, key, mood … to a running `companion listen` (or the app) as one OSC bundle."""
    from companion.bridge.sender import context_messages, encode, send
    from companion.settings import get_settings

    port = port or get_settings().osc_port
    messages = context_messages(
        bpm=bpm,
        key=key,
        mode=mode,
        mood=list(mood) if mood or clear_mood else None,
        genre=genre,
        prompt=prompt,
        time_remaining_s=time_remaining,
        playing=playing,
        accepted=[str(p.expanduser().absolute()) for p in accepted],
        reset=reset,
        ping=check,
    )
    try:
        replies = send(
            encode(messages),
            host=host,
            port=port,
            wait_s=timeout if check else 0.0,
            expect=len(messages) + 1,
            until="/companion/pong",
        )
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    if not check:
        return
    errors = [r for r in replies if r.address == "/companion/error"]
    for r in errors:
        err_console.print(f"[bold red]error:[/] {r.args[0]}: {r.args[1]}")
    if not any(r.address == "/companion/pong" for r in replies):
        raise fail(f"no reply from {host}:{port} within {timeout:g} s — is `companion listen` running?")
    if errors:
        raise typer.Exit(1)
    err_console.print(f"sent {len(messages) - 1} message(s) to {host}:{port}: ok")


def register(app: typer.Typer) -> None:
    """Add ``send`` to the CLI."""
    app.command("send")(send_cmd)

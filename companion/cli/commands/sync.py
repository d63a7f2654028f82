"""``companion sync [--once]`` and ``companion sync status``: talk to the hub.

``companion sync`` runs until Ctrl-C (or SIGTERM): it pulls the shared fusion rules on start
and every few minutes and pushes the outbox whenever it holds rows. ``--once`` pulls the rules,
pushes everything queued and exits (status 1 if rows are left because of an error).
The hub comes from ``--url`` / ``RECS_SYNC_URL`` and the token from ``--token`` /
``RECS_SYNC_TOKEN``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import typer

from companion.cli.options import JsonOption, LibraryDbOption, resolve_db
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError

sync_app = typer.Typer(
    help="Sync telemetry and embeddings up to the hub and pull the shared fusion rules.",
    invoke_without_command=True,
)

UrlOption = typer.Option(None, "--url", help="Hub base URL (default: RECS_SYNC_URL).")
TokenOption = typer.Option(None, "--token", help="Bearer token (default: RECS_SYNC_TOKEN).")


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Sync what is queued now, then exit."),
    retry_parked: bool = typer.Option(False, "--retry-parked", help="Queue rows the hub refused again first."),
    url: str | None = UrlOption,
    token: str | None = TokenOption,
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Events per request."),
    timeout_s: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds per request."),
    library_db: Path | None = LibraryDbOption,
    json_out: bool = JsonOption,
) -> None:
    """Sync with the hub: continuously, or once with --once."""
    if ctx.invoked_subcommand is not None:
        return
    from companion.settings import get_settings
    from companion.sync.client import SyncClient

    settings = get_settings()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        client = SyncClient(
            resolve_db(library_db),
            url or settings.sync_url or "",
            token or settings.sync_token or "",
            batch_size=batch_size,
            timeout_s=timeout_s,
        )
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    with client:
        if retry_parked:
            n = client.retry_parked()
            err_console.print(f"{n} refused row(s) queued again")
        if once:
            _once(client, json_out)
        else:
            _forever(client, json_out)


def _once(client: Any, json_out: bool) -> None:
    rules = client.pull_rules()
    push = client.push_once()
    if json_out:
        print_json(
            {
                "sent_events": push.sent_events,
                "sent_embeddings": push.sent_embeddings,
                "remaining": push.remaining,
                "parked": push.parked,
                "error": push.error,
                "rules": {"status": rules.status, "version": rules.version, "error": rules.error},
            }
        )
    else:
        err_console.print(
            f"sent {push.sent_events} event(s), {push.sent_embeddings} embedding(s); "
            f"{push.remaining} left; rules: {rules.status}" + (f" (v{rules.version})" if rules.version else "")
        )
        if push.parked:
            err_console.print(f"{push.parked} row(s) refused by the hub: see 'companion sync status'")
        if rules.error and rules.status != "unchanged":
            err_console.print(f"rules: {rules.error}")
    if push.error:
        raise fail(push.error)


def _forever(client: Any, json_out: bool) -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    last = [""]

    def report(status: Any) -> None:
        line = status.summary()
        if line != last[0]:
            last[0] = line
            if json_out:
                print_json(status.to_json())
            else:
                err_console.print(f"{time.strftime('%H:%M:%S')} {line}")

    try:
        client.run(stop, on_status=report)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)


@sync_app.command("status")
def status(library_db: Path | None = LibraryDbOption, json_out: bool = JsonOption) -> None:
    """Show queued rows, the last success and error, and the cached rules version (offline)."""
    from companion.library.db import connect
    from companion.settings import get_settings
    from companion.sync.outbox import parked_rows
    from companion.sync.status import sync_status

    try:
        conn = connect(resolve_db(library_db))
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    try:
        current = sync_status(conn)
        refused = parked_rows(conn)
    finally:
        conn.close()
    hub = get_settings().sync_url
    if json_out:
        print_json(
            {
                **current.to_json(),
                "hub": hub,
                "parked_rows": [{"id": r[0], "kind": r[1], "key": r[2], "error": r[3]} for r in refused],
            }
        )
        return
    err_console.print(f"hub: {hub or 'not configured (set RECS_SYNC_URL and RECS_SYNC_TOKEN)'}")
    err_console.print(current.summary())
    err_console.print(f"queued: {current.queued_events} event(s), {current.queued_embeddings} embedding(s)")
    if current.last_success_at:
        err_console.print(
            f"last success: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(current.last_success_at))}"
        )
    if current.last_error:
        err_console.print(f"last error: {current.last_error}")
    if current.rules_error:
        err_console.print(f"rules: {current.rules_error}")
    for row_id, kind, key, error in refused:
        err_console.print(f"refused {kind} #{row_id} ({key}): {error}")


def register(app: typer.Typer) -> None:
    """Add ``sync`` and ``sync status`` to the CLI."""
    app.add_typer(sync_app, name="sync")

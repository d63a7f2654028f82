"""``companion listen``: follow the DAW headless and print one JSON line per context change.

Each line is ``{"seq", "context", "suggestions", "latency_ms", "rank_ms", "coalesced",
"addresses", "extras"}``; ``latency_ms`` runs from the arrival of the OSC packet to the ranked
list (see ``plugin_bridge/README.md``; the path is drawn in ``docs/architecture.md``). Status and the final counters go to stderr.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from companion.cli.options import LibraryDbOption, open_session
from companion.cli.output import err_console, fail
from companion.errors import CompanionError


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def result_line(result: Any) -> str:
    """One compact JSON line for a :class:`~companion.bridge.follower.FollowResult`."""
    doc = {
        "seq": result.seq,
        "context": result.context.to_json(),
        "suggestions": [s.to_json() for s in result.suggestions],
        "latency_ms": round(result.latency_ms, 3),
        "rank_ms": round(result.rank_ms, 3),
        "coalesced": result.coalesced,
        "addresses": list(result.addresses),
        "extras": dict(result.extras),
    }
    return json.dumps(_finite(doc), ensure_ascii=False, separators=(",", ":"))


def listen_cmd(
    port: int | None = typer.Option(
        None, "--port", help="UDP port for OSC (default: settings, 9137; 0: any free port)."
    ),
    host: str | None = typer.Option(
        None,
        "--host",
        help="Interface to listen on (default: settings, 127.0.0.1); 0.0.0.0 for a DAW on another machine.",
    ),
    top_k: int = typer.Option(5, "--top-k", min=1, max=500, help="Suggestions per line."),
    mode: str | None = typer.Option(None, help="fusion or rules (default: settings, RECS_RECOMMENDATION_MODE)."),
    abletonosc: bool | None = typer.Option(
        None, "--abletonosc/--no-abletonosc", help="Also follow Ableton Live through AbletonOSC (ports 11000/11001)."
    ),
    live_host: str | None = typer.Option(None, "--live-host", help="Host running Ableton Live (default: 127.0.0.1)."),
    link: bool | None = typer.Option(None, "--link/--no-link", help="Also follow Ableton Link tempo and play state."),
    library_db: Path | None = LibraryDbOption,
) -> None:
    """Follow the DAW over OSC without a GUI; print one JSON line per context change.

    The session is the window's (:class:`companion.app.Session`): the same sources, started
    from the same settings, with this command's flags on top for this run.
    """
    from companion.bridge.follower import FollowResult

    if mode not in (None, "fusion", "rules"):
        raise fail(f"--mode must be fusion or rules, not {mode!r}")
    out_lock = threading.Lock()

    def on_result(result: FollowResult) -> None:
        line = result_line(result)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    session = open_session(
        library_db,
        use_clap=None,
        on_result=on_result,
        osc_enabled=True,
        osc_port=port,
        osc_host=host,
        recommendation_mode=mode,
        abletonosc=abletonosc,
        live_host=live_host,
        link=link,
    )
    session.top_k = top_k  # lines carry their own length, not the window's
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    listener = None
    try:
        states = session.start()
        failed = [s for s in states if s.state == "error"]
        if failed:
            raise fail("; ".join(f"{s.name}: {s.detail}" for s in failed))
        listener = session.sources.osc if session.sources is not None else None
        following = [s.name for s in states if s.state == "running" and s.name != "osc"]
        where = f"{listener.address[0]}:{listener.port}" if listener is not None else "?"
        err_console.print(
            f"listening for OSC on {where}"
            + "".join(" + AbletonOSC" if n == "abletonosc" else " + Link" for n in following)
            + " — Ctrl-C to stop"
        )
        while not stop.wait(0.25):
            pass
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    finally:
        session.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if listener is not None:
            # one plain JSON line (no console wrapping) so scripts can read the counters
            sys.stderr.write(f"stopped: {json.dumps(listener.stats().to_json(), sort_keys=True)}\n")
            sys.stderr.flush()


def register(app: typer.Typer) -> None:
    """Add ``listen`` to the CLI."""
    app.command("listen")(listen_cmd)

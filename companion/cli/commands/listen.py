"""``companion listen``: follow the DAW headless and print one JSON line per context change.

Each line is ``{"seq", "context", "suggestions", "latency_ms", "rank_ms", "coalesced",
"addresses", "extras"}``; ``latency_ms`` runs from the arrival of the OSC packet to the ranked
list (see ``plugin_bridge/README.md``). Status and the final counters go to stderr.
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

from companion.cli.options import LibraryDbOption, resolve_db
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
    port: int = typer.Option(0, "--port", help="UDP port for OSC (default: RECS_OSC_PORT, 9137)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 for a DAW on another machine."
    ),
    top_k: int = typer.Option(5, "--top-k", min=1, max=500, help="Suggestions per line."),
    mode: str | None = typer.Option(None, help="fusion or rules (default: RECS_RECOMMENDATION_MODE)."),
    abletonosc: bool = typer.Option(
        False, "--abletonosc", help="Also follow Ableton Live through AbletonOSC (ports 11000/11001)."
    ),
    live_host: str = typer.Option("127.0.0.1", "--live-host", help="Host running Ableton Live."),
    link: bool = typer.Option(False, "--link", help="Also follow Ableton Link tempo and play state."),
    library_db: Path | None = LibraryDbOption,
) -> None:
    """Follow the DAW over OSC without a GUI; print one JSON line per context change."""
    from companion.engine import Engine
    from companion.settings import get_settings
    from companion.bridge.follower import ContextFollower, FollowResult
    from companion.bridge.listener import OscListener

    if mode not in (None, "fusion", "rules"):
        raise fail(f"--mode must be fusion or rules, not {mode!r}")
    port = port or get_settings().osc_port
    try:
        engine = Engine.open(resolve_db(library_db), default_mode=mode)  # type: ignore[arg-type]
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    out_lock = threading.Lock()
    listener: OscListener | None = None

    def on_result(result: FollowResult) -> None:
        line = result_line(result)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        if listener is not None:
            listener.push_suggestions(
                result.seq, result.latency_ms, [(s.path, s.score) for s in result.suggestions]
            )

    follower = ContextFollower(
        engine.context, lambda: engine.suggest(top_k=top_k), on_result, accept=engine.accept_path
    )
    listener = OscListener(
        follower.apply, host=host, port=port, snapshot=lambda: engine.context.snapshot().to_json()
    )
    adapters: list[Any] = []
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        follower.start()
        listener.start()
        if abletonosc:
            from companion.bridge.abletonosc import AbletonOscClient

            adapters.append(AbletonOscClient(follower.apply, live_host=live_host).start())
        if link:
            from companion.bridge.link import LinkAdapter

            adapters.append(LinkAdapter(follower.apply).start())
        err_console.print(
            f"listening for OSC on {listener.address[0]}:{listener.port}"
            + (" + AbletonOSC" if abletonosc else "") + (" + Link" if link else "")
            + " — Ctrl-C to stop"
        )
        while not stop.wait(0.25):
            pass
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    finally:
        for adapter in adapters:
            adapter.stop()
        listener.stop()
        follower.stop()
        engine.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # one plain JSON line (no console wrapping) so scripts can read the counters
        sys.stderr.write(f"stopped: {json.dumps(listener.stats().to_json(), sort_keys=True)}\n")
        sys.stderr.flush()


def register(app: typer.Typer) -> None:
    """Add ``listen`` to the CLI."""
    app.command("listen")(listen_cmd)

"""The session's context sources: the OSC listener, AbletonOSC and Ableton Link.

Each source turns what the DAW says into :class:`~companion.bridge.updates.ContextUpdate` values
for one sink (the session's context follower). :class:`ContextSources` starts the sources the
settings ask for, restarts them when the settings change, and reports each one's state; a
source that cannot start (port in use, ``aalink`` missing) is reported, never fatal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.bridge.updates import ContextUpdate
from companion.errors import CompanionError
from companion.settings import Settings

log = logging.getLogger(__name__)

#: The names of the sources, in the order they start.
SOURCES = ("osc", "abletonosc", "link")


@dataclass(frozen=True)
class SourceState:
    """One source's state.

    Attributes:
        name: ``osc``, ``abletonosc`` or ``link``.
        state: ``off`` (not asked for), ``running`` or ``error``.
        detail: e.g. ``127.0.0.1:9137`` or why it could not start.
    """

    name: str
    state: str
    detail: str = ""


class ContextSources:
    """Starts, restarts and stops the context sources the settings ask for.

    Args:
        sink: receives every update (any thread): the context follower's ``apply``.
        snapshot: the current context as JSON, for the OSC listener's ``/query`` answers.
        on_state: called with a :class:`SourceState` whenever a source starts, fails or stops.

    Thread-safety: :meth:`apply_settings` and :meth:`stop` may be called from any thread but
    not at the same time as each other (the session serialises them); they block while sockets
    close and threads join (up to a few seconds), so the window calls them on a worker.
    """

    def __init__(
        self,
        sink: Callable[[ContextUpdate], None],
        *,
        snapshot: Callable[[], dict[str, Any]] | None = None,
        on_state: Callable[[SourceState], None] | None = None,
    ) -> None:
        self._sink = sink
        self._snapshot = snapshot
        self._on_state = on_state
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}
        self._config: dict[str, tuple[Any, ...]] = {}
        self.states: dict[str, SourceState] = {name: SourceState(name, "off") for name in SOURCES}

    @property
    def osc(self) -> Any | None:
        """The running :class:`~companion.bridge.listener.OscListener`, or None."""
        return self._running.get("osc")

    def apply_settings(self, settings: Settings) -> list[SourceState]:
        """Start the sources ``settings`` enable, stop the others, restart those whose
        configuration changed. Returns the state of every source."""
        wanted: dict[str, tuple[Any, ...]] = {}
        if settings.osc_enabled:
            wanted["osc"] = (settings.osc_host, settings.osc_port)
        if settings.abletonosc:
            wanted["abletonosc"] = (settings.live_host,)
        if settings.link:
            wanted["link"] = ()
        with self._lock:
            for name in SOURCES:
                if name in self._running and self._config.get(name) != wanted.get(name):
                    self._stop_one(name)
                if name in wanted and name not in self._running:
                    self._start_one(name, wanted[name])
                elif name not in wanted and self.states[name].state != "off":
                    self._set(SourceState(name, "off"))
            return [self.states[n] for n in SOURCES]

    def stop(self) -> None:
        """Stop every source (idempotent)."""
        with self._lock:
            for name in reversed(SOURCES):
                if name in self._running:
                    self._stop_one(name)

    def _start_one(self, name: str, config: tuple[Any, ...]) -> None:
        try:
            source = self._make(name, config).start()
        except CompanionError as exc:
            log.warning("%s: %s", name, exc)
            self._set(SourceState(name, "error", str(exc)))
            return
        self._running[name] = source
        self._config[name] = config
        detail = ""
        if name == "osc":
            detail = f"{source.address[0]}:{source.port}"
        elif name == "abletonosc":
            detail = f"Live at {config[0]}"
        log.info("context source %s started %s", name, detail)
        self._set(SourceState(name, "running", detail))

    def _make(self, name: str, config: tuple[Any, ...]) -> Any:
        if name == "osc":
            from companion.bridge.listener import OscListener

            return OscListener(self._sink, host=config[0], port=config[1], snapshot=self._snapshot)
        if name == "abletonosc":
            from companion.bridge.abletonosc import AbletonOscClient

            return AbletonOscClient(self._sink, live_host=config[0])
        from companion.bridge.link import LinkAdapter

        return LinkAdapter(self._sink)

    def _stop_one(self, name: str) -> None:
        source = self._running.pop(name)
        self._config.pop(name, None)
        try:
            source.stop()
        except Exception:
            log.exception("stopping %s failed", name)
        self._set(SourceState(name, "off"))

    def _set(self, state: SourceState) -> None:
        self.states[state.name] = state
        if self._on_state is not None:
            self._on_state(state)

"""Background sync with the central service, started and stopped without waiting.

:class:`SyncRunner` runs :meth:`companion.sync.client.SyncClient.run` on a daemon thread.
Stopping only sets an event: the thread finishes its request in flight and exits on its own,
so no caller (the GUI thread included) ever joins it. A restart (new URL or token) starts the
new loop only after the old one has exited, on the new thread itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from companion.errors import CompanionError

log = logging.getLogger(__name__)


class SyncRunner:
    """Sync loop for one catalog.

    Args:
        db_path: the catalog file.
        on_status: called with a one-line status (``"sync off"``, ``"sync: 3 queued"`` …), from
            the sync thread or the caller's.
    """

    def __init__(self, db_path: Path, on_status: Callable[[str], None] | None = None) -> None:
        self.db_path = db_path
        self._on_status = on_status or (lambda _text: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while a sync thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, url: str | None, token: str | None) -> None:
        """(Re)start syncing with ``url`` and ``token``; both empty or None: sync off. Never blocks."""
        self.stop()
        if not (url and token):
            self._on_status("sync off")
            return
        previous, stop = self._thread, threading.Event()
        self._stop = stop
        db_path = self.db_path

        def loop() -> None:
            if previous is not None:
                previous.join()  # the old loop exits after its request in flight
            if stop.is_set():
                return
            try:
                from companion.sync.client import SyncClient

                with SyncClient(db_path, url, token) as client:
                    client.run(stop, on_status=lambda st: self._on_status(f"sync: {st.summary()}"))
            except CompanionError as exc:
                self._on_status(f"sync off: {exc}")
            except Exception as exc:
                log.exception("sync stopped")
                self._on_status(f"sync stopped: {exc}")

        self._thread = threading.Thread(target=loop, name="sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to stop (returns at once)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loop to exit (shutdown paths off the GUI thread). Returns True if it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

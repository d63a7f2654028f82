"""Ctrl-C for long CLI commands (scan, embed --backfill): a first Ctrl-C asks the work to stop
after what it has in hand, a second stops it at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT) sets ``stop`` — the work ends after the files in hand — and
    a second Ctrl-C raises KeyboardInterrupt at once.

    A KeyboardInterrupt raised by the default handler can be lost: when the signal lands inside a
    C callback into Python (soundfile's virtual I/O, through cffi), cffi prints "Exception
    ignored from cffi callback" and the command went on to finish and exit 0. An event is never
    lost. Forked worker processes inherit this handler, so they finish their file too.

    Outside the main thread (where no signal handler can be set) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

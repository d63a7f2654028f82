"""Ctrl-C in long CLI commands: the first sets an event the work polls, the second interrupts.

Real SIGINTs sent to this process. The default handler's KeyboardInterrupt was lost when the
signal landed in a cffi callback (soundfile's I/O), and ``companion embed --backfill`` then went
on to finish and exit 0; an event cannot be lost.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from companion.cli.interrupt import ctrl_c_sets


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs between bytecodes of the main thread


def test_first_ctrl_c_sets_the_event_and_the_second_interrupts() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), ctrl_c_sets(stop):
        _sigint()
        assert stop.is_set()  # no exception: the work stops after what it has in hand
        _sigint()
        pytest.fail("the second Ctrl-C did not interrupt")
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_outside_the_main_thread_it_leaves_signals_alone() -> None:
    stop = threading.Event()
    seen: list[object] = []

    def work() -> None:
        with ctrl_c_sets(stop):
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [before] and not stop.is_set()

"""A watchdog timer that measures how long the GUI thread is blocked.

A :class:`StallMonitor` fires a ``QTimer`` every ``interval_ms`` on the GUI thread and records
how late each tick is: a tick that arrives 80 ms after the previous one with a 10 ms interval
means the event loop was blocked for about 70 ms. The worst lateness is the longest freeze the
producer could have felt (within one interval).

With each gap it also records the GUI thread's own CPU time (``time.thread_time``): a long gap
with little CPU means the thread was *waiting* (for a CPU on a busy machine, or for the GIL),
a long gap full of CPU means our code on the GUI thread ran that long.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer


class StallMonitor(QObject):
    """Measures event-loop stalls on the thread it lives on (the GUI thread).

    Args:
        interval_ms: tick period (ms); the resolution of the measurement.
    """

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self._last_cpu = 0.0
        self.gaps_ms: list[float] = []
        self.busy_ms: list[float] = []

    def start(self) -> None:
        """Start measuring (clears earlier figures)."""
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        """Stop measuring."""
        self._timer.stop()
        self._last = None

    def reset(self) -> None:
        """Forget the ticks so far."""
        self.gaps_ms = []
        self.busy_ms = []
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if self._last is not None:
            self.gaps_ms.append((now - self._last) * 1000.0)
            self.busy_ms.append((cpu - self._last_cpu) * 1000.0)
        self._last = now
        self._last_cpu = cpu

    @property
    def max_stall_ms(self) -> float:
        """Longest block of the event loop seen (ms): the largest gap minus one interval."""
        return max(0.0, max(self.gaps_ms, default=0.0) - self.interval_ms)

    def percentile_stall_ms(self, q: float) -> float:
        """The ``q``-th percentile (0–100) of the stalls (ms)."""
        if not self.gaps_ms:
            return 0.0
        return max(0.0, float(np.percentile(self.gaps_ms, q)) - self.interval_ms)

    @property
    def max_busy_ms(self) -> float:
        """Most GUI-thread CPU time spent between two ticks (ms): our longest run of work."""
        return max(self.busy_ms, default=0.0)

    @property
    def ticks(self) -> int:
        """Gaps measured."""
        return len(self.gaps_ms)

"""Exponential backoff with full jitter, and the retry budget of one sync pass.

Full jitter: the n-th retry waits ``uniform(0, min(cap, base · 2**n))`` seconds (M. Brooker,
"Exponential Backoff And Jitter", AWS Architecture Blog, 2015), which spreads the retries of
many desktops after a hub outage instead of synchronising them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Backoff schedule.

    Attributes:
        base_s: the first retry's upper bound (s).
        cap_s: the largest wait (s).
    """

    base_s: float = 0.5
    cap_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based), jittered in [0, bound]."""
        bound = min(self.cap_s, self.base_s * (2.0 ** min(attempt, 62)))
        return (rng or random).uniform(0.0, bound)


@dataclass
class RetryBudget:
    """At most ``retries`` retries in one sync pass (one ``push_once`` or ``pull_rules``).

    When it is spent the pass stops and leaves the rest queued for the next one, so a hub
    outage costs each desktop a bounded number of requests per pass.
    """

    retries: int
    spent: int = field(default=0)

    def take(self) -> bool:
        """Spend one retry; False when none is left."""
        if self.spent >= self.retries:
            return False
        self.spent += 1
        return True

"""Backoff schedule and retry budget."""

from __future__ import annotations

import random

from companion.sync.backoff import Backoff, RetryBudget


def test_full_jitter_stays_within_the_exponential_bound() -> None:
    backoff = Backoff(base_s=0.5, cap_s=8.0)
    rng = random.Random(0)
    for attempt, bound in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (500, 8.0)]:
        delays = [backoff.delay(attempt, rng) for _ in range(500)]
        assert all(0.0 <= d <= bound for d in delays)
        assert max(delays) > 0.9 * bound and min(delays) < 0.1 * bound  # spread over [0, bound]


def test_jitter_is_reproducible_with_a_seed() -> None:
    backoff = Backoff()
    a = [backoff.delay(i, random.Random(4)) for i in range(5)]
    b = [backoff.delay(i, random.Random(4)) for i in range(5)]
    assert a == b


def test_retry_budget_is_bounded() -> None:
    budget = RetryBudget(3)
    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]
    assert budget.spent == 3
    assert RetryBudget(0).take() is False

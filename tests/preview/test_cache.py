from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from companion.preview.cache import RenderCache, RenderKey
from companion.preview.plan import PreviewPlan
from companion.preview.render import Rendered

PLAN = PreviewPlan(speed=1.1, semitones=2, loop=True)


def _rendered(n: int) -> Rendered:
    return Rendered(np.zeros((n, 2), dtype=np.float32), 48000, True, PLAN)


def test_key_follows_the_file_and_the_plan(tmp_path: Path):
    f = tmp_path / "a.wav"
    f.write_bytes(b"x" * 10)
    k1 = RenderKey.of(f, PLAN, 48000)
    assert RenderKey.of(f, PLAN, 48000) == k1
    assert RenderKey.of(f, PreviewPlan(speed=1.1, semitones=3, loop=True), 48000) != k1
    # kind corrected loop -> one-shot: rendered differently (no wrapped tail), played once
    assert RenderKey.of(f, PreviewPlan(speed=1.1, semitones=2, loop=False), 48000) != k1
    assert RenderKey.of(f, PLAN, 44100) != k1
    f.write_bytes(b"y" * 11)
    os.utime(f, ns=(1, 2))
    assert RenderKey.of(f, PLAN, 48000) != k1


def test_lru_eviction_by_bytes():
    one = _rendered(1000)  # 8000 bytes
    cache = RenderCache(max_bytes=one.nbytes * 2)
    keys = [RenderKey(f"/s{i}.wav", 1, 1, 1.0, 0, 48000, True) for i in range(3)]
    cache.put(keys[0], one)
    cache.put(keys[1], _rendered(1000))
    assert cache.get(keys[0]) is one  # now most recently used
    cache.put(keys[2], _rendered(1000))
    assert keys[1] not in cache and keys[0] in cache and keys[2] in cache
    assert cache.nbytes == 2 * one.nbytes
    cache.put(RenderKey("/huge.wav", 1, 1, 1.0, 0, 48000, True), _rendered(10_000))  # over budget: not kept
    assert len(cache) == 2


def test_concurrent_requests_render_once():
    cache = RenderCache()
    key = RenderKey("/s.wav", 1, 1, 1.0, 0, 48000, True)
    calls = []

    def slow() -> Rendered:
        calls.append(threading.current_thread().name)
        time.sleep(0.2)
        return _rendered(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_render(key, slow))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(hit for _, hit in results) == [False, True, True, True]
    assert cache.hits == 3 and cache.misses == 1


def test_failed_render_is_retried():
    cache = RenderCache()
    key = RenderKey("/s.wav", 1, 1, 1.0, 0, 48000, True)
    attempts = []

    def flaky() -> Rendered:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk went away")
        return _rendered(10)

    try:
        cache.get_or_render(key, flaky)
    except OSError:
        pass
    rendered, hit = cache.get_or_render(key, flaky)
    assert not hit and len(attempts) == 2 and rendered.frames.shape == (10, 2)

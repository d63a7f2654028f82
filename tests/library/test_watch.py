"""The folder watcher with real inotify events, and the rescan it triggers on a real catalog."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from companion.errors import CompanionError
from companion.library.catalog import Catalog
from companion.library.scanner import scan
from companion.library.watch import FolderWatcher, is_audio_path, watch_folders


class Batches:
    def __init__(self) -> None:
        self.items: list[tuple[float, list[str]]] = []
        self.event = threading.Event()

    def __call__(self, roots: list[str]) -> None:
        self.items.append((time.monotonic(), roots))
        self.event.set()

    def wait(self, timeout: float = 5.0) -> list[str]:
        assert self.event.wait(timeout), "no change reported"
        self.event.clear()
        return self.items[-1][1]


def test_is_audio_path():
    assert is_audio_path("/a/b/kick.WAV") and is_audio_path("x.flac")
    assert not is_audio_path("/a/notes.txt") and not is_audio_path("/a/.kick.wav") and not is_audio_path("/a/")


def test_burst_of_new_files_gives_one_rescan_of_the_root(tmp_path: Path, sonic_pi: Path):
    lib, other = tmp_path / "lib", tmp_path / "other"
    (lib / "drums").mkdir(parents=True)
    other.mkdir()
    batches = Batches()
    with watch_folders([lib, other], batches, debounce_s=0.3) as watcher:
        assert watcher.roots == sorted([str(lib.resolve()), str(other.resolve())])
        started = time.monotonic()
        for name in ("bd_haus.flac", "sn_dolf.flac", "loop_amen.flac"):
            shutil.copy(sonic_pi / name, lib / "drums" / name)
        (lib / "readme.txt").write_text("not audio")
        assert batches.wait() == [str(lib.resolve())]
        assert time.monotonic() - started >= 0.3
        time.sleep(0.5)
        assert len(batches.items) == 1  # the whole burst was one callback
        assert watcher.events >= 3

        with Catalog.open(tmp_path / "lib.db") as catalog:  # what the app does with it
            report = scan(catalog, batches.items[-1][1], workers=1)
            assert report.new == 3 and report.analysed == 3
            (lib / "drums" / "sn_dolf.flac").unlink()
            assert batches.wait() == [str(lib.resolve())]
            report = scan(catalog, batches.items[-1][1], workers=1)
            assert report.missing == 1 and report.analysed == 0 and report.unchanged == 2


def test_non_audio_and_hidden_files_are_ignored(tmp_path: Path):
    batches = Batches()
    with watch_folders([tmp_path], batches, debounce_s=0.1):
        (tmp_path / "notes.txt").write_text("x")
        (tmp_path / ".hidden.wav").write_bytes(b"x")
        time.sleep(0.6)
        assert batches.items == []
        (tmp_path / "kick.wav").write_bytes(b"x")  # the watcher is alive: an audio file is seen
        assert batches.wait() == [str(tmp_path.resolve())]
    assert len(batches.items) == 1


def test_continuous_changes_are_reported_by_max_wait(tmp_path: Path):
    batches = Batches()
    with watch_folders([tmp_path], batches, debounce_s=0.4, max_wait_s=0.8):
        started = time.monotonic()
        for i in range(30):  # an event every 0.05 s: never quiet for 0.4 s
            (tmp_path / f"take{i}.wav").write_bytes(b"RIFF")
            time.sleep(0.05)
        assert batches.items, "a busy folder must still be rescanned"
        assert batches.items[0][0] - started < 1.3


def test_unwatch_and_bad_folders(tmp_path: Path):
    batches = Batches()
    watcher = FolderWatcher(batches, debounce_s=0.1)
    with pytest.raises(CompanionError, match="not running"):
        watcher.watch(tmp_path)
    with watcher:
        errors = watcher.set_roots([tmp_path, tmp_path / "nope"])
        assert len(errors) == 1 and "not a folder" in errors[0]
        watcher.set_roots([])
        assert watcher.roots == []
        (tmp_path / "a.wav").write_bytes(b"x")
        time.sleep(0.4)
        assert batches.items == []
        watcher.set_roots([tmp_path])  # watching again: the next change arrives
        (tmp_path / "b.wav").write_bytes(b"x")
        assert batches.wait() == [str(tmp_path.resolve())]


def test_a_failing_callback_does_not_stop_watching(tmp_path: Path):
    calls = []

    def flaky(roots: list[str]) -> None:
        calls.append(roots)
        if len(calls) == 1:
            raise RuntimeError("scan crashed")

    with watch_folders([tmp_path], flaky, debounce_s=0.1):
        (tmp_path / "a.wav").write_bytes(b"x")
        time.sleep(0.5)
        (tmp_path / "b.wav").write_bytes(b"x")
        time.sleep(0.5)
    assert len(calls) == 2

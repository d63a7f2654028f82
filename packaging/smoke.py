"""Start the app's window on a virtual X display (Xvfb) and time how long it takes to appear.

Used by the packaging tests and ``benchmarks/bundle_startup.py``::

    with Xvfb() as display:
        seconds = time_to_window([bundle / "companion", "gui", ...], display, "SampleMind Companion")

Needs the Debian packages ``xvfb`` (the X server) and ``x11-utils`` (``xwininfo``, which reports
a window's map state). The time runs from starting the process to the first poll that finds a
viewable top-level window with the title, so it includes the interpreter's start, the imports,
the Qt platform plugin and the first paint; polls are 20 ms apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Seconds between two looks for the window.
POLL_S = 0.02


class SmokeError(RuntimeError):
    """The display could not start or the window did not appear."""


class Xvfb:
    """A private Xvfb server; ``with Xvfb() as display:`` gives ``":<n>"`` and stops it after.

    Args:
        screen: ``WxHxDepth`` of screen 0.
    """

    def __init__(self, screen: str = "1280x800x24") -> None:
        self.screen = screen
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def __enter__(self) -> str:
        if shutil.which("Xvfb") is None:
            raise SmokeError("Xvfb is missing: install the Debian package xvfb")
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            # -noreset: without it the server resets whenever its last client leaves (each
            # xwininfo poll), and an app connecting during the reset fails to open the display.
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.screen, "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            self.__exit__()
            raise SmokeError("Xvfb did not start (no display number on -displayfd)")
        self.display = f":{number}"
        return self.display

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def window_viewable(display: str, title: str) -> bool:
    """True if a window named ``title`` exists on ``display`` and is mapped (viewable)."""
    if shutil.which("xwininfo") is None:
        raise SmokeError("xwininfo is missing: install the Debian package x11-utils")
    proc = subprocess.run(
        ["xwininfo", "-display", display, "-name", title], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and "IsViewable" in proc.stdout


def time_to_window(
    command: Sequence[str | Path],
    display: str,
    title: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120.0,
    log_file: Path | None = None,
) -> tuple[float, subprocess.Popen[bytes]]:
    """Start ``command`` on ``display`` and wait for its window.

    Args:
        command: the app and its arguments.
        display: an X display, e.g. from :class:`Xvfb`.
        title: the window title to wait for.
        env: environment (``DISPLAY`` and ``QT_QPA_PLATFORM=xcb`` are set on top of it).
        timeout_s: how long to wait.
        log_file: where the app's stdout and stderr go (default: discarded).

    Returns:
        ``(seconds, process)``: seconds from start to the window being viewable, and the still
        running process (the caller stops it or waits for it).

    Raises:
        SmokeError: the process ended, or no window appeared within ``timeout_s``; the process
            is killed.
    """
    full_env = dict(env if env is not None else os.environ)
    full_env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    out = open(log_file, "wb") if log_file is not None else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in command], env=full_env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log_file is not None:
            out.close()  # the child holds its own descriptor
    deadline = start + timeout_s
    while time.perf_counter() < deadline:
        if window_viewable(display, title):
            return time.perf_counter() - start, proc
        if proc.poll() is not None:
            raise SmokeError(f"{command[0]} exited with status {proc.returncode} before its window appeared")
        time.sleep(POLL_S)
    proc.kill()
    proc.wait()
    raise SmokeError(f"no window named {title!r} within {timeout_s:.0f} s")

"""Getting the CLAP model from the window: the download runs in a child process, then the
session loads the model.

The child is ``companion models fetch --progress-json`` (:mod:`companion.cli.commands.models`),
started with a :class:`QProcess`: its JSON lines arrive through the event loop, so the GUI
thread never waits, and Cancel kills it outright. A killed fetch cannot clean up after itself;
its part files are all in the staging folder under the models root
(:func:`companion.embedding.clap.fetch.staging_dir`), which is removed here on a worker. The
child installs only a complete, verified model (:func:`companion.embedding.clap.fetch.fetch`);
Cancel is refused while it installs (about a second). The Hub's address is the child's
``HF_ENDPOINT`` (inherited), else huggingface.co.

Once installed, :meth:`Session.reload_clap <companion.app.session.Session.reload_clap>` loads
the model on a worker and the engine uses it from the next ranking and search.

Search by sound also needs CLAP vectors of the samples. Whenever a model is loaded (a download,
another model chosen, the start of the app) and analysed samples lack its vectors,
:meth:`ModelAdapter.prepare_library` starts a library scan: every window scan embeds with the
session's model (phase ``embed``, with the library panel's progress), and with nothing new to
analyse that is all it does. The engine reloads when it ends, and text search goes through CLAP.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QProcess, Qt, Signal

from companion.embedding.clap.fetch import DEFAULT_REPO, discard_staging

if TYPE_CHECKING:
    from companion.app.clap import ClapLoad
    from companion.ui.controller import AppController

log = logging.getLogger(__name__)

#: The one line shown when the Hub cannot be reached.
OFFLINE_TEXT = "cannot reach the model hub — check the connection; the app keeps working on the fingerprint embedding"
#: The one line shown when a file fails its checksum.
CORRUPT_TEXT = "download corrupt, nothing installed — try again"
#: The one line shown after Cancel.
CANCELLED_TEXT = "cancelled — nothing installed"
#: Stages in which the child runs and Cancel works.
CANCELLABLE = ("starting", "download")
#: Stages of a fetch in progress (child running, or the model loading).
RUNNING = ("starting", "download", "install", "loading")
#: The note while a scan makes the loaded model's vectors of the library.
PREPARING_NOTE = (
    "Preparing your library for search by sound — mood, genre and search match names and tags until it is done"
)
#: The note when the loaded model has no vectors of the library and no scan runs (e.g. it was stopped).
UNPREPARED_NOTE = (
    "Your samples have no vectors of this CLAP model yet — Scan now prepares them; "
    "until then mood, genre and search match names and tags"
)


@dataclass(frozen=True)
class FetchState:
    """What the download dialog shows.

    Attributes:
        stage: ``idle``, ``starting`` (the child starts), ``download``, ``install`` (verified;
            installing, cannot be cancelled), ``loading`` (the session loads the model),
            ``done``, ``failed`` or ``cancelled``.
        repo: the Hub repository.
        hub: where it comes from (the ``HF_ENDPOINT`` URL, or ``huggingface.co``).
        files: ``(repo path, bytes)`` of every file, in download order (empty until known).
        total: bytes of all files (0 until known).
        done: bytes received so far.
        current: the file being downloaded, or None.
        text: one line: what is happening, or how it ended.
    """

    stage: str = "idle"
    repo: str = DEFAULT_REPO
    hub: str = "huggingface.co"
    files: tuple[tuple[str, int], ...] = ()
    total: int = 0
    done: int = 0
    current: str | None = None
    text: str = ""

    @property
    def running(self) -> bool:
        """True from the start until the model is loaded or the fetch ended."""
        return self.stage in RUNNING


def fetch_command(repo: str) -> tuple[str, list[str]]:
    """``(program, arguments)`` of the child: ``python -m companion models fetch REPO
    --progress-json``, or the bundled executable with the same command (PyInstaller)."""
    args = ["models", "fetch", repo, "--progress-json"]
    if getattr(sys, "frozen", False):
        return sys.executable, args
    return sys.executable, ["-m", "companion", *args]


@dataclass
class _Outcome:
    """What the child said last: its ``done`` or ``error`` line."""

    done: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=20))


class ModelAdapter(QObject):
    """Fetches the CLAP model for one controller and loads it into its session.

    Signals:
        changed(FetchState): any change of :attr:`state` (progress, stage, text).
        finished(bool, str): the fetch ended: ok, and one line saying how.
        clap_changed(): the session's CLAP model changed (now loaded, replaced, or gone), or
            what text search can do with it (:meth:`search_note`): a scan is making its vectors
            of the library, or made them.
    """

    changed = Signal(object)
    finished = Signal(bool, str)
    clap_changed = Signal()

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self._c = controller
        self.state = FetchState()
        self._proc: QProcess | None = None
        self._cancelled = False
        self._out = _Outcome()
        controller.engine_ready.connect(lambda: self.prepare_library())
        controller.scan_started.connect(self._scan_changed)
        controller.scan_finished.connect(lambda report, _error: self._scan_changed(report))

    @property
    def running(self) -> bool:
        """True while a fetch is in progress."""
        return self.state.running

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self.changed.emit(self.state)

    # ------------------------------------------------------------------ fetching
    def fetch(self, repo: str = DEFAULT_REPO) -> bool:
        """Start downloading ``repo`` (no-op while a fetch runs).

        Returns:
            True when a fetch started.
        """
        if self.running:
            return False
        self._cancelled = False
        self._out = _Outcome()
        hub = os.environ.get("HF_ENDPOINT") or "huggingface.co"
        self.state = FetchState("starting", repo, hub, text=f"connecting to {hub} …")
        self.changed.emit(self.state)
        proc = QProcess(self)
        program, args = fetch_command(repo)
        proc.setProgram(program)
        proc.setArguments(args)
        proc.readyReadStandardOutput.connect(self._read)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._ended)
        proc.errorOccurred.connect(self._process_error)
        self._proc = proc
        proc.start()
        return True

    def cancel(self) -> bool:
        """Stop the download: the child is killed, its part files removed, nothing installed.

        Returns:
            False when there is nothing to cancel, or the model is being installed.
        """
        if self._proc is None or self.state.stage not in CANCELLABLE:
            return False
        self._cancelled = True
        self._set(text="cancelling …")
        self._proc.kill()
        return True

    def _read(self) -> None:
        proc = self._proc
        while proc is not None and proc.canReadLine():
            raw = bytes(proc.readLine().data()).decode("utf-8", "replace").strip()
            try:
                doc = json.loads(raw)
            except ValueError:
                log.debug("model fetch: %s", raw)
                continue
            if isinstance(doc, dict):
                self._event(doc)

    def _read_stderr(self) -> None:
        if self._proc is not None:
            text = bytes(self._proc.readAllStandardError().data()).decode("utf-8", "replace")
            for line in text.splitlines():
                if line.strip():
                    self._out.stderr.append(line)
                    log.info("model fetch: %s", line)

    def _event(self, doc: dict[str, Any]) -> None:
        event = doc.get("event")
        if event == "plan":
            files = tuple((str(p), int(b)) for p, b in doc.get("files", []))
            total = int(doc.get("total", 0))
            self._set(
                stage="download",
                files=files,
                total=total,
                done=0,
                text=f"downloading {len(files)} files, {total / 1e6:.1f} MB",
            )
        elif event == "progress":
            done, current = int(doc.get("done", 0)), doc.get("file")
            text = f"{current} — {done / 1e6:.1f} of {self.state.total / 1e6:.1f} MB"
            self._set(stage="download", done=done, current=current, text=text)
        elif event == "install":
            self._set(stage="install", done=self.state.total, current=None, text="verified — installing …")
        elif event == "done":
            self._out.done = doc
        elif event == "error":
            self._out.error = doc

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            proc, self._proc = self._proc, None
            if proc is not None:
                proc.deleteLater()
            self._finish(False, f"cannot start the download ({fetch_command(self.state.repo)[0]}) — nothing installed")

    def _ended(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        self._read_stderr()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.deleteLater()
        out = self._out
        if out.done is not None:  # installed, even if Cancel came too late to stop it
            self._installed(out.done)
            return
        if self._cancelled:
            text, stage = CANCELLED_TEXT, "cancelled"
        elif out.error is not None:
            kind = out.error.get("kind")
            message = " ".join(str(out.error.get("message", "")).split())
            text = OFFLINE_TEXT if kind == "offline" else CORRUPT_TEXT if kind == "corrupt" else message
            stage = "failed"
            log.warning("model fetch failed: %s", message)
        else:
            text = f"the download stopped unexpectedly (exit code {code}) — nothing installed; try again"
            stage = "failed"
            log.warning("model fetch ended with code %s: %s", code, " | ".join(out.stderr))
        self._set(text="cleaning up …")
        self._c.tasks.run(lambda: discard_staging(), lambda _r, _e: self._finish(False, text, stage), pool="io")

    def _installed(self, doc: dict[str, Any]) -> None:
        """The child installed the model: use it from now on, and load it into the session."""
        name = str(doc.get("name", "the model"))
        self._set(stage="loading", done=self.state.total, current=None, text=f"installed {name} — loading it …")
        if self._c.settings.clap_model_dir is not None:
            self._c.edit_settings(clap_model_dir=None)  # the installed default is the model used now

        def loaded(load: ClapLoad | None, error: BaseException | None, preparing: bool) -> None:
            if error is not None or load is None or load.embedder is None:
                why = error or (load.problem if load is not None else None) or "it did not load"
                self._finish(False, f"installed {name}, but it cannot be used: {why}")
            elif preparing:
                self._finish(
                    True,
                    f"installed {name} — preparing your library for search by sound (progress in the library "
                    "panel); until then search matches names and tags",
                )
            elif self._c.session.clap_searchable():
                self._finish(True, f"installed {name} — text search now uses CLAP")
            else:  # nothing analysed yet, or no folders to scan
                self._finish(
                    True,
                    f"installed {name} — search by sound starts with your next scan; until then search "
                    "matches names and tags",
                )

        self.reload_clap(Path(str(doc["folder"])), loaded)

    def _finish(self, ok: bool, text: str, stage: str | None = None) -> None:
        self._set(stage=stage or ("done" if ok else "failed"), current=None, text=text)
        self.finished.emit(ok, text)

    # ------------------------------------------------------------------ loading
    def reload_clap(self, model_dir: Path | None = None, then: Any | None = None) -> None:
        """Load CLAP into the session on a worker (:meth:`Session.reload_clap`), then
        :meth:`prepare_library` for it and emit :attr:`clap_changed`; before the library is
        open, once it is.

        Args:
            model_dir: the model folder (default: the settings' folder, else the installed default).
            then: ``then(load, error, preparing)`` on the GUI thread, ``preparing``: a scan was
                started to make the model's vectors of the library (default: a problem goes to
                the status bar).
        """
        c = self._c
        if c.session.engine is None:
            c.engine_ready.connect(lambda: self.reload_clap(model_dir, then), Qt.ConnectionType.SingleShotConnection)
            return
        session = c.session

        def done(load: ClapLoad | None, error: BaseException | None) -> None:
            if error is None and load is not None and load.embedder is not None:
                self.prepare_library(lambda preparing: ended(load, error, preparing))
            else:
                ended(load, error, False)

        def ended(load: ClapLoad | None, error: BaseException | None, preparing: bool) -> None:
            self.clap_changed.emit()
            if then is not None:
                then(load, error, preparing)
            elif error is not None:
                c.problem.emit(f"cannot load the CLAP model: {error}")
            elif load is not None and load.problem:
                c.problem.emit(load.problem)

        c.tasks.run(lambda: session.reload_clap(model_dir), done, pool="io")

    # ------------------------------------------------------------------ the library's vectors
    def prepare_library(self, then: Any | None = None) -> None:
        """When analysed samples lack vectors of the loaded CLAP model (counted on the ``db``
        pool), scan the folders (:meth:`LibraryAdapter.start_scan
        <companion.ui.library_adapter.LibraryAdapter.start_scan>`, queued behind a running
        scan): its phase ``embed`` makes them. No-op without a model, an open library or folders.

        Args:
            then: ``then(started)`` on the GUI thread: True when a scan was asked for.
        """
        c = self._c
        session, db = c.session, c.db
        engine = session.engine
        if engine is None or engine.text_embedder is None or db is None or not c.settings.folders:
            if then is not None:
                then(False)
            return
        space = engine.text_embedder.space

        def done(missing: Any, error: BaseException | None) -> None:
            started = False
            if error is not None:
                log.warning("cannot count the samples without %s vectors: %s", space, error)
            elif missing and not session.closed:
                log.info("%d analysed samples have no %s vector — scanning the library to embed them", missing, space)
                c.library.start_scan()
                started = True
            if then is not None:
                then(started)

        c.tasks.run(lambda: session.clap_vectors_missing(db), done, pool="db")

    def search_note(self) -> str | None:
        """With a CLAP model loaded, why text search does not go through it yet (one line:
        :data:`PREPARING_NOTE` while a scan runs, else :data:`UNPREPARED_NOTE`); None when it
        does, or when no model is loaded."""
        session = self._c.session
        engine = session.engine
        if engine is None or engine.text_embedder is None or session.clap_searchable():
            return None
        return PREPARING_NOTE if self._c.library.scanning else UNPREPARED_NOTE

    def _scan_changed(self, report: Any | None = None) -> None:
        """A scan started or ended: the notes follow while the library is not searchable yet,
        and once a scan made vectors (a search shown runs again, now through CLAP)."""
        engine = self._c.session.engine
        if engine is None or engine.text_embedder is None:
            return
        if not self._c.session.clap_searchable() or (report is not None and report.embedded):
            self.clap_changed.emit()

    def shutdown(self) -> None:
        """The window closes: a download is stopped (one that is installing may finish, up to
        30 s) and its part files removed. Blocks; call it once, at close."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.blockSignals(True)
        if self.state.stage == "install":
            proc.waitForFinished(30000)
        if proc.state() != QProcess.ProcessState.NotRunning:
            proc.kill()
            proc.waitForFinished(5000)
        discard_staging()

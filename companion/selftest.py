"""``companion --self-test``: check that every piece the app needs loads and works here.

Run after an install or inside a built bundle (``<bundle>/companion --self-test``); each check
reports ``ok``, ``skip`` (an optional piece that is absent, with the reason) or ``fail`` (with
the reason and what to do). The exit status is 0 only if every *required* check is ``ok``.

=========  ========  ===================================================================
check      required  what it does
=========  ========  ===================================================================
logs       no        the log folder is writable (where crash reports go)
rules      yes       loads the shipped fusion rules: ``rules_v2.json`` (the default) and
                     ``rules_v1.json``
catalog    yes       creates a temporary catalog (sqlean + sqlite-vec, WAL, migrations) and
                     answers a ``vec0`` nearest-neighbour query
analysis   yes       decodes a generated FLAC loop (libsndfile, soxr) and estimates its
                     tempo and key (librosa, numba)
embedder   yes       the ``fingerprint/v1`` embedding of a generated tone: 512-d, unit norm
index      yes       builds an hnswlib index and finds a vector's own id first
processes  yes       a worker process started with ``spawn`` (as scans are) runs and answers
clap       if set    loads the CLAP model (onnxruntime) and embeds the tone; ``skip`` when
                     no model is installed, required when ``RECS_CLAP_MODEL_DIR`` names one
audio      yes       opens an output stream on the default device (sounddevice/PortAudio)
                     and plays 50 ms of silence
osc        yes       binds the OSC port (UDP, ``RECS_OSC_PORT``, 9137) and answers a
                     ``/companion/ping`` sent to it over a real socket
qt         no        the Qt widgets module and its platform plugins are present
=========  ========  ===================================================================

Core code: no Qt import at module level (the ``qt`` check imports PySide6 only when run).
"""

from __future__ import annotations

import json
import logging
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from companion import __version__
from companion.errors import CompanionError
from companion.settings import Settings, get_settings, log_dir

log = logging.getLogger(__name__)

Status = Literal["ok", "skip", "fail"]

#: Sample rate of the generated test signals, Hz.
TEST_SR = 44100
#: Tempo of the generated test loop, BPM (2 bars of 4/4 at 120 BPM = 4 s).
TEST_BPM = 120.0
#: Seconds of silence written to the audio stream.
AUDIO_TEST_S = 0.05
#: How long the OSC check waits for the pong, s.
OSC_TIMEOUT_S = 2.0
#: How long the process check waits for its spawned worker, s.
PROCESS_TIMEOUT_S = 120.0


class SkipCheck(Exception):
    """Raised by a check whose optional piece is absent; the message says why."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: short check name (``catalog``, ``audio`` …).
        status: ``ok``, ``skip`` or ``fail``.
        detail: what was verified, or the reason it was skipped or failed.
        required: whether a ``fail`` or ``skip`` makes the self-test fail.
        seconds: wall time of the check, s.
    """

    name: str
    status: Status
    detail: str
    required: bool
    seconds: float

    @property
    def passed(self) -> bool:
        """True if this check does not fail the self-test."""
        return self.status == "ok" or not self.required


@dataclass(frozen=True)
class SelfTestReport:
    """All check results and where the self-test ran.

    Attributes:
        results: one :class:`CheckResult` per check, in the order run.
        version: the app version.
        frozen: True inside a PyInstaller bundle.
        executable: the bundle's executable or the Python interpreter.
        platform: ``platform.platform()``.
    """

    results: list[CheckResult]
    version: str = __version__
    frozen: bool = field(default_factory=lambda: bool(getattr(sys, "frozen", False)))
    executable: str = sys.executable
    platform: str = field(default_factory=platform.platform)

    @property
    def passed(self) -> bool:
        """True if every required check is ok."""
        return all(r.passed for r in self.results)

    def header(self) -> str:
        """First line of the text report: version and where it runs."""
        where = f"bundle {Path(self.executable).parent}" if self.frozen else f"python {self.executable}"
        return f"SampleMind Companion {self.version} self-test ({where}; {self.platform})"

    def footer(self) -> str:
        """Last line of the text report: the verdict and the counts."""
        counts = {s: sum(r.status == s for r in self.results) for s in ("ok", "skip", "fail")}
        total_s = sum(r.seconds for r in self.results)
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"self-test {verdict}: {counts['ok']} ok, {counts['skip']} skipped, "
            f"{counts['fail']} failed ({total_s:.2f} s)"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict (``passed``, ``results`` …)."""
        return {
            "version": self.version,
            "frozen": self.frozen,
            "executable": self.executable,
            "platform": self.platform,
            "passed": self.passed,
            "results": [asdict(r) for r in self.results],
        }


def format_result(result: CheckResult) -> str:
    """One line of the text report, e.g. ``ok    rules     fusion rules 'default' v1``."""
    optional = "" if result.required else " (optional)"
    status = result.status if result.status != "fail" or result.required else "warn"
    return f"{status:<5} {result.name:<10} {result.detail}{optional if result.status != 'ok' else ''}"


# -- the checks ------------------------------------------------------------------------------------


def _tone(seconds: float, freq_hz: float = 440.0, sr: int = TEST_SR) -> np.ndarray:
    """A decaying sine, (n,) float32 in [-0.5, 0.5]."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq_hz * t) * np.exp(-4.0 * t)).astype(np.float32)


def _test_loop(sr: int = TEST_SR) -> np.ndarray:
    """Two bars of 4/4 at :data:`TEST_BPM`: an A-minor triad stab on every beat, (n,) float32."""
    beat = int(round(sr * 60.0 / TEST_BPM))
    y = np.zeros(beat * 8, dtype=np.float32)
    t = np.arange(beat) / sr
    stab = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) * np.exp(-6.0 * t) / 4.0
    for i in range(8):
        y[i * beat : (i + 1) * beat] += stab.astype(np.float32)
    return y


def loaded_library(fragment: str, fallback: str | None = None) -> str:
    """Path of a shared library this process has loaded whose file name contains ``fragment``.

    Reads ``/proc/self/maps`` (Linux), so a bundle shows that it uses its own copy; elsewhere
    returns ``fallback`` (or ``"?"``).
    """
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if path.startswith("/") and fragment in Path(path).name:
                    return path
    except OSError:
        pass  # not Linux: no maps file; the fallback names the library
    return fallback or "?"


def check_logs(settings: Settings, workdir: Path) -> str:
    """The log folder exists or can be created, and a file can be written in it."""
    from companion.logging_setup import current_log_path

    path = current_log_path()
    folder = path.parent if path is not None else log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".selftest-probe"
    probe.write_text("ok", encoding="utf-8")
    probe.unlink()
    return f"log file {path}" if path is not None else f"log folder {folder} is writable (file logging off)"


def check_rules(settings: Settings, workdir: Path) -> str:
    """The shipped fusion rules (the default and every packaged format) load and validate."""
    from companion.ranking.rules import PACKAGED_RULES, load_default_rules, load_packaged_rules

    for version in PACKAGED_RULES:
        load_packaged_rules(version)
    rules = load_default_rules()
    doc = rules.to_json()
    return f"fusion rules {doc.get('name', '?')!r} version {doc.get('version', '?')}"


def check_catalog(settings: Settings, workdir: Path) -> str:
    """A new catalog opens with sqlite-vec and answers a ``vec0`` KNN query."""
    import sqlite_vec

    from companion.library.db import connect, vec_table
    from companion.library.vectors import space_id

    path = workdir / "selftest.db"
    conn = connect(path)
    try:
        sid = space_id(conn, "selftest/v1", 8)
        table = vec_table(sid)
        rng = np.random.default_rng(7)
        vectors = rng.standard_normal((16, 8)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for i, vec in enumerate(vectors, start=1):
            conn.execute(f"INSERT INTO {table} (rowid, embedding) VALUES (?, ?)", (i, vec.tobytes()))
        probe = vectors[10] + 0.01 * vectors[3]
        rows = conn.execute(
            f"SELECT rowid, distance FROM {table} WHERE embedding MATCH ? AND k = 3 ORDER BY distance",
            (probe.astype(np.float32).tobytes(),),
        ).fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sqlite_version = conn.execute("SELECT sqlite_version()").fetchone()[0]
        vec_version = conn.execute("SELECT vec_version()").fetchone()[0]
    finally:
        conn.close()
    if not rows or rows[0][0] != 11:
        raise CompanionError(f"the vec0 query returned {rows[:1]} instead of row 11 — sqlite-vec is broken")
    return (
        f"sqlite {sqlite_version} ({journal}), sqlite-vec {vec_version} "
        f"({sqlite_vec.loadable_path()}): vec0 KNN found the nearest of 16 vectors"
    )


def check_analysis(settings: Settings, workdir: Path) -> str:
    """A generated FLAC loop decodes and its tempo and key are estimated."""
    import soundfile as sf

    from companion.analysis.pipeline import analyse_file

    path = workdir / "selftest_loop.flac"
    sf.write(path, _test_loop(), TEST_SR, subtype="PCM_16")
    result, audio = analyse_file(path)
    if result.bpm is None or abs(result.bpm - TEST_BPM) > 2.0:
        raise CompanionError(
            f"tempo of the {TEST_BPM:.0f} BPM test loop estimated as {result.bpm} — the analysis is broken"
        )
    if (result.key_pc, result.mode) != (9, "minor"):
        raise CompanionError(
            f"key of the A-minor test loop estimated as pitch class {result.key_pc} {result.mode} — "
            "the analysis is broken"
        )
    return (
        f"libsndfile {sf.__libsndfile_version__} ({loaded_library('libsndfile')}): "
        f"decoded a {audio.duration_s:.1f} s FLAC loop, "
        f"{result.bpm:.1f} BPM, A minor (estimated)"
    )


def check_embedder(settings: Settings, workdir: Path) -> str:
    """The fingerprint embedding of a tone is a 512-d unit vector that differs from noise."""
    from companion.embedding.fingerprint import FINGERPRINT_DIM, FINGERPRINT_SPACE, fingerprint

    tone = fingerprint(_tone(1.0), TEST_SR)
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, TEST_SR).astype(np.float32)
    other = fingerprint(noise * np.exp(-4.0 * np.arange(TEST_SR) / TEST_SR).astype(np.float32), TEST_SR)
    norm = float(np.linalg.norm(tone))
    if tone.shape != (FINGERPRINT_DIM,) or tone.dtype != np.float32 or abs(norm - 1.0) > 1e-4:
        raise CompanionError(
            f"fingerprint gave shape {tone.shape} {tone.dtype}, norm {norm:.4f} — expected a unit vector"
        )
    cosine = float(tone @ other)
    if cosine > 0.99:
        raise CompanionError(f"fingerprints of a tone and of noise are identical (cosine {cosine:.3f})")
    return f"{FINGERPRINT_SPACE}: {FINGERPRINT_DIM}-d unit vector; cosine(tone, noise) {cosine:.2f}"


def check_index(settings: Settings, workdir: Path) -> str:
    """An hnswlib index finds each vector's own id first."""
    import hnswlib

    from companion.embedding.index import VectorIndex

    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((200, 32)).astype(np.float32)
    ids = np.arange(1000, 1200, dtype=np.int64)
    index = VectorIndex.build("selftest/v1", ids, vectors, num_threads=1)
    found, sims = index.query(vectors[42], k=1)
    first = int(found[0, 0])
    if first != 1042:
        raise CompanionError(f"hnswlib returned id {first} for the vector of id 1042 — the index is broken")
    version = getattr(hnswlib, "__version__", None)
    return f"hnswlib{' ' + version if version else ''}: 200 vectors, nearest of id 1042 is itself (cosine {sims[0, 0]:.3f})"


def _square(x: int) -> int:
    """Runs in the spawned worker of :func:`check_processes`."""
    return x * x


def check_processes(settings: Settings, workdir: Path) -> str:
    """A worker process started with ``spawn`` (as the desktop app's scans are) runs and answers.

    In a bundle this re-executes the app's own executable, which must hand over to
    multiprocessing (``multiprocessing.freeze_support()`` in the entry point).
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with ctx.Pool(1) as pool:
        answer = pool.apply_async(_square, (12,)).get(timeout=PROCESS_TIMEOUT_S)
    if answer != 144:
        raise CompanionError(f"a spawned worker answered {answer!r} instead of 144")
    return f"a spawned worker process answered in {time.perf_counter() - start:.1f} s"


def check_clap(settings: Settings, workdir: Path) -> str:
    """onnxruntime is present and, if a CLAP model is installed, it embeds a tone."""
    try:
        from companion.embedding.clap.sessions import import_ort

        ort = import_ort()
    except (ImportError, CompanionError) as exc:
        raise SkipCheck(f"onnxruntime is not available ({exc}) — the fingerprint embedding is used") from exc
    from companion.embedding.clap.audio_io import to_mono_48k
    from companion.embedding.clap.runtime import load_clap

    runtime = f"onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())})"
    embedder = load_clap(settings=settings, workers=1)
    if embedder is None:
        why = "CLAP is off (RECS_USE_CLAP=false)" if not settings.use_clap else "no CLAP model installed"
        raise SkipCheck(f"{runtime}; {why} — the fingerprint embedding is used")
    vec = np.asarray(embedder.embed_audio(to_mono_48k(_tone(2.0), TEST_SR)))
    if vec.shape != (embedder.dim,) or not np.isfinite(vec).all():
        raise CompanionError(f"CLAP gave a vector of shape {vec.shape} — expected ({embedder.dim},)")
    return f"{runtime}: {embedder.space} ({embedder.precision}, {embedder.providers[0]}) embedded a tone"


def check_audio(settings: Settings, workdir: Path) -> str:
    """An output stream opens on the default device and plays a little silence."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is missing
        raise CompanionError(f"PortAudio is missing: {exc} — install libportaudio2 (or reinstall the app)") from exc
    devices = sd.query_devices()
    if len(devices) == 0:
        raise CompanionError(
            "no audio device found (PortAudio sees none) — connect or enable a sound card; on Linux "
            "check that ALSA (or PipeWire/PulseAudio's ALSA plugin) is installed"
        )
    info = sd.query_devices(kind="output")
    rate = int(info["default_samplerate"]) or 48000
    channels = min(2, int(info["max_output_channels"])) or 1
    with sd.OutputStream(samplerate=rate, channels=channels, dtype="float32") as stream:
        stream.write(np.zeros((int(rate * AUDIO_TEST_S), channels), dtype=np.float32))
    hostapi = sd.query_hostapis(info["hostapi"])["name"]
    return (
        f"output stream on {info['name']!r} ({hostapi}), {rate} Hz, {channels} ch; "
        f"{sd.get_portaudio_version()[1].split(',')[0]} ({loaded_library('libportaudio', sd._libname)})"
    )


def check_osc(settings: Settings, workdir: Path) -> str:
    """The OSC port binds and answers ``/companion/ping`` over a real UDP socket."""
    from pythonosc.osc_message import OscMessage
    from pythonosc.osc_message_builder import OscMessageBuilder

    from companion.bridge.listener import OscListener

    port = settings.osc_port
    with OscListener(lambda update: None, port=port) as listener:
        host, bound = listener.address
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(OSC_TIMEOUT_S)
            client.bind(("127.0.0.1", 0))
            client.sendto(OscMessageBuilder("/companion/ping").build().dgram, (host, bound))
            try:
                data, _ = client.recvfrom(65507)
            except TimeoutError as exc:
                raise CompanionError(f"bound UDP {host}:{bound} but no pong within {OSC_TIMEOUT_S} s") from exc
    reply = OscMessage(data)
    if reply.address != "/companion/pong":
        raise CompanionError(f"the OSC listener answered {reply.address} instead of /companion/pong")
    return f"bound UDP {host}:{bound}; /companion/ping answered {reply.address} {list(reply.params)}"


def check_qt(settings: Settings, workdir: Path) -> str:
    """PySide6's widgets load and the platform plugins the app needs are present."""
    try:
        from PySide6 import QtCore, QtWidgets  # noqa: F401 - importing is the check
    except ImportError as exc:
        raise SkipCheck(f"PySide6 is not installed ({exc}) — the desktop window is unavailable") from exc
    plugins = Path(QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(p.name for p in plugins.glob("*") if p.is_file())
    if not found:
        raise CompanionError(f"no Qt platform plugins in {plugins} — the window cannot open; reinstall the app")
    names = sorted({n.removeprefix("libq").removeprefix("q").split(".")[0] for n in found})
    return f"Qt {QtCore.qVersion()}, platform plugins: {', '.join(names)}"


@dataclass(frozen=True)
class Check:
    """A named check: ``run(settings, workdir) -> detail``; ``required`` may depend on settings."""

    name: str
    run: Callable[[Settings, Path], str]
    required: Callable[[Settings], bool]


def _always(settings: Settings) -> bool:
    return True


def _never(settings: Settings) -> bool:
    return False


def _clap_configured(settings: Settings) -> bool:
    return settings.use_clap and settings.clap_model_dir is not None


CHECKS: tuple[Check, ...] = (
    Check("logs", check_logs, _never),
    Check("rules", check_rules, _always),
    Check("catalog", check_catalog, _always),
    Check("analysis", check_analysis, _always),
    Check("embedder", check_embedder, _always),
    Check("index", check_index, _always),
    Check("processes", check_processes, _always),
    Check("clap", check_clap, _clap_configured),
    Check("audio", check_audio, _always),
    Check("osc", check_osc, _always),
    Check("qt", check_qt, _never),
)


def run_check(check: Check, settings: Settings, workdir: Path) -> CheckResult:
    """Run one check and turn its outcome (detail, :class:`SkipCheck` or any error) into a result.

    A failure's detail is the error's message (a :class:`CompanionError` already says what to
    do) prefixed by its type for unexpected errors; it is also logged with its traceback.
    """
    required = check.required(settings)
    start = time.perf_counter()
    try:
        detail = check.run(settings, workdir)
        status: Status = "ok"
    except SkipCheck as exc:
        detail, status = str(exc), "skip"
    except CompanionError as exc:
        detail, status = str(exc), "fail"
        log.info("self-test %s failed: %s", check.name, exc, exc_info=True)
    except Exception as exc:  # any error of a piece under test is a reported failure
        detail, status = f"{type(exc).__name__}: {exc}", "fail"
        log.info("self-test %s failed", check.name, exc_info=True)
    return CheckResult(check.name, status, detail, required, time.perf_counter() - start)


def run_self_test(
    settings: Settings | None = None,
    *,
    only: Iterable[str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> SelfTestReport:
    """Run the checks (all, or those named in ``only``) in a temporary folder.

    Args:
        settings: defaults to :func:`companion.settings.get_settings`.
        only: names of the checks to run (see :data:`CHECKS`).
        on_result: called after each check, e.g. to print it at once.

    Returns:
        The :class:`SelfTestReport`; ``report.passed`` decides the exit status.

    Raises:
        ValueError: ``only`` names an unknown check.
    """
    settings = settings or get_settings()
    known = {c.name for c in CHECKS}
    wanted = set(only) if only is not None else known
    if wanted - known:
        raise ValueError(f"unknown self-test check(s) {sorted(wanted - known)} — choose from {sorted(known)}")
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="companion-selftest-") as tmp:
        for check in CHECKS:
            if check.name not in wanted:
                continue
            result = run_check(check, settings, Path(tmp))
            results.append(result)
            log.info("self-test %s: %s — %s", result.name, result.status, result.detail)
            if on_result is not None:
                on_result(result)
    return SelfTestReport(results)


def main(*, as_json: bool = False, only: Iterable[str] | None = None, settings: Settings | None = None) -> int:
    """Run the self-test and print it (text lines as each check ends, or one JSON document).

    Returns:
        The exit status: 0 if every required check passed, else 1.
    """
    if as_json:
        report = run_self_test(settings, only=only)
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        print(SelfTestReport([]).header(), flush=True)
        report = run_self_test(settings, only=only, on_result=lambda r: print(format_result(r), flush=True))
        print(report.footer(), flush=True)
    return 0 if report.passed else 1

"""Size and start-up of the built app folder (PyInstaller one-folder build).

Usage::

    python benchmarks/bundle_startup.py [--bundle dist/companion] [--runs 3] [--no-build]

Builds the folder with ``packaging/build.sh --python <this interpreter>`` when it is missing
(unless ``--no-build``). Then, with user folders in a temporary directory (so the first run
starts with an empty numba cache, as on a producer's first launch) and ALSA's null device
when the machine has no sound card:

* size of the folder (MiB, files), and of the ``.tar.gz`` of it;
* ``companion --version``: wall time, median of ``--runs``;
* ``companion --self-test``: wall time cold (numba compiles librosa's kernels and caches them)
  and warm, and the report it printed;
* time from starting ``companion gui`` to its window being viewable on Xvfb (``packaging/smoke.py``:
  ``xwininfo`` polled every 20 ms): cold (first run, empty caches) and warm (median of ``--runs``).

Ends with one line of name=value figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
from smoke import Xvfb, time_to_window

TITLE = "SampleMind Companion"


def folder_size(folder: Path) -> tuple[float, int]:
    """(MiB, file count) of a folder, symlinks not followed."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 2**20, len(files)


def environment(tmp: Path) -> dict[str, str]:
    """User folders under ``tmp``; ALSA's null PCM when no sound card; OSC on any free port."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM", "RECS_CLAP_MODEL_DIR")}
    env.update(
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        RECS_OSC_PORT="0",
    )
    cards = Path("/proc/asound/cards")
    has_card = cards.is_file() and any(line[:3].strip().isdigit() for line in cards.read_text().splitlines())
    if not has_card and "ALSA_CONFIG_PATH" not in env:
        conf = tmp / "asound-null.conf"
        conf.write_text("pcm.!default { type null }\n")
        env["ALSA_CONFIG_PATH"] = f"/usr/share/alsa/alsa.conf:{conf}"
    return env


def timed(command: list[str | Path], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time (s) of one run, and its result."""
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in command], env=env, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - start, proc


def window_time(bundle: Path, env: dict[str, str], tmp: Path, run: int) -> float:
    """Seconds from starting ``companion gui`` to its window on Xvfb (the app then quits)."""
    command = [
        bundle / "companion",
        "gui",
        "--no-osc",
        "--library-db",
        tmp / "library.db",
        "--settings-file",
        tmp / "gui.json",
        "--quit-after",
        "2",
    ]
    with Xvfb() as display:
        seconds, proc = time_to_window(command, display, TITLE, env=env, timeout_s=300, log_file=tmp / f"gui-{run}.log")
        proc.wait(timeout=120)
    return seconds


def main() -> int:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "companion")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    bundle: Path = args.bundle
    if not (bundle / "companion").is_file():
        if args.no_build:
            print(f"no app folder at {bundle}: run packaging/build.sh", file=sys.stderr)
            return 2
        print(f"building {bundle} with packaging/build.sh …", flush=True)
        start = time.perf_counter()
        subprocess.run(
            [
                "bash",
                str(ROOT / "packaging" / "build.sh"),
                "--python",
                sys.executable,
                "--dist",
                str(bundle.parent),
                "--no-self-test",
            ],
            check=True,
        )
        print(f"built in {time.perf_counter() - start:.0f} s")

    size_mib, n_files = folder_size(bundle)
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as tmp_name:
        tmp = Path(tmp_name)
        archive = tmp / "bundle.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(bundle, arcname="companion")
        tar_mib = archive.stat().st_size / 2**20
        archive.unlink()
        print(f"app folder {bundle}: {size_mib:.0f} MiB in {n_files} files; .tar.gz {tar_mib:.0f} MiB")

        env = environment(tmp)
        version_s = statistics.median(timed([bundle / "companion", "--version"], env)[0] for _ in range(args.runs))
        print(f"--version: {version_s:.2f} s (median of {args.runs})")

        cold_s, proc = timed([bundle / "companion", "--self-test"], env)
        print(f"--self-test, cold caches: {cold_s:.1f} s, exit {proc.returncode}")
        warm_s, proc = timed([bundle / "companion", "--self-test"], env)
        print(f"--self-test, warm: {warm_s:.1f} s, exit {proc.returncode}; it printed:")
        print(proc.stdout.rstrip())
        self_test_ok = int(proc.returncode == 0)

        fresh = tmp / "fresh"  # new user folders: empty numba and font caches, first-run dialog
        fresh.mkdir()
        window_cold = window_time(bundle, environment(fresh), fresh, 0)
        warm_windows = [window_time(bundle, env, tmp, i + 1) for i in range(args.runs)]
        window_warm = statistics.median(warm_windows)
        print(
            f"time to window under Xvfb: cold {window_cold:.2f} s; warm {window_warm:.2f} s "
            f"(median of {', '.join(f'{w:.2f}' for w in warm_windows)})"
        )

    print(
        f"bundle_size_mib={size_mib:.0f} bundle_files={n_files} bundle_targz_mib={tar_mib:.0f} "
        f"version_s={version_s:.2f} self_test_cold_s={cold_s:.1f} self_test_warm_s={warm_s:.1f} "
        f"self_test_ok={self_test_ok} window_cold_s={window_cold:.2f} window_warm_s={window_warm:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

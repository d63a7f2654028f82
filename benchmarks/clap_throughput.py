"""CLAP audio throughput on this CPU: fp32 and int8 HTSAT encoders through onnxruntime.

Usage::

    python benchmarks/clap_throughput.py [--workdir DIR] [--threads 2] [--batch 8] [--limit N]

The model has the real architecture of ``laion/clap-htsat-unfused``'s audio tower
(``ClapAudioConfig()`` defaults: patch 96, depths 2-2-6-2, ≈28 M parameters, ≈116 MB as ONNX)
with random weights, so it costs the same compute as the real one. It is built with
``companion.embedding.clap.random_model`` and exported with ``companion models export --quantize int8`` code
(``companion.embedding.clap.export.export_clap``) into ``--workdir`` (reused when already there).

Each precision runs in its own child process (so the session memory is its own):

* ``session MB``: growth of the process RSS when the audio session is created, and after
  the first batch (onnxruntime allocates its arena then);
* ``encoder w/s``: the audio encoder alone on batches of ``--batch`` 10-s windows;
* ``front end ms``: the numpy log-mel of one 10-s window;
* end to end (``ClapEmbedder.embed_files``: decode + resample + windows + front end in a worker
  thread, overlapped with batched inference): files/s and windows/s over
  (a) the Sonic Pi library (165 short files, one window each) and
  (b) 8 long files of 60 s (6 windows each) made from Sonic Pi loops;
* the cosine between the int8 and fp32 file vectors of every file (real audio);
* CPU time per window (all threads), which says what the code costs even when other
  processes share the CPU and wall-clock rates drop.

Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

SONIC_PI = Path("/usr/share/sonic-pi/samples")
LONG_FILES = 8
LONG_S = 60


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def ensure_model(workdir: Path) -> Path:
    """The exported random-weight HTSAT model folder (built and exported on first use)."""
    out = workdir / "model"
    if (out / "manifest.json").is_file() and (out / "audio_encoder.int8.onnx").is_file():
        return out
    from companion.embedding.clap.export import export_clap
    from companion.embedding.clap.random_model import build_random_checkpoint

    t0 = time.perf_counter()
    ckpt = build_random_checkpoint(workdir / "checkpoint", audio="htsat", seed=0)
    export_clap(str(ckpt), out, quantize="int8", log=lambda line: print("  " + line, file=sys.stderr))
    print(f"built and exported the HTSAT model in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return out


def ensure_long_files(workdir: Path) -> list[Path]:
    """Eight 60-s FLAC files, each a chain of Sonic Pi loops."""
    folder = workdir / "long"
    folder.mkdir(parents=True, exist_ok=True)
    loops = sorted(SONIC_PI.glob("loop_*.flac"))
    from companion.embedding.clap.audio_io import load_audio_48k

    out = []
    for i in range(LONG_FILES):
        path = folder / f"long_{i}.flac"
        if not path.exists():
            parts, n = [], 0
            j = i
            while n < LONG_S * 48_000:
                y = load_audio_48k(loops[j % len(loops)])
                parts.append(y)
                n += y.shape[0]
                j += 3
            sf.write(path, np.concatenate(parts)[: LONG_S * 48_000], 48_000)
        out.append(path)
    return out


def child(
    model: Path,
    precision: str,
    threads: int,
    streams: int,
    batch: int,
    files: list[Path],
    long_files: list[Path],
    vec_out: Path,
) -> dict:
    """Measure one precision in this (fresh) process."""
    from companion.embedding.clap.audio_io import load_audio_48k
    from companion.embedding.clap.pooling import split_windows
    from companion.embedding.clap.runtime import ClapEmbedder

    base = rss_mb()
    emb = ClapEmbedder(model, precision=precision, threads=threads, streams=streams, batch_size=batch, accelerate=False)  # type: ignore[arg-type]
    loaded = rss_mb()
    rng = np.random.default_rng(0)
    windows = [(0.1 * rng.standard_normal(480_000)).astype(np.float32) for _ in range(batch)]
    emb.frontend.features(windows[:1])  # builds the mel filter bank once
    t = time.perf_counter()
    feats = emb.frontend.features(windows)
    frontend_ms = (time.perf_counter() - t) * 1000 / batch
    with ThreadPoolExecutor(streams) as pool:  # `streams` encoder calls at once, as embed_files runs them
        list(pool.map(emb.embed_windows, [feats] * streams))
        warm = rss_mb()
        runs = []
        c0 = time.process_time()
        for _ in range(3):
            t = time.perf_counter()
            list(pool.map(emb.embed_windows, [feats] * streams))
            runs.append(time.perf_counter() - t)
    encoder_cpu_ms = (time.process_time() - c0) * 1000 / (3 * batch * streams)
    encoder_wps = batch * streams / float(np.median(runs))

    def end_to_end(paths: list[Path]) -> tuple[float, float, int, float, dict[int, np.ndarray]]:
        n_windows = sum(len(split_windows(load_audio_48k(p), 48_000)) for p in paths)
        t0, c0 = time.perf_counter(), time.process_time()
        got = dict(emb.embed_files(paths))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        return len(paths) / dt, n_windows / dt, n_windows, cpu * 1000 / n_windows, got

    short_fps, short_wps, short_w, short_cpu, short_vecs = end_to_end(files)
    long_fps, long_wps, long_w, long_cpu, long_vecs = end_to_end(long_files)
    errors = [str(v) for v in (*short_vecs.values(), *long_vecs.values()) if isinstance(v, Exception)]
    vecs = np.stack([short_vecs[i] for i in range(len(files))] + [long_vecs[i] for i in range(len(long_files))])
    np.save(vec_out, vecs)
    return {
        "precision": emb.precision,
        "threads": emb.threads,
        "streams": emb.streams,
        "session_mb_loaded": round(loaded - base, 1),
        "session_mb_warm": round(warm - base, 1),
        "encoder_wps": round(encoder_wps, 2),
        "encoder_cpu_ms": round(encoder_cpu_ms, 1),
        "short_cpu_ms": round(short_cpu, 1),
        "long_cpu_ms": round(long_cpu, 1),
        "frontend_ms": round(frontend_ms, 2),
        "short_files": len(files),
        "short_windows": short_w,
        "short_fps": round(short_fps, 2),
        "short_wps": round(short_wps, 2),
        "long_files": len(long_files),
        "long_windows": long_w,
        "long_fps": round(long_fps, 3),
        "long_wps": round(long_wps, 2),
        "errors": errors,
        "model_mb": round(emb.manifest.files["audio_int8" if emb.precision == "int8" else "audio"].bytes / 1e6, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "samplemind-bench" / "clap-htsat",
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="onnxruntime intra-op threads")
    ap.add_argument("--batch", type=int, default=8, help="windows per encoder call")
    ap.add_argument("--streams", type=int, default=1, help="encoder calls in flight (threads are shared among them)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N Sonic Pi files (0 = all)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    files = sorted(SONIC_PI.glob("*.flac"))
    if args.limit:
        files = files[: args.limit]

    if args.child:
        long_files = sorted((args.workdir / "long").glob("long_*.flac"))
        doc = child(
            args.workdir / "model",
            args.child,
            args.threads,
            args.streams,
            args.batch,
            files,
            long_files,
            args.workdir / f"vecs_{args.child}.npy",
        )
        print(json.dumps(doc))
        return

    model = ensure_model(args.workdir)
    ensure_long_files(args.workdir)
    from companion.embedding.clap.manifest import Manifest

    man = Manifest.read(model)
    results = {}
    for precision in ("fp32", "int8"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            precision,
            "--workdir",
            str(args.workdir),
            "--threads",
            str(args.threads),
            "--streams",
            str(args.streams),
            "--batch",
            str(args.batch),
            "--limit",
            str(args.limit),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"{precision} run failed:\n{proc.stderr}")
        results[precision] = json.loads(proc.stdout.strip().splitlines()[-1])
    a = np.load(args.workdir / "vecs_fp32.npy")
    b = np.load(args.workdir / "vecs_int8.npy")
    cos = np.sum(a * b, axis=1)
    load = os.getloadavg()[0]

    print(
        f"model: {man.name} (random weights, real HTSAT architecture), {os.cpu_count()} CPUs, "
        f"{args.threads} threads in {args.streams} stream(s), batch {args.batch}, load average {load:.2f}"
    )
    print(
        f"export parity vs PyTorch: audio max|Δ| {man.parity['audio_max_abs']:.2e}, min cos {man.parity['audio_min_cosine']:.6f}"
    )
    header = (
        f"{'':6} {'file MB':>8} {'sess MB':>8} {'warm MB':>8} {'enc w/s':>8} {'enc cpu ms/w':>12} {'fe ms':>6} "
        f"{'short f/s':>10} {'short cpu ms/w':>14} {'long w/s':>9} {'long f/s':>9} {'long cpu ms/w':>13}"
    )
    print(header)
    for p, r in results.items():
        print(
            f"{p:6} {r['model_mb']:8.1f} {r['session_mb_loaded']:8.1f} {r['session_mb_warm']:8.1f} {r['encoder_wps']:8.2f} "
            f"{r['encoder_cpu_ms']:12.1f} {r['frontend_ms']:6.2f} {r['short_fps']:10.2f} {r['short_cpu_ms']:14.1f} "
            f"{r['long_wps']:9.2f} {r['long_fps']:9.3f} {r['long_cpu_ms']:13.1f}"
        )
        for e in r["errors"]:
            print(f"  error ({p}): {e}")
    print(
        "cpu ms/w = CPU time of all the process's threads per window; with the machine to itself, "
        f"{os.cpu_count()} cores give at most {os.cpu_count()}000 / (cpu ms/w) windows/s"
    )
    print(
        f"short set: {results['fp32']['short_files']} Sonic Pi files, {results['fp32']['short_windows']} windows; "
        f"long set: {results['fp32']['long_files']} × {LONG_S} s, {results['fp32']['long_windows']} windows"
    )
    print(
        f"int8 vs fp32 file vectors on real audio: min cos {cos.min():.4f}, mean {cos.mean():.4f} over {len(cos)} files"
    )
    f, i = results["fp32"], results["int8"]
    print(
        f"fp32_encoder_wps={f['encoder_wps']} int8_encoder_wps={i['encoder_wps']} "
        f"fp32_short_fps={f['short_fps']} int8_short_fps={i['short_fps']} "
        f"fp32_long_wps={f['long_wps']} int8_long_wps={i['long_wps']} "
        f"fp32_long_cpu_ms_per_window={f['long_cpu_ms']} int8_long_cpu_ms_per_window={i['long_cpu_ms']} "
        f"fp32_session_mb={f['session_mb_warm']} int8_session_mb={i['session_mb_warm']} "
        f"frontend_ms={f['frontend_ms']} int8_min_cos={cos.min():.4f} load_avg={load:.2f}"
    )


if __name__ == "__main__":
    main()

"""onnxruntime sessions: execution providers chosen at run time, bounded CPU threads.

Providers are taken in the order CUDA, CoreML, DirectML when the installed onnxruntime build
offers them (``onnxruntime-gpu``, the macOS wheel, ``onnxruntime-directml``), and the CPU
provider always comes last so every node has a home. CPU threads are bounded so that the UI
keeps a core: by default ``cpu_count − 1`` (at least 1, at most 8) intra-op threads and one
inter-op thread, which sleep rather than spin when idle.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from companion.errors import ModelError

log = logging.getLogger(__name__)

#: Accelerated providers in order of preference; CPU is appended always.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
CPU_PROVIDER = "CPUExecutionProvider"
#: Upper bound of the default intra-op thread count.
MAX_DEFAULT_THREADS = 8


def import_ort() -> Any:
    """Import onnxruntime.

    Raises:
        ModelError: if it is not installed (the optional ``clap`` extra).
    """
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(
            "onnxruntime is not installed — install the CLAP extra: pip install 'samplemind-companion[clap]'"
        ) from exc
    return onnxruntime


def default_threads(cpu_count: int | None = None) -> int:
    """Intra-op threads that leave one core to the UI: ``clamp(cpu_count − 1, 1, 8)``."""
    n = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, min(MAX_DEFAULT_THREADS, n - 1))


def choose_providers(available: Sequence[str] | None = None, *, accelerate: bool = True) -> list[str]:
    """The providers to use, best first, CPU last.

    Args:
        available: providers of the onnxruntime build (default: ``get_available_providers()``).
        accelerate: False to use the CPU provider only.

    Returns:
        e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` or ``["CPUExecutionProvider"]``.
    """
    if available is None:
        available = import_ort().get_available_providers()
    chosen = [p for p in PREFERRED_PROVIDERS if accelerate and p in available]
    return [*chosen, CPU_PROVIDER]


def open_session(path: Path, providers: Sequence[str], threads: int) -> Any:
    """Open an inference session with bounded threads.

    Args:
        path: the ``.onnx`` file.
        providers: from :func:`choose_providers`.
        threads: intra-op threads of the CPU provider (≥ 1).

    Returns:
        an ``onnxruntime.InferenceSession``; ``session.get_providers()`` lists those in use.

    Raises:
        ModelError: if onnxruntime cannot load the graph.
    """
    ort = import_ort()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: provider fallbacks are reported by us
    # Idle worker threads sleep instead of spin-waiting: they leave the cores to the UI and to
    # the decoding thread (and run faster when other processes load the CPU).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No CPU memory arena: activation buffers go back to the system after each call. With a
    # batch of 8 windows the HTSAT session then stays near 200 MB instead of 560 MB (fp32), at
    # no measurable cost in speed (benchmarks/clap_throughput.py).
    opts.enable_cpu_mem_arena = False
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/… types
        raise ModelError(f"onnxruntime cannot load {path}: {exc} — re-export or re-fetch the model") from exc
    used = session.get_providers()
    if used and used[0] != providers[0]:
        log.warning("CLAP: %s is unavailable for %s, running on %s", providers[0], Path(path).name, used[0])
    return session

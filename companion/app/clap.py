"""CLAP loading for the app and the CLI, in one place.

:func:`load_text_embedder` is what a session uses (a missing or broken model is a note, not an
error: the fingerprint embedding takes over); :func:`require_embedder` is what a command that
cannot work without CLAP uses (``companion search``, ``embed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.errors import CompanionError, ModelError
from companion.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClapLoad:
    """The outcome of loading CLAP for a session.

    Attributes:
        embedder: a :class:`~companion.embedding.clap.runtime.ClapEmbedder` (audio and text,
            (m, 512) float32 L2-normalised), or None: rank and search without CLAP.
        problem: why a model that was asked for could not be used (None when all is well or
            when simply no model is installed).
    """

    embedder: Any | None
    problem: str | None = None


def load_text_embedder(settings: Settings, model_dir: Path | None = None) -> ClapLoad:
    """Load CLAP as the settings say (``use_clap``, ``clap_model_dir``, the installed default).

    Never raises: without onnxruntime, a model, or with a broken one, the result has no
    embedder and, when a model was named explicitly or is broken, says why.
    """
    if not settings.use_clap:
        return ClapLoad(None)
    try:
        from companion.embedding.clap.runtime import load_clap
    except ImportError as exc:
        log.info("CLAP unavailable: %s", exc)
        return ClapLoad(None)
    try:
        return ClapLoad(load_clap(model_dir or settings.clap_model_dir, settings=settings))
    except (ModelError, CompanionError, OSError) as exc:
        log.warning("CLAP model not usable (%s) — using the fingerprint embedding", exc)
        return ClapLoad(None, f"CLAP model not usable: {exc}")


def require_embedder(
    settings: Settings, model_dir: Path | None, *, precision: str = "auto", threads: int | None = None
) -> Any:
    """The CLAP embedder for a command that needs one.

    Raises:
        CompanionError: CLAP is off, no model is installed, ``precision`` is not auto/fp32/int8,
            or the model cannot be used (the message says what to do).
    """
    if precision not in ("auto", "fp32", "int8"):
        raise CompanionError(f"--precision must be auto, fp32 or int8, not {precision!r}")
    if not settings.use_clap:
        raise CompanionError("CLAP is off (RECS_USE_CLAP=false)")
    from companion.embedding.clap.runtime import load_clap

    embedder = load_clap(model_dir, settings=settings, precision=precision, threads=threads)  # type: ignore[arg-type]  # a Precision literal, checked above
    if embedder is None:
        raise CompanionError(
            "no CLAP model installed — fetch one with `companion models fetch`, export one with "
            "`companion models export`, or give a folder with --model DIR"
        )
    return embedder

"""CLAP loading for the app and the CLI, in one place.

:func:`load_text_embedder` is what a session uses (a missing or broken model is a note, not an
error: the fingerprint embedding takes over); :func:`require_embedder` is what a command that
cannot work without CLAP uses (``companion search``, ``embed``). :class:`ClapSpec` carries the
model a session loaded to another process (the window's scans embed with it), and
:func:`vectors_missing` says how much of the library still lacks vectors of a model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.errors import CompanionError, ModelError
from companion.settings import Settings

if TYPE_CHECKING:
    from companion.library.catalog import Catalog

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


@dataclass(frozen=True)
class ClapSpec:
    """How to load the CLAP model a session uses again, in another process (picklable).

    Attributes:
        folder: the model folder.
        precision: ``fp32`` or ``int8``: the audio encoder the session chose (int8 runs on the
            CPU; fp32 on the best execution provider, which the other process picks the same way).
        settings: the session's settings (``use_clap``, ``embedding_dim``).
    """

    folder: Path
    precision: str
    settings: Settings

    @classmethod
    def of(cls, embedder: Any | None, settings: Settings) -> ClapSpec | None:
        """The spec of a loaded :class:`~companion.embedding.clap.runtime.ClapEmbedder` (None: none)."""
        if embedder is None:
            return None
        return cls(Path(embedder.folder), str(embedder.precision), settings)

    def load(self) -> Any | None:
        """Load the model (seconds): the embedder, or None when CLAP is off or unavailable.

        Raises:
            ModelError: the folder is not a usable model (e.g. deleted since the session loaded it).
            ImportError: onnxruntime is missing.
        """
        from companion.embedding.clap.runtime import load_clap

        return load_clap(self.folder, settings=self.settings, precision=self.precision)  # type: ignore[arg-type]  # fp32 or int8, from an embedder


def vectors_missing(catalog: Catalog, space: str) -> int:
    """How many analysed samples have no vector in ``space`` (a CLAP model's embedding space).

    Counts only (one query per space): cheap enough for the window's ``db`` pool.
    """
    have, total = catalog.embedding_coverage().get(space, (0, catalog.count("analysed")))
    return total - have

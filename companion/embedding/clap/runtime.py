"""Loading a CLAP model and embedding audio and text with it (onnxruntime).

:func:`load_clap` finds the model (an explicit folder, ``RECS_CLAP_MODEL_DIR``, or the default
installed model), honours ``RECS_USE_CLAP`` and returns a :class:`ClapEmbedder`, or None with
one logged message when the app must run on the fallback embedding
(``RECS_EMBEDDING_FALLBACK``, the fingerprint by default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from companion.embedding.clap import pipeline
from companion.embedding.clap.frontend import ClapFrontend, FrontendConfig
from companion.embedding.clap.manifest import AUDIO, AUDIO_INT8, PREPROCESSOR, TEXT, TOKENIZER, Manifest
from companion.embedding.clap.pooling import l2_normalise, pool
from companion.embedding.clap.sessions import CPU_PROVIDER, choose_providers, default_threads, open_session
from companion.embedding.clap.store import default_model_dir
from companion.embedding.clap.tokenizer import TextTokenizer
from companion.errors import ModelError
from companion.settings import Settings, get_settings

log = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "int8"]
#: Name of the projected-embedding output of our exported graphs.
AUDIO_OUTPUT = "audio_embeds"
TEXT_OUTPUT = "text_embeds"
#: Windows per encoder call by default.
DEFAULT_BATCH = 8

_announced: set[str] = set()
_announce_lock = threading.Lock()


def _announce_once(key: str, message: str, level: int = logging.WARNING) -> None:
    """Log ``message`` the first time ``key`` is seen in this process."""
    with _announce_lock:
        if key in _announced:
            return
        _announced.add(key)
    log.log(level, message)


def _fallback_words(settings: Settings) -> str:
    if settings.embedding_fallback == "fingerprint":
        return "using the fingerprint embedding"
    return "no embedding fallback (RECS_EMBEDDING_FALLBACK=none): suggestions use the rules only"


class ClapEmbedder:
    """A loaded CLAP model: audio and text → vectors in one embedding space.

    Args:
        folder: the model folder (manifest + files).
        manifest: its manifest (read from ``folder`` when None).
        precision: ``auto`` (int8 audio encoder when present, checked at cosine ≥ 0.99 to fp32
            on real audio, and running on the CPU; fp32 otherwise), ``fp32`` or ``int8``.
        threads: CPU intra-op threads (default: ``cpu_count − 1``, bounded; see sessions).
        accelerate: try CUDA / CoreML / DirectML before the CPU.
        batch_size: windows per audio encoder call.
        workers: decode/front-end threads of :meth:`embed_files`.
        streams: audio encoder calls run at once by :meth:`embed_files`; the ``threads`` are
            shared among them (``threads // streams`` each). Two single-threaded streams use
            two cores with less synchronisation than one two-threaded call.

    Attributes:
        space: embedding space id, e.g. ``clap-htsat-unfused/v1``.
        dim: vector dimension (512).
        precision: ``fp32`` or ``int8``, the audio encoder in use.
        providers: execution providers of the audio session, best first.

    Raises:
        ModelError: if the folder is incomplete or the graphs do not load.
    """

    def __init__(
        self,
        folder: Path,
        manifest: Manifest | None = None,
        *,
        precision: Precision = "auto",
        threads: int | None = None,
        accelerate: bool = True,
        batch_size: int = DEFAULT_BATCH,
        workers: int = 1,
        streams: int = 1,
    ) -> None:
        self.folder = Path(folder)
        self.manifest = manifest or Manifest.read(self.folder)
        self.manifest.check(self.folder)
        self.space: str = self.manifest.space
        self.dim: int = int(self.manifest.dim)
        self.threads = int(threads) if threads else default_threads()
        self.batch_size = max(1, int(batch_size))
        self.workers = max(1, int(workers))
        self.streams = max(1, min(int(streams), self.threads))
        self.frontend = ClapFrontend(FrontendConfig.from_file(self._path(PREPROCESSOR)))
        self._providers = choose_providers(accelerate=accelerate)
        self.precision = self._pick_precision(precision)
        role = AUDIO_INT8 if self.precision == "int8" else AUDIO
        providers = [CPU_PROVIDER] if self.precision == "int8" else self._providers
        self._audio = open_session(self._path(role), providers, max(1, self.threads // self.streams))
        self.providers: list[str] = list(self._audio.get_providers())
        self._audio_inputs = {i.name: i for i in self._audio.get_inputs()}
        if "input_features" not in self._audio_inputs:
            raise ModelError(f"{self._path(role)} has no input_features input — not a CLAP audio encoder")
        self._check_channels(self._audio_inputs["input_features"].shape)
        self._audio_out = self.manifest.files[role].output(AUDIO_OUTPUT).name
        self._text: Any = None
        self._tokenizer: TextTokenizer | None = None
        self._text_lock = threading.Lock()

    # ----------------------------------------------------------- helpers
    def _path(self, role: str) -> Path:
        return self.folder / self.manifest.files[role].path

    def _pick_precision(self, precision: Precision) -> Literal["fp32", "int8"]:
        has_int8 = AUDIO_INT8 in self.manifest.files
        if precision == "fp32":
            return "fp32"
        if precision == "int8":
            if not self.manifest.int8_usable():
                why = "has none" if not has_int8 else "failed the cosine ≥ 0.99 check against fp32"
                raise ModelError(
                    f"the int8 audio encoder of {self.manifest.name} {why} — use --precision fp32, or re-export "
                    "with `companion models export --quantize int8`"
                )
            return "int8"
        on_cpu = self._providers[0] == CPU_PROVIDER
        return "int8" if on_cpu and self.manifest.int8_usable() else "fp32"

    def _check_channels(self, shape: Sequence[Any]) -> None:
        want = self.frontend.config.channels
        if len(shape) == 4 and isinstance(shape[1], int) and shape[1] != want:
            raise ModelError(
                f"the audio encoder of {self.manifest.name} takes {shape[1]} mel channels but its front end "
                f"({self.frontend.config.truncation}) makes {want} — re-export the model"
            )

    def info(self) -> dict[str, Any]:
        """What is loaded: space, checkpoint, precision, providers, threads, folder."""
        return {
            "space": self.space,
            "name": self.manifest.name,
            "checkpoint": self.manifest.checkpoint,
            "precision": self.precision,
            "providers": self.providers,
            "threads": self.threads,
            "streams": self.streams,
            "dim": self.dim,
            "folder": str(self.folder),
        }

    # ------------------------------------------------------------- audio
    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        """Run the audio encoder on a batch of front-end outputs.

        Args:
            features: shape (b, C, 1001, 64) float32 from :meth:`ClapFrontend.features`.

        Returns:
            raw projected embeddings, shape (b, dim) float32 (not normalised).
        """
        feeds: dict[str, np.ndarray] = {"input_features": np.ascontiguousarray(features, dtype=np.float32)}
        if "is_longer" in self._audio_inputs:  # fused checkpoints: our windows are never longer
            feeds["is_longer"] = np.zeros((features.shape[0], 1), dtype=bool)
        (out,) = self._audio.run([self._audio_out], feeds)
        return np.asarray(out, dtype=np.float32).reshape(features.shape[0], -1)

    def _run_batches(self, features: np.ndarray) -> np.ndarray:
        parts = [
            self.embed_windows(features[i : i + self.batch_size]) for i in range(0, features.shape[0], self.batch_size)
        ]
        return np.concatenate(parts, axis=0)

    def embed_audio(self, y48k: np.ndarray) -> np.ndarray:
        """Embed a 48 kHz mono signal (windowing and pooling rule v1).

        Args:
            y48k: shape (n,), float32 in [-1, 1] at 48 kHz, n ≥ 1.

        Returns:
            shape (dim,) float32, L2-normalised.

        Raises:
            ValueError: if the signal is empty or not one-dimensional.
        """
        y = np.asarray(y48k, dtype=np.float32)
        if y.ndim != 1 or y.shape[0] == 0:
            raise ValueError(f"embed_audio needs a non-empty mono signal, got shape {y.shape}")
        prepared = pipeline.prepare_signal(y, self.frontend)
        return pool(self._run_batches(prepared.features), prepared.weights)

    def embed_files(
        self, paths: Sequence[Path], progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[int, np.ndarray | Exception]]:
        """Embed audio files; decoding and front end overlap batched inference.

        Args:
            paths: audio files.
            progress: called as ``progress(done, total)`` after each file.

        Yields:
            ``(i, vector)`` — (dim,) float32 L2-normalised — or ``(i, error)`` for a file that
            cannot be embedded; ``i`` indexes ``paths``.
        """
        return pipeline.embed_files(
            paths,
            self.frontend,
            self.embed_windows,
            self.dim,
            batch_size=self.batch_size,
            workers=self.workers,
            streams=self.streams,
            progress=progress,
        )

    # -------------------------------------------------------------- text
    def _text_session(self) -> tuple[Any, TextTokenizer]:
        with self._text_lock:
            if self._text is None:
                t = self.manifest.text
                self._tokenizer = TextTokenizer(
                    self._path(TOKENIZER), int(t.get("max_length", 77)), int(t.get("pad_token_id", 1))
                )
                self._text = open_session(self._path(TEXT), self._providers, self.threads)
            assert self._tokenizer is not None
            return self._text, self._tokenizer

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed text prompts (the text encoder is loaded on first use).

        Args:
            texts: prompts, e.g. ``["warm analog bass"]``; at least one.

        Returns:
            shape (m, dim) float32, rows L2-normalised.

        Raises:
            ValueError: if ``texts`` is empty.
        """
        session, tokenizer = self._text_session()
        tokens = tokenizer(list(texts))
        names = {i.name for i in session.get_inputs()}
        feeds = {k: v for k, v in tokens.items() if k in names}
        out_name = self.manifest.files[TEXT].output(TEXT_OUTPUT).name
        (out,) = session.run([out_name], feeds)
        return l2_normalise(np.asarray(out, dtype=np.float32).reshape(len(texts), -1))


def resolve_model_dir(model_dir: Path | None, settings: Settings) -> tuple[Path | None, bool]:
    """The model folder to use and whether it was named explicitly (argument or env)."""
    if model_dir is not None:
        return Path(model_dir), True
    if settings.clap_model_dir is not None:
        return Path(settings.clap_model_dir), True
    return default_model_dir(), False


def load_clap(
    model_dir: Path | None = None,
    settings: Settings | None = None,
    *,
    precision: Precision = "auto",
    threads: int | None = None,
    accelerate: bool = True,
    batch_size: int = DEFAULT_BATCH,
    workers: int = 1,
    streams: int = 1,
) -> ClapEmbedder | None:
    """Load the CLAP model, or return None when the app must use the fallback embedding.

    Args:
        model_dir: a model folder (``--model DIR``); default ``RECS_CLAP_MODEL_DIR``, then the
            default installed model (``companion models list``).
        settings: defaults to :func:`companion.settings.get_settings`.
        precision / threads / accelerate / batch_size / workers / streams: see
            :class:`ClapEmbedder`.

    Returns:
        The embedder, or None — after logging once "no CLAP model installed — using the
        fingerprint embedding" (or why CLAP is off) — when ``RECS_USE_CLAP`` is false, no
        model is installed, onnxruntime is missing, or the installed model is broken.

    Raises:
        ModelError: if a folder named explicitly (argument or ``RECS_CLAP_MODEL_DIR``) is not
            a usable model, or the model's dimension differs from ``RECS_EMBEDDING_DIM``.
    """
    settings = settings or get_settings()
    fallback = _fallback_words(settings)
    if not settings.use_clap:
        _announce_once("disabled", f"CLAP is off (RECS_USE_CLAP=false) — {fallback}", logging.INFO)
        return None
    folder, explicit = resolve_model_dir(model_dir, settings)
    if folder is None:
        _announce_once("missing", f"no CLAP model installed — {fallback}")
        return None
    try:
        embedder = ClapEmbedder(
            folder,
            precision=precision,
            threads=threads,
            accelerate=accelerate,
            batch_size=batch_size,
            workers=workers,
            streams=streams,
        )
    except ModelError as exc:
        if explicit:
            raise
        _announce_once(
            f"broken:{folder}", f"the installed CLAP model cannot be used: {exc} — {fallback}", logging.ERROR
        )
        return None
    if embedder.dim != settings.embedding_dim:
        raise ModelError(
            f"CLAP model {embedder.manifest.name} makes {embedder.dim}-d vectors but RECS_EMBEDDING_DIM is "
            f"{settings.embedding_dim} — use a {settings.embedding_dim}-d model or change the setting"
        )
    log.info(
        "CLAP model %s loaded (%s, %s on %s)",
        embedder.space,
        embedder.precision,
        embedder.threads,
        embedder.providers[0],
    )
    return embedder

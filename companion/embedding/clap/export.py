"""Export a Hugging Face CLAP checkpoint to ONNX: audio encoder, text encoder, tokenizer, manifest.

``companion models export --checkpoint laion/clap-htsat-unfused --out DIR [--quantize int8]``
calls :func:`export_clap`. It needs the optional ``export`` extra (torch, transformers, onnx);
the app itself then runs the files with onnxruntime only. Importing this module raises
ImportError when the extra is missing.

What is written (see ``models/README.md`` for the manifest format):

* ``audio_encoder.onnx``: ``input_features`` (batch, 1, 1001, 64) float32 → ``audio_embeds``
  (batch, 512) float32, the *unnormalised* ``audio_projection(audio_model(x).pooler_output)``
  of ``ClapModel.get_audio_features``;
* ``text_encoder.onnx``: ``input_ids``, ``attention_mask`` (batch, sequence) int64 →
  ``text_embeds`` (batch, 512) float32, ``text_projection(text_model(…).pooler_output)``;
* ``audio_encoder.int8.onnx`` with ``--quantize int8``: onnxruntime dynamic quantisation
  (int8 weights, activations quantised per call), kept for use only when its file vectors stay
  at cosine ≥ 0.99 to fp32 on real audio (measured here, recorded in the manifest);
* ``tokenizer.json`` (the checkpoint's fast tokenizer), ``preprocessor_config.json`` (front end);
* ``manifest.json``.

Both graphs are exported with the TorchScript-based exporter (``torch.onnx.export(...,
dynamo=False)``, opset 17) and checked against PyTorch before the manifest is written: the
export fails unless every output row has cosine ≥ 0.9999 to PyTorch's.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.helper
import onnxruntime
import torch
import transformers
from onnxruntime.quantization import QuantType, quantize_dynamic

from companion.embedding.clap.audio_io import load_audio_48k
from companion.embedding.clap.frontend import ClapFrontend, FrontendConfig
from companion.embedding.clap.manifest import (
    AUDIO,
    AUDIO_INT8,
    PREPROCESSOR,
    TEXT,
    TOKENIZER,
    Manifest,
    ModelFile,
    TensorSpec,
)
from companion.embedding.clap.pipeline import prepare_signal
from companion.embedding.clap.pooling import l2_normalise, pool, space_id
from companion.embedding.clap.tokenizer import TextTokenizer
from companion.errors import ModelError

OPSET = 17
AUDIO_FILE = "audio_encoder.onnx"
AUDIO_INT8_FILE = "audio_encoder.int8.onnx"
TEXT_FILE = "text_encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
#: Least cosine between ONNX and PyTorch outputs for an export to be accepted.
PARITY_MIN_COSINE = 0.9999
#: Prompts used for the text parity check.
PARITY_PROMPTS = ["warm analog bass", "dark techno rumble with a long tail", "kick", "bright piano chords in C major"]
#: Real audio used for the parity and int8 checks when no folder is given.
DEFAULT_CHECK_AUDIO = Path("/usr/share/sonic-pi/samples")
#: Files of real audio used for the int8 cosine check.
INT8_CHECK_FILES = 16
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3")

Log = Callable[[str], None]


def model_name_for(checkpoint: str, weights_sha256: str) -> str:
    """Default model name: the Hub id's last part (``clap-htsat-unfused``), or for a local
    folder ``clap-<folder>-<first 8 hex of the weights' sha256>``, so two different local
    checkpoints never share an embedding space."""
    p = Path(checkpoint)
    if p.is_dir():
        base = f"clap-{p.name}-{weights_sha256[:8]}"
    else:
        base = checkpoint.rstrip("/").rsplit("/", 1)[-1]
        base = base if base.lower().startswith("clap") else f"clap-{base}"
    return re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-")


def _weights_digest(model: Any) -> str:
    """sha256 over the model's parameters and buffers (name, dtype, shape, bytes)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        arr = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{arr.dtype}:{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _specs(values: Any) -> list[TensorSpec]:
    out = []
    for v in values:
        t = v.type.tensor_type
        dims: list[int | str] = [d.dim_param if d.dim_param else int(d.dim_value) for d in t.shape.dim]
        out.append(TensorSpec(v.name, dims, str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)))))
    return out


def graph_signature(path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Inputs and outputs of an ONNX file (initialisers excluded)."""
    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    return _specs(i for i in model.graph.input if i.name not in inits), _specs(model.graph.output)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(l2_normalise(a) * l2_normalise(b), axis=-1)


def real_audio_files(folder: Path | None, limit: int) -> list[Path]:
    """Up to ``limit`` audio files from ``folder`` (default: Sonic Pi's samples when installed),
    spread evenly over the sorted listing."""
    folder = Path(folder) if folder is not None else DEFAULT_CHECK_AUDIO
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    if len(files) <= limit:
        return files
    idx = np.round(np.linspace(0, len(files) - 1, limit)).astype(int)
    return [files[i] for i in idx]


class AudioEncoder(torch.nn.Module):
    """``features → audio_projection(audio_model(features).pooler_output)`` of a ``ClapModel``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.audio_model = model.audio_model
        self.audio_projection = model.audio_projection

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        """(batch, C, 1001, 64) float32 → (batch, 512) float32, not normalised."""
        pooled = self.audio_model(input_features=input_features).pooler_output
        return self.audio_projection(pooled)


class TextEncoder(torch.nn.Module):
    """``(ids, mask) → text_projection(text_model(ids, mask).pooler_output)`` of a ``ClapModel``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.text_model = model.text_model
        self.text_projection = model.text_projection

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, seq) int64 ×2 → (batch, 512) float32, not normalised."""
        pooled = self.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        return self.text_projection(pooled)


def _ort_session(path: Path) -> Any:
    opts = onnxruntime.SessionOptions()
    opts.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


@contextlib.contextmanager
def _quiet_tracer() -> Iterator[None]:
    """Silence the tracer's warnings about Python-constant shapes and the legacy exporter: the
    shapes HTSAT and RoBERTa branch on are fixed by the input size, and every export is checked
    against PyTorch on other batch sizes and sequence lengths before it is accepted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def export_audio(encoder: Any, path: Path, channels: int, frames: int, mels: int, opset: int = OPSET) -> None:
    """Export the audio encoder with a dynamic batch axis."""
    dummy = torch.randn(2, channels, frames, mels) * 20.0 - 45.0
    with torch.no_grad(), _quiet_tracer():
        torch.onnx.export(
            encoder,
            (dummy,),
            str(path),
            input_names=["input_features"],
            output_names=["audio_embeds"],
            dynamic_axes={"input_features": {0: "batch"}, "audio_embeds": {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def export_text(encoder: Any, path: Path, tokens: dict[str, np.ndarray], opset: int = OPSET) -> None:
    """Export the text encoder with dynamic batch and sequence axes."""
    ids = torch.from_numpy(tokens["input_ids"])
    mask = torch.from_numpy(tokens["attention_mask"])
    with torch.no_grad(), _quiet_tracer():
        torch.onnx.export(
            encoder,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["text_embeds"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "text_embeds": {0: "batch"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def audio_check_features(frontend: ClapFrontend, files: list[Path], seed: int = 0) -> np.ndarray:
    """Encoder inputs for the parity check: the first window of each real file plus two
    random-noise windows (one full, one short and repeat-padded), shape (k, C, 1001, 64)."""
    rng = np.random.default_rng(seed)
    windows = [load_audio_48k(f)[: frontend.config.max_samples] for f in files]
    windows.append((0.1 * rng.standard_normal(frontend.config.max_samples)).astype(np.float32))
    windows.append((0.3 * rng.standard_normal(frontend.config.sampling_rate // 3)).astype(np.float32))
    return frontend.features(windows)


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of an ONNX graph with onnxruntime (weights int8 per tensor,
    activations quantised at run time; ``onnxruntime.quantization.quantize_dynamic``).

    Every MatMul is quantised, the attention products of two activations (Q·Kᵀ, A·V) too
    (``MatMulConstBOnly=False``): with weight MatMuls only, the fp32 attention products were a
    third of HTSAT's time and int8 gained 1.4× over fp32; with them ≈2× (encoder, batch 8, 2
    threads: 10.3 → 20.4 windows/s; ``benchmarks/clap_throughput.py``). Whether the result is
    used is decided by its cosine to fp32 on real audio (:func:`int8_file_cosines`).
    """
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic warns once per untyped Slice output
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
            extra_options={"MatMulConstBOnly": False},
        )
    finally:
        root.setLevel(level)


def int8_file_cosines(fp32: Path, int8: Path, frontend: ClapFrontend, files: list[Path]) -> np.ndarray:
    """Cosine between the fp32 and int8 pooled file vectors (pooling rule v1), one per file."""
    s32, s8 = _ort_session(fp32), _ort_session(int8)
    out = []
    for f in files:
        prep = prepare_signal(load_audio_48k(f), frontend)
        a = pool(s32.run(None, {"input_features": prep.features})[0], prep.weights)
        b = pool(s8.run(None, {"input_features": prep.features})[0], prep.weights)
        out.append(float(np.dot(a, b)))
    return np.asarray(out)


def export_clap(
    checkpoint: str,
    out: Path,
    *,
    name: str | None = None,
    quantize: str | None = None,
    opset: int = OPSET,
    check_audio: Path | None = None,
    revision: str | None = None,
    log: Log = print,
) -> Manifest:
    """Export a CLAP checkpoint to a model folder and check it against PyTorch.

    Args:
        checkpoint: Hugging Face id (``laion/clap-htsat-unfused``, needs the network or the HF
            cache) or a local checkpoint folder.
        out: the model folder to write (created; existing files are overwritten).
        name: model name (first part of the space id); default :func:`model_name_for`.
        quantize: ``"int8"`` to also write the dynamically quantised audio encoder.
        opset: ONNX opset.
        check_audio: folder of real audio for the parity and int8 checks (default: Sonic Pi's
            samples when installed).
        revision: Hub revision of ``checkpoint``.
        log: progress lines.

    Returns:
        The manifest written to ``out/manifest.json``.

    Raises:
        ModelError: if the checkpoint cannot be loaded or is fused, or
            the ONNX graphs fail the parity check.
    """
    if quantize not in (None, "int8"):
        raise ModelError(f"unknown --quantize {quantize!r}: only int8 is offered")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log(f"loading {checkpoint} …")
    try:
        model = transformers.ClapModel.from_pretrained(checkpoint, revision=revision).eval().float()  # type: ignore[arg-type]  # transformers types revision as str; None means its default, "main"
        tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint, revision=revision)
        fe_dict = transformers.AutoFeatureExtractor.from_pretrained(checkpoint, revision=revision).to_dict()
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load CLAP checkpoint {checkpoint}: {exc}") from exc
    if model.config.audio_config.enable_fusion:
        raise ModelError(
            f"{checkpoint} is a fused CLAP checkpoint; only unfused ones (e.g. laion/clap-htsat-unfused) are supported"
        )
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ModelError(f"{checkpoint} has no fast tokenizer (tokenizer.json); the runtime needs one")
    fe_cfg = FrontendConfig.from_dict(fe_dict)
    frontend = ClapFrontend(fe_cfg)
    name = name or model_name_for(checkpoint, _weights_digest(model))

    # Front end and tokenizer files, written first: the checks below read them back.
    pre = {"feature_extractor_type": "ClapFeatureExtractor", **fe_cfg.to_dict(), "top_db": None}
    (out / PREPROCESSOR_FILE).write_text(json.dumps(pre, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))

    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 1)
    max_len = min(77, int(model.config.text_config.max_position_embeddings) - 2)
    text_tok = TextTokenizer(out / TOKENIZER_FILE, max_length=max_len, pad_token_id=pad_id)

    audio_enc, text_enc = AudioEncoder(model).eval(), TextEncoder(model).eval()
    log(f"exporting the audio encoder to {out / AUDIO_FILE} …")
    export_audio(audio_enc, out / AUDIO_FILE, fe_cfg.channels, fe_cfg.n_frames, fe_cfg.feature_size, opset)
    log(f"exporting the text encoder to {out / TEXT_FILE} …")
    export_text(text_enc, out / TEXT_FILE, text_tok(PARITY_PROMPTS[:2]), opset)

    # Parity against PyTorch on real audio windows + noise, and on prompts of several lengths.
    files = real_audio_files(check_audio, 4)
    feats = audio_check_features(frontend, files)
    with torch.no_grad():
        ref_a = audio_enc(torch.from_numpy(feats)).numpy()
        tokens = text_tok(PARITY_PROMPTS)
        ref_t = text_enc(torch.from_numpy(tokens["input_ids"]), torch.from_numpy(tokens["attention_mask"])).numpy()
    got_a = _ort_session(out / AUDIO_FILE).run(None, {"input_features": feats})[0]
    got_t = _ort_session(out / TEXT_FILE).run(None, tokens)[0]
    parity = {
        "audio_max_abs": float(np.abs(got_a - ref_a).max()),
        "audio_min_cosine": float(_cosines(got_a, ref_a).min()),
        "audio_windows": int(feats.shape[0]),
        "audio_real_files": len(files),
        "text_max_abs": float(np.abs(got_t - ref_t).max()),
        "text_min_cosine": float(_cosines(got_t, ref_t).min()),
        "text_prompts": len(PARITY_PROMPTS),
    }
    log(
        "parity vs PyTorch: audio max|Δ| {audio_max_abs:.2e}, min cos {audio_min_cosine:.6f}; "
        "text max|Δ| {text_max_abs:.2e}, min cos {text_min_cosine:.6f}".format(**parity)
    )
    if parity["audio_min_cosine"] < PARITY_MIN_COSINE or parity["text_min_cosine"] < PARITY_MIN_COSINE:
        raise ModelError(
            f"the ONNX export of {checkpoint} does not match PyTorch (cosine < {PARITY_MIN_COSINE}): {parity}"
        )

    files_meta = {
        AUDIO: ModelFile.describe(out, AUDIO_FILE, *graph_signature(out / AUDIO_FILE)),
        TEXT: ModelFile.describe(out, TEXT_FILE, *graph_signature(out / TEXT_FILE)),
        TOKENIZER: ModelFile.describe(out, TOKENIZER_FILE),
        PREPROCESSOR: ModelFile.describe(out, PREPROCESSOR_FILE),
    }
    if quantize == "int8":
        log(f"quantising the audio encoder to int8 ({out / AUDIO_INT8_FILE}) …")
        quantize_int8(out / AUDIO_FILE, out / AUDIO_INT8_FILE)
        check = real_audio_files(check_audio, INT8_CHECK_FILES)
        extra: dict[str, Any] = {"quantization": "onnxruntime dynamic, int8 weights (MatMul/Gemm)"}
        if check:
            cos = int8_file_cosines(out / AUDIO_FILE, out / AUDIO_INT8_FILE, frontend, check)
            extra.update(
                min_cosine_to_fp32=float(cos.min()), mean_cosine_to_fp32=float(cos.mean()), checked_files=len(check)
            )
            verdict = "used on CPU" if cos.min() >= 0.99 else "NOT used (below 0.99)"
            log(f"int8 vs fp32 on {len(check)} real files: min cos {cos.min():.4f}, mean {cos.mean():.4f} — {verdict}")
        else:
            extra.update(min_cosine_to_fp32=None, checked_files=0)
            log("no real audio to check the int8 encoder against fp32 (--check-audio DIR): it will not be used")
        files_meta[AUDIO_INT8] = ModelFile.describe(
            out, AUDIO_INT8_FILE, *graph_signature(out / AUDIO_INT8_FILE), extra=extra
        )

    manifest = Manifest(
        name=name,
        checkpoint=str(checkpoint),
        space=space_id(name),
        dim=int(model.config.projection_dim),
        files=files_meta,
        opset=opset,
        text={"max_length": max_len, "pad_token_id": pad_id},
        parity=parity,
        source="export",
        tools={
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        created=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    manifest.write(out)
    log(f"wrote {out / 'manifest.json'} (space {manifest.space})")
    return manifest

"""The manifest of an exported ONNX CLAP model (``manifest.json`` beside its files).

A model folder holds the audio encoder, the text encoder, the tokenizer and the front-end
config, plus this manifest: which checkpoint they came from, the embedding space id, the
sha256 and size of every file, the input/output names and shapes of each ONNX graph, the
opset, and the parity figures measured at export. The format is documented in
``models/README.md``.

Example (abridged)::

    {"format": 1, "name": "clap-htsat-unfused", "checkpoint": "laion/clap-htsat-unfused",
     "space": "clap-htsat-unfused/v1", "dim": 512, "opset": 17,
     "text": {"max_length": 77, "pad_token_id": 1},
     "files": {"audio": {"path": "audio_encoder.onnx", "sha256": "…", "bytes": 114032511,
                         "inputs": [{"name": "input_features", "shape": ["batch", 1, 1001, 64],
                                     "dtype": "float32"}],
                         "outputs": [{"name": "audio_embeds", "shape": ["batch", 512], …}]}, …}}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from companion.errors import ModelError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1

#: File roles in :attr:`Manifest.files`.
AUDIO = "audio"
AUDIO_INT8 = "audio_int8"
TEXT = "text"
TOKENIZER = "tokenizer"
PREPROCESSOR = "preprocessor"
REQUIRED_ROLES = (AUDIO, TEXT, TOKENIZER, PREPROCESSOR)
#: Least cosine (int8 vs fp32 file vectors on real audio) for the int8 encoder to be used.
INT8_MIN_COSINE = 0.99

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class TensorSpec:
    """Name, shape and element type of one graph input or output.

    Attributes:
        name: the ONNX value name, e.g. ``input_features``.
        shape: dimensions; ints are fixed, strings are symbolic (``"batch"``, ``"sequence"``).
        dtype: numpy name of the element type, e.g. ``float32``, ``int64``, ``bool``.
    """

    name: str
    shape: list[int | str]
    dtype: str


@dataclass
class ModelFile:
    """One file of a model folder.

    Attributes:
        path: path relative to the model folder (``/``-separated).
        sha256: hex digest of the file.
        bytes: size in bytes.
        inputs / outputs: graph signature for ONNX files; empty for other files.
        extra: role-specific figures, e.g. ``min_cosine_to_fp32`` for the int8 encoder.
    """

    path: str
    sha256: str
    bytes: int
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def describe(
        cls,
        folder: Path,
        rel: str,
        inputs: list[TensorSpec] | None = None,
        outputs: list[TensorSpec] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ModelFile:
        """Hash and size the file ``folder/rel`` and wrap it with its signature."""
        p = Path(folder) / rel
        return cls(rel, sha256_file(p), p.stat().st_size, list(inputs or []), list(outputs or []), dict(extra or {}))

    def output(self, preferred: str) -> TensorSpec:
        """The output named ``preferred``, else the first output.

        Raises:
            ModelError: if the graph has no outputs.
        """
        for spec in self.outputs:
            if spec.name == preferred:
                return spec
        if not self.outputs:
            raise ModelError(f"{self.path}: the manifest lists no outputs — re-export the model")
        return self.outputs[0]


@dataclass
class Manifest:
    """Everything the runtime needs to know about a model folder.

    Attributes:
        name: model name, the first part of the space id (``clap-htsat-unfused``).
        checkpoint: Hugging Face id or folder the weights came from.
        space: embedding space id, ``<name>/v<pipeline version>``.
        dim: embedding dimension (512).
        opset: ONNX opset of the graphs (None if unknown, e.g. fetched third-party exports).
        files: role → file (roles: ``audio``, ``text``, ``tokenizer``, ``preprocessor``,
            optional ``audio_int8``).
        text: tokenizer settings: ``max_length`` (tokens, 77 as in LAION CLAP training) and
            ``pad_token_id``.
        parity: figures measured at export (``audio_max_abs``, ``audio_min_cosine``, …).
        source: where the files came from (``export`` / ``hub:<repo>@<revision>``).
        tools: versions of the tools that made the files.
        created: ISO-8601 UTC time of the export.
        format: manifest format version (1).
    """

    name: str
    checkpoint: str
    space: str
    dim: int
    files: dict[str, ModelFile]
    opset: int | None = None
    text: dict[str, Any] = field(default_factory=lambda: {"max_length": 77, "pad_token_id": 1})
    parity: dict[str, Any] = field(default_factory=dict)
    source: str = "export"
    tools: dict[str, str] = field(default_factory=dict)
    created: str = ""
    format: int = MANIFEST_FORMAT

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a manifest dict.

        Raises:
            ModelError: if fields are missing or of the wrong type, or the format is newer.
        """
        try:
            if int(data.get("format", 0)) > MANIFEST_FORMAT:
                raise ModelError(
                    f"model manifest format {data['format']} is newer than this app understands "
                    f"({MANIFEST_FORMAT}) — update SampleMind Companion"
                )
            files = {
                role: ModelFile(
                    path=f["path"],
                    sha256=f["sha256"],
                    bytes=int(f["bytes"]),
                    inputs=[TensorSpec(**t) for t in f.get("inputs", [])],
                    outputs=[TensorSpec(**t) for t in f.get("outputs", [])],
                    extra=dict(f.get("extra", {})),
                )
                for role, f in data["files"].items()
            }
            return cls(
                name=str(data["name"]),
                checkpoint=str(data["checkpoint"]),
                space=str(data["space"]),
                dim=int(data["dim"]),
                files=files,
                opset=data.get("opset"),
                text=dict(data.get("text") or {"max_length": 77, "pad_token_id": 1}),
                parity=dict(data.get("parity") or {}),
                source=str(data.get("source", "export")),
                tools=dict(data.get("tools") or {}),
                created=str(data.get("created", "")),
                format=int(data.get("format", MANIFEST_FORMAT)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"model manifest is incomplete or malformed ({exc!r}) — re-export or re-fetch the model"
            ) from exc

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read ``folder/manifest.json``.

        Raises:
            ModelError: if the file is missing or malformed.
        """
        path = Path(folder) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelError(
                f"{folder} is not a CLAP model folder: no {MANIFEST_NAME} — export one with "
                "`companion models export` or fetch one with `companion models fetch`"
            ) from exc
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {path}: {exc} — re-export or re-fetch the model") from exc
        return cls.from_dict(data)

    def write(self, folder: Path) -> Path:
        """Write ``folder/manifest.json`` (pretty-printed, sorted keys) and return its path."""
        path = Path(folder) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    # ------------------------------------------------------------ checking
    def check(self, folder: Path, *, hashes: bool = False) -> None:
        """Check that every file is present with the listed size (and sha256 if ``hashes``).

        Args:
            folder: the model folder.
            hashes: also recompute each file's sha256 (reads every byte; ~0.2 s per 100 MB).

        Raises:
            ModelError: naming the first missing, truncated or altered file.
        """
        missing = [r for r in REQUIRED_ROLES if r not in self.files]
        if missing:
            raise ModelError(f"{folder}: the manifest lacks {', '.join(missing)} — re-export or re-fetch the model")
        for role, f in self.files.items():
            p = Path(folder) / f.path
            if not p.is_file():
                raise ModelError(f"{folder}: {role} file {f.path} is missing — re-export or re-fetch the model")
            size = p.stat().st_size
            if size != f.bytes:
                raise ModelError(
                    f"{folder}: {f.path} has {size} bytes, the manifest says {f.bytes} — the download or copy "
                    "is incomplete; re-fetch the model"
                )
            if hashes and sha256_file(p) != f.sha256:
                raise ModelError(f"{folder}: {f.path} fails its sha256 check — the file is corrupt; re-fetch the model")

    def int8_usable(self) -> bool:
        """Whether an int8 audio encoder is present and passed the cosine check (≥ 0.99)."""
        f = self.files.get(AUDIO_INT8)
        if f is None:
            return False
        cos = f.extra.get("min_cosine_to_fp32")
        return cos is not None and float(cos) >= INT8_MIN_COSINE

"""Downloading a published ONNX CLAP from the Hugging Face Hub (``companion models fetch``).

Two repository layouts are understood:

* **ours**: a ``manifest.json`` at the repo root (a folder written by ``companion models
  export`` and uploaded as is). Each listed file is downloaded and must match the manifest's
  sha256;
* **transformers.js / Optimum**: no manifest, the graphs under ``onnx/`` (``audio_model.onnx``,
  ``text_model.onnx``) next to ``tokenizer.json`` and ``preprocessor_config.json``, as in
  ``Xenova/clap-htsat-unfused``. Each file must match the hash the Hub reports for it (the
  sha256 of LFS files, the git blob sha1 of small files); the graphs must look like a CLAP
  audio and text encoder; a manifest is then written from what was downloaded.

Downloads go to a staging folder; only a complete, verified model is installed (atomically)
under ``<data dir>/models/clap/<name>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.embedding.clap.frontend import FrontendConfig
from companion.embedding.clap.manifest import (
    AUDIO,
    PREPROCESSOR,
    TEXT,
    TOKENIZER,
    Manifest,
    ModelFile,
    TensorSpec,
    sha256_file,
)
from companion.embedding.clap.pooling import space_id
from companion.embedding.clap.sessions import import_ort
from companion.embedding.clap.store import install
from companion.errors import ModelError

log = logging.getLogger(__name__)

#: The repository fetched when none is named: laion/clap-htsat-unfused exported for ONNX.
DEFAULT_REPO = "Xenova/clap-htsat-unfused"
#: Checkpoints behind known third-party ONNX exports (their vectors share the space of the
#: original checkpoint).
KNOWN_CHECKPOINTS = {
    "Xenova/clap-htsat-unfused": "laion/clap-htsat-unfused",
    "Xenova/larger_clap_general": "laion/larger_clap_general",
    "Xenova/larger_clap_music": "laion/larger_clap_music",
    "Xenova/larger_clap_music_and_speech": "laion/larger_clap_music_and_speech",
}
#: Candidate paths of each file in a repository without a manifest, tried in order.
PUBLISHED_CANDIDATES = {
    AUDIO: ("onnx/audio_model.onnx", "audio_model.onnx", "onnx/audio_encoder.onnx", "audio_encoder.onnx"),
    TEXT: ("onnx/text_model.onnx", "text_model.onnx", "onnx/text_encoder.onnx", "text_encoder.onnx"),
    TOKENIZER: ("tokenizer.json",),
    PREPROCESSOR: ("preprocessor_config.json",),
}
_ORT_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(bool)": "bool"}

Log = Callable[[str], None]


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError as exc:
        raise ModelError(
            "huggingface_hub is not installed — install the CLAP extra: pip install 'samplemind-companion[clap]'"
        ) from exc
    return huggingface_hub


def _git_blob_sha1(path: Path) -> str:
    """The git object id of a file (``sha1("blob <size>\\0" + bytes)``), the Hub's ETag of
    files stored without LFS."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_against_etag(path: Path, etag: str | None) -> None:
    """Check a downloaded file against the Hub's ETag (sha256 for LFS files, git sha1 else).

    Raises:
        ModelError: on a mismatch, or when the Hub gave no usable hash.
    """
    etag = (etag or "").strip('"').lower()
    if len(etag) == 64:
        ok = sha256_file(path) == etag
    elif len(etag) == 40:
        ok = _git_blob_sha1(path) == etag
    else:
        raise ModelError(f"the Hub gave no checksum for {path.name} — cannot verify it; try again later")
    if not ok:
        raise ModelError(
            f"{path.name} does not match the checksum the Hub reports — the download is corrupt; try again"
        )


class _Repo:
    """Downloads from one Hub repository at one revision."""

    def __init__(self, repo_id: str, revision: str | None, endpoint: str | None, token: str | None, dest: Path) -> None:
        self.hub = _hub()
        self.repo_id, self.revision, self.endpoint, self.token, self.dest = repo_id, revision, endpoint, token, dest

    def exists(self, filename: str) -> str | None:
        """The file's ETag if the repository has it, else None.

        Raises:
            ModelError: if the Hub cannot be reached or the repository does not exist.
        """
        from huggingface_hub.utils import EntryNotFoundError, RepositoryNotFoundError

        url = self.hub.hf_hub_url(self.repo_id, filename, revision=self.revision, endpoint=self.endpoint)
        try:
            meta = self.hub.get_hf_file_metadata(url, token=self.token, endpoint=self.endpoint)
        except EntryNotFoundError:
            return None
        except RepositoryNotFoundError as exc:
            raise ModelError(f"no model repository {self.repo_id!r} on the Hub (or it is private): {exc}") from exc
        except Exception as exc:  # network errors: requests/httpx types depending on the hub version
            raise ModelError(
                f"cannot reach the Hugging Face Hub for {self.repo_id} ({type(exc).__name__}: {exc}) — offline? "
                "The app keeps running on the fingerprint embedding; a model folder can be given with --model DIR"
            ) from exc
        return meta.etag

    def download(self, filename: str) -> Path:
        """Download one file into the staging folder (keeping its repo path)."""
        try:
            return Path(
                self.hub.hf_hub_download(
                    self.repo_id,
                    filename,
                    revision=self.revision,
                    local_dir=self.dest,
                    endpoint=self.endpoint,
                    token=self.token,
                )
            )
        except Exception as exc:  # network errors: requests/httpx types depending on the hub version
            raise ModelError(
                f"downloading {filename} from {self.repo_id} failed ({type(exc).__name__}: {exc}) — try again"
            ) from exc


def ort_signature(path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Inputs and outputs of an ONNX graph as onnxruntime sees them.

    Raises:
        ModelError: if onnxruntime cannot load the file.
    """
    ort = import_ort()
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        raise ModelError(f"{path.name} is not a loadable ONNX graph: {exc}") from exc

    def spec(arg: Any) -> TensorSpec:
        shape = [d if isinstance(d, int) else (d or "dynamic") for d in arg.shape]
        return TensorSpec(arg.name, shape, _ORT_DTYPES.get(arg.type, arg.type))

    return [spec(a) for a in sess.get_inputs()], [spec(a) for a in sess.get_outputs()]


def _pick_output(outputs: list[TensorSpec], preferred: str, dim: int) -> list[TensorSpec]:
    """Put the embedding output first: the one named ``preferred``, else the first (batch, dim)."""
    for o in outputs:
        if o.name == preferred:
            return [o] + [x for x in outputs if x is not o]
    for o in outputs:
        if len(o.shape) == 2 and o.shape[1] == dim:
            return [o] + [x for x in outputs if x is not o]
    raise ModelError(f"no ({dim},) embedding output among {[o.name for o in outputs]} — not a CLAP encoder")


def _manifest_from_published(repo_id: str, revision: str | None, folder: Path, paths: dict[str, str]) -> Manifest:
    """Describe a downloaded transformers.js/Optimum layout with our manifest."""
    cfg = FrontendConfig.from_file(folder / paths[PREPROCESSOR])
    a_in, a_out = ort_signature(folder / paths[AUDIO])
    t_in, t_out = ort_signature(folder / paths[TEXT])
    if "input_features" not in {s.name for s in a_in}:
        raise ModelError(f"{paths[AUDIO]} of {repo_id} takes no input_features — not a CLAP audio encoder")
    if "input_ids" not in {s.name for s in t_in}:
        raise ModelError(f"{paths[TEXT]} of {repo_id} takes no input_ids — not a CLAP text encoder")
    dims = [o.shape[1] for o in a_out if len(o.shape) == 2 and isinstance(o.shape[1], int)]
    dim = int(dims[0]) if dims else 512
    pad_id = 1
    try:
        vocab = json.loads((folder / paths[TOKENIZER]).read_text(encoding="utf-8"))
        for tok in vocab.get("added_tokens", []):
            if tok.get("content") == "<pad>":
                pad_id = int(tok["id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{paths[TOKENIZER]} of {repo_id} is not a tokenizer.json: {exc}") from exc
    checkpoint = KNOWN_CHECKPOINTS.get(repo_id, repo_id)
    name = checkpoint.rsplit("/", 1)[-1].lower()
    name = name if name.startswith("clap") else f"clap-{name}"
    return Manifest(
        name=name,
        checkpoint=checkpoint,
        space=space_id(name),
        dim=dim,
        files={
            AUDIO: ModelFile.describe(folder, paths[AUDIO], a_in, _pick_output(a_out, "audio_embeds", dim)),
            TEXT: ModelFile.describe(folder, paths[TEXT], t_in, _pick_output(t_out, "text_embeds", dim)),
            TOKENIZER: ModelFile.describe(folder, paths[TOKENIZER]),
            PREPROCESSOR: ModelFile.describe(folder, paths[PREPROCESSOR], extra={"truncation": cfg.truncation}),
        },
        text={"max_length": 77, "pad_token_id": pad_id},
        source=f"hub:{repo_id}@{revision or 'main'}",
    )


def fetch(
    repo_id: str = DEFAULT_REPO,
    *,
    revision: str | None = None,
    root: Path | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    make_default: bool = True,
    log_line: Log = log.info,
) -> Path:
    """Download, verify and install a published ONNX CLAP.

    Args:
        repo_id: Hub repository (default :data:`DEFAULT_REPO`).
        revision: branch, tag or commit (default ``main``).
        root: models root (default ``<data dir>/models/clap``).
        endpoint: Hub URL (default ``https://huggingface.co`` or ``HF_ENDPOINT``).
        token: Hub token for private repositories.
        make_default: make the model the default one.
        log_line: progress lines.

    Returns:
        The installed model folder.

    Raises:
        ModelError: offline, unknown repository, missing files, checksum mismatch, or files
            that are not a CLAP model. Nothing is installed then.
    """
    with tempfile.TemporaryDirectory(prefix="clap-fetch-") as tmp:
        staging = Path(tmp)
        repo = _Repo(repo_id, revision, endpoint, token, staging)
        if repo.exists("manifest.json") is not None:
            log_line(f"{repo_id}: manifest found, downloading the files it lists …")
            manifest = Manifest.from_dict(json.loads(repo.download("manifest.json").read_text(encoding="utf-8")))
            for role, f in manifest.files.items():
                log_line(f"  {role}: {f.path} ({f.bytes / 1e6:.1f} MB)")
                p = repo.download(f.path)
                if sha256_file(p) != f.sha256:
                    raise ModelError(
                        f"{f.path} from {repo_id} does not match its manifest sha256 — corrupt download; try again"
                    )
            manifest.source = f"hub:{repo_id}@{revision or 'main'}"
            manifest.write(staging)
        else:
            paths: dict[str, str] = {}
            for role, candidates in PUBLISHED_CANDIDATES.items():
                for cand in candidates:
                    etag = repo.exists(cand)
                    if etag is not None:
                        log_line(f"  {role}: {cand}")
                        verify_against_etag(repo.download(cand), etag)
                        paths[role] = cand
                        break
                else:
                    raise ModelError(
                        f"{repo_id} has neither a manifest.json nor {' / '.join(candidates)} — not an ONNX CLAP repository"
                    )
            manifest = _manifest_from_published(repo_id, revision, staging, paths)
            manifest.write(staging)
        target = install(staging, root, make_default=make_default)
    log_line(f"installed {manifest.name} ({manifest.space}) in {target}")
    return target

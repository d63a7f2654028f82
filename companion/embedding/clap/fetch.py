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

Downloads go to a staging folder under the models root (:data:`STAGING_DIR`, so a process that
is killed mid-download leaves its part files in one known place: the next fetch, or the window
that cancelled it, removes them); only a complete, verified model is installed (atomically)
under ``<data dir>/models/clap/<name>``. Progress in bytes (the total is known before the first
byte: from the manifest, or from the Hub's ``Content-Length``) goes to an optional callback.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from companion.embedding.clap.frontend import FrontendConfig
from companion.embedding.clap.hub_files import (
    CorruptDownloadError,
    HubRepo,
    verify_against_etag,
)
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
from companion.embedding.clap.store import install, models_root
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

#: Folder under the models root where a fetch stages its downloads (one fetch at a time: a new
#: fetch starts by removing what an interrupted one left there).
STAGING_DIR = ".fetch-staging"

Log = Callable[[str], None]


@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch stands, for a progress bar.

    Attributes:
        stage: ``plan`` (the files and their sizes are known, nothing downloaded yet),
            ``download`` (bytes arrived) or ``install`` (every file verified; installing).
        files: ``(repo path, bytes)`` of every file to download, in download order.
        total_bytes: bytes of all those files together.
        done_bytes: bytes received so far, all files together (0 … ``total_bytes``).
        current: the repo path being downloaded (``download``), else None.
    """

    stage: Literal["plan", "download", "install"]
    files: tuple[tuple[str, int], ...]
    total_bytes: int
    done_bytes: int = 0
    current: str | None = None


Progress = Callable[[FetchProgress], None]


def staging_dir(root: Path | None = None) -> Path:
    """``<models root>/.fetch-staging``: where :func:`fetch` downloads before installing."""
    return models_root(root) / STAGING_DIR


def discard_staging(root: Path | None = None) -> bool:
    """Remove the staging folder and what a killed or failed fetch left in it.

    Returns:
        True when there was something to remove.
    """
    folder = staging_dir(root)
    if not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


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


class _Tracker:
    """Adds up the bytes of a fetch's files and reports :class:`FetchProgress`."""

    def __init__(self, files: list[tuple[str, int]], progress: Progress | None) -> None:
        self.files = tuple(files)
        self.total = sum(size for _, size in files)
        self.progress = progress
        self.finished = 0  # bytes of the files done
        self.in_file = 0  # bytes of the current file so far
        self.current: str | None = None
        self._report(FetchProgress("plan", self.files, self.total))

    def _report(self, p: FetchProgress) -> None:
        if self.progress is not None:
            self.progress(p)

    def _download(self) -> None:
        size = dict(self.files).get(self.current or "", 0)
        done = self.finished + max(0, min(self.in_file, size))
        self._report(FetchProgress("download", self.files, self.total, done, self.current))

    def start(self, path: str) -> None:
        """``path`` starts downloading."""
        self.current, self.in_file = path, 0
        self._download()

    def add(self, n: int) -> None:
        """``n`` more bytes of the current file arrived."""
        self.in_file += n
        self._download()

    def done(self) -> None:
        """The current file is downloaded and verified."""
        self.finished += dict(self.files).get(self.current or "", 0)
        self.in_file = 0
        self._download()

    def installing(self) -> None:
        """Every file is verified; the model is being installed."""
        self._report(FetchProgress("install", self.files, self.total, self.total))


def fetch(
    repo_id: str = DEFAULT_REPO,
    *,
    revision: str | None = None,
    root: Path | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    make_default: bool = True,
    log_line: Log = log.info,
    progress: Progress | None = None,
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
        progress: called with a :class:`FetchProgress` once the files are known (``plan``),
            as bytes arrive (``download``, per chunk of about 10 MB) and before installing
            (``install``).

    Returns:
        The installed model folder.

    Raises:
        HubUnreachableError: offline (the Hub cannot be reached).
        CorruptDownloadError: a file does not match its checksum.
        ModelError: unknown repository, missing files, or files that are not a CLAP model.
            Nothing is installed then, and the staging folder is removed.
    """
    staging = staging_dir(root)
    if discard_staging(root):
        log_line(f"removed what an interrupted download left in {staging}")
    staging.mkdir(parents=True)
    try:
        repo = HubRepo(repo_id, revision, endpoint, token, staging)
        found = repo.exists("manifest.json")
        if found is not None:
            log_line(f"{repo_id}: manifest found, downloading the files it lists …")
            path = repo.download("manifest.json")
            verify_against_etag(path, found[0])
            manifest = Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
            tracker = _Tracker([(f.path, f.bytes) for f in manifest.files.values()], progress)
            for role, f in manifest.files.items():
                log_line(f"  {role}: {f.path} ({f.bytes / 1e6:.1f} MB)")
                tracker.start(f.path)
                p = repo.download(f.path, tracker.add)
                if sha256_file(p) != f.sha256:
                    raise CorruptDownloadError(
                        f"{f.path} from {repo_id} does not match its manifest sha256 — corrupt download; try again"
                    )
                tracker.done()
            manifest.source = f"hub:{repo_id}@{revision or 'main'}"
        else:
            remote: dict[str, tuple[str, str | None, int]] = {}  # role -> (path, etag, bytes)
            for role, candidates in PUBLISHED_CANDIDATES.items():
                for cand in candidates:
                    head = repo.exists(cand)
                    if head is not None:
                        remote[role] = (cand, head[0], head[1])
                        break
                else:
                    raise ModelError(
                        f"{repo_id} has neither a manifest.json nor {' / '.join(candidates)} — not an ONNX CLAP repository"
                    )
            tracker = _Tracker([(path, size) for path, _etag, size in remote.values()], progress)
            for role, (cand, etag, size) in remote.items():
                log_line(f"  {role}: {cand} ({size / 1e6:.1f} MB)")
                tracker.start(cand)
                verify_against_etag(repo.download(cand, tracker.add), etag)
                tracker.done()
            manifest = _manifest_from_published(repo_id, revision, staging, {r: v[0] for r, v in remote.items()})
        manifest.write(staging)
        tracker.installing()
        target = install(staging, root, make_default=make_default)
    finally:
        discard_staging(root)
    log_line(f"installed {manifest.name} ({manifest.space}) in {target}")
    return target

"""Files of one Hugging Face Hub repository: existence and size (``HEAD``), download with byte
progress, and the Hub's checksums (ETag: the sha256 of LFS files, the git blob sha1 of others).

Network failures of any huggingface_hub version (requests or httpx underneath) become
:class:`HubUnreachableError`; a file that does not match its checksum is a
:class:`CorruptDownloadError`. Used by :mod:`companion.embedding.clap.fetch`.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.embedding.clap.manifest import sha256_file
from companion.errors import ModelError


class HubUnreachableError(ModelError):
    """The Hub cannot be reached (offline, refused, timed out); nothing was installed."""


class CorruptDownloadError(ModelError):
    """A downloaded file does not match the checksum the manifest or the Hub gives; nothing
    was installed."""


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
        CorruptDownloadError: on a mismatch.
        ModelError: when the Hub gave no usable hash.
    """
    etag = (etag or "").strip('"').lower()
    if len(etag) == 64:
        ok = sha256_file(path) == etag
    elif len(etag) == 40:
        ok = _git_blob_sha1(path) == etag
    else:
        raise ModelError(f"the Hub gave no checksum for {path.name} — cannot verify it; try again later")
    if not ok:
        raise CorruptDownloadError(
            f"{path.name} does not match the checksum the Hub reports — the download is corrupt; try again"
        )


class HubRepo:
    """Downloads from one Hub repository at one revision into ``dest`` (keeping repo paths).

    Args:
        repo_id: e.g. ``Xenova/clap-htsat-unfused``.
        revision: branch, tag or commit (None: ``main``).
        endpoint: Hub URL (None: huggingface_hub's default, ``HF_ENDPOINT``).
        token: for private repositories.
        dest: the folder files are downloaded to.

    Raises:
        ModelError: huggingface_hub is not installed.
    """

    def __init__(self, repo_id: str, revision: str | None, endpoint: str | None, token: str | None, dest: Path) -> None:
        self.hub = _hub()
        self.repo_id, self.revision, self.endpoint, self.token, self.dest = repo_id, revision, endpoint, token, dest

    def exists(self, filename: str) -> tuple[str | None, int] | None:
        """``(ETag, size in bytes)`` of the file if the repository has it, else None.

        Raises:
            HubUnreachableError: the Hub cannot be reached.
            ModelError: the repository does not exist.
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
            raise _unreachable(self.repo_id, exc) from exc
        return meta.etag, int(meta.size or 0)

    def download(self, filename: str, on_bytes: Callable[[int], None] | None = None) -> Path:
        """Download one file into the staging folder (keeping its repo path).

        Args:
            on_bytes: called with each chunk's size as it arrives (when this huggingface_hub
                takes a ``tqdm_class``; else not at all).

        Raises:
            HubUnreachableError: the connection failed.
            ModelError: any other download failure.
        """
        extra: dict[str, Any] = {}
        if on_bytes is not None and "tqdm_class" in inspect.signature(self.hub.hf_hub_download).parameters:
            extra["tqdm_class"] = _byte_counter(on_bytes)
        try:
            return Path(
                self.hub.hf_hub_download(
                    self.repo_id,
                    filename,
                    revision=self.revision,
                    local_dir=self.dest,
                    endpoint=self.endpoint,
                    token=self.token,
                    **extra,
                )
            )
        except Exception as exc:  # network errors: requests/httpx types depending on the hub version
            if _is_network_error(exc):
                raise _unreachable(self.repo_id, exc) from exc
            raise ModelError(
                f"downloading {filename} from {self.repo_id} failed ({type(exc).__name__}: {exc}) — try again"
            ) from exc


#: Exception type names (requests, httpx, urllib3, huggingface_hub) that mean the network failed.
_NETWORK_ERRORS = (
    "ConnectError",
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutException",
    "RemoteProtocolError",
    "ReadError",
    "LocalEntryNotFoundError",
    "OfflineModeIsEnabled",
)


def _is_network_error(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is a connection failure."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (ConnectionError, TimeoutError)) or any(
            c.__name__ in _NETWORK_ERRORS for c in type(cur).__mro__
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _unreachable(repo_id: str, exc: BaseException) -> HubUnreachableError:
    return HubUnreachableError(
        f"cannot reach the Hugging Face Hub for {repo_id} ({type(exc).__name__}: {exc}) — offline? "
        "The app keeps running on the fingerprint embedding; a model folder can be given with --model DIR"
    )


def _byte_counter(on_bytes: Callable[[int], None]) -> type:
    """A silent tqdm class that reports each ``update(n)`` (bytes) to ``on_bytes``; handed to
    ``hf_hub_download(tqdm_class=…)``, which updates its bar as chunks arrive."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # a huggingface_hub dependency, no stubs

    class ByteCounter(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> Any:
            if n:
                on_bytes(int(n))
            return super().update(n)

        def update_transfer(self, n: float | None = 1) -> None:
            """Network bytes of a Xet download: not counted (``update`` counts the bytes
            written). Having it makes huggingface_hub use one bar for both, not two."""

    return ByteCounter

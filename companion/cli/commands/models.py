"""``companion models export|fetch|list|use``: CLAP models for the embedder.

``export`` needs the optional ``export`` extra (torch, transformers, onnx); ``fetch`` needs the
network and ``huggingface_hub``; ``list`` and ``use`` work offline.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from companion.cli.options import JsonOption
from companion.cli.output import err_console, fail, print_json
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.embedding.clap.fetch import FetchProgress

models_app = typer.Typer(help="CLAP models: export, fetch, list, choose the default.", no_args_is_help=True)


@models_app.command("export")
def export_cmd(
    checkpoint: str = typer.Option(
        ..., "--checkpoint", help="Hugging Face id (laion/clap-htsat-unfused) or checkpoint folder."
    ),
    out: Path = typer.Option(..., "--out", help="Model folder to write.", file_okay=False),
    name: str | None = typer.Option(None, help="Model name (first part of the space id); default from the checkpoint."),
    quantize: str | None = typer.Option(None, "--quantize", help="Also write an int8 audio encoder: int8."),
    opset: int = typer.Option(17, help="ONNX opset."),
    check_audio: Path | None = typer.Option(
        None, "--check-audio", help="Folder of real audio for the parity and int8 checks (default: Sonic Pi's samples)."
    ),
    revision: str | None = typer.Option(None, help="Hub revision of the checkpoint."),
    install: bool = typer.Option(False, "--install", help="Also install it as the default model."),
    json_out: bool = JsonOption,
) -> None:
    """Export a CLAP checkpoint to ONNX (audio + text encoders, tokenizer, manifest)."""
    try:
        from companion.embedding.clap.export import export_clap
    except ImportError as exc:
        raise fail(
            f"exporting needs the `export` extra ({exc.name} is missing): pip install 'samplemind-companion[export]'"
        ) from exc
    if quantize not in (None, "int8"):
        raise fail(f"--quantize takes int8, not {quantize!r}")

    def say(line: str) -> None:
        err_console.print(line, markup=False)

    try:
        manifest = export_clap(
            checkpoint,
            out,
            name=name,
            quantize=quantize,
            opset=opset,
            check_audio=check_audio,
            revision=revision,
            log=say,
        )
        installed = None
        if install:
            from companion.embedding.clap.store import install as install_model

            installed = install_model(out)
            say(f"installed as the default model: {installed}")
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    if json_out:
        print_json(
            {"folder": str(out), "installed": str(installed) if installed else None, "manifest": manifest.to_dict()}
        )


@models_app.command("fetch")
def fetch_cmd(
    repo: str = typer.Argument(None, help="Hub repository (default: Xenova/clap-htsat-unfused)."),
    revision: str | None = typer.Option(None, help="Branch, tag or commit."),
    endpoint: str | None = typer.Option(None, envvar="HF_ENDPOINT", help="Hub URL (default https://huggingface.co)."),
    make_default: bool = typer.Option(True, "--default/--no-default", help="Make it the default model."),
    progress_json: bool = typer.Option(
        False,
        "--progress-json",
        help="Write progress as JSON lines on stdout (plan, progress, install, then done or error), "
        "as the desktop app reads it.",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Download a published ONNX CLAP, verify every checksum and install it."""
    from companion.embedding.clap.fetch import DEFAULT_REPO, fetch
    from companion.embedding.clap.manifest import Manifest

    repo_id = repo or DEFAULT_REPO

    def say(line: str) -> None:
        err_console.print(line, markup=False)

    emit = ProgressLines(repo_id) if progress_json else None
    try:
        folder = fetch(
            repo_id,
            revision=revision,
            endpoint=endpoint,
            make_default=make_default,
            log_line=say,
            progress=emit,
        )
        manifest = Manifest.read(folder)
    except CompanionError as exc:
        if emit is not None:
            emit.line({"event": "error", "kind": error_kind(exc), "message": str(exc)})
        raise fail(str(exc)) from exc
    if emit is not None:
        emit.line({"event": "done", "folder": str(folder), "name": manifest.name, "space": manifest.space})
    if json_out:
        print_json({"folder": str(folder), "name": manifest.name, "space": manifest.space, "source": manifest.source})


def error_kind(exc: BaseException) -> str:
    """``offline``, ``corrupt`` or ``error``: what a failed fetch's ``error`` line says it was."""
    from companion.embedding.clap.hub_files import CorruptDownloadError, HubUnreachableError

    if isinstance(exc, HubUnreachableError):
        return "offline"
    if isinstance(exc, CorruptDownloadError):
        return "corrupt"
    return "error"


class ProgressLines:
    """``fetch --progress-json``: one JSON object a line on stdout, flushed at once.

    Lines: ``{"event": "plan", "repo", "files": [[path, bytes], …], "total"}``, then
    ``{"event": "progress", "done", "total", "file"}`` (bytes; at most every
    :attr:`EVERY_S` seconds, plus each file's start and end), ``{"event": "install"}`` (verified;
    installing), and last ``{"event": "done", "folder", "name", "space"}`` or
    ``{"event": "error", "kind": "offline" | "corrupt" | "error", "message"}``.
    """

    EVERY_S = 0.1

    def __init__(self, repo_id: str) -> None:
        self.repo_id = repo_id
        self._last = 0.0
        self._file: str | None = None
        self._ends: set[int] = set()  # done-byte counts at which a file is complete

    def line(self, doc: dict[str, object]) -> None:
        """Write one line."""
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()

    def __call__(self, p: FetchProgress) -> None:
        if p.stage == "plan":
            ends = 0
            for _path, size in p.files:
                ends += size
                self._ends.add(ends)
            self.line(
                {"event": "plan", "repo": self.repo_id, "files": [list(f) for f in p.files], "total": p.total_bytes}
            )
        elif p.stage == "install":
            self.line({"event": "install"})
        else:
            now = time.monotonic()
            if now - self._last >= self.EVERY_S or p.current != self._file or p.done_bytes in self._ends:
                self._last, self._file = now, p.current
                self.line({"event": "progress", "done": p.done_bytes, "total": p.total_bytes, "file": p.current})


@models_app.command("list")
def list_cmd(
    verify: bool = typer.Option(False, "--verify", help="Recompute every file's sha256."),
    json_out: bool = JsonOption,
) -> None:
    """Show the installed CLAP models and the one in use."""
    from companion.embedding.clap.store import installed, models_root
    from companion.settings import get_settings

    rows = []
    for m in installed():
        problem = m.problem
        if m.manifest is not None and problem is None:
            try:
                m.manifest.check(m.path, hashes=verify)
            except CompanionError as exc:
                problem = str(exc)
        man = m.manifest
        rows.append(
            {
                "name": m.name,
                "default": m.default,
                "space": man.space if man else None,
                "checkpoint": man.checkpoint if man else None,
                "int8": bool(man and man.int8_usable()),
                "megabytes": round(sum(f.bytes for f in man.files.values()) / 1e6, 1) if man else None,
                "source": man.source if man else None,
                "path": str(m.path),
                "ok": problem is None,
                "problem": problem,
            }
        )
    env_dir = get_settings().clap_model_dir
    if json_out:
        print_json({"root": str(models_root()), "env_model_dir": str(env_dir) if env_dir else None, "models": rows})
        return
    if not rows:
        err_console.print(
            f"no CLAP model installed in {models_root()} — `companion models fetch` (online) or "
            "`companion models export --checkpoint … --out DIR --install`; the app uses the fingerprint embedding"
        )
    for r in rows:
        mark = "*" if r["default"] else " "
        state = "ok" if r["ok"] else f"BROKEN: {r['problem']}"
        typer.echo(
            f"{mark} {r['name']}\t{r['space']}\t{r['megabytes']} MB\tint8={'yes' if r['int8'] else 'no'}\t{state}"
        )
    if env_dir:
        err_console.print(f"RECS_CLAP_MODEL_DIR={env_dir} overrides the default")


@models_app.command("use")
def use_cmd(name: str = typer.Argument(..., help="Installed model name (see `companion models list`).")) -> None:
    """Make an installed model the default."""
    from companion.embedding.clap.store import set_default

    try:
        set_default(name)
    except CompanionError as exc:
        raise fail(str(exc)) from exc
    err_console.print(f"default CLAP model: {name}")


def register(app: typer.Typer) -> None:
    """Add the ``models`` group to the CLI."""
    app.add_typer(models_app, name="models")

"""``samplemind-hub``: serve the hub, migrate its database, manage tokens and rules versions.

Every command takes ``--database-url`` (env ``HUB_DATABASE_URL``); without one it uses the
embedded PostgreSQL in ``--data-dir`` (env ``HUB_DATA_DIR``).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from samplemind_hub import HubError, __version__
from samplemind_hub.config import HubSettings

app = typer.Typer(
    name="samplemind-hub",
    help="The SampleMind hub: the central service the companions sync with.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Create and revoke bearer tokens (one per user and device).", no_args_is_help=True)
rules_app = typer.Typer(help="Publish and show shared fusion rules versions.", no_args_is_help=True)
spaces_app = typer.Typer(
    help="Register and list embedding spaces (uploads to unknown spaces are refused).", no_args_is_help=True
)
app.add_typer(token_app, name="token")
app.add_typer(rules_app, name="rules")
app.add_typer(spaces_app, name="spaces")

DatabaseUrlOption = typer.Option(
    None,
    "--database-url",
    envvar="HUB_DATABASE_URL",
    help="PostgreSQL URL with pgvector; default: the embedded server in --data-dir.",
)
DataDirOption = typer.Option(
    None,
    "--data-dir",
    envvar="HUB_DATA_DIR",
    file_okay=False,
    help="Data folder of the embedded PostgreSQL (default: the user's data dir).",
)

_embedded_handles: list[Any] = []  # keep pgserver handles alive for the process's lifetime


def _resolve_url(settings: HubSettings) -> str:
    if settings.database_url:
        return settings.database_url
    from samplemind_hub.embedded import start_embedded

    url, handle = start_embedded(settings.data_dir)
    _embedded_handles.append(handle)
    return url


def _settings(database_url: str | None, data_dir: Path | None, **extra: Any) -> HubSettings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if database_url:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return HubSettings(**overrides)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


@app.command()
def serve(
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
    host: str | None = typer.Option(None, "--host", envvar="HUB_HOST", help="Listen address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", envvar="HUB_PORT", help="Listen port (default 8765)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Run the hub's HTTP API (migrates the database and seeds the rules on start)."""
    import uvicorn

    from samplemind_hub.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _settings(database_url, data_dir, host=host, port=port)
        url = _resolve_url(settings)
        application = create_app(settings, url)
    except HubError as exc:
        _fail(exc)
        return
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # atexit hooks run (pgserver stops the embedded PostgreSQL there).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=log_level.lower())


@app.command()
def migrate(database_url: str | None = DatabaseUrlOption, data_dir: Path | None = DataDirOption) -> None:
    """Create or upgrade the hub's tables (serve does this too)."""
    from samplemind_hub import db

    try:
        applied = db.migrate(_resolve_url(_settings(database_url, data_dir)))
    except HubError as exc:
        _fail(exc)
        return
    typer.echo(f"schema version {db.SCHEMA_VERSION} ({applied} migration(s) applied)")


@token_app.command("create")
def token_create(
    user: str = typer.Option(..., "--user", help="User name (created if new)."),
    device: str = typer.Option(..., "--device", help="Device name, e.g. 'studio-laptop' (created if new)."),
    scope: str = typer.Option("device", "--scope", help="'device' (sync) or 'metrics' (/metrics only)."),
    expires_days: float | None = typer.Option(None, "--expires-days", help="Lifetime; default: until revoked."),
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
) -> None:
    """Print a bearer token for one device of one user (set it as RECS_SYNC_TOKEN)."""
    from samplemind_hub import db
    from samplemind_hub.auth import create_device, issue_token, signing_secret

    if scope not in ("device", "metrics"):
        _fail(HubError(f"--scope must be 'device' or 'metrics', not {scope!r}"))
    try:
        settings = _settings(database_url, data_dir)
        url = _resolve_url(settings)
        db.migrate(url)
        with db.connect(url) as conn:
            override = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
            secret = signing_secret(conn, override)
            user_id, device_id = create_device(conn, user, device)
    except HubError as exc:
        _fail(exc)
        return
    expires = None if expires_days is None else expires_days * 86400.0
    typer.echo(issue_token(secret, user_id, device_id, scope=scope, expires_in_s=expires))  # type: ignore[arg-type]  # scope: one of the Scope literals, checked above


@token_app.command("revoke")
def token_revoke(
    user: str = typer.Option(..., "--user"),
    device: str = typer.Option(..., "--device"),
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
) -> None:
    """Revoke a device's token at once (its next request gets 401)."""
    from samplemind_hub import db
    from samplemind_hub.auth import revoke_device

    try:
        with db.connect(_resolve_url(_settings(database_url, data_dir))) as conn:
            revoked = revoke_device(conn, user, device)
    except HubError as exc:
        _fail(exc)
        return
    if not revoked:
        _fail(HubError(f"no active device {device!r} of user {user!r}"))
    typer.echo(f"revoked {user}/{device}")


@rules_app.command("publish")
def rules_publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Fusion rules JSON document."),
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
) -> None:
    """Validate a rules document and publish it as the next version (companions pull it)."""
    from samplemind_hub import db
    from samplemind_hub.rules import publish_rules

    try:
        document = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        _fail(HubError(f"cannot read {file}: {exc}"))
        return
    if not isinstance(document, dict):
        _fail(HubError(f"{file} must hold a JSON object"))
    try:
        url = _resolve_url(_settings(database_url, data_dir))
        db.migrate(url)
        with db.connect(url) as conn:
            version, etag = publish_rules(conn, document, source=str(file.resolve()))
    except HubError as exc:
        _fail(exc)
        return
    typer.echo(f"published rules version {version} (ETag {etag})")


@rules_app.command("show")
def rules_show(database_url: str | None = DatabaseUrlOption, data_dir: Path | None = DataDirOption) -> None:
    """Print the current rules version as JSON."""
    from samplemind_hub import db
    from samplemind_hub.rules import current_rules

    try:
        with db.connect(_resolve_url(_settings(database_url, data_dir))) as conn:
            current = current_rules(conn)
    except HubError as exc:
        _fail(exc)
        return
    if current is None:
        _fail(HubError("no rules published yet"))
        return
    version, etag, published_at, document = current
    typer.echo(
        json.dumps({"version": version, "etag": etag, "published_at": published_at, "rules": document}, indent=2)
    )


@spaces_app.command("add")
def spaces_add(
    name: str = typer.Argument(..., help="Model id and version, e.g. 'clap-htsat-unfused/v2'."),
    dim: int = typer.Option(..., "--dim", help="Dimension of its vectors (1–2000)."),
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
) -> None:
    """Register an embedding space and build its HNSW index (idempotent for the same dimension)."""
    from samplemind_hub import db

    try:
        settings = _settings(database_url, data_dir)
        url = _resolve_url(settings)
        db.migrate(url)
        registry = db.SpaceRegistry(hnsw_m=settings.hnsw_m, hnsw_ef_construction=settings.hnsw_ef_construction)
        with db.connect(url) as conn, conn.transaction():
            space = registry.register(conn, name, dim)
    except HubError as exc:
        _fail(exc)
        return
    typer.echo(f"space {space.name}: {space.dim} dimensions (index {db.space_index_name(space)})")


@spaces_app.command("list")
def spaces_list(
    database_url: str | None = DatabaseUrlOption,
    data_dir: Path | None = DataDirOption,
    json_out: bool = typer.Option(False, "--json", help="One JSON array instead of a table."),
) -> None:
    """List the registered spaces with their dimension and vector count (all users)."""
    from samplemind_hub import db

    try:
        url = _resolve_url(_settings(database_url, data_dir))
        db.migrate(url)
        with db.connect(url) as conn:
            spaces = db.list_spaces(conn)
    except HubError as exc:
        _fail(exc)
        return
    if json_out:
        typer.echo(
            json.dumps([{"space": s.name, "dim": s.dim, "vectors": n, "indexed": indexed} for s, n, indexed in spaces])
        )
        return
    for space, n, indexed in spaces:
        typer.echo(f"{space.name}\t{space.dim}\t{n} vectors\t{'indexed' if indexed else 'NO INDEX'}")


@app.command()
def version() -> None:
    """Print the hub's version."""
    typer.echo(f"samplemind-hub {__version__}")


def main() -> None:
    """Console-script entry point (``samplemind-hub``)."""
    sys.exit(app())


if __name__ == "__main__":
    main()

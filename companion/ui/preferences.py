"""The producer's desktop-app settings, kept in ``<data dir>/gui.json`` (no Qt here).

Why a JSON file rather than the catalog's ``kv`` table: these settings belong to the machine and
the person (which folders, which sound card, which hub token), not to one catalog, and they must
be readable before any catalog is opened (the first-run dialog writes them). The file is small,
human-readable and written atomically (temp file + rename), so a crash never leaves half a file.

Environment settings (:class:`companion.settings.Settings`: ``RECS_OSC_PORT``,
``RECS_SYNC_URL`` …) give the defaults for a first start; after that the file wins, because the
producer changed them in the settings dialog.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from companion.settings import Settings, data_dir, get_settings

log = logging.getLogger(__name__)

FILE_NAME = "gui.json"


@dataclass
class Preferences:
    """Desktop-app settings.

    Attributes:
        folders: sample folders (absolute paths), scanned and watched.
        watch_folders: rescan automatically when files change in them.
        first_run_done: the first-run dialog was completed.
        library_db: catalog file (None: the settings' default, ``<data dir>/library.db``).
        osc_enabled / osc_host / osc_port: the OSC listener for DAW context (UDP).
        audio_device: output device name (None: the system default).
        volume: audition volume, linear 0–1.
        follow_tempo / follow_key: render auditions in the session's tempo / key.
        auto_preview: moving the selection with the arrow keys auditions the new row.
        model_dir: folder of an exported CLAP model (None: settings / none).
        sync_url / sync_token: central service and bearer token (sync off when either is empty).
        mode: ranking mode, ``fusion`` or ``rules``.
        top_k: suggestions shown.
    """

    folders: list[str] = field(default_factory=list)
    watch_folders: bool = True
    first_run_done: bool = False
    library_db: str | None = None
    osc_enabled: bool = True
    osc_host: str = "127.0.0.1"
    osc_port: int = 9137
    audio_device: str | None = None
    volume: float = 0.8
    follow_tempo: bool = True
    follow_key: bool = True
    auto_preview: bool = True
    model_dir: str | None = None
    sync_url: str | None = None
    sync_token: str | None = None
    mode: Literal["fusion", "rules"] = "fusion"
    top_k: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> Preferences:
        """Defaults for a first start, taken from the environment settings."""
        return cls(
            library_db=str(settings.library_db) if settings.library_db else None,
            osc_port=settings.osc_port,
            model_dir=str(settings.clap_model_dir) if settings.clap_model_dir else None,
            sync_url=settings.sync_url,
            sync_token=settings.sync_token,
            mode=settings.recommendation_mode,
        )

    def catalog_path(self, settings: Settings | None = None) -> Path:
        """The catalog file to open."""
        if self.library_db:
            return Path(self.library_db).expanduser()
        return (settings or get_settings()).catalog_path()

    def to_json(self) -> dict[str, Any]:
        """Plain dict (what the file holds)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], defaults: Preferences | None = None) -> Preferences:
        """Read a dict, ignoring unknown keys and keeping ``defaults`` for missing or bad ones."""
        base = asdict(defaults or cls())
        known = {f.name: f for f in fields(cls)}
        for name, value in data.items():
            if name not in known:
                continue
            default = base[name]
            if default is not None and value is not None and not isinstance(value, type(default)):
                if isinstance(default, float) and isinstance(value, int):
                    value = float(value)
                else:
                    log.warning("gui setting %s=%r has the wrong type; using %r", name, value, default)
                    continue
            base[name] = value
        prefs = cls(**base)
        if prefs.mode not in ("fusion", "rules"):
            prefs.mode = "fusion"
        prefs.volume = min(1.0, max(0.0, prefs.volume))
        prefs.top_k = min(200, max(5, prefs.top_k))
        return prefs


def preferences_path(folder: Path | None = None) -> Path:
    """``<data dir>/gui.json`` (or in ``folder``)."""
    return (folder or data_dir()) / FILE_NAME


def load_preferences(path: Path | None = None, settings: Settings | None = None) -> Preferences:
    """Read the preferences file; defaults from the settings when it is missing or unreadable.

    An unreadable file is logged and kept aside as ``gui.json.bad`` (never silently lost).
    """
    path = path or preferences_path()
    defaults = Preferences.from_settings(settings or get_settings())
    if not path.exists():
        return defaults
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        bad = path.with_suffix(".json.bad")
        log.warning("cannot read %s (%s); starting from defaults, the file is kept as %s", path, exc, bad)
        try:
            os.replace(path, bad)
        except OSError:
            log.warning("cannot move %s aside", path)
        return defaults
    return Preferences.from_json(data, defaults)


def save_preferences(prefs: Preferences, path: Path | None = None) -> Path:
    """Write the preferences atomically. Returns the file.

    Raises:
        OSError: the data folder is not writable.
    """
    path = path or preferences_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gui-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(prefs.to_json(), fh, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if prefs.sync_token:
        try:
            os.chmod(path, 0o600)  # it holds a bearer token
        except OSError:
            log.warning("cannot restrict the permissions of %s", path)
    return path

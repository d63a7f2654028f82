"""The one settings model of the app and the command line, and where its values come from.

Every setting is a field of :class:`Settings` (pydantic). A value comes from four layers, the
later winning (see ``docs/architecture.md``, "Settings"):

1. the field's default;
2. the settings file, ``<config dir>/settings.json`` (what the producer chose in the window),
   versioned: format 1 was the window's ``<data dir>/gui.json``, read and migrated when no
   format-2 file exists yet;
3. the environment: ``RECS_<FIELD>`` (``RECS_OSC_PORT``, ``RECS_USE_CLAP`` …) and
   ``COMPANION_LIBRARY_DB`` for the catalog path;
4. command-line flags of this run (``companion gui --no-osc``, ``--library-db`` …).

Only the file layer is ever written: environment values and flags hold for the run that was
given them and are never saved (:class:`SettingsStore`). A producer's edit in the settings
dialog goes to the file and, for the rest of the run, beats the flag or variable it replaced.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

APP_NAME = "samplemind-companion"
APP_AUTHOR = "SampleMind"
#: Format of the settings file; 1 was the window's ``gui.json``.
SETTINGS_VERSION = 2
SETTINGS_FILE = "settings.json"
LEGACY_FILE = "gui.json"
#: Format-1 names that format 2 renamed.
_RENAMED_V1 = {"mode": "recommendation_mode", "model_dir": "clap_model_dir"}


def data_dir() -> Path:
    """The user's data directory for the app (platformdirs), e.g. ``~/.local/share/samplemind-companion``."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def config_dir() -> Path:
    """The user's configuration directory (platformdirs), e.g. ``~/.config/samplemind-companion``."""
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    """The user's log directory for the app (platformdirs)."""
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


class Settings(BaseSettings):
    """All settings of the companion; each can come from the file, the environment or a flag.

    Attributes:
        library_db: catalog SQLite file (``COMPANION_LIBRARY_DB``); default under the data dir.
        folders: sample folders (absolute paths), scanned and watched by the window.
        watch_folders: rescan automatically when files change in the folders.
        scan_workers: analysis worker processes for scans (default: CPU count).
        use_clap: embed with CLAP when a model is installed (``RECS_USE_CLAP``).
        clap_model_dir: folder of an exported ONNX CLAP model (``RECS_CLAP_MODEL_DIR``).
        embedding_dim: vector dimension of every embedding space (512).
        embedding_fallback: embedding used when CLAP is off or missing (``fingerprint``).
        recommendation_mode: ranking mode, ``fusion`` or ``rules``.
        top_k: suggestions shown by the window, 5–200.
        osc_enabled / osc_host / osc_port: the OSC listener for DAW context (UDP, port 9137).
        abletonosc / live_host: also follow Ableton Live through AbletonOSC (ports 11000/11001).
        link: also follow Ableton Link tempo and play state.
        audio_device: audition output device name (None: the system default).
        volume: audition volume, linear 0–1.
        follow_tempo / follow_key: render auditions in the session's tempo / key.
        auto_preview: moving the selection with the arrow keys auditions the new row.
        sync_url / sync_token: central service and bearer token (sync off when either is empty).
        first_run_done: the window's first-run dialog was completed.
        stay_on_top: keep the window above others (e.g. beside a full-screen DAW).
        window_geometry: the window's size and place when it was last closed (Qt's
            ``QWidget.saveGeometry`` bytes, base64), so it comes back where the producer put it.
        filter_kind / filter_instrument / filter_bpm / filter_length_s / filter_folder /
            filter_favourites: the list filter the window shows suggestions and results through
            (:class:`~companion.ranking.list_filter.ListFilter`; ranges as ``[low, high]`` in
            BPM and seconds); the defaults let everything pass.
        sort_by: order of the shown list: ``score`` (the ranker's), ``name``, ``bpm``,
            ``length`` or ``added`` (newest first).
    """

    model_config = SettingsConfigDict(
        env_prefix="RECS_", extra="ignore", validate_assignment=True, populate_by_name=True
    )

    library_db: Path | None = Field(
        default=None, validation_alias=AliasChoices("COMPANION_LIBRARY_DB", "RECS_LIBRARY_DB")
    )
    folders: list[str] = Field(default_factory=list)
    watch_folders: bool = True
    scan_workers: int | None = None
    use_clap: bool = True
    clap_model_dir: Path | None = None
    embedding_dim: int = 512
    embedding_fallback: Literal["fingerprint", "none"] = "fingerprint"
    recommendation_mode: Literal["fusion", "rules"] = "fusion"
    top_k: int = 30
    osc_enabled: bool = True
    osc_host: str = "127.0.0.1"
    osc_port: int = 9137
    abletonosc: bool = False
    live_host: str = "127.0.0.1"
    link: bool = False
    audio_device: str | None = None
    volume: float = 0.8
    follow_tempo: bool = True
    follow_key: bool = True
    auto_preview: bool = True
    sync_url: str | None = None
    sync_token: str | None = None
    first_run_done: bool = False
    stay_on_top: bool = False
    window_geometry: str | None = None
    filter_kind: Literal["loop", "one-shot"] | None = None
    filter_instrument: str | None = None
    filter_bpm: tuple[float, float] | None = None
    filter_length_s: tuple[float, float] | None = None
    filter_folder: str | None = None
    filter_favourites: bool = False
    sort_by: Literal["score", "name", "bpm", "length", "added"] = "score"

    @field_validator("volume")
    @classmethod
    def _clamp_volume(cls, v: float) -> float:
        return min(1.0, max(0.0, v))

    @field_validator("top_k")
    @classmethod
    def _clamp_top_k(cls, v: int) -> int:
        return min(200, max(5, v))

    @field_validator("sync_url", "sync_token", "audio_device")
    @classmethod
    def _empty_is_none(cls, v: str | None) -> str | None:
        return v or None

    def catalog_path(self) -> Path:
        """The catalog file to open: ``library_db`` or ``<data dir>/library.db``."""
        return self.library_db.expanduser() if self.library_db is not None else data_dir() / "library.db"


def default_settings_file() -> Path:
    """``<config dir>/settings.json``."""
    return config_dir() / SETTINGS_FILE


def environment_layer() -> dict[str, Any]:
    """The values the environment sets (``RECS_*``, ``COMPANION_LIBRARY_DB``), validated.

    Raises:
        pydantic.ValidationError: a variable holds a value its field cannot take.
    """
    from_env = Settings()
    return from_env.model_dump(include=from_env.model_fields_set)


def _valid_values(data: Mapping[str, Any], where: Path) -> dict[str, Any]:
    """The file's known, well-typed fields; each bad one is logged and left out (default kept)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        field = Settings.model_fields.get(name)
        if field is None or field.annotation is None:  # a model field's annotation is never None
            continue
        try:
            TypeAdapter(field.annotation).validate_python(value)
        except ValidationError:
            log.warning("setting %s=%r in %s has the wrong type; using the default", name, value, where)
            continue
        out[name] = value
    return out


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """A settings document of any known format, as format :data:`SETTINGS_VERSION` (no version key).

    Format 1 (the window's ``gui.json``, no ``version`` key) named the ranking mode ``mode`` and the
    model folder ``model_dir``.

    Raises:
        ValueError: the document is from a newer format than this version understands.
    """
    version = data.get("version", 1)
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise ValueError(f"settings format {version!r} is newer than this app understands ({SETTINGS_VERSION})")
    out = {k: v for k, v in data.items() if k != "version"}
    if version == 1:
        out = {_RENAMED_V1.get(k, k): v for k, v in out.items()}
    return out


def read_settings_file(path: Path) -> dict[str, Any]:
    """The file layer: the valid, migrated values of the settings file at ``path`` (``{}`` if none).

    An unreadable file is logged and kept aside as ``<name>.bad`` (never silently lost); a file
    from a newer version is left as it is and ignored.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        data = migrate(data)
    except (OSError, ValueError) as exc:
        if "newer" in str(exc):
            log.warning("%s: %s; using defaults and leaving the file alone", path, exc)
            return {}
        bad = path.with_name(path.name + ".bad")
        log.warning("cannot read %s (%s); starting from defaults, the file is kept as %s", path, exc, bad)
        try:
            os.replace(path, bad)
        except OSError:
            log.warning("cannot move %s aside", path)
        return {}
    return _valid_values(data, path)


def write_settings_file(values: Mapping[str, Any], path: Path) -> Path:
    """Write the file layer atomically (temp file + rename), as format :data:`SETTINGS_VERSION`.

    The file is made readable by its owner only when it holds a sync token.

    Raises:
        OSError: the folder is not writable.
    """
    doc = {"version": SETTINGS_VERSION, **{k: _jsonable(v) for k, v in sorted(values.items())}}
    write_json_atomic(path, doc)
    if values.get("sync_token"):
        try:
            os.chmod(path, 0o600)  # it holds a bearer token
        except OSError:
            log.warning("cannot restrict the permissions of %s", path)
    return path


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write ``doc`` as JSON to ``path`` atomically (temp file in the same folder + rename).

    Raises:
        OSError: the folder is not writable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


class SettingsStore:
    """The settings of one run: the four layers, the effective :class:`Settings`, and saving.

    Args:
        path: the settings file (default :func:`default_settings_file`). When it does not exist
            and ``path`` is the default, a format-1 ``<data dir>/gui.json`` is read instead (and
            the next save writes ``path``: the old file stays as it was).
        flags: this run's command-line values, by field name (never saved).
        environment: read ``RECS_*`` / ``COMPANION_LIBRARY_DB`` (False: ignore the environment).
        file_values: start from these file values instead of reading ``path`` (tests, first run).

    Raises:
        pydantic.ValidationError: a flag or environment variable holds an invalid value.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        flags: Mapping[str, Any] | None = None,
        environment: bool = True,
        file_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path or default_settings_file()
        if file_values is not None:
            self._file = _valid_values(dict(file_values), self.path)
        else:
            self._file = read_settings_file(self.path)
            legacy = data_dir() / LEGACY_FILE
            if not self._file and path is None and not self.path.exists() and legacy.exists():
                log.info("reading the settings of an earlier version from %s", legacy)
                self._file = read_settings_file(legacy)
        self._env = environment_layer() if environment else {}
        self._flags = {k: v for k, v in (flags or {}).items() if v is not None}
        self.settings = self._build()

    def _build(self) -> Settings:
        return Settings.model_validate({**self._file, **self._env, **self._flags})

    @property
    def file_values(self) -> dict[str, Any]:
        """What the settings file holds (a copy)."""
        return dict(self._file)

    @property
    def overridden(self) -> dict[str, str]:
        """Fields this run takes from the environment or a flag: ``name -> "environment" | "flag"``."""
        out = {k: "environment" for k in self._env}
        out.update({k: "flag" for k in self._flags})
        return out

    def edit(self, **changes: Any) -> Settings:
        """The producer changed these settings: they go to the file layer (and win over any flag
        or variable for the rest of the run); the file is saved. Returns the new settings.

        Raises:
            pydantic.ValidationError: a value is invalid (nothing is changed).
            OSError: the settings folder is not writable (the change still holds for this run).
        """
        Settings.model_validate({**self._file, **self._env, **self._flags, **changes})
        self._file.update({k: _jsonable(v) for k, v in changes.items()})
        for name in changes:
            self._env.pop(name, None)
            self._flags.pop(name, None)
        self.settings = self._build()
        self.save()
        return self.settings

    def replace(self, new: Settings) -> dict[str, Any]:
        """Apply an edited copy of the settings (a dialog's result): the fields that differ from
        the current ones are :meth:`edit`-ed. Returns those changes (``{}``: nothing changed)."""
        current = self.settings.model_dump()
        changes = {k: v for k, v in new.model_dump().items() if current.get(k) != v}
        if changes:
            self.edit(**changes)
        return changes

    def save(self) -> Path:
        """Write the file layer (never the environment's or the flags' values).

        Raises:
            OSError: the settings folder is not writable.
        """
        return write_settings_file(self._file, self.path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings of a command: file, then environment (read once; no flags)."""
    return SettingsStore().settings

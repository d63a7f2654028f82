"""ALSA configurations for tests that read none of the machine's or the user's ALSA files.

alsa-lib's own ``alsa.conf`` starts with a ``@hooks`` block that loads ``/etc/asound.conf``,
``~/.asoundrc`` and the ``conf.d`` folders, and hooks run after every file of
``ALSA_CONFIG_PATH`` is read: a user's ``~/.asoundrc`` would override whatever default PCM a
test sets (it did: a self-test expecting a missing card passed the user's working one). So the
tests use a copy of ``alsa.conf`` without that block, plus a file that sets the default PCM.
"""

from __future__ import annotations

from pathlib import Path

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


def without_hooks(text: str) -> str:
    """``alsa.conf`` text without its top-level ``@hooks [ … ]`` block (brackets counted)."""
    start = text.find("\n@hooks")
    if start < 0:
        return text
    depth, end = 0, text.index("[", start)
    for end in range(end, len(text)):  # noqa: B020 - scans on from the opening bracket
        depth += {"[": 1, "]": -1}.get(text[end], 0)
        if depth == 0:
            break
    return text[: start + 1] + text[end + 1 :]


def hermetic_alsa_config(folder: Path, pcm: str = "type null") -> str:
    """An ``ALSA_CONFIG_PATH`` value: ``alsa.conf`` without its hooks, then ``pcm.!default
    { <pcm> }`` (``type null`` accepts and discards audio; ``type hw card 99`` is a card that
    does not exist). Raises FileNotFoundError without ``/usr/share/alsa/alsa.conf``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "alsa.conf"
    base.write_text(without_hooks(SYSTEM_ALSA_CONF.read_text(encoding="utf-8")), encoding="utf-8")
    override = folder / "asound-default.conf"
    override.write_text(f"pcm.!default {{ {pcm} }}\n", encoding="utf-8")
    return f"{base}:{override}"

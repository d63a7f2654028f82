"""Tags from a file's name and folders, available the moment a file is found.

``/lib/Drums/Kicks/Kick_Hard-03.wav`` under root ``/lib`` gives ``["drums", "kicks", "kick",
"hard"]``: lower-case words of the folders below the root (and the root's own name) and of the
file stem, split on separators and camelCase, without numbers, extensions, key/BPM tokens and
filler words. These make a file findable by name and folder before its analysis runs.
"""

from __future__ import annotations

import re
from pathlib import PurePath

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ALPHA = re.compile(r"^[a-z]+$")
_TRAILING_DIGITS = re.compile(r"(?<=[a-z])\d+$")
# Key tokens such as "am", "f#m" (after splitting: "f", "m"), "cmaj" are not descriptive tags.
_KEY_TOKEN = re.compile(r"^[a-g](m|b|s|maj|min|mi)?$")
STOPWORDS = frozenset(
    {
        "the",
        "and",
        "of",
        "a",
        "an",
        "in",
        "on",
        "for",
        "with",
        "by",
        "to",
        "at",
        "from",
        "wav",
        "wave",
        "aif",
        "aiff",
        "flac",
        "ogg",
        "mp3",
        "samples",
        "sample",
        "sounds",
        "sound",
        "audio",
        "files",
        "file",
        "bpm",
        "usr",
        "share",
        "home",
        "users",
        "music",
        "maj",
        "min",
        "major",
        "minor",
        "copy",
        "final",
        "new",
        "untitled",
    }
)


def words(text: str) -> list[str]:
    """Lower-case alphabetic words of a name, split on separators and camelCase."""
    out: list[str] = []
    for chunk in _SPLIT.split(text):
        for part in _CAMEL.split(chunk):
            word = _TRAILING_DIGITS.sub("", part.lower())
            if len(word) >= 2 and _ALPHA.match(word) and word not in STOPWORDS and not _KEY_TOKEN.match(word):
                out.append(word)
    return out


def path_tags(path: str | PurePath, root: str | PurePath | None = None) -> list[str]:
    """Tags of one file from its folders (below ``root``, plus the root's name) and stem.

    Returns:
        Unique tags in order of appearance, folders first.
    """
    p = PurePath(path)
    if root is not None:
        r = PurePath(root)
        try:
            folders = [r.name, *p.parent.relative_to(r).parts]
        except ValueError:
            folders = list(p.parent.parts[-3:])
    else:
        folders = list(p.parent.parts[-3:])
    seen: dict[str, None] = {}
    for part in [*folders, p.stem]:
        for word in words(part):
            seen.setdefault(word, None)
    return list(seen)

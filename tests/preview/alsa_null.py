"""A real PortAudio output with no sound card: ALSA's ``null`` PCM as the default device.

PortAudio (libportaudio2) enumerates ALSA's ``default`` PCM. On a CI machine with no sound
card that PCM does not open, so sounddevice lists no output. Pointing ALSA at a configuration
whose default PCM is ``type null`` gives a real, openable output stream whose samples are
discarded (it consumes them as fast as the callback produces them, so tests stay short).

How: ``ALSA_CONFIG_PATH`` is set to the system's ``alsa.conf`` *plus* a small file written to a
temporary folder (alsa-lib reads every file of a colon-separated list; the later one wins), so
the user's ``~/.asoundrc`` and ``/etc/asound.conf`` are neither read nor touched. PortAudio reads
the ALSA configuration when it initialises (on ``import sounddevice``); if sounddevice was
already imported, PortAudio is re-initialised so the new configuration applies. This works as
root or not, on a fresh Debian machine with only ``libportaudio2`` and ``libasound2`` installed.
On a machine without ``/usr/share/alsa/alsa.conf`` (macOS, Windows) nothing is changed and the
tests use the system's default output.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
NULL_PCM = "pcm.!default {\n    type null\n}\n"


def use_null_alsa() -> str | None:
    """Make ALSA's default PCM a null sink for this process. Returns the ALSA_CONFIG_PATH set."""
    if not SYSTEM_ALSA_CONF.is_file():
        return None
    current = os.environ.get("ALSA_CONFIG_PATH", "")
    if current.endswith("companion-null.asoundrc"):
        return current
    folder = Path(tempfile.mkdtemp(prefix="companion-alsa-"))
    conf = folder / "companion-null.asoundrc"
    conf.write_text(NULL_PCM)
    value = f"{SYSTEM_ALSA_CONF}:{conf}"
    os.environ["ALSA_CONFIG_PATH"] = value
    sd = sys.modules.get("sounddevice")
    if sd is not None:  # PortAudio already read the old configuration: start it again
        sd._terminate()
        sd._initialize()
    return value

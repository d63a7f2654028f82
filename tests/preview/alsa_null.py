"""A real PortAudio output with no sound card: ALSA's ``null`` PCM as the default device.

PortAudio (libportaudio2) enumerates ALSA's ``default`` PCM. On a CI machine with no sound
card that PCM does not open, so sounddevice lists no output. Pointing ALSA at a configuration
whose default PCM is ``type null`` gives a real, openable output stream whose samples are
discarded (it consumes them as fast as the callback produces them, so tests stay short).

How: ``ALSA_CONFIG_PATH`` is set to a copy of the system's ``alsa.conf`` without its hooks *plus*
a small file written to a temporary folder (:mod:`tests.alsa_conf`), so the user's
``~/.asoundrc``, ``/etc/asound.conf`` and ``conf.d`` are neither read nor touched. PortAudio reads
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

from tests.alsa_conf import SYSTEM_ALSA_CONF, hermetic_alsa_config

PREFIX = "companion-null-alsa-"


def use_null_alsa() -> str | None:
    """Make ALSA's default PCM a null sink for this process. Returns the ALSA_CONFIG_PATH set."""
    if not SYSTEM_ALSA_CONF.is_file():
        return None
    current = os.environ.get("ALSA_CONFIG_PATH", "")
    if PREFIX in current:  # set up already in this process
        return current
    value = hermetic_alsa_config(Path(tempfile.mkdtemp(prefix=PREFIX)), "type null")
    os.environ["ALSA_CONFIG_PATH"] = value
    sd = sys.modules.get("sounddevice")
    if sd is not None:  # PortAudio already read the old configuration: start it again
        sd._terminate()
        sd._initialize()
    return value

"""PyInstaller runtime hook: let sounddevice find the PortAudio library inside the bundle.

On Linux sounddevice looks PortAudio up with ``ctypes.util.find_library("portaudio")``, which
asks ``ldconfig`` about the *system* libraries and so never sees the copy in the bundle (on
macOS and Windows sounddevice ships its own). This hook answers that one lookup with the
bundled ``libportaudio.so.2`` when there is one; every other lookup is unchanged.
"""

import ctypes.util
import glob
import os
import sys

_system_find_library = ctypes.util.find_library


def _find_library(name):
    if name == "portaudio":
        bundled = sorted(glob.glob(os.path.join(sys._MEIPASS, "libportaudio.so*")))
        if bundled:
            return bundled[0]
    return _system_find_library(name)


if sys.platform.startswith("linux"):
    ctypes.util.find_library = _find_library

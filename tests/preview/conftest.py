"""Preview tests play through a real sounddevice stream on ALSA's null device."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()  # before anything imports sounddevice

SONIC_PI_LOOP = "loop_mika.flac"  # 8.00 s, 120 BPM in its name's analysis


@pytest.fixture()
def sine_loop(tmp_path):
    """A 2-bar loop at 120 BPM (4.0 s, 44.1 kHz stereo): a 440 Hz tone with a click per beat."""
    sr = 44100
    t = np.arange(int(4.0 * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    for beat in range(8):
        i = int(beat * 0.5 * sr)
        y[i : i + 64] += 0.6
    stereo = np.stack([y, y], axis=1).astype(np.float32)
    path = tmp_path / "sine_loop_120.wav"
    sf.write(path, stereo, sr, subtype="FLOAT")
    return path

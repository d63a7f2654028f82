"""Numpy/scipy synthesis voices and drums for ``compose_synth_loops.py``.

Every sound here is computed from oscillators, noise and filters — no samples, no soundfonts:
band-limited (polyBLEP) saw/square/pulse voices through a resonant low-pass with an envelope,
detuned supersaw pads, two-operator FM (e-piano, bell), Karplus-Strong plucks, monophonic bass
lines with glides (808, sine sub, reese, wobble), the amapiano log drum and a drum kit (kick,
snare, clap, hats, rim, toms, shaker, ride). Effects come from pedalboard; sidechain pumping is
a gain curve computed here.

All functions take and return float64 numpy arrays at :data:`SR` Hz; times are in seconds,
frequencies in Hz, pitches as MIDI note numbers.
"""

from __future__ import annotations

import numpy as np
from pedalboard import LadderFilter, Pedalboard
from scipy import signal

SR = 44100


def midi_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


# ---------------------------------------------------------------- oscillators and envelopes


def _blep_saw(phase: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth in [-1, 1] from a phase in cycles and a per-sample increment ``dt``."""
    t = np.mod(phase, 1.0)
    y = 2.0 * t - 1.0
    dt = np.broadcast_to(np.clip(dt, 1e-6, 0.5), t.shape)
    m = t < dt
    x = t[m] / dt[m]
    y[m] -= x + x - x * x - 1.0
    m = t > 1.0 - dt
    x = (t[m] - 1.0) / dt[m]
    y[m] -= x * x + x + x + 1.0
    return y


def osc(wave: str, freq: np.ndarray, phase0: float = 0.0, width: float = 0.5) -> np.ndarray:
    """Oscillator following a frequency curve.

    Args:
        wave: "saw", "square", "pulse" (uses ``width``), "sine" or "triangle".
        freq: instantaneous frequency in Hz, shape (n,).
        phase0: start phase in cycles.
        width: pulse width in (0, 1) for "pulse".

    Returns:
        shape (n,), peak about 1.
    """
    dt = freq / SR
    phase = phase0 + np.cumsum(dt) - dt[0]
    if wave == "sine":
        return np.sin(2 * np.pi * phase)
    if wave == "triangle":
        return 2.0 * np.abs(2.0 * np.mod(phase, 1.0) - 1.0) - 1.0
    saw = _blep_saw(phase, dt)
    if wave == "saw":
        return saw
    w = 0.5 if wave == "square" else width
    return 0.5 * (saw - _blep_saw(phase + w, dt))


def adsr(n: int, gate: int, a: float, d: float, s: float, r: float) -> np.ndarray:
    """ADSR amplitude envelope of ``n`` samples; the gate closes at sample ``gate``; times in s."""
    t = np.arange(n) / SR
    env = np.where(t < a, t / max(a, 1e-4), s + (1 - s) * np.exp(-(t - a) / max(d, 1e-4)))
    gate = min(gate, n - 1)
    at_gate = env[gate]
    rel = at_gate * np.exp(-(t - gate / SR) / max(r / 4.0, 1e-4))
    return np.where(np.arange(n) < gate, env, rel)


def _rbj_lowpass(fc: np.ndarray, q: float) -> np.ndarray:
    """Second-order low-pass sections (RBJ cookbook) for cut-offs ``fc`` (Hz): shape (k, 6)."""
    w0 = 2 * np.pi * np.clip(fc, 20.0, 0.45 * SR) / SR
    cw, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    a0 = 1 + alpha
    sos = np.stack([(1 - cw) / 2, 1 - cw, (1 - cw) / 2, a0, -2 * cw, 1 - alpha], axis=1)
    return sos / a0[:, None]


def lowpass_sweep(
    x: np.ndarray, cutoff: np.ndarray | float, q: float = 0.9, poles: int = 4, block: int = 64
) -> np.ndarray:
    """Resonant low-pass whose cut-off follows a curve (filter envelope, LFO, sweep).

    Args:
        x: signal, shape (n,).
        cutoff: cut-off in Hz, a number or shape (n,).
        q: resonance of each biquad (0.707 = flat).
        poles: 2 or 4 (12 or 24 dB/octave).
        block: samples per coefficient update.
    """
    n = len(x)
    if np.isscalar(cutoff):
        sos = np.repeat(_rbj_lowpass(np.array([cutoff]), q), poles // 2, axis=0)
        return signal.sosfilt(sos, x)
    starts = np.arange(0, n, block)
    rows = _rbj_lowpass(np.asarray(cutoff)[starts], q)
    out = np.empty(n)
    zi = np.zeros((poles // 2, 2))
    for i, st in enumerate(starts):
        sos = np.repeat(rows[i : i + 1], poles // 2, axis=0)
        out[st : st + block], zi = signal.sosfilt(sos, x[st : st + block], zi=zi)
    return out


def band(x: np.ndarray, lo: float, hi: float | None = None, order: int = 2) -> np.ndarray:
    """Butterworth band-pass (``hi`` given) or high-pass (``hi`` None) of noise or a signal."""
    if hi is None:
        sos = signal.butter(order, lo, "highpass", fs=SR, output="sos")
    else:
        sos = signal.butter(order, [lo, min(hi, 0.45 * SR)], "bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _env_exp(n: int, tau: float, attack: float = 0.001) -> np.ndarray:
    t = np.arange(n) / SR
    return np.minimum(1.0, t / attack) * np.exp(-t / tau)


# ---------------------------------------------------------------- polyphonic voices


def subtractive(
    freq: float,
    dur: float,
    rng: np.random.Generator,
    wave: str = "saw",
    width: float = 0.3,
    cutoff: float = 900.0,
    env_amt: float = 2500.0,
    f_decay: float = 0.15,
    q: float = 1.0,
    adsr_s: tuple[float, float, float, float] = (0.004, 0.2, 0.6, 0.1),
    detune_cents: float = 0.0,
) -> np.ndarray:
    """Subtractive note: one or two oscillators → 24 dB low-pass with decaying envelope → ADSR.

    Args:
        freq: pitch in Hz. dur: gate length in s. cutoff: filter floor in Hz; env_amt: the
        envelope's extra Hz at the attack, decaying with time constant ``f_decay`` s.
        detune_cents: when non-zero a second oscillator this far above.
    """
    a, d, s, r = adsr_s
    n = int((dur + r) * SR) + 1
    f = np.full(n, freq)
    y = osc(wave, f, rng.random(), width)
    if detune_cents:
        y = 0.5 * (y + osc(wave, f * 2 ** (detune_cents / 1200), rng.random(), width))
    t = np.arange(n) / SR
    fc = np.minimum(cutoff + env_amt * np.exp(-t / f_decay), 16000.0)
    return lowpass_sweep(y, fc, q) * adsr(n, int(dur * SR), a, d, s, r)


def supersaw(
    freqs: list[float],
    dur: float,
    rng: np.random.Generator,
    voices: int = 5,
    spread_cents: float = 18.0,
    cutoff: float = 3000.0,
    attack: float = 0.3,
    release: float = 0.6,
) -> np.ndarray:
    """Detuned supersaw chord, stereo (2, n): voices alternate left/right; slow attack, low-pass."""
    n = int((dur + release) * SR) + 1
    out = np.zeros((2, n))
    offsets = np.linspace(-spread_cents, spread_cents, voices)
    for f0 in freqs:
        for k, c in enumerate(offsets):
            out[k % 2] += osc("saw", np.full(n, f0 * 2 ** (c / 1200)), rng.random())
    env = adsr(n, int(dur * SR), attack, 0.5, 0.85, release)
    for ch in range(2):
        out[ch] = lowpass_sweep(out[ch], cutoff, 0.8) * env
    return out / (voices * max(1, len(freqs)) ** 0.5)


def fm(
    freq: float,
    dur: float,
    ratio: float = 1.0,
    index: float = 2.0,
    index_decay: float = 0.4,
    amp_decay: float = 1.2,
    release: float = 0.15,
) -> np.ndarray:
    """Two-operator FM note (e-piano with ratio 1, bells with ratio 2–4): decaying index and level."""
    n = int((dur + release) * SR) + 1
    t = np.arange(n) / SR
    idx = index * np.exp(-t / index_decay) + 0.15 * index
    y = np.sin(2 * np.pi * freq * t + idx * np.sin(2 * np.pi * ratio * freq * 1.001 * t))
    env = _env_exp(n, amp_decay, 0.002)
    gate = int(dur * SR)
    env[gate:] *= np.exp(-np.arange(n - gate) / (release * SR / 4))
    return y * env


def pluck(freq: float, dur: float, rng: np.random.Generator, brightness: float = 0.5, t60: float = 1.2) -> np.ndarray:
    """Karplus-Strong plucked string, tuned exactly by resampling the integer-delay loop.

    Args:
        freq: pitch in Hz. dur: gate in s (a 60 ms release after it). brightness: 0–1, the
        excitation's low-pass. t60: ring time in s to −60 dB.
    """
    period = max(8, int(SR / freq))  # loop delay N + 0.5 (the averaging filter)
    nominal = SR / (period + 0.5)
    n_out = int((dur + 0.06) * SR) + 1
    n = int(n_out * nominal / freq) + 2 * period + 2
    g = 10 ** (-3.0 / (t60 * nominal))
    exc = rng.uniform(-1, 1, 3 * period)
    sos = signal.butter(2, min(0.45 * SR, freq * (2.5 + 12 * brightness)), "lowpass", fs=SR, output="sos")
    exc = signal.sosfilt(sos, exc)[-period:]
    y = np.zeros(n + 1)
    y[1 : period + 1] = exc - exc.mean()
    for st in range(period + 1, n + 1, period):
        en = min(st + period, n + 1)
        y[st:en] = 0.5 * g * (y[st - period : en - period] + y[st - period - 1 : en - period - 1])
    y = y[1:]
    pos = np.arange(n_out) * freq / nominal
    out = np.interp(pos, np.arange(n), y)
    gate = int(dur * SR)
    out[gate:] *= np.exp(-np.arange(n_out - gate) / (0.015 * SR))
    return out / (np.abs(exc).max() + 1e-9)


def log_drum(freq: float, dur: float, decay: float = 0.25, drive: float = 2.0) -> np.ndarray:
    """Amapiano log drum: sine with a fast downward pitch bend, a second harmonic, saturation."""
    n = int((min(dur, 0.9) + 0.08) * SR) + 1
    t = np.arange(n) / SR
    f = freq * (1 + 0.5 * np.exp(-t / 0.012))
    ph = 2 * np.pi * np.cumsum(f) / SR
    y = np.sin(ph) + 0.35 * np.sin(2 * ph) * np.exp(-t / 0.05)
    y = np.tanh(drive * y * _env_exp(n, decay, 0.001)) / np.tanh(drive)
    gate = int(min(dur, 0.9) * SR)
    y[gate:] *= np.exp(-np.arange(n - gate) / (0.01 * SR))
    return y


# ---------------------------------------------------------------- monophonic bass lines


def mono_line(
    notes: list[tuple[int, int, float, float, bool]], n: int, glide_s: float = 0.06
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequency, gate and retrigger-time curves for a monophonic line.

    Args:
        notes: (start sample, length in samples, MIDI pitch, velocity 0–1, glide into it),
            sorted by start; a note ends where the next begins.
        n: length of the curves in samples.
        glide_s: portamento time in s for notes marked glide (log-frequency, linear in time).

    Returns:
        freq (Hz), gate level (velocity while held, 0 between notes) and ``since``: seconds
        since the last retriggered (non-glide) attack, for per-note envelopes.
    """
    freq = np.full(n, midi_hz(notes[0][2]) if notes else 55.0)
    gate = np.zeros(n)
    since = np.full(n, 10.0)
    prev = None
    for i, (st, ln, m, v, gl) in enumerate(notes):
        st = max(0, min(st, n - 1))
        nxt = min(n, max(notes[i + 1][0], st + 1)) if i + 1 < len(notes) else n
        en = min(nxt, st + ln)
        seg = np.full(nxt - st, float(m))
        if gl and prev is not None:
            k = min(int(glide_s * SR), nxt - st)
            seg[:k] = np.linspace(prev, m, k)
        freq[st:nxt] = midi_hz(seg)
        if i + 1 == len(notes):
            freq[nxt:] = freq[nxt - 1]
        gate[st:en] = v
        if not (gl and prev is not None):
            since[st:nxt] = np.arange(nxt - st) / SR
        else:
            since[st:nxt] = since[st - 1] + np.arange(1, nxt - st + 1) / SR if st > 0 else np.arange(nxt - st) / SR
        prev = m
    return freq, gate, since


def _smooth_gate(gate: np.ndarray, ms: float = 4.0) -> np.ndarray:
    k = max(1, int(ms * SR / 1000))
    return signal.lfilter([1.0 / k], [1, -(1 - 1.0 / k)], gate)


def bass_808(
    notes: list, n: int, decay: float = 0.9, drive: float = 2.5, punch: float = 0.6, glide_s: float = 0.08
) -> np.ndarray:
    """808 bass: sine with a pitch punch on each attack, long decay, glides and tanh distortion."""
    freq, gate, since = mono_line(notes, n, glide_s)
    f = freq * (1 + punch * np.exp(-since / 0.012))
    y = np.sin(2 * np.pi * np.cumsum(f) / SR)
    env = _smooth_gate(gate, 3) * np.exp(-since / decay)
    return np.tanh(drive * y * env) / np.tanh(drive)


def sub_bass(
    notes: list, n: int, rng: np.random.Generator, wave: str = "sine", cutoff: float = 400.0, drive: float = 1.2
) -> np.ndarray:
    """Sine or filtered triangle/square sub bass following the line, light saturation."""
    freq, gate, since = mono_line(notes, n, 0.04)
    y = osc(wave, freq, rng.random())
    if wave != "sine":
        y = lowpass_sweep(y, cutoff, 0.8, 2)
    y = y + 0.25 * np.sin(
        4 * np.pi * np.cumsum(freq) / SR
    )  # second harmonic: the pitch stays audible on small speakers
    env = _smooth_gate(gate, 4) * (0.8 + 0.2 * np.exp(-since / 0.15))
    return np.tanh(drive * y * env) / np.tanh(drive)


def reese(
    notes: list,
    n: int,
    rng: np.random.Generator,
    detune_cents: float = 14.0,
    cutoff: float = 500.0,
    lfo_hz: float = 0.25,
    wobble_hz: float = 0.0,
    depth: float = 0.0,
) -> np.ndarray:
    """Reese bass (three detuned saws, slow filter drift); with ``wobble_hz`` a dubstep wobble.

    Args:
        cutoff: filter centre in Hz. lfo_hz: slow drift rate. wobble_hz/depth: tempo-synced
        filter LFO rate (Hz) and depth (octaves).
    """
    freq, gate, _ = mono_line(notes, n, 0.05)
    y = sum(osc("saw", freq * 2 ** (c / 1200), rng.random()) for c in (-detune_cents, 0.0, detune_cents)) / 3
    y = y + 0.5 * osc("sine", freq / 2 if wobble_hz else freq, 0.0)
    t = np.arange(n) / SR
    fc = cutoff * 2 ** (0.6 * np.sin(2 * np.pi * lfo_hz * t))
    if wobble_hz:
        fc = cutoff * 2 ** (depth * (0.5 - 0.5 * np.cos(2 * np.pi * wobble_hz * t)))
    y = lowpass_sweep(y, fc, 1.6 if wobble_hz else 1.0)
    return np.tanh(1.5 * y * _smooth_gate(gate, 5))


# ---------------------------------------------------------------- drums


def kick(
    rng: np.random.Generator,
    f_end: float = 50.0,
    f_start: float = 180.0,
    sweep: float = 0.03,
    decay: float = 0.35,
    click: float = 0.4,
    drive: float = 1.5,
) -> np.ndarray:
    """Kick: sine swept from ``f_start`` to ``f_end`` Hz (time constant ``sweep`` s) plus a click."""
    n = int((decay * 4 + 0.02) * SR)
    t = np.arange(n) / SR
    f = f_end + (f_start - f_end) * np.exp(-t / sweep)
    body = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env_exp(n, decay, 0.0008)
    clk = band(rng.standard_normal(n), 1500, 9000) * _env_exp(n, 0.003)
    return np.tanh(drive * (body + click * clk)) / np.tanh(drive)


def snare(
    rng: np.random.Generator, tone_hz: float = 190.0, tone: float = 0.5, decay: float = 0.16, lo: float = 1200.0
) -> np.ndarray:
    """Snare: short two-mode tone burst plus band-passed noise."""
    n = int((decay * 5) * SR)
    t = np.arange(n) / SR
    body = (np.sin(2 * np.pi * tone_hz * t) + 0.4 * np.sin(2 * np.pi * tone_hz * 1.6 * t)) * _env_exp(n, 0.045)
    noise = band(rng.standard_normal(n), lo, 9000) * _env_exp(n, decay)
    return tone * body + noise / (np.abs(noise).max() + 1e-9)


def clap(rng: np.random.Generator, decay: float = 0.12, centre: float = 1400.0) -> np.ndarray:
    """Clap: three quick noise bursts then a decaying tail, band-passed around ``centre`` Hz."""
    n = int((decay * 5 + 0.04) * SR)
    t = np.arange(n) / SR
    env = np.zeros(n)
    for k, off in enumerate((0.0, 0.009, 0.019)):
        m = t >= off
        env[m] += (0.8 + 0.1 * k) * np.exp(-(t[m] - off) / 0.005)
    m = t >= 0.027
    env[m] += np.exp(-(t[m] - 0.027) / decay)
    y = band(rng.standard_normal(n), centre * 0.6, centre * 2.2) * env
    return y / (np.abs(y).max() + 1e-9)


def hat(rng: np.random.Generator, decay: float = 0.04, cutoff: float = 7000.0, metal: float = 0.3) -> np.ndarray:
    """Hi-hat (closed when ``decay`` < 0.08 s, open above): high-passed noise plus square cluster."""
    n = int(decay * 5 * SR) + 64
    t = np.arange(n) / SR
    y = rng.standard_normal(n)
    if metal:
        ph = rng.random(6)
        sq = sum(
            np.sign(np.sin(2 * np.pi * (f * t + p))) for f, p in zip((205.3, 304.4, 369.6, 522.7, 540.0, 800.0), ph)
        )
        y = y + metal * sq
    y = band(y, cutoff, None, 4) * _env_exp(n, decay, 0.0005)
    return y / (np.abs(y).max() + 1e-9)


def rim(rng: np.random.Generator, pitch: float = 1700.0) -> np.ndarray:
    """Rim shot / side stick: two short sines and a noise click."""
    n = int(0.08 * SR)
    t = np.arange(n) / SR
    y = (np.sin(2 * np.pi * pitch * t) + 0.6 * np.sin(2 * np.pi * pitch * 0.29 * t)) * _env_exp(n, 0.012)
    y += 0.5 * band(rng.standard_normal(n), 2000, 8000) * _env_exp(n, 0.004)
    return y / (np.abs(y).max() + 1e-9)


def tom(rng: np.random.Generator, pitch: float = 120.0, decay: float = 0.22) -> np.ndarray:
    """Tom: sine swept down a few semitones, with a little noise at the attack."""
    n = int(decay * 5 * SR)
    t = np.arange(n) / SR
    f = pitch * (1 + 0.35 * np.exp(-t / 0.04))
    y = np.sin(2 * np.pi * np.cumsum(f) / SR) * _env_exp(n, decay, 0.001)
    return y + 0.15 * band(rng.standard_normal(n), 800, 6000) * _env_exp(n, 0.01)


def shaker(rng: np.random.Generator, decay: float = 0.05, centre: float = 6000.0) -> np.ndarray:
    """Shaker: band-passed noise with a soft 8 ms attack."""
    n = int((decay * 5 + 0.01) * SR)
    y = band(rng.standard_normal(n), centre * 0.6, centre * 1.8) * _env_exp(n, decay, 0.008)
    return y / (np.abs(y).max() + 1e-9)


def ride(rng: np.random.Generator, decay: float = 0.5) -> np.ndarray:
    """Ride: metallic square cluster and noise, band-passed 3–12 kHz, long decay."""
    return 0.8 * hat(rng, decay, 3500.0, 0.8)


# ---------------------------------------------------------------- mixing helpers


def pan(x: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of a mono signal, ``position`` in [-1, 1]; returns shape (2, n)."""
    a = (position + 1) * np.pi / 4
    return np.stack([np.cos(a) * x, np.sin(a) * x])


def place(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Add ``x`` (mono or (2, n)) into ``buf`` (same channel layout) at sample ``start``, clipped."""
    if start >= buf.shape[-1]:
        return
    start = max(0, start)
    k = min(x.shape[-1], buf.shape[-1] - start)
    buf[..., start : start + k] += gain * x[..., :k]


def sidechain_gain(n: int, kick_samples: list[int], depth: float, recover_s: float) -> np.ndarray:
    """Sidechain pumping curve: the gain ducks to ``1 - depth`` at each kick and recovers (cosine)."""
    g = np.ones(n)
    k = max(1, int(recover_s * SR))
    curve = 1 - depth * 0.5 * (1 + np.cos(np.pi * np.arange(k) / k))
    for s in sorted(kick_samples):
        if 0 <= s < n:
            m = min(k, n - s)
            g[s : s + m] = np.minimum(g[s : s + m], curve[:m])
    return g


def ladder_sweep(
    x: np.ndarray, start_hz: float, end_hz: float, resonance: float = 0.3, chunk: int = 1024
) -> np.ndarray:
    """Filter sweep with pedalboard's LadderFilter (24 dB low-pass), cut-off moved exponentially.

    Args:
        x: shape (2, n) float. start_hz/end_hz: cut-off at the start and end of the signal.
    """
    lf = LadderFilter(mode=LadderFilter.Mode.LPF24, cutoff_hz=start_hz, resonance=resonance)
    board = Pedalboard([lf])
    n = x.shape[-1]
    out = np.empty_like(x, dtype=np.float32)
    for st in range(0, n, chunk):
        lf.cutoff_hz = float(start_hz * (end_hz / start_hz) ** (st / max(1, n)))
        out[:, st : st + chunk] = board.process(x[:, st : st + chunk].astype(np.float32), SR, reset=(st == 0))
    return out.astype(np.float64)

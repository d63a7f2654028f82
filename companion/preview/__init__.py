"""Audition: render samples in the session's tempo and key, cache the renders, play them.

Core code (no Qt): :mod:`~companion.preview.plan` (what to do to a sample),
:mod:`~companion.preview.render` (Rubber Band via pedalboard, soxr), :mod:`~companion.preview.cache`
(LRU of renders), :mod:`~companion.preview.player` (sounddevice, fades, volume, device),
:mod:`~companion.preview.audition` (the service the UI calls), :mod:`~companion.preview.waveform`
(thumbnails).
"""

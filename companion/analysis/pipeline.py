"""Per-file analysis: names, embedded tags and audio estimates, merged into an Analysis.

Precedence for every field, strongest first: embedded tag, file name (then folder names),
estimate from the audio. The producer's own corrections (source ``"user"``) are applied by the
catalog on top of this and never reach this module.

The scanner calls :func:`analyse_file` in worker processes; it decodes once, and the caller
may reuse the returned :class:`DecodedAudio` (e.g. for the fingerprint embedding).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np

from companion.analysis.audio import DecodedAudio, decode
from companion.analysis.descriptors import describe
from companion.analysis.features import ONSET_EDGE_FRAMES, Features, compute_features, inner_onset
from companion.analysis.fitted import load_model
from companion.analysis.instrument_model import MIN_DURATION_S, instrument_proba
from companion.analysis.instruments import DRUM_HITS, UNPITCHED, Instrument
from companion.analysis.key_detection import estimate_key
from companion.analysis.kind import (
    HARMONIC_CHANGE,
    MIN_LOOP_S,
    SUSTAIN_TAIL_DB,
    KindEstimate,
    estimate_kind,
    harmonic_change,
    onset_periodicity,
    strong_onsets,
)
from companion.analysis.loop_span import last_onset, loop_tempo, sound_end
from companion.analysis.mel_cnn import mel_patch
from companion.analysis.metadata import EmbeddedTags, read_tags
from companion.analysis.names import NameHints, parse_name
from companion.analysis.result import Analysis, Kind, Source
from companion.analysis.tempo import loop_length_candidates
from companion.music.keys import Key

#: Version of the analysis results: bump when an estimate changes, so that catalogs can redo
#: analyses made by older versions.
ANALYSIS_VERSION = "17"
#: Confidence given to values read from tags and names.
TAG_CONFIDENCE = 0.95
NAME_CONFIDENCE = 0.9
#: Confidence of a bare number in a name ("Loop_90") that the loop length confirms.
BARE_NAME_CONFIDENCE = 0.75
#: Relative tolerance when checking a bare-number tempo against the loop length.
BARE_BPM_TOLERANCE = 0.02
#: Probability that a one-shot is a drum hit (pooled instrument models, summed over the drum classes)
#: from which it gets no key.
DRUM_HIT_P = 0.5
#: Probability of "loop" from the kind model above which the audio outranks a hit word in the
#: name (``kick``, ``hat``): a file of several hits named for its drum is a pattern.
LOOP_OVER_NAME = 0.9
#: A loop with fewer onsets than this after its first 15 % (onset peaks above 30 % of the
#: strongest, :func:`companion.analysis.kind.strong_onsets`) has no rhythmic pulse: a drone, a
#: held pad, a texture. It gets ``bpm`` None with ``bpm_source`` "no-pulse" unless a tag or its
#: name gives a tempo.
MIN_PULSE_ONSETS = 2
#: … and only if the strongest onset stands this many times above the median onset strength.
#: Loops of the hard set, seed 1 (``make_loops.py``): 3.8 for the flattest arpeggio, ≥ 7.4 for
#: every groove; held pads 1.8–4.
PULSE_PEAK_RATIO = 5.0
#: … or if its onset envelope repeats this strongly (:func:`~companion.analysis.kind.onset_periodicity`):
#: a groove of dense hi-hats, where no onset stands out. Chosen just above every held pad of the
#: hard sets, seeds 1–8, the easy set, seed 1, and the csound render of hard seed 1
#: (``make_loops.py``; at most 0.45).
PULSE_PERIODICITY = 0.5


def analyse_file(path: Path, library_root: Path | None = None) -> tuple[Analysis, DecodedAudio]:
    """Decode and analyse one file.

    Args:
        path: the audio file.
        library_root: the library folder the file was found under (folders below it give tags).

    Returns:
        ``(analysis, decoded audio)``.

    Raises:
        AudioDecodeError: the file cannot be decoded (see :func:`decode`).
    """
    audio = decode(Path(path))
    return analyse(Path(path), audio, library_root=library_root), audio


def analyse(path: Path, audio: DecodedAudio, library_root: Path | None = None) -> Analysis:
    """Analyse decoded audio, using the file's name, folders and embedded tags as hints.

    Args:
        path: the file the audio came from (its name, folders and tags are read).
        audio: the decoded audio.
        library_root: the library folder the file was found under, if known.

    Returns:
        The :class:`Analysis`; ``*_source`` fields say where each value came from.
    """
    path = Path(path)
    hints = parse_name(path, library_root)
    tags = read_tags(path)
    # The sound, without the silence after it: a loop exported with padding read whole decays
    # into silence like a one-shot; the loop's own length is weighed by the tempo readings.
    sound = audio.y[: sound_end(audio.y)]
    sound_s = audio.duration_s if sound.size == audio.y.size else sound.size / audio.sr
    feat = compute_features(sound, audio.sr)
    est = estimate_kind(feat, sound_s)
    desc = describe(sound, audio.sr, feat, sound_s)
    change = harmonic_change(feat)
    _fit_kind(est, desc, sound_s, change)

    kind, kind_source = _kind(hints, tags, est)
    pulse = has_pulse(feat, change)
    if kind_source == "estimate" and kind == "loop" and not pulse:
        kind, est.kind_confidence = "one-shot", 0.6  # a texture or drone with no pulse is no loop
    result = Analysis(
        duration_s=round(audio.duration_s, 4),
        sample_rate=audio.native_sr,
        channels=audio.channels,
        kind=kind,
        kind_source=kind_source,
        peak_dbfs=round(audio.peak_dbfs, 2),
        loudness_lufs=None if audio.loudness_lufs is None else round(audio.loudness_lufs, 2),
        tags=list(dict.fromkeys([*hints.tags, *tags.words])),
    )
    # The networks were fitted on mel patches of whole files, silence and all.
    drum_p = _set_instrument(result, hints, desc, mel_patch(audio.y, audio.sr))
    if kind == "loop":
        _set_tempo(result, hints, tags, feat, sound.size, audio, pulse)
    _set_key(result, hints, tags, feat, est, drum_p, desc)
    return result


def has_pulse(feat: Features, change: float) -> bool:
    """Whether the audio holds a rhythmic pulse: at least :data:`MIN_PULSE_ONSETS` onsets after
    its first 15 % in an envelope where onsets stand out of the steady flux
    (:data:`PULSE_PEAK_RATIO`) or repeat (:data:`PULSE_PERIODICITY`), or a harmonic rhythm (a
    chord change, ``change`` ≥ :data:`~companion.analysis.kind.HARMONIC_CHANGE`, as in a pad
    loop changing chord each bar).

    The envelope is read without its edge frames
    (:func:`~companion.analysis.features.inner_onset`): a loop exported with a reverb tail
    otherwise has one onset, its wrapped first frame, that dwarfs its beats. Its periodicity is
    read up to the last strong onset (:func:`~companion.analysis.loop_span.last_onset`): a
    ringing tail after a drone is a step in the envelope, and a step correlates with itself at
    every short lag."""
    if change >= HARMONIC_CHANGE:
        return True
    env = inner_onset(feat.onset)  # the wrap of a ringing tail onto the start is no onset
    if env.size == 0:
        return False
    stands_out = env.max() >= PULSE_PEAK_RATIO * np.median(env)
    last = last_onset(feat.onset)
    body = env if last is None else env[: last + 1 - ONSET_EDGE_FRAMES]  # not the ringing tail
    if not stands_out and onset_periodicity(body, feat.fps) < PULSE_PERIODICITY:
        return False  # no onset stands out of the steady flux of a held sound, nor does it repeat
    onsets = strong_onsets(env, feat.fps, rel=0.3) + ONSET_EDGE_FRAMES
    return int(np.sum(onsets > 0.15 * feat.onset.size)) >= MIN_PULSE_ONSETS


def _fit_kind(est: KindEstimate, desc: np.ndarray, duration_s: float, change: float) -> None:
    """Replace the rule-based loop/one-shot call with the fitted kind model's (see
    ``benchmarks/datasets/fit_descriptor_models.py``). Files shorter than one bar stay
    one-shots; sustained material that changes chord is a loop (a pad loop), whatever the
    model says, since held notes and chords cut at a bar line never change."""
    if duration_s < MIN_LOOP_S:
        return
    kind, p = load_model("kind").predict(desc)
    if kind == "one-shot" and est.tail_db > SUSTAIN_TAIL_DB and change >= HARMONIC_CHANGE:
        kind, p = "loop", max(1.0 - p, 0.6)
    est.kind, est.kind_confidence = cast(Kind, kind), round(p, 3)  # a class of the shipped model


def _set_instrument(result: Analysis, hints: NameHints, desc: np.ndarray, patch: np.ndarray) -> float:
    """Instrument from the names, else from the audio when the fitted models are confident
    enough (pooled, :mod:`companion.analysis.instrument_model`; the threshold measured on
    held-out source families), the sound lasts at least
    :data:`~companion.analysis.instrument_model.MIN_DURATION_S` and its name does not call it a
    single-cycle waveform; else None.

    Returns:
        The audio model's probability that the sample is a single drum or percussion hit
        (summed over :data:`~companion.analysis.instruments.DRUM_HITS`), in [0, 1].
    """
    classes, proba, min_confidence = instrument_proba(desc, patch)
    drum_p = float(sum(q for c, q in zip(classes, proba) if c in DRUM_HITS))
    if hints.instrument is not None:
        result.instrument, result.instrument_source, result.instrument_confidence = (
            hints.instrument,
            "name",
            NAME_CONFIDENCE,
        )
        return drum_p
    if result.duration_s < MIN_DURATION_S or hints.waveform:
        return drum_p  # a click or an oscillator's cycle: no instrument to name
    best = int(np.argmax(proba))
    instrument, p = classes[best], float(proba[best])
    if result.kind == "loop" and instrument in DRUM_HITS:
        instrument = "drums"  # a pattern of one drum is a drum loop
    elif result.kind == "one-shot" and instrument == "drums":
        return drum_p  # the two models disagree: say nothing
    if p >= min_confidence:
        result.instrument, result.instrument_source, result.instrument_confidence = (
            cast(Instrument, instrument),
            "estimate",
            round(p, 3),
        )  # a class of the shipped model
    return drum_p


def _kind(hints: NameHints, tags: EmbeddedTags, est: KindEstimate) -> tuple[Kind, Source]:
    """Loop or one-shot: ACID flags, then the file's name, a tempo in the name, folder names,
    and last the audio."""
    if tags.kind is not None:
        return tags.kind, "tag"
    if hints.kind == "one-shot" and est.kind == "loop" and est.kind_confidence >= LOOP_OVER_NAME and est.n_onsets >= 2:
        return "loop", "estimate"  # "rave_kick01" in beats/: a kick pattern, not a kick
    if hints.kind is not None and hints.kind_from_stem:
        return hints.kind, "name"
    if hints.bpm is not None or tags.bpm is not None:
        return "loop", "tag" if tags.bpm is not None else "name"
    if hints.kind is not None:
        return hints.kind, "name"
    return est.kind, "estimate"


def _set_tempo(
    result: Analysis,
    hints: NameHints,
    tags: EmbeddedTags,
    feat: Features,
    feat_end: int,
    audio: DecodedAudio,
    pulse: bool,
) -> None:
    if tags.bpm is not None:
        result.bpm, result.bpm_source, result.bpm_confidence = round(tags.bpm, 2), "tag", TAG_CONFIDENCE
        return
    if hints.bpm is not None:
        result.bpm, result.bpm_source, result.bpm_confidence = round(hints.bpm, 2), "name", NAME_CONFIDENCE
        return
    lengths = (audio.duration_s, feat_end / audio.sr)  # the whole file, the sound (see loop_tempo)
    cands = [bpm for length in lengths for bpm, _ in loop_length_candidates(length)]
    for bare in hints.bare_bpm_candidates:
        if any(abs(bare / c - 1.0) <= BARE_BPM_TOLERANCE for c in cands):
            result.bpm, result.bpm_source, result.bpm_confidence = bare, "name", BARE_NAME_CONFIDENCE
            return
    if not pulse:
        result.bpm, result.bpm_source, result.bpm_confidence = None, "no-pulse", None
        return
    tempo = loop_tempo(
        audio.y,
        audio.sr,
        audio.duration_s,
        feat,
        feat_end,
        fast_genre=hints.fast_genre,
        half_time=hints.half_time,
        common_time=hints.common_time,
    )
    result.bpm, result.bpm_source, result.bpm_confidence = tempo.bpm, "estimate", round(tempo.confidence, 3)
    result.beats_per_bar = tempo.beats_per_bar


def pitched_loop_p(desc: np.ndarray) -> float:
    """Probability that a loop holds pitched material (a key to find) rather than drums alone,
    from the fitted loop model (``benchmarks/datasets/fit_pitched_model.py``: a logistic
    regression over the descriptors, its threshold ``min_confidence`` chosen leaving one loop
    generator out).

    Args:
        desc: (N_DESCRIPTORS,) float32 descriptor vector of the loop (:func:`describe`).

    Returns:
        P(pitched) in [0, 1].
    """
    model = load_model("pitched")
    return float(model.proba(desc)[model.classes.index("pitched")])


def _set_key(
    result: Analysis,
    hints: NameHints,
    tags: EmbeddedTags,
    feat: Features,
    est: KindEstimate,
    drum_p: float,
    desc: np.ndarray,
) -> None:
    named: tuple[Key, Source, float] | None = None
    if tags.key is not None:
        named = (tags.key, "tag", TAG_CONFIDENCE)
    elif hints.key is not None:
        named = (hints.key, "name", NAME_CONFIDENCE)
    if named is not None:
        key, source, conf = named
        result.pitched = True
        result.key_pc, result.mode, result.key_source, result.key_confidence = key.pitch_class, key.mode, source, conf
        return
    pitched = est.pitched and not hints.unpitched and result.instrument not in DRUM_HITS
    if result.kind == "one-shot" and drum_p >= DRUM_HIT_P:
        pitched = False  # most likely a drum hit, whatever its partials: no key
    named_pitched = hints.instrument is not None and hints.instrument not in UNPITCHED and hints.instrument != "fx"
    if result.kind == "loop" and pitched and not named_pitched:
        # a drum loop whose toms or congas ring in narrow partials gets no key; a loop its name
        # calls a bass or a synth line keeps one
        pitched = pitched_loop_p(desc) >= load_model("pitched").min_confidence
    if tags.root_pc is not None:
        pitched = True
    result.pitched = pitched
    if not pitched:
        return
    key_est = estimate_key(feat, result.bpm)
    if key_est is None:
        result.pitched = False
        return
    if tags.root_pc is not None:
        major, minor = key_est.scores[tags.root_pc], key_est.scores[12 + tags.root_pc]
        result.key_pc, result.mode = tags.root_pc, "major" if major >= minor else "minor"
        result.key_source, result.key_confidence = "tag", 0.7
        return
    confidence = key_est.confidence * est.pitched_confidence
    if result.kind == "one-shot":
        confidence *= 0.5  # a single note or chord says little about a key
    result.key_pc, result.mode = key_est.key.pitch_class, key_est.key.mode
    result.key_source, result.key_confidence = "estimate", round(confidence, 3)

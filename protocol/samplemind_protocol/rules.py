"""The shared fusion rules document (docs/architecture.md §3), typed and validated.

Every weight, tolerance and the MMR λ used by the desktop's ranker come from a versioned JSON
document, which the hub publishes and the desktop pulls and caches. Both sides validate it with
:func:`parse_rules` here, so the hub never publishes what a desktop refuses. This package ships
format version 1 as ``samplemind_protocol/rules_v1.json`` and format version 2 as
``rules_v2.json`` (the default): the desktop ranks with it until it pulls one, and the hub seeds
its first version from it. Both formats stay valid: a v1 document ranks exactly as it always did.

Document layout (all fields required; see ``rules_v1.json`` for the defaults)::

    version, name, description
    filters.tempo.tolerance_bpm      loops must be within ± this many BPM of the session (5)
    filters.tempo.tempo_multiples    tempo factors that count as a match (0.5, 1, 2)
    filters.key.allow_relative       the relative major/minor is compatible (true)
    filters.key.camelot_steps        steps around the Camelot wheel that stay compatible (1)
    filters.duplicates.cosine_threshold   near-duplicate vectors (0.98)
    score.similarity_weight          weight of cosine(sample, target) (1.0)
    score.tempo.boost / within_bpm   +0.15 when |ΔBPM| ≤ 4 after tempo folding
    score.key.boost                  +0.10 when key and mode match exactly
    score.freshness.weight / tau_days     w_f · exp(−age_days / τ), 0.05 and 14 days
    score.tags.boost_each / max_total     +0.05 per mood/genre tag match, at most +0.10
    target.max_accepted              latest accepted samples that build the target (5)
    target.accepted_decay            weight of the i-th newest accepted sample = decay**i (0.7)
    target.prompt_weight             total weight of the text prompts, shared equally (1.0)
    mmr.lambda                       MMR trade-off relevance vs. diversity (0.7)
    mmr.pool_size                    best-scored candidates that MMR re-ranks (50)

Format version 2 adds, and requires (a v1 document must not carry them)::

    score.instrument.same_boost      "more like this": + this for a candidate of the same
                                     instrument as the latest accepted sample (suggest) or
                                     the query sample (similar) (0.10)
    cold_start.instrument_boost      instrument → boost at a cold start (nothing accepted, no
                                     similarity target): what a producer reaches for first —
                                     drums (a drum loop), kick, snare, hihat, bass, keys, pad
    cold_start.repeat_penalty        at a cold start, subtracted from a candidate's score once
                                     per sample of its instrument already in the list (0.12)
    cold_start.unknown_repeat_penalty     the same for samples of unknown instrument (0.12)
    cold_start.pool_size             best-scored candidates the cold-start spread picks from
    cold_start.min_duration_s        at a cold start, files shorter than this (s) are not
                                     shown: single-cycle oscillator shapes of a few ms (0.02;
                                     optional, default 0.02)
    cold_start.min_peak_dbfs         at a cold start, files whose sample peak is below this
                                     (dBFS) are not shown: silent or near-silent files (−50;
                                     optional, default −50)
    cold_start.exclude_tags          at a cold start, files with one of these folder/name/
                                     metadata tags are not shown: single-cycle waveforms and
                                     LFO shapes for synth oscillators, not samples to reach
                                     for first (optional, default below)
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from samplemind_protocol.errors import RulesError
from samplemind_protocol.instruments import INSTRUMENTS

SUPPORTED_VERSIONS: frozenset[int] = frozenset({1, 2})
DEFAULT_RULES_RESOURCE = "rules_v2.json"
#: The package holding the shipped documents.
RULES_PACKAGE = "samplemind_protocol"
#: The packaged document of each format version.
PACKAGED_RULES: dict[int, str] = {1: "rules_v1.json", 2: "rules_v2.json"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TempoFilter(_Strict):
    """Tempo hard filter: applies to loops with a known BPM."""

    tolerance_bpm: float = Field(ge=0.0, le=50.0)
    tempo_multiples: tuple[float, ...] = Field(min_length=1)

    @field_validator("tempo_multiples")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(m <= 0 for m in value):
            raise ValueError("tempo multiples must be positive, e.g. [0.5, 1, 2]")
        return value


class KeyFilter(_Strict):
    """Key hard filter on the Camelot wheel: applies to pitched samples with a known key."""

    allow_relative: bool
    camelot_steps: int = Field(ge=0, le=6)


class DuplicateFilter(_Strict):
    """Near-duplicate threshold on the cosine of two vectors of the same space."""

    cosine_threshold: float = Field(gt=0.0, le=1.0)


class Filters(_Strict):
    tempo: TempoFilter
    key: KeyFilter
    duplicates: DuplicateFilter


class TempoScore(_Strict):
    boost: float = Field(ge=0.0, le=1.0)
    within_bpm: float = Field(ge=0.0, le=50.0)


class KeyScore(_Strict):
    boost: float = Field(ge=0.0, le=1.0)


class FreshnessScore(_Strict):
    weight: float = Field(ge=0.0, le=1.0)
    tau_days: float = Field(gt=0.0)


class TagScore(_Strict):
    boost_each: float = Field(ge=0.0, le=1.0)
    max_total: float = Field(ge=0.0, le=1.0)


class InstrumentScore(_Strict):
    """Format 2: boost for candidates of the query's instrument ("more like this")."""

    same_boost: float = Field(ge=0.0, le=1.0)


class Score(_Strict):
    similarity_weight: float = Field(ge=0.0, le=10.0)
    tempo: TempoScore
    key: KeyScore
    freshness: FreshnessScore
    tags: TagScore
    instrument: InstrumentScore | None = None


#: Tags of oscillator material that a cold start does not offer (``cold_start.exclude_tags``
#: default): the folder names LMMS, Sonic Pi and common packs (Adventure Kid's AKWF) give to
#: single-cycle waveforms and LFO shapes.
DEFAULT_COLD_EXCLUDE_TAGS: tuple[str, ...] = (
    "akwf",
    "lfo",
    "shapes",
    "single-cycle",
    "singlecycle",
    "wavetable",
    "wavetables",
    "waveform",
    "waveforms",
)


class ColdStart(_Strict):
    """Format 2: spreading a cold-start list across the instruments a producer reaches for."""

    instrument_boost: dict[str, float]
    repeat_penalty: float = Field(ge=0.0, le=10.0)
    unknown_repeat_penalty: float = Field(ge=0.0, le=10.0)
    pool_size: int = Field(ge=1, le=10_000)
    min_duration_s: float = Field(default=0.02, ge=0.0, le=60.0)
    min_peak_dbfs: float = Field(default=-50.0, ge=-200.0, le=0.0)
    exclude_tags: tuple[str, ...] = DEFAULT_COLD_EXCLUDE_TAGS

    @field_validator("exclude_tags")
    @classmethod
    def _lower_case_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({t.strip().lower() for t in value if t.strip()}))

    @field_validator("instrument_boost")
    @classmethod
    def _known_instruments(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(INSTRUMENTS))
        if unknown:
            raise ValueError(f"unknown instruments {unknown}; use {', '.join(INSTRUMENTS)}")
        if any(not 0.0 <= w <= 1.0 for w in value.values()):
            raise ValueError("instrument boosts must lie in [0, 1]")
        return value


class Target(_Strict):
    max_accepted: int = Field(ge=0, le=100)
    accepted_decay: float = Field(gt=0.0, le=1.0)
    prompt_weight: float = Field(ge=0.0, le=10.0)


class Mmr(_Strict):
    lambda_: float = Field(alias="lambda", ge=0.0, le=1.0)
    pool_size: int = Field(ge=1, le=10_000)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FusionRules(_Strict):
    """A validated fusion rules document. See the module docstring for every field."""

    version: int
    name: str = Field(min_length=1)
    description: str = ""
    filters: Filters
    score: Score
    target: Target
    mmr: Mmr
    cold_start: ColdStart | None = None

    @field_validator("version")
    @classmethod
    def _supported(cls, value: int) -> int:
        if value not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"rules version {value} is not supported by this build "
                f"(supported: {sorted(SUPPORTED_VERSIONS)}); update the companion"
            )
        return value

    @model_validator(mode="after")
    def _fields_of_the_version(self) -> FusionRules:
        v2 = {"score.instrument": self.score.instrument, "cold_start": self.cold_start}
        if self.version == 1:
            extra = [name for name, value in v2.items() if value is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} need format version 2; this document says 1")
        else:
            missing = [name for name, value in v2.items() if value is None]
            if missing:
                raise ValueError(f"format version {self.version} requires {', '.join(missing)}")
        return self

    def to_json(self) -> dict[str, Any]:
        """The document as JSON-serialisable dict, in the shipped layout (``mmr.lambda``);
        a v1 document comes back without the v2 fields."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


def parse_rules(doc: dict[str, Any] | str) -> FusionRules:
    """Validate a rules document.

    Args:
        doc: the parsed document or its JSON text.

    Returns:
        The typed :class:`FusionRules`.

    Raises:
        RulesError: invalid JSON, a missing or unknown field, a value out of range, or an
            unsupported version. The message lists each problem with its dotted path.
    """
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            raise RulesError(f"fusion rules are not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise RulesError(f"fusion rules must be a JSON object, got {type(doc).__name__}")
    try:
        return FusionRules.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        name = doc.get("name", "<unnamed>")
        raise RulesError(f"invalid fusion rules document {name!r}: {problems}") from exc


def load_default_rules() -> FusionRules:
    """The default rules shipped with the package (``samplemind_protocol/rules_v2.json``).

    Raises:
        RulesError: if the shipped document is missing or invalid (a broken install).
    """
    return load_packaged_rules(DEFAULT_RULES_RESOURCE)


def load_packaged_rules(resource: str | int) -> FusionRules:
    """A rules document shipped with the package, by file name or format version (1 or 2).

    Raises:
        RulesError: unknown version, or the document is missing or invalid (a broken install).
    """
    return parse_rules(read_packaged_text(resource))


def read_packaged_rules(resource: str | int = DEFAULT_RULES_RESOURCE) -> dict[str, Any]:
    """A shipped rules document as it is written, unvalidated (the hub publishes it verbatim).

    Args:
        resource: file name (``"rules_v2.json"``) or format version (1 or 2).

    Returns:
        The parsed JSON object, key for key as in the file.

    Raises:
        RulesError: unknown version, or the document is missing or not a JSON object.
    """
    text = read_packaged_text(resource)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(f"the shipped fusion rules {resource} are not valid JSON: {exc} — reinstall") from exc
    if not isinstance(document, dict):
        raise RulesError(f"the shipped fusion rules {resource} are not a JSON object — reinstall")
    return document


def read_packaged_text(resource: str | int) -> str:
    """The text of a shipped rules document, by file name or format version (1 or 2).

    Raises:
        RulesError: unknown version, or the file is missing or unreadable (a broken install).
    """
    if isinstance(resource, int):
        if resource not in PACKAGED_RULES:
            raise RulesError(f"no packaged fusion rules of format version {resource}; have {sorted(PACKAGED_RULES)}")
        resource = PACKAGED_RULES[resource]
    try:
        return resources.files(RULES_PACKAGE).joinpath(resource).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise RulesError(
            f"the shipped fusion rules {resource} are missing: reinstall the companion or the hub "
            "(package samplemind-protocol)"
        ) from exc

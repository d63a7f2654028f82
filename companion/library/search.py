"""Matching a text query against the catalog: names, folder tags and instruments.

One implementation of "does this sample match these words", used by ``companion list QUERY``,
the app's search without a CLAP model, and the CLAP search's instrument preference. A query
word matches a sample when it occurs in the sample's name or folder tags, or when it names the
sample's instrument through any synonym (:func:`companion.analysis.instruments.normalise_instrument`):
``kick`` finds kicks whatever their file names (Sonic Pi's ``bd_*`` included), and ``bd`` finds
kicks that the audio named. Every word of a query must match.

The catch-all classes (``drums``, ``fx``, ``lead``) also collect words that name one sound
rather than the class (``amen``, ``robot``, ``saw``): a search for ``amen`` wants the amen
break, not every drum loop. So for those classes only the class name itself (``drums``,
``drum``, ``fx``, ``lead`` …) matches by instrument; for the others every synonym does.
"""

from __future__ import annotations

from typing import Any

from companion.analysis.instruments import INSTRUMENTS, Instrument, normalise_instrument, words_of
from companion.errors import CompanionError

#: Classes whose synonyms include names of single sounds; only their own name searches them.
CATCH_ALL: frozenset[str] = frozenset({"drums", "fx", "lead"})

#: SQL expression of a row's instrument in ``Catalog``'s row query (aliases ``a``, ``o``): the
#: producer's correction, else the analysis'.
INSTRUMENT_SQL = "COALESCE(o.instrument, json_extract(a.analysis_json, '$.instrument'))"


class UnknownInstrumentError(CompanionError, ValueError):
    """A word that names no instrument where one was required (``--instrument``)."""


def parse_instrument(word: str) -> Instrument:
    """The instrument a user-typed word names (any synonym: ``"bd"`` → ``"kick"``).

    Raises:
        UnknownInstrumentError: the word names no instrument; the message lists the classes.
    """
    found = normalise_instrument(word)
    if found is None:
        raise UnknownInstrumentError(
            f"unknown instrument {word!r}: use one of {', '.join(INSTRUMENTS)} (or a synonym such as bd, hh, vox)"
        )
    return found


def searched_instrument(word: str) -> Instrument | None:
    """The instrument a search word asks for (``"bd"`` → kick, ``"drum"`` → drums), or None
    — also for a word that only hints at a catch-all class (``"amen"``, ``"robot"``)."""
    found = normalise_instrument(word)
    if found in CATCH_ALL and word.strip().lower() not in (found, found.rstrip("s"), found + "s"):
        return None
    return found


def query_instruments(text: str) -> list[Instrument] | None:
    """The instruments a query names when every one of its words names one, else None.

    ``"bd"`` → ``["kick"]``, ``"hats"`` → ``["hihat"]``, ``"warm analog bass"`` → None (a
    description, not an instrument query).
    """
    words = words_of(text)
    found = [searched_instrument(w) for w in words]
    if not words or any(f is None for f in found):
        return None
    return list(dict.fromkeys(f for f in found if f is not None))


def word_clauses(query: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (AND-ed) and their arguments for a text query over the row query.

    Args:
        query: words separated by spaces, any case; None or blank matches everything.

    Returns:
        ``(conditions, args)``: one condition per word — the word in the folder tags or the
        file name (substring, case-insensitive), or, for a word naming an instrument, the
        sample's instrument (:func:`searched_instrument`).
    """
    conditions: list[str] = []
    args: list[Any] = []
    for word in (query or "").lower().split():
        clause = "(s.name_tags LIKE ? OR lower(s.name) LIKE ?"
        args += [f"%{word}%", f"%{word}%"]
        instrument = searched_instrument(word)
        if instrument is not None:
            clause += f" OR {INSTRUMENT_SQL} = ?"
            args.append(instrument)
        conditions.append(clause + ")")
    return conditions, args

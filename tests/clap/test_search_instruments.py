"""``companion search`` with a CLAP model: a prompt of instrument words lists that instrument's
samples first, whatever their names (Sonic Pi's ``bd_*`` for "kick", kicks for "bd")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from companion.library.catalog import Catalog
from companion.library.scanner import scan
from tests.conftest import invoke_cli

from .test_cli_library import NAMES


@pytest.fixture(scope="module")
def library_db(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> Path:
    """The 12 Sonic Pi files of the CLI tests, plus bd_haus copied as ``kick_copy.flac``."""
    root = tmp_path_factory.mktemp("instrument_lib")
    for n in NAMES:
        shutil.copy2(sonic_pi / n, root / n)
    shutil.copy2(sonic_pi / "bd_haus.flac", root / "kick_copy.flac")
    db = root / "library.db"
    with Catalog.open(db) as cat:
        report = scan(cat, [root], workers=2)
    assert report.problems == 0
    return db


def test_instrument_prompts_list_that_instrument_first(library_db: Path, tiny_model: Path, data_home: Path) -> None:
    invoke_cli("embed", "--backfill", "--model", str(tiny_model), "--library-db", str(library_db))
    with Catalog.open(library_db) as cat:
        kicks = {r.id for r in cat.rows(instrument="kick", status="analysed")}
    assert len(kicks) >= 3  # bd_haus, bd_boom and its copy kick_copy.flac, and any the audio named
    n = len(kicks)
    for prompt in ("kick", "bd", "Kicks"):
        code, out, err = invoke_cli(
            "search",
            prompt,
            "--top-k",
            str(n + 3),
            "--model",
            str(tiny_model),
            "--library-db",
            str(library_db),
            "--json",
        )
        assert code == 0, err
        results = json.loads(out)["results"]
        assert len(results) == n + 3
        assert {r["id"] for r in results[:n]} == kicks and all(r["instrument"] == "kick" for r in results[:n])
        assert all(r["instrument"] != "kick" for r in results[n:])
        scores = [r["score"] for r in results]
        assert scores[:n] == sorted(scores[:n], reverse=True) and scores[n:] == sorted(scores[n:], reverse=True)

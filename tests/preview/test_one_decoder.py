"""One decoder for the scanner and the player: what the scan can read plays, and what cannot be
read is a problem with its reason, whether the scan or an audition finds out."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.audio import decode
from companion.app.session import Session
from companion.errors import AudioDecodeError
from companion.library.catalog import Catalog
from companion.library.scanner import scan
from companion.preview.audition import Auditioner, AuditionItem
from companion.preview.render import load_audio
from companion.preview.waveform import peaks
from companion.settings import Settings

#: LMMS files that are RIFF/WAVE data (an Ogg Vorbis stream wrapped in RIFF) with an .ogg name;
#: libsndfile opening them by path fails with "Malformed 'fmt ' chunk".
OGG_NAMED_WAVS = (
    "drums/kick04.ogg",
    "effects/scratch01.ogg",
    "effects/wind_chimes01.ogg",
    "instruments/harpsichord01.ogg",
    "misc/hit01.ogg",
)


@pytest.mark.parametrize("name", OGG_NAMED_WAVS)
def test_ogg_named_riff_files_decode_for_analysis_and_playback_with_the_same_frames(lmms: Path, name: str):
    path = lmms / name
    assert path.read_bytes()[:4] == b"RIFF"
    frames, sr = load_audio(path)  # playback, native rate
    analysed = decode(path, sr=sr)  # analysis at the same rate: no resampling on either side
    assert frames.shape[0] > 0 and analysed.duration_s == pytest.approx(frames.shape[0] / sr)
    np.testing.assert_array_equal(frames.mean(axis=1).astype(np.float32), analysed.mono)
    assert peaks(path).shape == (200, 2)


def test_a_corrupt_file_fails_everywhere_and_the_scan_records_it(tmp_path: Path, sonic_pi: Path):
    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy2(sonic_pi / "bd_haus.flac", folder / "bd_haus.flac")
    bad = folder / "x.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
    for read in (decode, load_audio, peaks):
        with pytest.raises(AudioDecodeError, match=r"x\.wav: "):
            read(bad)
    with pytest.raises(AudioDecodeError, match=r"^cannot play x\.wav: "):
        load_audio(bad)
    with Catalog.open(tmp_path / "library.db") as catalog:
        report = scan(catalog, [folder], workers=1)
        assert report.analysed == 1 and report.problems == 1
        (problem,) = catalog.problems()
        assert Path(problem["path"]).name == "x.wav" and "x.wav" in problem["reason"]


def test_a_file_that_breaks_after_the_scan_fails_to_audition_and_becomes_a_problem(tmp_path: Path, sonic_pi: Path):
    folder = tmp_path / "samples"
    folder.mkdir()
    for name in ("bd_haus.flac", "sn_dolf.flac", "loop_amen.flac"):
        shutil.copy2(sonic_pi / name, folder / name)
    db = tmp_path / "library.db"
    with Catalog.open(db) as catalog:
        assert scan(catalog, [folder], workers=1).analysed == 3
    target = folder / "sn_dolf.flac"
    target.write_bytes(b"\x00garbage" * 512)  # overwritten after the scan

    session = Session(Settings(library_db=db, osc_port=0, use_clap=False, top_k=10))
    session.open(create=False)
    try:
        assert str(target) in {s.path for s in session.rank()}
        auditioner = Auditioner(None)
        with pytest.raises(AudioDecodeError) as failed:
            auditioner.prepare(AuditionItem(str(target), "one-shot"), None, None)
        assert session.report_unplayable(str(target), str(failed.value)) is True
        (problem,) = session.engine.catalog.problems()
        assert problem["path"] == str(target) and problem["stage"] == "audition"
        assert problem["reason"].startswith("cannot play sn_dolf.flac: ")
        assert session.engine.catalog.find(target).status == "problem"
        assert str(target) not in {s.path for s in session.rank()}  # no longer suggested
        assert session.report_unplayable(str(tmp_path / "not-catalogued.wav"), "x") is False
        gone = folder / "bd_haus.flac"
        gone.unlink()  # missing is not a problem: the scanner marks it missing
        assert session.report_unplayable(str(gone), "cannot play bd_haus.flac: No such file") is False
        assert [p["stage"] for p in session.engine.catalog.problems()] == ["audition"]
    finally:
        session.close()

"""The instrument network: its input, its numpy form against torch, and the shipped network.

The network is trained with torch (``benchmarks/datasets/fit_instrument_cnn.py``) and run in
numpy by the app (:class:`companion.analysis.mel_cnn.MelCnn`). A torch network of the shipped
architecture, with random weights and batch-norm statistics, is converted by the fit script's own
``to_arrays``, saved, loaded and compared with torch on the inputs of real Sonic Pi files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.audio import decode
from companion.analysis.instrument_model import NETWORKS, instrument_proba, network_proba, pool
from companion.analysis.mel_cnn import FLOOR_DB, FMAX, FMIN, N_FRAMES, N_MELS, MelCnn, load_cnn, mel_patch

SONIC_PI = Path("/usr/share/sonic-pi/samples")
SR = 22050
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))


def _need_sonic_pi() -> None:
    if not SONIC_PI.exists():
        pytest.fail(f"needs {SONIC_PI} (apt install sonic-pi-samples; ./dev setup does)")


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    _need_sonic_pi()
    names = [
        "bd_haus",
        "sn_dolf",
        "drum_cymbal_open",
        "ambi_choir",
        "bass_hit_c",
        "loop_amen",
        "elec_ping",
        "perc_bell",
    ]
    out = []
    for name in names:
        audio = decode(SONIC_PI / f"{name}.flac")
        out.append(mel_patch(audio.y, audio.sr))
    return np.stack(out)


def _click(at_s: float, seconds: float = 3.0, gain: float = 0.5) -> np.ndarray:
    y = np.zeros(int(seconds * SR), dtype=np.float32)
    n = int(0.2 * SR)
    t = np.arange(n) / SR
    start = int(at_s * SR)
    y[start : start + n] = gain * np.sin(2 * np.pi * 180 * t * np.exp(-t * 8)) * np.exp(-t * 20)
    return y


def test_the_input_starts_with_the_sound_and_ignores_its_level() -> None:
    early, late, quiet = mel_patch(_click(0.1), SR), mel_patch(_click(1.3), SR), mel_patch(_click(0.1, gain=0.01), SR)
    assert early.shape == (N_MELS, N_FRAMES) and early.dtype == np.float32
    assert early.max() == pytest.approx(0.0) and early.min() >= FLOOR_DB
    np.testing.assert_allclose(early, late, atol=0.5)  # a second of silence before it changes nothing
    np.testing.assert_allclose(early, quiet, atol=0.5)  # nor does 34 dB less level
    assert (early[:, -10:] == FLOOR_DB).all()  # the 0.2 s hit is over long before two seconds
    assert (mel_patch(np.zeros(SR, dtype=np.float32), SR) == FLOOR_DB).all()


def test_the_numpy_network_gives_torchs_probabilities(patches: np.ndarray, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch comes with ./dev setup")
    import fit_instrument_cnn as fit

    torch.manual_seed(3)
    net = fit.build(5)
    for m in net.modules():  # non-trivial batch-norm statistics, so that folding them is tested
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.eval()
    fit.to_arrays(net, ["a", "b", "c", "d", "e"]).save(tmp_path / "n.npz")
    model = MelCnn.load(tmp_path / "n.npz")

    expected = fit.torch_proba(net, patches)
    got = np.stack([model.proba(p) for p in patches])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert model.classes == ("a", "b", "c", "d", "e")
    with pytest.raises(ValueError, match="mel patch"):
        model.proba(patches[0][:, :10])


def test_the_training_pitch_shift_moves_partials_by_semitones_not_by_bands() -> None:
    torch = pytest.importorskip("torch", reason="torch comes with ./dev setup")
    import fit_instrument_cnn as fit
    import librosa

    centres = librosa.mel_frequencies(N_MELS + 2, fmin=FMIN, fmax=FMAX)[1:-1]
    x = torch.full((200, 1, N_MELS, N_FRAMES), FLOOR_DB)
    x[:, 0, 0, :20] = 0.0  # a kick's fundamental, in the lowest band (about 30-97 Hz)
    x[:, 0, 40, :20] = 0.0  # a partial near 6 kHz
    shifted = fit._pitch_shift(x, np.random.default_rng(0))[:, 0, :, 0].numpy()
    loud = shifted > -40.0
    # two semitones move 60 Hz by 7 Hz: the kick stays in its band and never reaches a tom's
    assert loud[:, 0].all() and not loud[:, 2:20].any()
    # up high, two semitones are k bands (k ≈ 1.65), and the partial moves up to k bands either way
    k = np.log(2 ** (2 / 12)) / np.log(centres[41] / centres[40])
    assert 1.0 < k < 2.0
    high = np.asarray([np.average(np.arange(30, N_MELS), weights=np.maximum(r[30:] - FLOOR_DB, 0)) for r in shifted])
    assert 40 - k - 0.1 <= high.min() < 40 - 0.8 * k and 40 + 0.8 * k < high.max() <= 40 + k + 0.1


def test_pooling_is_a_weighted_normalised_geometric_mean() -> None:
    a, b = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.8, 0.1])
    p = pool(a, b, 0.5)
    np.testing.assert_allclose(p, np.sqrt(a * b) / np.sqrt(a * b).sum())
    np.testing.assert_allclose(pool(a, b, 0.3), a**0.3 * b**0.7 / (a**0.3 * b**0.7).sum(), rtol=1e-6)
    np.testing.assert_allclose(pool(a, b, 1.0), a, rtol=1e-6)
    np.testing.assert_allclose(pool(np.stack([a, b]), np.stack([b, a])).sum(axis=1), 1.0)
    assert pool(a, a).argmax() == 0 and pool(a, b, 0.5).argmax() == 1  # the surer model carries the vote
    assert pool(a, b, 0.8).argmax() == 0 and pool(a, b, 0.3).argmax() == 1  # the weight moves the vote


def test_the_shipped_networks_are_averaged(patches: np.ndarray) -> None:
    nets = [load_cnn(name) for name in NETWORKS]
    assert len(nets) >= 2 and all(n.classes == nets[0].classes for n in nets)
    for patch in patches:
        classes, p = network_proba(patch)
        assert classes == nets[0].classes
        np.testing.assert_allclose(p, np.mean([n.proba(patch) for n in nets], axis=0))
    # networks of different seeds are different networks
    assert not np.allclose(nets[0].proba(patches[0]), nets[1].proba(patches[0]), atol=1e-3)


@pytest.fixture(scope="module")
def sonic_pi_hits() -> list[tuple[str, str, str]]:
    """(label from the name, the networks' class, the pooled class) of Sonic Pi's drum and
    percussion hits: a pack no model was trained on."""
    from companion.analysis.descriptors import describe
    from companion.analysis.features import compute_features
    from companion.analysis.instruments import DRUM_HITS, instrument_from_words, words_of

    _need_sonic_pi()
    out = []
    for path in sorted(SONIC_PI.glob("*.flac")):
        label = instrument_from_words(words_of(path.stem))
        if label not in DRUM_HITS or path.stem.startswith("loop_"):
            continue
        audio = decode(path)
        patch = mel_patch(audio.y, audio.sr)
        desc = describe(audio.y, audio.sr, compute_features(audio.y, audio.sr), audio.duration_s)
        classes, pooled, _ = instrument_proba(desc, patch)
        net_classes, net_p = network_proba(patch)
        assert classes == net_classes
        out.append((label, net_classes[int(net_p.argmax())], classes[int(pooled.argmax())]))
    return out


def test_the_shipped_network_hears_drum_hits_in_a_pack_it_never_saw(sonic_pi_hits: list) -> None:
    from companion.analysis.instruments import DRUM_HITS

    assert len(sonic_pi_hits) >= 60
    labels = np.asarray([h[0] for h in sonic_pi_hits])
    network, pooled = np.asarray([h[1] for h in sonic_pi_hits]), np.asarray([h[2] for h in sonic_pi_hits])
    # Floors below what was measured when the models were written (84 hits): the networks call
    # 0.833 of them a drum class; pooled, 0.440 get their exact class (tabla strokes, labelled
    # percussion, are the most missed) against 1/7 by chance over the seven drum classes.
    assert np.isin(network, list(DRUM_HITS)).mean() >= 0.75
    assert (pooled == labels).mean() >= 0.38
    for drum in ("snare", "tom", "cymbal"):  # each drum class is found, not one class for all
        assert (pooled[labels == drum] == drum).mean() >= 0.5, drum


def test_the_pooled_models_abstain_rather_than_guess(patches: np.ndarray) -> None:
    from companion.analysis.descriptors import describe
    from companion.analysis.features import compute_features

    audio = decode(SONIC_PI / "sn_dolf.flac")
    desc = describe(audio.y, audio.sr, compute_features(audio.y, audio.sr), audio.duration_s)
    classes, p, min_confidence = instrument_proba(desc, patches[1])
    np.testing.assert_allclose(p.sum(), 1.0)
    assert classes[int(p.argmax())] == "snare" and p.max() >= min_confidence
    assert 0.5 <= min_confidence < 1.0

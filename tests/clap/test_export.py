"""Export of a small random ClapModel: ONNX outputs against PyTorch, manifest, int8."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from companion.embedding.clap.audio_io import CLAP_SR, load_audio_48k
from companion.embedding.clap.frontend import ClapFrontend
from companion.embedding.clap.manifest import AUDIO, AUDIO_INT8, TEXT, Manifest, sha256_file
from companion.embedding.clap.runtime import ClapEmbedder

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

AUDIO_FILES = ["loop_amen.flac", "ambi_choir.flac", "bd_haus.flac", "guit_harmonics.flac", "elec_blip.flac"]
PROMPTS = ["warm analog bass", "dark techno rumble", "kick", "a very long prompt about a bright piano chord " * 3]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.sum(a * b, axis=-1)


def _features(sonic_pi: Path, frontend: ClapFrontend) -> np.ndarray:
    return frontend.features([load_audio_48k(sonic_pi / n)[: 10 * CLAP_SR] for n in AUDIO_FILES])


def test_audio_encoder_matches_pytorch(tiny_model: Path, torch_model: Any, sonic_pi: Path) -> None:
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    feats = _features(sonic_pi, emb.frontend)
    got = emb.embed_windows(feats)
    with torch.no_grad():
        out = torch_model.audio_model(input_features=torch.from_numpy(feats)).pooler_output
        ref = torch_model.audio_projection(out).numpy()
    assert got.shape == ref.shape == (len(AUDIO_FILES), 512)
    max_abs = float(np.abs(got - ref).max())
    min_cos = float(_cos(got, ref).min())
    print(f"audio parity: max |Δ| {max_abs:.2e}, min cos {min_cos:.7f}")
    assert max_abs <= 1e-4
    assert min_cos >= 0.9999
    # The vectors differ between files: the check is not comparing constants.
    assert float(_cos(ref[:1], ref[1:]).max()) < 0.999


def test_dynamic_batch_gives_the_same_vectors(tiny_model: Path, sonic_pi: Path) -> None:
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    feats = _features(sonic_pi, emb.frontend)
    together = emb.embed_windows(feats)
    one_by_one = np.concatenate([emb.embed_windows(feats[i : i + 1]) for i in range(len(feats))])
    assert np.abs(together - one_by_one).max() <= 1e-5


def test_text_encoder_matches_pytorch(tiny_model: Path, tiny_checkpoint: Path, torch_model: Any) -> None:
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    got = emb.embed_text(PROMPTS)
    # Reference: transformers' own tokenizer and ClapModel.get_text_features.
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny_checkpoint))
    inputs = tok(PROMPTS, padding=True, truncation=True, max_length=77, return_tensors="pt")
    with torch.no_grad():
        out = torch_model.text_model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        raw = torch_model.text_projection(out.pooler_output).numpy()
    ref = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert got.shape == ref.shape == (len(PROMPTS), 512)
    max_abs = float(np.abs(got - ref).max())
    min_cos = float(_cos(got, ref).min())
    print(f"text parity: max |Δ| {max_abs:.2e}, min cos {min_cos:.7f}")
    assert max_abs <= 1e-4
    assert min_cos >= 0.9999
    assert float(_cos(ref[:1], ref[1:]).max()) < 0.9999
    # Padding does not change a prompt's vector: alone or in a batch with a long one.
    alone = emb.embed_text(PROMPTS[:1])
    assert float(_cos(alone, got[:1])[0]) >= 0.99999


def test_end_to_end_matches_the_transformers_pipeline(
    tiny_model: Path, tiny_checkpoint: Path, torch_model: Any, sonic_pi: Path
) -> None:
    """A short file through our decoder/front end/ONNX equals ClapFeatureExtractor + get_audio_features."""
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    fe = transformers.AutoFeatureExtractor.from_pretrained(str(tiny_checkpoint))
    for name in ("bd_haus.flac", "ambi_choir.flac"):
        y = load_audio_48k(sonic_pi / name)
        assert y.shape[0] <= 10 * CLAP_SR
        inputs = fe(y, sampling_rate=CLAP_SR, return_tensors="pt")
        with torch.no_grad():
            ref = torch_model.get_audio_features(input_features=inputs["input_features"]).pooler_output.numpy()[0]
        ours = emb.embed_audio(y)
        assert float(np.dot(ours, ref / np.linalg.norm(ref))) >= 0.9999


def test_manifest_describes_the_files(tiny_model: Path, tiny_checkpoint: Path) -> None:
    data = json.loads((tiny_model / "manifest.json").read_text())
    man = Manifest.from_dict(data)
    assert man.checkpoint == str(tiny_checkpoint)
    assert man.name.startswith("clap-tiny-") and len(man.name) == len("clap-tiny-") + 8
    assert man.space == man.name + "/v1"
    assert man.dim == 512 and man.opset == 17
    for f in man.files.values():
        assert sha256_file(tiny_model / f.path) == f.sha256
        assert (tiny_model / f.path).stat().st_size == f.bytes
    audio = man.files[AUDIO]
    assert [(s.name, s.shape, s.dtype) for s in audio.inputs] == [("input_features", ["batch", 1, 1001, 64], "float32")]
    assert [(s.name, s.shape) for s in audio.outputs] == [("audio_embeds", ["batch", 512])]
    text = man.files[TEXT]
    assert [s.name for s in text.inputs] == ["input_ids", "attention_mask"]
    assert text.inputs[0].shape == ["batch", "sequence"] and text.inputs[0].dtype == "int64"
    assert man.parity["audio_min_cosine"] >= 0.9999 and man.parity["text_min_cosine"] >= 0.9999
    assert man.parity["audio_real_files"] == 4
    assert set(man.tools) == {"torch", "transformers", "onnx", "onnxruntime"}
    man.check(tiny_model, hashes=True)


def test_int8_encoder_is_checked_on_real_audio(tiny_model: Path, sonic_pi: Path) -> None:
    man = Manifest.read(tiny_model)
    extra = man.files[AUDIO_INT8].extra
    assert extra["checked_files"] == 16
    assert extra["min_cosine_to_fp32"] >= 0.99
    assert man.int8_usable()
    assert man.files[AUDIO_INT8].bytes < man.files[AUDIO].bytes
    fp32 = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    int8 = ClapEmbedder(tiny_model, precision="int8", threads=2)
    assert (fp32.precision, int8.precision) == ("fp32", "int8")
    y = load_audio_48k(sonic_pi / "loop_garzul.flac")
    cos = float(np.dot(fp32.embed_audio(y), int8.embed_audio(y)))
    assert 0.99 <= cos < 1.0  # close to fp32, but really a different graph


def test_same_checkpoint_gives_same_space_and_another_checkpoint_another(tiny_model: Path, tmp_path: Path) -> None:
    from companion.embedding.clap.export import model_name_for
    from companion.embedding.clap.random_model import build_random_checkpoint

    other = build_random_checkpoint(tmp_path / "tiny", audio="tiny", seed=2)
    model = transformers.ClapModel.from_pretrained(str(other))
    from companion.embedding.clap.export import _weights_digest

    name = model_name_for(str(other), _weights_digest(model))
    assert name.startswith("clap-tiny-")
    assert name != Manifest.read(tiny_model).name
    assert model_name_for("laion/clap-htsat-unfused", "0" * 64) == "clap-htsat-unfused"
    assert model_name_for("laion/larger_clap_music", "0" * 64) == "clap-larger_clap_music"

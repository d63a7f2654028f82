"""Randomly initialised CLAP checkpoints, for tests and benchmarks (model weights cannot be
downloaded on the build machines).

:func:`build_random_checkpoint` writes a folder that ``ClapModel.from_pretrained``,
``AutoTokenizer.from_pretrained`` and ``AutoFeatureExtractor.from_pretrained`` accept, exactly
like a downloaded checkpoint, so the exporter runs its real code path on it:

* ``audio="tiny"``: a 4-stage HTSAT with 16-channel patches and one block per stage (≈0.9 M
  parameters, exports in about a second);
* ``audio="htsat"``: ``ClapAudioConfig()`` defaults, the architecture of
  ``laion/clap-htsat-unfused``'s audio tower (patch 96, depths 2-2-6-2, heads 4-8-16-32,
  ≈28 M parameters with the projection), i.e. the same compute as the real encoder;
* the text tower is always a small RoBERTa (2 layers, width 32) with a byte-level BPE
  tokenizer trained on a few music words, since the benchmarks measure audio only;
* ``projection_dim`` is 512, as in the real model, and the front end is that of
  ``laion/clap-htsat-unfused`` (``rand_trunc``, 50–14 000 Hz, ``repeatpad``).

Needs the ``export`` extra (torch, transformers) and ``tokenizers``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

#: Front-end settings of laion/clap-htsat-unfused (its preprocessor_config.json).
UNFUSED_PREPROCESSOR = {
    "feature_extractor_type": "ClapFeatureExtractor",
    "feature_size": 64,
    "fft_window_size": 1024,
    "frequency_max": 14000,
    "frequency_min": 50,
    "hop_length": 480,
    "max_length_s": 10,
    "padding": "repeatpad",
    "padding_side": "right",
    "padding_value": 0.0,
    "processor_class": "ClapProcessor",
    "return_attention_mask": False,
    "sampling_rate": 48000,
    "top_db": None,
    "truncation": "rand_trunc",
}
#: Words the test tokenizer is trained on.
_CORPUS = [
    "warm analog bass",
    "dark techno rumble",
    "bright piano chords",
    "punchy kick drum",
    "crisp hi hat loop",
    "ambient pad drone",
    "vocal chop",
    "deep house groove",
    "lofi hip hop beat",
    "distorted guitar riff",
    "snare roll",
    "sub bass",
    "glitchy fx",
    "cinematic riser",
]

TINY_AUDIO = {
    "patch_embeds_hidden_size": 16,
    "hidden_size": 128,
    "depths": [1, 1, 1, 1],
    "num_attention_heads": [1, 2, 2, 4],
}
TINY_TEXT = {
    "vocab_size": 300,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 80,
}


def build_tokenizer(out_dir: Path, vocab_size: int = 300) -> None:
    """Train a tiny RoBERTa-style byte-level BPE tokenizer and save it as a HF fast tokenizer.

    Special tokens get RoBERTa's ids: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ``<mask>`` 4.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    fast = RobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
    )
    fast.save_pretrained(str(out_dir))


def build_random_checkpoint(out_dir: Path, *, audio: Literal["tiny", "htsat"] = "tiny", seed: int = 0) -> Path:
    """Write a randomly initialised ``ClapModel`` checkpoint folder.

    Args:
        out_dir: folder to create (config.json, model.safetensors, tokenizer, preprocessor).
        audio: ``tiny`` for tests, ``htsat`` for the real audio architecture (benchmarks).
        seed: torch seed, so a given seed always gives the same weights.

    Returns:
        ``out_dir``.

    Besides the default initialisation, the relative-position bias tables (zeros by default)
    get N(0, 0.02²) values so that the parity checks exercise them, and the input batch norm
    gets the running statistics of a typical log-mel input (mean −45 dB, std 20 dB), so that
    the random encoder sees unit-scale inputs as a trained one does.
    """
    import torch
    from transformers import ClapConfig, ClapModel

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    audio_cfg = dict(TINY_AUDIO) if audio == "tiny" else {}
    config = ClapConfig(text_config=dict(TINY_TEXT), audio_config=audio_cfg, projection_dim=512)
    model = ClapModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.normal_(0.0, 0.02)
        bn = model.audio_model.audio_encoder.batch_norm
        bn.running_mean.fill_(-45.0)
        bn.running_var.fill_(400.0)
    model.save_pretrained(str(out_dir))
    build_tokenizer(out_dir, TINY_TEXT["vocab_size"])
    (out_dir / "preprocessor_config.json").write_text(
        json.dumps(UNFUSED_PREPROCESSOR, indent=2) + "\n", encoding="utf-8"
    )
    return out_dir

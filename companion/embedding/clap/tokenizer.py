"""Text prompts → token ids for the CLAP text encoder, with the ``tokenizers`` library only.

The exporter saves the checkpoint's fast tokenizer as ``tokenizer.json`` (for
``laion/clap-htsat-unfused`` the RoBERTa byte-level BPE, ``<s>`` … ``</s>``, pad id 1). Here it
is loaded without transformers; prompts are truncated to ``max_length`` tokens (77, the
length LAION CLAP was trained with: ``laion_clap`` tokenises with ``max_length=77``) and a
batch is padded to its longest prompt with an attention mask, which gives the same first-token
output as padding to 77.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from companion.errors import ModelError


class TextTokenizer:
    """Batch tokenizer for CLAP prompts.

    Args:
        path: ``tokenizer.json`` written by a Hugging Face fast tokenizer.
        max_length: most tokens per prompt, special tokens included.
        pad_token_id: id used for padding (RoBERTa: 1).

    Raises:
        ModelError: if the file cannot be loaded or ``tokenizers`` is not installed.
    """

    def __init__(self, path: Path, max_length: int = 77, pad_token_id: int = 1) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # the optional `clap` extra is missing
            raise ModelError(
                "the `tokenizers` package is not installed — install the CLAP extra: "
                "pip install 'samplemind-companion[clap]'"
            ) from exc
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ModelError(f"cannot load CLAP tokenizer {path}: {exc} — re-export or re-fetch the model") from exc
        self.max_length = int(max_length)
        self.pad_token_id = int(pad_token_id)
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_length)
        self._tok = tok

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Tokenise a batch of prompts.

        Args:
            texts: prompts, e.g. ``["warm analog bass", "dark techno rumble"]``.

        Returns:
            ``{"input_ids": (m, T) int64, "attention_mask": (m, T) int64}`` with T the longest
            prompt (≤ ``max_length``); padded positions hold ``pad_token_id`` and mask 0.

        Raises:
            ValueError: if ``texts`` is empty.
        """
        if len(texts) == 0:
            raise ValueError("embed_text needs at least one prompt")
        encodings = self._tok.encode_batch([str(t) for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}

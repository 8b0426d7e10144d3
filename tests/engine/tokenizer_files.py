"""The harmony vocabulary (o200k_harmony) and the tokenizer files of the scripted model.

Run inside the engine venv (imported by build_model.py)."""

from __future__ import annotations

import json
from pathlib import Path

import tiktoken
import tiktoken_ext.openai_public as openai_public
from tiktoken.load import load_tiktoken_bpe
from transformers.integrations.tiktoken import convert_tiktoken_to_fast


def harmony_encoding(vocab_dir: Path) -> tiktoken.Encoding:
    ranks = load_tiktoken_bpe(str(vocab_dir / "o200k_base.tiktoken"))
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    return tiktoken.Encoding(**openai_public.o200k_harmony())


def tokens_of(enc: tiktoken.Encoding, pieces: list[str]) -> list[int]:
    out: list[int] = []
    for piece in pieces:
        if piece.startswith("<|"):
            out.append(enc.encode_single_token(piece))
        else:
            out += enc.encode(piece, disallowed_special=())
    return out


def save_tokenizer(enc: tiktoken.Encoding, out_dir: Path) -> None:
    """tokenizer.json from the vocabulary, with the special tokens at harmony's ids
    (transformers' converter numbers them one after another, which shifts them)."""
    convert_tiktoken_to_fast(enc, out_dir)
    path = out_dir / "tokenizer.json"
    data = json.loads(path.read_text())
    specials = {i: name for name, i in enc._special_tokens.items() if "endofprompt" not in name}
    data["added_tokens"] = [
        {"id": i, "content": name, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, name in sorted(specials.items())
    ]  # fmt: skip
    path.write_text(json.dumps(data))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|return|>",
              "pad_token": "<|endoftext|>", "bos_token": "<|startoftext|>",
              "model_max_length": 131072}  # fmt: skip
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config))
    (out_dir / "generation_config.json").write_text(
        json.dumps({"eos_token_id": [200002, 199999, 200012], "pad_token_id": 199999})
    )

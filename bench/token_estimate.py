"""How far the context window's token estimate is from gpt-oss's real tokenizer.

The service counts tokens with an estimate (agent/context_window.py: one token per 3 UTF-8
bytes). This compares it with the o200k_base encoding that gpt-oss's tokenizer extends, on
texts of several kinds: the corpus of real gpt-oss outputs, this project's prose and code,
and non-Latin scripts. The real counts come from tiktoken in the engine venv that
`scripts/engine.sh build` makes (the project itself does not depend on tiktoken), reading
the vocabulary that script unpacked.

    scripts/engine.sh build && uv run python bench/token_estimate.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.context_window import text_tokens

ROOT = Path(__file__).resolve().parents[1]
ENGINE = Path(os.environ.get("ENGINE_CACHE", ROOT / ".engine"))
COUNT = """
import json, sys, tiktoken
from tiktoken.load import load_tiktoken_bpe
from tiktoken_ext import openai_public
ranks = load_tiktoken_bpe(sys.argv[1])
openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks  # the local file, no download
spec = openai_public.o200k_base()
enc = tiktoken.Encoding("o200k", pat_str=spec["pat_str"], mergeable_ranks=ranks,
                        special_tokens=spec["special_tokens"])
texts = json.load(sys.stdin)
print(json.dumps([len(enc.encode(t, disallowed_special=())) for t in texts]))
"""


def samples() -> dict[str, list[str]]:
    corpus = [json.loads(line) for line in (ROOT / "tests/data/corpus.jsonl").open()]
    outputs = [json.dumps(r, ensure_ascii=False) for r in corpus]
    pages = sorted((ROOT / "docs").glob("*.md"))  # the README's reference text moved there
    prose = [p for page in pages for p in page.read_text().split("\n\n") if len(p) > 200]
    code = [p.read_text() for p in sorted((ROOT / "agent").rglob("*.py"))]
    other = [
        "東京の明日の天気を調べて、傘が必要かどうか教えてください。" * 4,
        "내일 서울 날씨를 확인하고 우산이 필요한지 알려 주세요." * 4,
        "Проверь погоду в Москве на завтра и скажи, нужен ли зонт." * 4,
    ]
    return {"gpt-oss outputs (corpus)": outputs, "docs prose": prose, "Python code": code,
            "CJK / Cyrillic": other}  # fmt: skip


def real_counts(texts: list[str]) -> list[int]:
    python = ENGINE / "venv" / "bin" / "python"
    vocab = ENGINE / "vocab" / "o200k_base.tiktoken"
    if not python.exists() or not vocab.exists():
        sys.exit("build the engine first: scripts/engine.sh build")
    done = subprocess.run(
        [str(python), "-c", COUNT, str(vocab)],
        input=json.dumps(texts), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def main() -> None:
    print(f"{'texts':<26} {'n':>4} {'real':>9} {'estimate':>9} {'est/real':>9} {'min':>6}")
    for kind, texts in samples().items():
        real = real_counts(texts)
        estimated = [text_tokens(t) for t in texts]
        worst = min(e / r for e, r in zip(estimated, real, strict=True) if r)
        ratio = sum(estimated) / sum(real)
        print(f"{kind:<26} {len(texts):>4} {sum(real):>9} {sum(estimated):>9} "
              f"{ratio:>9.2f} {worst:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

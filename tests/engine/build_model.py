"""Build the scripted gpt-oss model: real architecture and vocabulary, hand-set weights.

Run with the engine venv's Python: `python build_model.py VOCAB_DIR OUT_DIR`.

How the weights make it follow a script (hidden size 256, every other weight zero):
- embeddings put a Hadamard code of each script token in CUR and of each selector word in
  SEL (with a large FLAG so its norm does not depend on its neighbours);
- layer 0 (sliding window 2) has one head that attends to the previous token (RoPE pair 0
  peaks at distance 1) and copies its CUR code into PREV; a selector attends to itself;
- layer 1 (full attention) has one head that attends to the latest selector in the prompt
  (a slowly rotating RoPE pair makes the score fall with distance) and copies its code
  into SEL;
- layer 1's experts (all four identical) hold one neuron per script step, firing only when
  SEL, PREV and CUR all match, and writing the next token's code into NEXT;
- lm_head reads NEXT; a bias neuron makes `<|return|>` the answer when no script matches.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import tiktoken
import torch
from transformers import GptOssConfig, GptOssForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_files import harmony_encoding, save_tokenizer, tokens_of

from scripts import PROMPT_TAIL, SCRIPTS, SELECTORS

HIDDEN, HEAD_DIM, CODE, SEL_CODE = 256, 64, 64, 16
CUR, PREV, SEL, FLAG, BIAS, NEXT = 0, 64, 128, 144, 145, 160
FLAG_VALUE = 40.0
SELECTOR_NORM_SQ = FLAG_VALUE**2 + SEL_CODE
PREV_GAP, RECENCY_PER_TOKEN = 60.0, 1.0
GATE_GAIN, THRESHOLD = 6.0, 2.5
LOGIT_SCALE, DEFAULT_LOGIT = 2.0, 5.0


def hadamard(n: int) -> torch.Tensor:
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def code(index: int, size: int) -> torch.Tensor:
    """Codes 0..2*size-1: Hadamard rows and their negations (dot 0 or -size between two)."""
    sign = -1.0 if index >= size else 1.0
    return sign * hadamard(size)[index % size]


def steps(enc: tiktoken.Encoding) -> list[tuple[int, int, int, int]]:
    """(selector index, previous, current, next) for every step of every script."""
    seen: dict[tuple[int, int, int], int] = {}
    for sel_index, (name, pieces) in enumerate(SCRIPTS.items()):
        tokens = tokens_of(enc, PROMPT_TAIL) + tokens_of(enc, pieces)
        for i in range(2, len(tokens)):
            key = (sel_index, tokens[i - 2], tokens[i - 1])
            if seen.setdefault(key, tokens[i]) != tokens[i]:
                raise SystemExit(
                    f"script {name!r}: the pair {enc.decode(list(key[1:]))!r} "
                    "is followed by two different tokens; spell one differently"
                )
    return [(*key, nxt) for key, nxt in seen.items()]


def selector_tokens(enc: tiktoken.Encoding) -> list[int]:
    out = []
    for name in SCRIPTS:
        ids = enc.encode(SELECTORS[name])
        if len(ids) != 1:
            raise SystemExit(f"selector {SELECTORS[name]!r} is {len(ids)} tokens, not one")
        out.append(ids[0])
    return out


def config(intermediate: int) -> GptOssConfig:
    return GptOssConfig(
        vocab_size=201088, hidden_size=HIDDEN, intermediate_size=intermediate,
        num_hidden_layers=2, num_attention_heads=1, num_key_value_heads=1,
        head_dim=HEAD_DIM, num_local_experts=4, num_experts_per_tok=4, sliding_window=2,
        layer_types=["sliding_attention", "full_attention"], max_position_embeddings=131072,
        rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0,
                         "beta_fast": 32.0, "beta_slow": 1.0, "truncate": False,
                         "original_max_position_embeddings": 4096},
        eos_token_id=200002, pad_token_id=199999, bos_token_id=199998,
        tie_word_embeddings=False, torch_dtype="float32",
    )  # fmt: skip


def rms_scale(norm_sq: float) -> float:
    """What RMSNorm multiplies a vector of this squared norm by."""
    return (norm_sq / HIDDEN) ** -0.5


def set_previous_token_head(attn, omega: float, qk_scale: float) -> None:
    """Score A*cos(omega*(distance-1)): with a window of 2 the previous token wins."""
    half = HEAD_DIM // 2
    amplitude = PREV_GAP / ((1 - math.cos(omega)) * qk_scale)
    attn.q_proj.bias[0] = amplitude
    # A selector token looks at itself instead (it has no CUR code, so it gets no PREV):
    # its norm, and so its key in layer 1, must not depend on the token before it.
    attn.q_proj.weight[0, FLAG] = -2 * amplitude / (FLAG_VALUE * rms_scale(SELECTOR_NORM_SQ))
    attn.k_proj.bias[0] = math.cos(omega)
    attn.k_proj.bias[half] = math.sin(omega)
    # value: the token's own CUR code (RMSNorm made it 2x: a code has norm^2 = CODE)
    scale = 1 / rms_scale(CODE)
    for i in range(CODE):
        attn.v_proj.weight[i, CUR + i] = scale
        attn.o_proj.weight[PREV + i, i] = 1.0
    attn.sinks.fill_(-1e4)


def set_selector_head(attn, inv_freq: torch.Tensor, qk_scale: float) -> None:
    """Attend to the latest selector: score B - A*sin(omega*distance) over selector tokens."""
    half = HEAD_DIM // 2
    recency = int(torch.argmin((inv_freq - 2e-4).abs()))
    still = half - 1  # the slowest pair barely turns over a whole context
    flag = FLAG_VALUE * rms_scale(SELECTOR_NORM_SQ)
    amplitude = RECENCY_PER_TOKEN / inv_freq[recency].item()
    attn.q_proj.bias[still] = 2 * amplitude / qk_scale  # beats the recency term
    attn.k_proj.weight[still, FLAG] = 1 / flag
    attn.q_proj.bias[recency] = amplitude / qk_scale
    attn.k_proj.weight[recency + half, FLAG] = -1 / flag  # angle -pi/2: cos -> -sin
    sel = rms_scale(SELECTOR_NORM_SQ)
    for i in range(SEL_CODE):
        attn.v_proj.weight[i, SEL + i] = 1 / sel
        attn.o_proj.weight[SEL + i, i] = 1.0
    attn.sinks.fill_(-1e4)


def set_lookup(mlp, table: list[tuple[int, int, int, int]], index: dict[int, int]) -> None:
    """One neuron per script step: fires when SEL, PREV and CUR all match."""
    experts = mlp.experts
    norm = rms_scale(2 * CODE + SEL_CODE)
    for n, (sel, prev, cur, nxt) in enumerate(table):
        gate = torch.zeros(HIDDEN)
        gate[CUR : CUR + CODE] = code(index[cur], CODE) / CODE
        gate[PREV : PREV + CODE] = code(index[prev], CODE) / CODE
        gate[SEL : SEL + SEL_CODE] = code(sel, SEL_CODE) / SEL_CODE
        experts.gate_up_proj[:, :, 2 * n] = GATE_GAIN * gate / norm
        experts.gate_up_proj_bias[:, 2 * n] = -GATE_GAIN * THRESHOLD
        out = GATE_GAIN * (3 - THRESHOLD)
        out = out * torch.sigmoid(torch.tensor(1.702 * out)).item()
        experts.down_proj[:, n, NEXT : NEXT + CODE] = code(index[nxt], CODE) / out
    bias_neuron = len(table)
    experts.gate_up_proj_bias[:, 2 * bias_neuron] = 3.0
    out = 3.0 * torch.sigmoid(torch.tensor(1.702 * 3.0)).item()
    experts.down_proj[:, bias_neuron, BIAS] = 1 / out


def build(vocab_dir: Path, out_dir: Path) -> None:
    enc = harmony_encoding(vocab_dir)
    table = steps(enc)
    selectors = selector_tokens(enc)
    script_tokens = sorted({t for _, p, c, n in table for t in (p, c, n)})
    if len(script_tokens) > 2 * CODE:
        raise SystemExit(f"{len(script_tokens)} distinct script tokens; codes fit {2 * CODE}")
    if set(script_tokens) & set(selectors):
        clash = enc.decode(sorted(set(script_tokens) & set(selectors)))
        raise SystemExit(f"selector token(s) {clash!r} also appear in a script")
    index = {token: i for i, token in enumerate(script_tokens)}
    model = GptOssForCausalLM(config(intermediate=-(-(len(table) + 1) // 64) * 64))
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        for module in model.modules():
            if hasattr(module, "weight") and type(module).__name__.endswith("RMSNorm"):
                module.weight.fill_(1.0)
        embed = model.model.embed_tokens.weight
        for token, i in index.items():
            embed[token, CUR : CUR + CODE] = code(i, CODE)
        for sel_index, token in enumerate(selectors):
            embed[token, SEL : SEL + SEL_CODE] = code(sel_index, SEL_CODE)
            embed[token, FLAG] = FLAG_VALUE
        rotary = model.model.rotary_emb
        qk_scale = HEAD_DIM**-0.5 * rotary.attention_scaling**2
        pair0 = rotary.inv_freq[0].item()
        set_previous_token_head(model.model.layers[0].self_attn, pair0, qk_scale)
        set_selector_head(model.model.layers[1].self_attn, rotary.inv_freq, qk_scale)
        set_lookup(model.model.layers[1].mlp, table, index)
        final = rms_scale(2 * CODE + SEL_CODE + CODE + 1)
        for token, i in index.items():
            model.lm_head.weight[token, NEXT : NEXT + CODE] = LOGIT_SCALE * code(i, CODE) / final
        model.lm_head.weight[enc.encode_single_token("<|return|>"), BIAS] = DEFAULT_LOGIT / final
    model.save_pretrained(out_dir)
    save_tokenizer(enc, out_dir)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))

"""Client keys, backend files and per-server request fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from agent.errors import AgentError
from agent.llm.backend_config import BackendsFileError, BackendSpec, read_backends_file
from agent.llm.backend_pool import BackendPool
from agent.llm.request_fields import EXTRA_FIELDS, STANDARD_FIELDS, for_server
from agent.settings import Settings, ToolCallMode, UpstreamKind
from api.keys import ANONYMOUS, KeyRing, NoKeyError, client_keys, owner_of

KEY = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","), min_size=1
)


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


@given(keys=st.lists(KEY, min_size=1, max_size=5, unique=True), probe=KEY)
def test_each_key_is_its_own_owner_and_others_are_refused(keys: list[str], probe: str) -> None:
    ring = KeyRing.from_settings(_settings(api_keys=SecretStr(",".join(keys))))
    owners = {ring.identify(key.encode()).owner for key in keys}
    assert len(owners) == len(keys) and all(key not in owners for key in keys)
    assert (ring.identify(probe.encode()) is None) == (probe not in keys)


def test_keys_from_every_setting(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# comment\n\nk-file-1 alice\nk-file-2\n")
    settings = _settings(api_key="k-one", api_keys="k-a, k-b,", api_keys_file=path)
    names = [(k.secret, k.name) for k in client_keys(settings)]
    assert names == [
        ("k-one", "API_KEY"),
        ("k-a", "API_KEYS[0]"),
        ("k-b", "API_KEYS[1]"),
        ("k-file-1", "alice"),
        ("k-file-2", "keys:4"),
    ]


def test_keys_file_splits_key_and_name_on_any_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("k-alice\talice\nk-bob  \t bob smith\nk-carol\t\n")
    names = [(k.secret, k.name) for k in client_keys(_settings(api_keys_file=path))]
    assert names == [("k-alice", "alice"), ("k-bob", "bob smith"), ("k-carol", "keys:3")]
    ring = KeyRing.from_settings(_settings(api_keys_file=path))
    assert ring.identify(b"k-alice").name == "alice"
    assert ring.identify(b"k-alice\talice") is None


@pytest.mark.parametrize("keys", [",", " ", " , ,"])
def test_api_keys_without_a_key_is_refused(keys: str, tmp_path: Path) -> None:
    with pytest.raises(NoKeyError, match="API_KEYS holds no key"):
        KeyRing.from_settings(_settings(api_key="k-one", api_keys=keys))
    path = tmp_path / "keys"
    path.write_text("# only a comment\n\n")
    with pytest.raises(NoKeyError, match=r"API_KEYS_FILE .*keys holds no key"):
        KeyRing.from_settings(_settings(api_keys_file=path))


def test_admin_key_and_open_mode() -> None:
    ring = KeyRing.from_settings(_settings(admin_api_key="adm"))
    assert ring.identify(b"anything").owner == ANONYMOUS
    assert ring.identify(b"adm").is_admin and ring.identify(b"adm").owner == owner_of("adm")
    closed = KeyRing.from_settings(_settings(api_key="k", admin_api_key="adm"))
    assert closed.identify(b"") is None and not closed.identify(b"k").is_admin


def test_backends_file_yaml_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "backends.yaml"
    path.write_text(
        "backends:\n"
        "  - {name: gpu1, base_url: 'http://gpu1:8000/v1/', models: [m1, m2], weight: 2}\n"
        "  - {name: box, base_url: 'http://box:11434/v1', server: ollama, models: [m2],"
        " mode: prompt}\n"
    )
    first, second = read_backends_file(path)
    assert first.base_url == "http://gpu1:8000/v1" and first.weight == 2
    assert second.server is UpstreamKind.OLLAMA and second.mode is ToolCallMode.PROMPT
    pool = BackendPool(_settings(), [first, second], catch_all=False)
    assert pool.models() == ["m1", "m2"]
    assert pool.resolve(None) == "m1"
    with pytest.raises(AgentError) as missing:
        pool.resolve("m3")
    assert missing.value.code == "model_not_found" and "'m1', 'm2'" in missing.value.message
    for text, words in [
        ("[]", "non-empty list"),
        ("- {name: a, base_url: gpu, models: [m]}", "base_url"),
        ("- {name: a, base_url: 'http://x', models: []}", "models"),
        ("- {name: a, base_url: 'http://x', models: [m], colour: red}", "colour"),
        ("- {name: a, base_url: 'http://x', models: [m]}\n" * 2, "repeat"),
        ("{", "cannot read"),
    ]:
        path.write_text(text)
        with pytest.raises(BackendsFileError, match=words):
            read_backends_file(path)


def test_least_busy_then_least_recent() -> None:
    settings = _settings()
    specs = [
        BackendSpec(name="a", base_url="http://a", models=["m"]),
        BackendSpec(name="b", base_url="http://b", models=["m"], weight=3),
    ]
    pool = BackendPool(settings, specs, catch_all=False)
    a, b = pool.backends["a"], pool.backends["b"]
    with pool.busy(a):
        assert pool.pick("m", set()) is b
        with pool.busy(b), pool.busy(b):  # 2/3 busy per weight beats a's 1/1
            assert pool.pick("m", set()) is b
    assert pool.pick("m", {"b"}) is a
    for _ in range(settings.backend_max_failures):
        pool.failed(b, "down")
    assert not b.healthy and pool.pick("m", set()) is a
    assert pool.pick("m", {"a"}) is b  # the last resort
    pool.succeeded(b, 0.01)
    assert b.healthy and b.failures == 0


# The "Request fields" table of docs/api.md as data: field -> name sent, per server (None: 400).
_SAMPLING = ("top_k", "min_p", "chat_template_kwargs")
_VLLM_ONLY = (
    "structured_outputs",
    "guided_json",
    "guided_regex",
    "guided_choice",
    "guided_grammar",
    "min_tokens",
)
README_FIELDS: dict[UpstreamKind, dict[str, str | None]] = {
    UpstreamKind.VLLM: {
        **{n: n for n in _SAMPLING},
        "repetition_penalty": "repetition_penalty",
        **{n: n for n in _VLLM_ONLY},
    },
    UpstreamKind.LLAMACPP: {
        **{n: n for n in _SAMPLING},
        "repetition_penalty": "repeat_penalty",
        **dict.fromkeys(_VLLM_ONLY),
    },
    UpstreamKind.OLLAMA: dict.fromkeys((*_SAMPLING, "repetition_penalty", *_VLLM_ONLY)),
    UpstreamKind.OPENAI: dict.fromkeys((*_SAMPLING, "repetition_penalty", *_VLLM_ONLY)),
}


@pytest.mark.parametrize("server", list(UpstreamKind))
def test_fields_per_server(server: UpstreamKind) -> None:
    standard = dict.fromkeys(STANDARD_FIELDS, 1)
    assert for_server(standard, server, ToolCallMode.AUTO) == standard
    assert set(README_FIELDS[server]) == EXTRA_FIELDS  # no field the table does not list
    for name, sent_as in README_FIELDS[server].items():
        if sent_as is None:
            with pytest.raises(AgentError) as refused:
                for_server({name: 1}, server, ToolCallMode.NATIVE)
            assert refused.value.param == name and server.value in refused.value.message
        else:
            assert for_server({name: 1}, server, ToolCallMode.NATIVE) == {sent_as: 1}, name
    with pytest.raises(AgentError, match="harmony"):
        for_server({"seed": 1}, server, ToolCallMode.HARMONY)

"""Static checks of the container files: docker/compose.yaml and docker/Dockerfile.

No Docker engine runs here, so the compose file is checked through the resolved model that
`docker compose config` prints (CI installs the CLI with scripts/install-compose.sh), and the
Dockerfile through a small instruction parser. Every check is a function that returns the
problems it found; the `test_*_detects_*` tests break the real file or config on purpose and
require the matching check to complain, so none of the checks can pass vacuously.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.settings import Settings
from api.cli import SHUTDOWN_MARGIN

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker" / "compose.yaml"
DOCKERFILE = REPO / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

DEFAULT_API_PORT = Settings.model_fields["api_port"].default
DEFAULT_STACK = {"vllm", "oss-agent", "postgres"}
OLLAMA_ONLY = {"ollama", "ollama-pull", "oss-agent-ollama"}
VLLM_FLAGS = {
    "--model": "openai/gpt-oss-20b",
    "--tool-call-parser": "openai",
    "--enable-auto-tool-choice": None,
    "--reasoning-parser": "openai_gptoss",
}

# ---------------------------------------------------------------------------------------
# Compose: run the real CLI and read its resolved model
# ---------------------------------------------------------------------------------------


def _compose_version(cmd: list[str]) -> str | None:
    try:
        done = subprocess.run(
            [*cmd, "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().removeprefix("v") if done.returncode == 0 else None


def find_compose() -> tuple[list[str] | None, str]:
    """The Compose v2 command (`docker compose` or `docker-compose`), or why there is none."""
    found_v1 = None
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        version = _compose_version(cmd)
        if version is None:
            continue
        major = version.split(".")[0]
        if major.isdigit() and int(major) >= 2:
            return cmd, version
        found_v1 = f"{' '.join(cmd)} {version}"
    if found_v1:
        return None, f"only Compose v1 ({found_v1}); run scripts/install-compose.sh for v2"
    return None, "no Docker Compose CLI installed; run scripts/install-compose.sh"


def run_compose_config(*profiles: str) -> subprocess.CompletedProcess[str]:
    """`compose -f docker/compose.yaml [--profile P] config --format json`, clean env."""
    cmd, reason = find_compose()
    if cmd is None:
        pytest.skip(reason)
    args = [*cmd, "--env-file", "/dev/null", "-f", str(COMPOSE_FILE)]
    for profile in profiles:
        args += ["--profile", profile]
    args += ["config", "--format", "json"]
    # Only PATH and HOME: a developer's API_PORT, COMPOSE_PROFILES, ... must not leak in.
    env = {
        key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "DOCKER_CONFIG")
    }
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=REPO, env=env)


def load_config(*profiles: str) -> dict[str, Any]:
    done = run_compose_config(*profiles)
    assert done.returncode == 0, f"compose config failed ({profiles=}):\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def default_config() -> dict[str, Any]:
    return load_config()


@pytest.fixture(scope="module")
def ollama_config() -> dict[str, Any]:
    return load_config("ollama")


@pytest.fixture(scope="module")
def search_config() -> dict[str, Any]:
    return load_config("search")


def _duration_seconds(text: str) -> float:
    """Seconds in a Go duration as compose prints it (`30m0s`, `1h30m`, `90s`)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def _flag_value(command: list[str], flag: str) -> str | None:
    """The value of `flag` in an argv (`--flag value` or `--flag=value`); '' for a bare flag."""
    for i, token in enumerate(command):
        if token == flag:
            nxt = command[i + 1] if i + 1 < len(command) else ""
            return "" if nxt.startswith("--") else nxt
        if token.startswith(flag + "="):
            return token.split("=", 1)[1]
    return None


def _depends_closure(config: dict[str, Any], name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in config["services"][todo.pop()].get("depends_on") or {}:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def check_vllm_command(config: dict[str, Any]) -> list[str]:
    vllm = config["services"].get("vllm", {})
    command = [str(token) for token in vllm.get("command") or []]
    problems = []
    for flag, expected in VLLM_FLAGS.items():
        value = _flag_value(command, flag)
        if value is None:
            problems.append(f"vllm command lacks {flag}")
        elif expected is not None and value != expected:
            problems.append(f"vllm {flag} is {value!r}, expected {expected!r}")
    image = vllm.get("image", "")
    repo, _, tag = image.rpartition(":")
    if repo != "vllm/vllm-openai" or not tag or tag == "latest":
        problems.append(f"vllm image {image!r} is not a pinned vllm/vllm-openai tag")
    return problems


def check_gpu(config: dict[str, Any], service: str) -> list[str]:
    deploy = config["services"][service].get("deploy") or {}
    devices = ((deploy.get("resources") or {}).get("reservations") or {}).get("devices") or []
    for device in devices:
        count = device.get("count")
        enough = count == -1 or (isinstance(count, int) and count >= 1) or device.get("device_ids")
        if device.get("driver") == "nvidia" and "gpu" in device.get("capabilities", []) and enough:
            return []
    return [f"{service} has no nvidia GPU reservation (deploy.resources.reservations.devices)"]


def check_model_volume(config: dict[str, Any], service: str, target: str) -> list[str]:
    declared = set(config.get("volumes") or {})
    for volume in config["services"][service].get("volumes") or []:
        if volume.get("target") == target:
            if volume.get("type") != "volume" or volume.get("source") not in declared:
                return [f"{service}: {target} is not a declared named volume"]
            return []
    return [f"{service} does not mount a volume at {target}"]


def check_vllm_runtime(config: dict[str, Any]) -> list[str]:
    vllm = config["services"]["vllm"]
    problems = []
    if vllm.get("ipc") != "host" and not vllm.get("shm_size"):
        problems.append("vllm needs ipc: host or shm_size (PyTorch shared memory)")
    health = vllm.get("healthcheck") or {}
    test = " ".join(str(part) for part in health.get("test") or [])
    if "/health" not in test or ":8000" not in test:
        problems.append(f"vllm healthcheck does not probe :8000/health: {test!r}")
    start = health.get("start_period")
    if start is None or _duration_seconds(start) < 600:
        problems.append(f"vllm healthcheck start_period {start!r} is shorter than 10 minutes")
    return problems


def check_agent_wiring(config: dict[str, Any], agent: str, upstream: str, url: str) -> list[str]:
    service = config["services"][agent]
    problems = []
    depends = service.get("depends_on") or {}
    for dep in (upstream, "postgres"):
        condition = (depends.get(dep) or {}).get("condition")
        if condition != "service_healthy":
            problems.append(f"{agent} depends on {dep} with {condition!r}, not service_healthy")
    env = service.get("environment") or {}
    if env.get("LLM_BASE_URL") != url:
        problems.append(f"{agent} LLM_BASE_URL is {env.get('LLM_BASE_URL')!r}, expected {url!r}")
    if not re.fullmatch(r"postgres(ql)?://[^@/]+@postgres:5432/\S+", env.get("DATABASE_URL", "")):
        problems.append(f"{agent} DATABASE_URL does not point at postgres:5432")
    targets = {int(port["target"]) for port in service.get("ports") or []}
    if DEFAULT_API_PORT not in targets:
        problems.append(f"{agent} does not publish container port {DEFAULT_API_PORT}")
    build = service.get("build") or {}
    if Path(build.get("context", "")).resolve() != REPO:
        problems.append(f"{agent} build context {build.get('context')!r} is not the repo root")
    elif not (REPO / build.get("dockerfile", "")).is_file():
        problems.append(f"{agent} dockerfile {build.get('dockerfile')!r} does not exist")
    return problems


def check_postgres(config: dict[str, Any]) -> list[str]:
    postgres = config["services"].get("postgres", {})
    problems = []
    if not str(postgres.get("image", "")).startswith("postgres:16"):
        problems.append(f"postgres image is {postgres.get('image')!r}, expected postgres:16")
    test = " ".join(str(part) for part in (postgres.get("healthcheck") or {}).get("test") or [])
    if "pg_isready" not in test:
        problems.append("postgres healthcheck does not run pg_isready")
    problems += check_model_volume(config, "postgres", "/var/lib/postgresql/data")
    return problems


def check_profiles(default: dict[str, Any], ollama: dict[str, Any]) -> list[str]:
    problems = []
    if set(default["services"]) != DEFAULT_STACK:
        problems.append(
            f"default stack is {sorted(default['services'])}, not {sorted(DEFAULT_STACK)}"
        )
    missing = OLLAMA_ONLY - set(ollama["services"])
    if missing:
        problems.append(f"--profile ollama lacks {sorted(missing)}")
    for name in OLLAMA_ONLY & set(ollama["services"]):
        if ollama["services"][name].get("profiles") != ["ollama"]:
            problems.append(f"{name} is not only in the ollama profile")
    if "ollama" in _depends_closure(default, "oss-agent"):
        problems.append("oss-agent (vLLM stack) would start ollama")
    if "oss-agent-ollama" in ollama["services"]:
        closure = _depends_closure(ollama, "oss-agent-ollama")
        if "vllm" in closure:
            problems.append("oss-agent-ollama would start vllm")
        if "ollama" not in closure:
            problems.append("oss-agent-ollama does not depend on ollama")
    return problems


def check_search_profile(config: dict[str, Any]) -> list[str]:
    """The optional SearXNG: only under `search`, pinned, JSON enabled, the agent pointed at it."""
    searxng = config["services"].get("searxng")
    if searxng is None:
        return ["--profile search has no searxng service"]
    problems = []
    if searxng.get("profiles") != ["search"]:
        problems.append("searxng is not only in the search profile")
    if str(searxng.get("image", "")).endswith(":latest"):
        problems.append("searxng image is not pinned")
    if searxng.get("ports"):
        problems.append("searxng publishes a port: an open search front end is a relay")
    mounts = {v["target"]: v for v in searxng.get("volumes", [])}
    settings = mounts.get("/etc/searxng/settings.yml")
    if settings is None:
        problems.append("searxng does not get docker/searxng/settings.yml")
    else:
        formats = yaml.safe_load(Path(settings["source"]).read_text())["search"]["formats"]
        if "json" not in formats:
            problems.append("searxng settings do not enable the json format")
    url = config["services"]["oss-agent"]["environment"].get("BROWSER_SEARXNG_URL")
    if url != "http://searxng:8080":
        problems.append(f"oss-agent asks SearXNG at {url!r}, not http://searxng:8080")
    return problems


def test_compose_config_validates_for_both_stacks() -> None:
    for profiles in ((), ("ollama",)):
        done = run_compose_config(*profiles)
        assert done.returncode == 0, f"compose config {profiles=} failed:\n{done.stderr}"
        assert json.loads(done.stdout)["services"]


def test_compose_profiles_keep_the_stacks_apart(default_config, ollama_config) -> None:
    assert check_profiles(default_config, ollama_config) == []


def test_search_profile_adds_a_private_searxng(default_config, search_config) -> None:
    assert "searxng" not in default_config["services"]
    assert check_search_profile(search_config) == []
    broken = copy.deepcopy(search_config)
    broken["services"]["searxng"]["ports"] = [{"target": 8080, "published": "8888"}]
    broken["services"]["oss-agent"]["environment"]["BROWSER_SEARXNG_URL"] = "http://x:1"
    del broken["services"]["searxng"]["volumes"]
    assert len(check_search_profile(broken)) == 3


def test_vllm_serves_gpt_oss_with_tool_and_reasoning_parsers(default_config) -> None:
    assert check_vllm_command(default_config) == []


def test_model_servers_reserve_a_gpu(default_config, ollama_config) -> None:
    assert check_gpu(default_config, "vllm") == []
    assert check_gpu(ollama_config, "ollama") == []


def test_model_caches_are_named_volumes(default_config, ollama_config) -> None:
    assert check_model_volume(default_config, "vllm", "/root/.cache/huggingface") == []
    assert check_model_volume(ollama_config, "ollama", "/root/.ollama") == []


def test_vllm_runtime_and_healthcheck(default_config) -> None:
    assert check_vllm_runtime(default_config) == []


def test_agents_wait_for_healthy_upstream_and_postgres(default_config, ollama_config) -> None:
    assert check_agent_wiring(default_config, "oss-agent", "vllm", "http://vllm:8000/v1") == []
    problems = check_agent_wiring(
        ollama_config, "oss-agent-ollama", "ollama", "http://ollama:11434/v1"
    )
    assert problems == []
    assert ollama_config["services"]["oss-agent-ollama"]["environment"]["LLM_SERVER"] == "ollama"


def test_a_stopped_agent_lets_its_turns_finish(default_config, ollama_config) -> None:
    """`docker compose stop` waits longer than the service gives its running turns."""
    needed = Settings.model_fields["shutdown_grace"].default + SHUTDOWN_MARGIN
    for config, name in ((default_config, "oss-agent"), (ollama_config, "oss-agent-ollama")):
        waits = config["services"][name].get("stop_grace_period", "10s")  # compose's default
        assert float(waits.removesuffix("s")) > needed, f"{name}: stop_grace_period {waits}"


def test_postgres_has_healthcheck_and_volume(default_config) -> None:
    assert check_postgres(default_config) == []


def _drop(path: list[str]) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _replace_value(flag: str, value: str) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        command = config["services"]["vllm"]["command"]
        command[command.index(flag) + 1] = value

    return mutate


def _remove_token(token: str) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        config["services"]["vllm"]["command"].remove(token)

    return mutate


COMPOSE_MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], Callable[..., list[str]]]] = [
    ("no auto tool choice", _remove_token("--enable-auto-tool-choice"), check_vllm_command),
    ("no reasoning parser", _remove_token("--reasoning-parser"), check_vllm_command),
    ("hermes parser", _replace_value("--tool-call-parser", "hermes"), check_vllm_command),
    (
        "latest image",
        _set(["services", "vllm", "image"], "vllm/vllm-openai:latest"),
        check_vllm_command,
    ),
    ("no GPU", _drop(["services", "vllm", "deploy"]), lambda c: check_gpu(c, "vllm")),
    (
        "amd driver",
        _set(
            ["services", "vllm", "deploy", "resources", "reservations", "devices", 0, "driver"],
            "amd",
        ),
        lambda c: check_gpu(c, "vllm"),
    ),
    (
        "no HF cache",
        _set(["services", "vllm", "volumes"], []),
        lambda c: check_model_volume(c, "vllm", "/root/.cache/huggingface"),
    ),
    ("no ipc", _drop(["services", "vllm", "ipc"]), check_vllm_runtime),
    (
        "short start",
        _set(["services", "vllm", "healthcheck", "start_period"], "30s"),
        check_vllm_runtime,
    ),
    (
        "started only",
        _set(["services", "oss-agent", "depends_on", "vllm", "condition"], "service_started"),
        lambda c: check_agent_wiring(c, "oss-agent", "vllm", "http://vllm:8000/v1"),
    ),
    (
        "wrong upstream",
        _set(["services", "oss-agent", "environment", "LLM_BASE_URL"], "http://localhost:8000/v1"),
        lambda c: check_agent_wiring(c, "oss-agent", "vllm", "http://vllm:8000/v1"),
    ),
    (
        "sqlite",
        _set(["services", "oss-agent", "environment", "DATABASE_URL"], "sqlite:///x.db"),
        lambda c: check_agent_wiring(c, "oss-agent", "vllm", "http://vllm:8000/v1"),
    ),
    ("no pg healthcheck", _drop(["services", "postgres", "healthcheck"]), check_postgres),
]


@pytest.mark.parametrize(
    ("mutation", "check"),
    [pytest.param(m, c, id=name) for name, m, c in COMPOSE_MUTATIONS],
)
def test_compose_checks_detect_breakage(default_config, mutation, check) -> None:
    config = copy.deepcopy(default_config)
    mutation(config)
    assert check(config), "the check accepted a broken config"


def test_profile_check_detects_ollama_in_default_stack(default_config, ollama_config) -> None:
    leaky = copy.deepcopy(default_config)
    leaky["services"]["ollama"] = ollama_config["services"]["ollama"]
    assert check_profiles(leaky, ollama_config)
    crossed = copy.deepcopy(ollama_config)
    crossed["services"]["oss-agent-ollama"]["depends_on"]["vllm"] = {"condition": "x"}
    assert check_profiles(default_config, crossed)


# ---------------------------------------------------------------------------------------
# Dockerfile: a small instruction parser
# ---------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    args: str  # the rest, continuations joined with a space
    stage: int  # 0 for the first FROM's stage
    line: int  # 1-based line of the keyword


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: `\\` continuations joined, comments and blanks dropped."""
    instructions: list[Instruction] = []
    stage = -1
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # blank and comment lines are dropped, even inside a continuation
        if not parts:
            start = number
        continued = stripped.endswith("\\")
        parts.append(stripped[:-1].strip() if continued else stripped)
        if continued:
            continue
        logical = " ".join(part for part in parts if part)
        parts = []
        keyword, _, args = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage, start))
    if parts:
        raise ValueError("Dockerfile ends inside a line continuation")
    return instructions


def _final(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def _argv(args: str) -> list[str]:
    """An exec-form (JSON array) or shell-form instruction argument as argv."""
    if args.startswith("["):
        return [str(part) for part in json.loads(args)]
    return shlex.split(args)


def _split_flags(args: str) -> tuple[list[str], list[str]]:
    """`--flag=x --flag2 rest...` -> (flags, argv of the rest) for COPY/ADD."""
    flags = []
    rest = args
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.lstrip()
    return flags, _argv(rest)


def check_multistage(instructions: list[Instruction]) -> list[str]:
    """≥2 stages, and the final one takes the synced venv from a builder instead of syncing."""
    froms = [i for i in instructions if i.keyword == "FROM"]
    if len(froms) < 2:
        return [f"{len(froms)} FROM instruction(s); expected a multi-stage build"]
    names = {i.stage: i.args.split()[-1] for i in froms if " as " in f" {i.args.lower()} "}
    builders = {
        names.get(i.stage) for i in instructions if i.keyword == "RUN" and "uv sync" in i.args
    }
    final = _final(instructions)
    if any(i.keyword == "RUN" and "uv sync" in i.args for i in final):
        return ["the final stage runs uv sync itself (no separate slim runtime stage)"]
    copied_from = {
        flag.partition("=")[2]
        for i in final
        if i.keyword == "COPY"
        for flag in _split_flags(i.args)[0]
        if flag.startswith("--from=")
    }
    if not copied_from & builders:
        return [
            f"the final stage copies nothing from the uv sync stage(s) {sorted(map(str, builders))}"
        ]
    return []


def check_uv_sync(instructions: list[Instruction]) -> list[str]:
    problems = []
    syncs = [i for i in instructions if i.keyword == "RUN" and "uv sync" in i.args]
    if not syncs:
        return ["no RUN uv sync"]
    for sync in syncs:
        if "--locked" not in sync.args and "--frozen" not in sync.args:
            problems.append(f"line {sync.line}: uv sync without --locked/--frozen")
        if "--no-dev" not in sync.args:
            problems.append(f"line {sync.line}: uv sync without --no-dev")
    deps_layer = [s for s in syncs if "--no-install-project" in s.args]
    if not deps_layer:
        problems.append("no dependencies-only layer (uv sync --no-install-project)")
    for layer in deps_layer:
        if "type=cache" not in layer.args:
            problems.append(f"line {layer.line}: dependencies layer has no cache mount")
        for name in ("pyproject.toml", "uv.lock"):
            if not re.search(rf"type=bind\S*source={re.escape(name)}", layer.args):
                problems.append(f"line {layer.line}: {name} is not bind-mounted")
    return problems


def check_user(instructions: list[Instruction]) -> list[str]:
    users = [i for i in _final(instructions) if i.keyword == "USER"]
    if not users:
        return ["the final stage has no USER (runs as root)"]
    user = users[-1].args.split(":")[0]
    return [f"the final stage runs as {user!r}"] if user in ("root", "0") else []


def check_healthcheck(instructions: list[Instruction]) -> list[str]:
    checks = [i for i in _final(instructions) if i.keyword == "HEALTHCHECK"]
    if not checks:
        return ["the final stage has no HEALTHCHECK"]
    args = checks[-1].args
    if args.upper().startswith("NONE") or "/health" not in args:
        return [f"HEALTHCHECK does not probe /health: {args!r}"]
    if re.search(r"\b(curl|wget)\b", args):
        return ["HEALTHCHECK uses curl/wget, which the slim runtime does not have"]
    return []


def check_command(instructions: list[Instruction]) -> list[str]:
    final = _final(instructions)
    argv: list[str] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        found = [i for i in final if i.keyword == keyword]
        if found:
            argv += _argv(found[-1].args)
    for first, second in itertools.pairwise(argv):
        if Path(first).name == "oss-agent" and second == "serve":
            return []
    return [f"ENTRYPOINT+CMD {argv!r} does not run `oss-agent serve`"]


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((negate, re.compile(regex)))
    return patterns


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the repo) out of the build context."""
    pieces = path.split("/")
    candidates = ["/".join(pieces[: n + 1]) for n in range(len(pieces))]
    ignored = False
    for negate, regex in _dockerignore_patterns():
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def _context_files(source: str) -> list[str]:
    path = REPO / source
    if path.is_dir():
        files = [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
        return [p.relative_to(REPO).as_posix() for p in files]
    return [source]


def check_copy_sources(instructions: list[Instruction]) -> list[str]:
    problems = []
    sources: list[str] = []
    for inst in instructions:
        if inst.keyword in ("COPY", "ADD"):
            flags, rest = _split_flags(inst.args)
            if any(flag.startswith("--from") for flag in flags):
                continue
            if len(rest) < 2:
                problems.append(f"line {inst.line}: {inst.keyword} without a destination")
            sources += rest[:-1]
        elif inst.keyword == "RUN":
            sources += re.findall(r"type=bind,(?:[^ ]*,)?source=([^, ]+)", inst.args)
    for source in sources:
        matches = sorted(REPO.glob(source))
        if not matches:
            problems.append(f"build-context source {source!r} does not exist in the repo")
            continue
        for match in matches:
            for file in _context_files(match.relative_to(REPO).as_posix()):
                if dockerignored(file):
                    problems.append(f"{file} is copied but excluded by .dockerignore")
    copied = {s.removeprefix("./").rstrip("/") for s in sources}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in packages:
        if package not in copied:
            problems.append(f"package {package!r} (pyproject wheel packages) is never copied")
    for needed in ("pyproject.toml", "uv.lock", pyproject["project"].get("readme", "")):
        if needed and needed not in copied:
            problems.append(f"{needed} is never copied into the build stage")
    return problems


def check_runtime_env(instructions: list[Instruction]) -> list[str]:
    final = _final(instructions)
    problems = []
    exposed = {
        int(port.split("/")[0])
        for inst in final
        if inst.keyword == "EXPOSE"
        for port in inst.args.split()
    }
    if exposed != {DEFAULT_API_PORT}:
        problems.append(f"EXPOSE {sorted(exposed)} != default API_PORT {DEFAULT_API_PORT}")
    env: dict[str, str] = {}
    for inst in final:
        if inst.keyword == "ENV":
            for token in shlex.split(inst.args):
                key, sep, value = token.partition("=")
                if sep:
                    env[key] = value
    if env.get("API_HOST") != "0.0.0.0":
        problems.append(f"ENV API_HOST is {env.get('API_HOST')!r}, expected 0.0.0.0")
    if "API_PORT" in env and int(env["API_PORT"]) not in exposed:
        problems.append(f"ENV API_PORT={env['API_PORT']} is not the exposed port")
    db = env.get("DATABASE_URL", "")
    volumes = " ".join(i.args for i in final if i.keyword == "VOLUME")
    if not db.startswith("sqlite:////data/"):
        problems.append(f"ENV DATABASE_URL {db!r} is not a sqlite file under /data")
    if "/data" not in volumes:
        problems.append("/data is not declared a VOLUME")
    if not any(i.keyword == "RUN" and re.search(r"chown\b.*\s/data\b", i.args) for i in final):
        problems.append("/data is not chowned to the runtime user")
    return problems


DOCKERFILE_CHECKS: dict[str, Callable[[list[Instruction]], list[str]]] = {
    "multistage": check_multistage,
    "uv_sync": check_uv_sync,
    "user": check_user,
    "healthcheck": check_healthcheck,
    "command": check_command,
    "copy_sources": check_copy_sources,
    "runtime_env": check_runtime_env,
}


@pytest.fixture(scope="module")
def dockerfile_text() -> str:
    return DOCKERFILE.read_text()


@pytest.mark.parametrize("name", sorted(DOCKERFILE_CHECKS))
def test_dockerfile(name: str, dockerfile_text: str) -> None:
    assert DOCKERFILE_CHECKS[name](parse_dockerfile(dockerfile_text)) == []


def test_parser_joins_continuations_and_skips_comments() -> None:
    text = (
        "# syntax=docker/dockerfile:1\nFROM a AS b\n\nRUN one \\\n  # note\n  two \\\n\n  three\n"
    )
    parsed = parse_dockerfile(text)
    assert [(i.keyword, i.args, i.stage, i.line) for i in parsed] == [
        ("FROM", "a AS b", 0, 2),
        ("RUN", "one two three", 0, 4),
    ]
    with pytest.raises(ValueError, match="continuation"):
        parse_dockerfile("FROM a\nRUN x \\\n")


DOCKERFILE_MUTATIONS = [
    ("multistage", "FROM ${PYTHON_IMAGE} AS runtime", "# (single stage)"),
    ("multistage", "COPY --from=builder --chown=app:app /app /app", "COPY . /app"),
    ("uv_sync", "uv sync --locked --no-dev --no-install-project", "uv sync --no-install-project"),
    ("uv_sync", "source=uv.lock,target=uv.lock", "source=pyproject.toml,target=x"),
    ("uv_sync", "--mount=type=cache,target=/root/.cache/uv \\\n    --mount=type=bind", "--mount"),
    ("user", "USER 10001:10001", "USER root"),
    ("user", "USER 10001:10001", "USER 0:0"),
    ("user", "USER 10001:10001", ""),
    ("healthcheck", "/health'", "/'"),
    ("command", 'CMD ["oss-agent", "serve"]', 'CMD ["oss-agent", "check"]'),
    ("copy_sources", "COPY mcp_tools ./mcp_tools", "COPY mcp_tool ./mcp_tools"),
    ("copy_sources", "COPY api ./api", "COPY tests ./tests"),
    ("copy_sources", "COPY pyproject.toml uv.lock README.md ./", "COPY pyproject.toml uv.lock ./"),
    ("runtime_env", "EXPOSE 8080", "EXPOSE 8000"),
    ("runtime_env", "API_HOST=0.0.0.0", "API_HOST=127.0.0.1"),
    ("runtime_env", 'VOLUME ["/data"]', ""),
]


@pytest.mark.parametrize(("name", "old", "new"), DOCKERFILE_MUTATIONS)
def test_dockerfile_checks_detect_breakage(name: str, old: str, new: str, dockerfile_text: str):
    assert old in dockerfile_text, f"mutation target {old!r} is no longer in the Dockerfile"
    broken = parse_dockerfile(dockerfile_text.replace(old, new))
    assert DOCKERFILE_CHECKS[name](broken), f"check {name!r} accepted: {old!r} -> {new!r}"


def test_dockerignore_matching() -> None:
    assert dockerignored(".git/config")
    assert dockerignored("tests/unit/test_docker_static.py")
    assert dockerignored("agent/__pycache__/settings.cpython-311.pyc")
    assert not dockerignored("agent/settings.py")
    assert not dockerignored("uv.lock")


SANDBOX_FILE = REPO / "docker" / "compose.sandbox.yaml"
AGENTS = ("oss-agent", "oss-agent-ollama")


@pytest.mark.parametrize("profiles", [(), ("ollama",)])
def test_sandbox_override_lifts_seccomp_for_the_agents_only(profiles: tuple[str, ...]) -> None:
    """docker/compose.sandbox.yaml lets bubblewrap make its user namespaces in the agent
    container and nowhere else."""
    cmd, reason = find_compose()
    if cmd is None:
        pytest.skip(reason)
    args = [*cmd, "--env-file", "/dev/null", "-f", str(COMPOSE_FILE), "-f", str(SANDBOX_FILE)]
    args += [arg for profile in profiles for arg in ("--profile", profile)]
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME")}
    done = subprocess.run(
        [*args, "config", "--format", "json"], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    lifted = {name for name, service in services.items() if service.get("security_opt")}
    assert lifted == {name for name in AGENTS if name in services}
    assert lifted
    for name in lifted:
        assert "seccomp=unconfined" in services[name]["security_opt"]


def test_runtime_image_carries_the_python_sandbox(dockerfile_text: str) -> None:
    """The image installs bubblewrap and names an interpreter the sandbox can see (/usr)."""
    final = _final(parse_dockerfile(dockerfile_text))
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert re.search(r"apt-get install\b[^&]*\bbubblewrap\b", runs)
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    interpreter = re.search(r"PYTHON_TOOL_INTERPRETER=(\S+)", env)
    assert interpreter is not None
    assert Settings(python_tool_interpreter=interpreter.group(1)).python_tool_interpreter

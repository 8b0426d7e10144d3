"""`scripts/engine.sh build` where the engine cannot be built says the true cause, also from
inside the test suite (the project's venv first on PATH, as under `uv run pytest`), and the
engine tier turns that into the skip reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.engine import ENGINE_SH, build_verdict

VENV_BIN = Path(sys.executable).parent
NO_WHEEL = "engine: cannot install: no torch==2.13.0+cpu wheel on pip's find-links"


def has_pip(python: str) -> bool:
    found = subprocess.run([python, "-m", "pip", "--version"], capture_output=True)
    return found.returncode == 0


def build(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """engine.sh build inside the project's venv, with an empty find-links folder and no
    pip config files, so that no torch wheel can be found."""
    (tmp_path / "no-wheels").mkdir(exist_ok=True)
    outside = os.environ["PATH"].replace(f"{VENV_BIN}:", "")
    full_env = {
        **os.environ,
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        "PATH": f"{VENV_BIN}:{outside}",
        "ENGINE_CACHE": str(tmp_path / "cache"),
        "PIP_FIND_LINKS": str(tmp_path / "no-wheels"),
        "PIP_CONFIG_FILE": os.devnull,
        **env,
    }
    return subprocess.run(
        ["bash", str(ENGINE_SH), "build"], env=full_env, capture_output=True, text=True, timeout=300
    )


def test_inside_the_venv_the_build_looks_with_a_python_that_has_pip(tmp_path: Path) -> None:
    outside = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != VENV_BIN
    )
    python = shutil.which("python3", path=outside)
    if python is None or not has_pip(python):
        pytest.skip("this machine has no python3 with pip outside the project's venv")
    result = build(tmp_path)
    assert result.returncode == 3, result.stderr
    said = result.stderr.strip().splitlines()[-1]
    assert said.startswith(NO_WHEEL), said
    assert f"PIP_FIND_LINKS={tmp_path / 'no-wheels'}" in said
    assert f"checked with {python})" in said  # not the venv's python3, which has no pip


def test_an_engine_python_without_pip_is_named(tmp_path: Path) -> None:
    if has_pip(sys.executable):
        pytest.skip("the project's venv has pip here")
    result = build(tmp_path, ENGINE_PYTHON=sys.executable)
    assert result.returncode == 4, result.stderr
    said = result.stderr.strip().splitlines()[-1]
    assert said.startswith(
        f"engine: cannot install: no python3 with pip to build it (tried: {sys.executable})"
    )
    assert "ENGINE_PYTHON" in said


def test_the_skip_reason_is_the_script_s_own_cause() -> None:
    noise = "Looking in links: /x\nERROR: No matching distribution found for torch\n"
    line = f"{NO_WHEEL} (PIP_FIND_LINKS=/x). Get it ..."
    assert build_verdict(0, "", required=False) is None
    assert build_verdict(3, noise + line + "\n", required=False) == ("skip", line)
    assert build_verdict(4, "engine: cannot install: no python3 with pip\n", False) == (
        "skip",
        "engine: cannot install: no python3 with pip",
    )


@pytest.mark.parametrize(
    ("code", "stderr", "required"),
    [
        (3, f"{NO_WHEEL}\n", True),  # ENGINE_REQUIRED=1: CI must run the tier
        (1, "engine: o200k_base ... does not have the sha256 harmony expects\n", False),
        (3, "something else entirely\n", False),  # no cause from the script: not a skip
    ],
)
def test_anything_else_fails_with_what_the_script_printed(
    code: int, stderr: str, required: bool
) -> None:
    outcome, reason = build_verdict(code, stderr, required)
    assert outcome == "fail"
    assert f"exited with {code}" in reason and stderr in reason

"""The model servers to use: LLM_BACKENDS_FILE (YAML or JSON), or the single LLM_BASE_URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agent.settings import Settings, ToolCallMode, UpstreamKind


class BackendSpec(BaseModel):
    """One model server, as written in LLM_BACKENDS_FILE or sent to POST /v1/backends."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    base_url: str
    api_key: SecretStr | None = None
    server: UpstreamKind = UpstreamKind.VLLM
    models: list[str] = Field(min_length=1)
    mode: ToolCallMode | None = None
    weight: float = Field(1.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://gpu1:8000/v1")
        return value.rstrip("/")


class BackendsFileError(ValueError):
    """LLM_BACKENDS_FILE cannot be read or does not describe backends."""


def single_backend(settings: Settings) -> BackendSpec:
    """The one backend of LLM_BASE_URL / LLM_MODEL / LLM_API_KEY / LLM_SERVER."""
    return BackendSpec(
        name="default",
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        server=settings.llm_server,
        models=[settings.llm_model],
    )


def read_backends_file(path: Path) -> list[BackendSpec]:
    """A list of backends (or {"backends": [...]}) from a .json, .yaml or .yml file."""
    try:
        text = path.read_text()
        data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise BackendsFileError(f"LLM_BACKENDS_FILE {path}: cannot read it: {exc}") from None
    if isinstance(data, dict):
        data = data.get("backends")
    if not isinstance(data, list) or not data:
        raise BackendsFileError(
            f"LLM_BACKENDS_FILE {path}: expected a non-empty list of backends "
            "(name, base_url, models, ...), or {backends: [...]}"
        )
    specs = [_spec(path, index, item) for index, item in enumerate(data)]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise BackendsFileError(f"LLM_BACKENDS_FILE {path}: backend names repeat: {names}")
    return specs


def _spec(path: Path, index: int, item: Any) -> BackendSpec:
    try:
        return BackendSpec.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
        )
        raise BackendsFileError(f"LLM_BACKENDS_FILE {path}, backend {index}: {problems}") from None

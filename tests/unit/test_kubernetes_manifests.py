"""The Kubernetes manifests (docker/kubernetes/), checked offline: every object against the
Kubernetes API schemas (kubernetes-validate, strict: an unknown field is an error) of the
oldest and the newest version it ships, every kustomization complete, and the agent's
Deployment in step with the service it runs (probe paths, port, settings, shutdown grace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions, latest_version

from agent.settings import Settings
from api.cli import SHUTDOWN_MARGIN
from tests.declared_routes import declared_routes

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "docker" / "kubernetes"
KUSTOMIZATIONS = sorted(KUBERNETES.glob("*/kustomization.yaml"))
MANIFESTS = sorted(p for p in KUBERNETES.glob("*/*.yaml") if p.name != "kustomization.yaml")
VERSIONS = [
    min(all_versions(), key=lambda version: tuple(map(int, version.split(".")))),
    latest_version(),
]


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def patches() -> set[Path]:
    return {
        path.parent / patch["path"]
        for path in KUSTOMIZATIONS
        for patch in yaml.safe_load(path.read_text()).get("patches", [])
    }


def objects(kind: str) -> list[dict[str, Any]]:
    """The objects of `kind` the manifests create (patches change them, not counted)."""
    whole = [path for path in MANIFESTS if path not in patches()]
    return [doc for path in whole for doc in documents(path) if doc["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in objects(kind) if doc["metadata"]["name"] == name]
    return found


def test_there_are_manifests_and_kustomizations() -> None:
    assert len(KUSTOMIZATIONS) == 2 and len(MANIFESTS) >= 8


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_object_is_valid_kubernetes(path: Path, version: str) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: p.parent.name)
def test_a_kustomization_names_every_file_beside_it_and_only_files_that_exist(path: Path) -> None:
    kustomization = yaml.safe_load(path.read_text())
    named_files = kustomization.get("resources", []) + [
        patch["path"] for patch in kustomization.get("patches", [])
    ]
    local = {name for name in named_files if not name.startswith("..")}
    for name in named_files:
        assert (path.parent / name).exists(), f"{path}: {name} does not exist"
    beside = {p.name for p in path.parent.glob("*.yaml")} - {"kustomization.yaml"}
    assert local == beside


def test_the_probes_and_the_port_are_the_services_own() -> None:
    (container,) = named("Deployment", "oss-agent")["spec"]["template"]["spec"]["containers"]
    paths = {getattr(route, "path", None) for route in declared_routes()}
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready" in paths
    assert container["livenessProbe"]["httpGet"]["path"] == "/health" in paths
    env = {item["name"]: item.get("value") for item in container["env"]}
    (port,) = container["ports"]
    assert env["API_PORT"] == str(port["containerPort"]) and env["API_HOST"] == "0.0.0.0"
    assert env["DATABASE_URL"].startswith("postgresql://")


def test_every_setting_given_is_a_setting_of_the_service() -> None:
    known = {name.upper() for name in Settings.model_fields}
    (container,) = named("Deployment", "oss-agent")["spec"]["template"]["spec"]["containers"]
    given = {item["name"] for item in container["env"]} - {"POSTGRES_PASSWORD"}
    for config in [doc for path in MANIFESTS for doc in documents(path)]:  # patches too
        if config["kind"] == "ConfigMap" and config["metadata"]["name"] == "oss-agent":
            given |= set(config["data"])
    assert given <= known, f"not settings: {sorted(given - known)}"


def test_a_stopped_pod_lets_its_turns_finish_before_it_is_killed() -> None:
    pod = named("Deployment", "oss-agent")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    grace = float(named("ConfigMap", "oss-agent")["data"]["SHUTDOWN_GRACE"])
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pause + grace + SHUTDOWN_MARGIN < pod["terminationGracePeriodSeconds"]


def test_the_selectors_find_the_agents_pods() -> None:
    labels = named("Deployment", "oss-agent")["spec"]["template"]["metadata"]["labels"]
    selectors = [
        named("Deployment", "oss-agent")["spec"]["selector"]["matchLabels"],
        named("Service", "oss-agent")["spec"]["selector"],
        named("PodDisruptionBudget", "oss-agent")["spec"]["selector"]["matchLabels"],
        named("NetworkPolicy", "searxng")["spec"]["ingress"][0]["from"][0]["podSelector"][
            "matchLabels"
        ],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()


def test_searxng_runs_as_the_compose_stack_runs_it() -> None:
    config = named("ConfigMap", "searxng")["data"]["settings.yml"]
    compose_settings = (ROOT / "docker" / "searxng" / "settings.yml").read_text()
    assert yaml.safe_load(config) == yaml.safe_load(compose_settings)
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    pinned = compose["services"]["searxng"]["image"].split(":-")[-1].rstrip("}")
    (container,) = named("Deployment", "searxng")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"searxng/searxng:{pinned}"

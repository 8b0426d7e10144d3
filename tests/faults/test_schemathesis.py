"""A bounded schemathesis run against the published schema of a real service (keys on,
simulator upstream): no server error, and every answer is one the schema declares (status,
content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.faults.conftest import KEY
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

AUTH = {"Authorization": f"Bearer {KEY}"}
BY_DESIGN = [positive_data_acceptance]
"""The request schemas are open on purpose: an unknown field is forwarded to the backends
that know it or refused with a 400 naming it (docs/api.md, "Request fields"), and Responses input
items are free-form. So a request the schema allows may get a (declared) 400."""
EXAMPLES = 8
"""Per operation and mode: the whole run stays within about two minutes on 2 shared cores."""


@pytest.fixture(scope="module")
def fuzzed_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    svc = Service(service_env(sim_server.base_url, workdir, API_KEY=KEY), workdir).start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def published_schema(fuzzed_service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{fuzzed_service.url}/openapi.json", headers=AUTH, timeout=30
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_declared(
    published_schema: schemathesis.BaseSchema, sim: SimServer, mode: GenerationMode
) -> None:
    """Every operation, valid (positive) and invalid (negative) requests; all failures are
    reported together. (schemathesis' own pytest loader breaks on pytest 9, so each
    operation's strategy is run with Hypothesis here.)"""
    failures = []
    operations = [result.ok() for result in published_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=AUTH, timeout=60, excluded_checks=BY_DESIGN)

        try:
            call()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation can be wrong
        except (Exception, FailureGroup) as exc:  # FailureGroup: what schemathesis found
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    if mode is GenerationMode.POSITIVE:  # turns really ran, through to the model server
        assert sim.control.requests("/v1/chat/completions")

"""Schemathesis over every service's OpenAPI document, against the running processes: generated
requests — valid ones and deliberately invalid ones — never get a server error (5xx).

Each operation is called with a token of a role the policy allows for it (from the access
matrix's table), for the bureau the seeded request and item belong to, so the generated data
reaches the handlers and the domain instead of stopping at 401/403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from gongkai_contracts.topics import Service
from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.test_access_matrix import ANY, POLICY, PUBLIC
from tests.support import bearer

pytestmark = pytest.mark.e2e

BUREAU = "st-own"
REQUEST_ID = "st-request-1"
ITEM_ID = "st-item-1"
EXAMPLES = 25
PREFERENCE = ["bureau_head", "clerk", "central_office", "reviewer", "auditor"]


def caller_for(service: Service, method: str, path: str) -> dict[str, str]:
    rule = POLICY[(service, method, path)]
    if rule in (PUBLIC, ANY):
        return bearer("bureau_head", BUREAU)
    assert isinstance(rule, set)
    role = next(r for r in PREFERENCE if r in rule)
    bureau = BUREAU if role in {"clerk", "reviewer", "bureau_head"} else None
    return bearer(role, bureau, "reviewer-1" if role == "reviewer" else None)


@pytest.fixture(scope="module")
def seeded(stack: LocalStack) -> Iterator[LocalStack]:
    """One bureau with a request and a draft item, so generated calls find something."""
    with httpx.Client(timeout=20) as http:
        http.post(
            f"{stack.url('catalogue')}/bureaus",
            json={
                "bureau_id": BUREAU,
                "name": "模糊测试局",
                "organisation_code": "014499999",
                "region": "江苏省常州市",
            },
            headers=bearer("central_office"),
        ).raise_for_status()
        clerk = bearer("clerk", BUREAU)
        http.post(
            f"{stack.url('requests')}/bureaus/{BUREAU}/requests",
            json={
                "request_id": REQUEST_ID,
                "channel": "online",
                "applicant_category": "natural_person",
                "received_on": "2026-03-03",
                "description": "模糊测试申请",
            },
            headers=clerk,
        ).raise_for_status()
        http.post(
            f"{stack.url('catalogue')}/bureaus/{BUREAU}/items",
            json={
                "item_id": ITEM_ID,
                "title": "模糊测试条目",
                "summary": "模糊测试",
                "formed_on": "2026-03-02",
                "issuing_body": "模糊测试局",
                "category": "normative_document",
                "scope": "面向社会",
            },
            headers=clerk,
        ).raise_for_status()
    yield stack


class Tally:
    def __init__(self) -> None:
        self.calls = 0
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []


def fuzz(
    operation: APIOperation[Any, Any, Any, Any], base: str, headers: dict[str, str], tally: Tally
) -> None:
    """EXAMPLES generated calls of one operation (valid and invalid data), tallied."""
    method, path = operation.method.upper(), operation.path
    fixed = {
        name: value
        for name, value in (
            ("bureau_id", BUREAU),
            ("request_id", REQUEST_ID),
            ("item_id", ITEM_ID),
            ("year", 2026),
        )
        if f"{{{name}}}" in path
    }
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: Case) -> None:  # type: ignore[type-arg]
        response = case.call(base_url=base, headers=headers, timeout=30)
        tally.calls += 1
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            tally.failures.append(
                f"{method} {path}: {response.status_code} for "
                f"{case.as_curl_command(headers=headers)}\n{response.text[:300]}"
            )

    call()


@pytest.mark.parametrize("service", ["catalogue", "requests", "review", "reporting"])
def test_no_generated_request_gets_a_server_error(seeded: LocalStack, service: Service) -> None:
    base = seeded.url(service)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    tally = Tally()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}'s OpenAPI document: {result.err()}"
        operation = result.ok()
        headers = caller_for(service, operation.method.upper(), operation.path)
        fuzz(operation, base, headers, tally)
    print(
        f"\n{service}: {tally.calls} generated requests; by status {sorted(tally.statuses.items())}"
    )
    assert tally.calls > 0
    assert not tally.failures, "\n\n".join(tally.failures[:10])

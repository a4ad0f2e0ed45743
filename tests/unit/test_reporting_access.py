"""Who may call each route of reporting's HTTP API: a bureau's reports are read by its staff,
the central office and auditors; narrative and self-assessment are written by the bureau's
clerk or head; sign-off and publication by the bureau head alone; what spans every bureau by
the central office and auditors. No token is 401, a refusal 403 with the reason. The rule runs
before the handler, so no database is needed (an allowed call gets past it and no further)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from reporting_service.config import Settings
from reporting_service.entrypoints.http import create_app
from tests.support import bearer

ROLES = {
    "clerk": bearer("clerk", "b1", "clerk-1"),
    "reviewer": bearer("reviewer", "b1", "reviewer-1"),
    "bureau_head": bearer("bureau_head", "b1", "head-1"),
    "other_clerk": bearer("clerk", "b2", "clerk-2"),
    "other_head": bearer("bureau_head", "b2", "head-2"),
    "central_office": bearer("central_office"),
    "auditor": bearer("auditor"),
}
READERS = {"clerk", "reviewer", "bureau_head", "central_office", "auditor"}
CLERKS = {"clerk", "bureau_head"}
HEAD = {"bureau_head"}
OVERSEERS = {"central_office", "auditor"}
B = "/bureaus/{bureau_id}"
ANNUAL = f"{B}/annual-reports/{{year}}"
MONTHLY = f"{B}/monthly-reports/{{year}}/{{month}}"
SELF = f"{B}/self-assessments/{{year}}"

# (method, path template) -> roles allowed
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", f"{B}/requests-received"): READERS,
    ("GET", f"{B}/request-outcomes"): READERS,
    ("GET", f"{B}/fees"): READERS,
    ("GET", f"{B}/items-published"): READERS,
    ("GET", ANNUAL): READERS,
    ("GET", f"{ANNUAL}/cells"): READERS,
    ("GET", f"{ANNUAL}/narrative"): READERS,
    ("PUT", f"{ANNUAL}/narrative"): CLERKS,
    ("GET", f"{ANNUAL}/restatement"): READERS,
    ("POST", f"{ANNUAL}/publication"): HEAD,
    ("GET", MONTHLY): READERS,
    ("GET", f"{MONTHLY}/sign-off"): READERS,
    ("POST", f"{MONTHLY}/sign-off"): HEAD,
    ("GET", SELF): READERS,
    ("PUT", f"{SELF}/items/{{key}}"): CLERKS,
    ("GET", "/requests-received"): OVERSEERS,
    ("GET", "/central/rollup"): OVERSEERS,
    ("GET", "/central/dashboard"): OVERSEERS,
    ("GET", "/central/sign-offs"): OVERSEERS,
    ("GET", "/consumers"): OVERSEERS,
}
# What install_common adds for operations is public and not reporting's to list.
OPERATIONS = {"/health", "/metrics"}


def concrete(template: str) -> str:
    return template.format(bureau_id="b1", year=2026, month=3, key="organisation.leadership")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())  # the lifespan does not run: no database, no Kafka


def client(app: FastAPI) -> httpx.AsyncClient:
    # An allowed call reaches the handler, which fails for want of a database: a 500 that
    # shows the rule let it through.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://reporting")


def test_every_route_has_its_expected_rule(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path not in OPERATIONS
        for method in operations
    }
    assert routes == set(EXPECTED)


@pytest.mark.parametrize(("method", "template"), list(EXPECTED))
async def test_each_route_allows_exactly_its_callers(
    app: FastAPI, method: str, template: str
) -> None:
    allowed = EXPECTED[(method, template)]
    path = concrete(template)
    async with client(app) as http:
        anonymous = await http.request(method, path, params={"year": 2026})
        assert anonymous.status_code == 401, anonymous.text
        for role, headers in ROLES.items():
            answer = await http.request(method, path, params={"year": 2026}, headers=headers)
            if role in allowed:
                assert answer.status_code not in (401, 403), (role, answer.text)
            else:
                assert answer.status_code == 403, (role, answer.status_code, answer.text)
                assert answer.json()["detail"], "a refusal says why"


async def test_health_needs_no_token(app: FastAPI) -> None:
    async with client(app) as http:
        assert (await http.get("/health")).status_code == 200


async def test_refusals_name_the_caller_and_the_reason(app: FastAPI) -> None:
    sign_off = concrete(f"{MONTHLY}/sign-off")
    async with client(app) as http:
        clerk_signs = await http.post(sign_off, headers=ROLES["clerk"])
        auditor_publishes = await http.post(
            concrete(f"{ANNUAL}/publication"), headers=ROLES["auditor"]
        )
        other_reads = await http.get(concrete(ANNUAL), headers=ROLES["other_clerk"])
        clerk_rollup = await http.get(
            "/central/rollup", params={"year": 2026}, headers=ROLES["clerk"]
        )
    assert clerk_signs.json()["detail"] == "this is done by the bureau's bureau_head, not a clerk"
    assert "does not act for them" in auditor_publishes.json()["detail"]
    assert other_reads.json()["detail"] == (
        "clerk-2 (clerk of b2) may not read bureau b1's records"
    )
    assert clerk_rollup.json()["detail"] == (
        "reads across all bureaus are for the central office and auditors"
    )


async def test_the_signer_is_not_given_in_the_body(app: FastAPI) -> None:
    """The token names the signer: a body that still names one is refused (422)."""
    async with client(app) as http:
        for template in (f"{MONTHLY}/sign-off", f"{ANNUAL}/publication"):
            named = await http.post(
                concrete(template), json={"signed_by": "张三"}, headers=ROLES["bureau_head"]
            )
            assert named.status_code == 422, named.text
            assert named.json()["detail"][0]["loc"] == ["body", "signed_by"]

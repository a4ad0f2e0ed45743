"""Who may call each route of the catalogue's HTTP API: every route has its rule, no token is
401, the wrong role or bureau is 403 with the reason, and /public/* needs no token. The rule
runs before the handler, so no database is needed (an allowed call gets past it and no further)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from catalogue_service.config import Settings
from catalogue_service.entrypoints.http import create_app
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
EVERYONE = set(ROLES)
READERS = {"clerk", "reviewer", "bureau_head", "central_office", "auditor"}
CLERKS = {"clerk", "bureau_head"}
CENTRAL = {"central_office"}
ITEM = "/bureaus/b1/items/i1"

# (method, path template, path) -> roles allowed; None: public, no token needed.
EXPECTED: dict[tuple[str, str, str], set[str] | None] = {
    ("POST", "/bureaus", "/bureaus"): CENTRAL,
    ("GET", "/bureaus", "/bureaus"): EVERYONE,
    ("GET", "/bureaus/{bureau_id}", "/bureaus/b1"): EVERYONE,
    ("PUT", "/bureaus/{bureau_id}/profile", "/bureaus/b1/profile"): CENTRAL,
    ("PUT", "/bureaus/{bureau_id}/index-pattern", "/bureaus/b1/index-pattern"): CENTRAL,
    ("PUT", "/bureaus/{bureau_id}/guide", "/bureaus/b1/guide"): CLERKS,
    ("POST", "/bureaus/{bureau_id}/items", "/bureaus/b1/items"): CLERKS,
    ("GET", "/bureaus/{bureau_id}/items", "/bureaus/b1/items"): READERS,
    ("GET", "/bureaus/{bureau_id}/items/{item_id}", ITEM): READERS,
    **{
        ("POST", f"/bureaus/{{bureau_id}}/items/{{item_id}}/{action}", f"{ITEM}/{action}"): CLERKS
        for action in ("submission", "revision", "publication", "repeal", "withdrawal")
    },
    ("GET", "/public/bureaus/{bureau_id}/catalogue", "/public/bureaus/b1/catalogue"): None,
    ("GET", "/public/bureaus/{bureau_id}/guide", "/public/bureaus/b1/guide"): None,
    ("GET", "/health", "/health"): None,
}
# What install_common adds for operations is public and not the catalogue's to list.
OPERATIONS = {"/health", "/metrics"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())  # the lifespan does not run: no database, no Kafka


def client(app: FastAPI) -> httpx.AsyncClient:
    # An allowed call reaches the handler, which fails for want of a database: a 500 that
    # shows the rule let it through.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://catalogue")


def test_every_route_has_its_expected_rule(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path not in OPERATIONS
        for method in operations
    }
    expected = {(method, template) for method, template, _ in EXPECTED}
    assert routes == {(m, t) for m, t in expected if t not in OPERATIONS}


@pytest.mark.parametrize(("method", "template", "path"), list(EXPECTED))
async def test_each_route_allows_exactly_its_callers(
    app: FastAPI, method: str, template: str, path: str
) -> None:
    allowed = EXPECTED[(method, template, path)]
    async with client(app) as http:
        anonymous = await http.request(method, path)
        if allowed is None:
            assert anonymous.status_code not in (401, 403), anonymous.text
            return
        assert anonymous.status_code == 401, anonymous.text
        assert "bearer token" in anonymous.json()["detail"]
        for role, headers in ROLES.items():
            answer = await http.request(method, path, headers=headers)
            if role in allowed:
                assert answer.status_code not in (401, 403), (role, answer.text)
            else:
                assert answer.status_code == 403, (role, answer.status_code, answer.text)
                assert answer.json()["detail"], "a refusal says why"


async def test_refusals_name_the_caller_and_the_reason(app: FastAPI) -> None:
    async with client(app) as http:
        other = await http.post(f"{ITEM}/submission", headers=ROLES["other_clerk"])
        auditor = await http.post(f"{ITEM}/publication", headers=ROLES["auditor"])
        reviewer = await http.post(f"{ITEM}/publication", headers=ROLES["reviewer"])
        clerk = await http.post("/bureaus", headers=ROLES["clerk"])
        peek = await http.get("/bureaus/b1/items", headers=ROLES["other_head"])
    assert other.json()["detail"] == "clerk-2 (clerk of b2) may not act for bureau b1"
    assert "does not act for them" in auditor.json()["detail"]
    assert reviewer.json()["detail"] == (
        "this is done by the bureau's clerk, bureau_head, not a reviewer"
    )
    assert clerk.json()["detail"] == "only the central office does this"
    assert peek.json()["detail"] == "head-2 (bureau_head of b2) may not read bureau b1's records"

"""Every role × every endpoint of every running service: allowed or refused, as the policy says.

The table below is the policy, written out by hand (services/*/README.md say the same in words).
Each endpoint of each service's OpenAPI document must have a row, so a new endpoint without a
decided rule fails here. For each row and each caller the test sends a request with a token of
that caller (path ids that do not exist, no body): a refused caller must get 403 (401 without a
token) and an allowed one must get past the rule — any answer but 401/403 (typically 404 for the
unknown id or 422 for the missing body). Callers of another bureau are refused on every bureau
route, and only the central office and auditors read across bureaus.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gongkai_contracts.topics import Service
from gongkai_platform.devstack.stack import LocalStack
from tests.support import bearer

pytestmark = pytest.mark.e2e

OWN = "mx-own"
OTHER = "mx-other"

PUBLIC = "public"  # no token needed
ANY = "any"  # any valid token
READ = {"clerk", "reviewer", "bureau_head", "central_office", "auditor"}  # own bureau + overseers
CLERK = {"clerk", "bureau_head"}
HEAD = {"bureau_head"}
REVIEWER = {"reviewer"}
CENTRAL = {"central_office"}
OVERSEER = {"central_office", "auditor"}

REQUEST = "/bureaus/{bureau_id}/requests/{request_id}"
ITEM = "/bureaus/{bureau_id}/items/{item_id}"
CASE = "/bureaus/{bureau_id}/reviews/{case_id}"

POLICY: dict[tuple[Service, str, str], str | set[str]] = {
    # catalogue
    ("catalogue", "GET", "/health"): PUBLIC,
    ("catalogue", "GET", "/metrics"): PUBLIC,
    ("catalogue", "GET", "/bureaus"): ANY,
    ("catalogue", "POST", "/bureaus"): CENTRAL,
    ("catalogue", "GET", "/bureaus/{bureau_id}"): ANY,
    ("catalogue", "PUT", "/bureaus/{bureau_id}/profile"): CENTRAL,
    ("catalogue", "PUT", "/bureaus/{bureau_id}/index-pattern"): CENTRAL,
    ("catalogue", "PUT", "/bureaus/{bureau_id}/guide"): CLERK,
    ("catalogue", "POST", "/bureaus/{bureau_id}/items"): CLERK,
    ("catalogue", "GET", "/bureaus/{bureau_id}/items"): READ,
    ("catalogue", "POST", f"{ITEM}/submission"): CLERK,
    ("catalogue", "POST", f"{ITEM}/revision"): CLERK,
    ("catalogue", "POST", f"{ITEM}/publication"): CLERK,
    ("catalogue", "POST", f"{ITEM}/repeal"): CLERK,
    ("catalogue", "POST", f"{ITEM}/withdrawal"): CLERK,
    ("catalogue", "GET", ITEM): READ,
    ("catalogue", "GET", "/public/bureaus/{bureau_id}/catalogue"): PUBLIC,
    ("catalogue", "GET", "/public/bureaus/{bureau_id}/guide"): PUBLIC,
    # requests
    ("requests", "GET", "/health"): PUBLIC,
    ("requests", "GET", "/metrics"): PUBLIC,
    ("requests", "POST", "/bureaus/{bureau_id}/requests"): CLERK,
    ("requests", "GET", "/bureaus/{bureau_id}/requests"): READ,
    ("requests", "POST", f"{REQUEST}/correction-request"): CLERK,
    ("requests", "POST", f"{REQUEST}/correction"): CLERK,
    ("requests", "POST", f"{REQUEST}/correction-lapse"): CLERK,
    ("requests", "POST", f"{REQUEST}/consultation"): CLERK,
    ("requests", "POST", f"{REQUEST}/consultation-end"): CLERK,
    ("requests", "POST", f"{REQUEST}/extension"): HEAD,
    ("requests", "POST", f"{REQUEST}/fee-notice"): CLERK,
    ("requests", "POST", f"{REQUEST}/fee-payment"): CLERK,
    ("requests", "POST", f"{REQUEST}/fee-lapse"): CLERK,
    ("requests", "POST", f"{REQUEST}/reply-drafts"): CLERK,
    ("requests", "POST", f"{REQUEST}/reply"): CLERK,
    ("requests", "POST", f"{REQUEST}/withdrawal"): CLERK,
    ("requests", "GET", REQUEST): READ,
    ("requests", "GET", f"{REQUEST}/events"): READ,
    ("requests", "GET", f"{REQUEST}/deadline"): READ,
    ("requests", "POST", "/calendars"): CENTRAL,
    ("requests", "POST", "/bureaus/{bureau_id}/cases"): CLERK,
    ("requests", "GET", "/bureaus/{bureau_id}/cases"): READ,
    ("requests", "POST", "/bureaus/{bureau_id}/cases/{case_id}/decision"): CLERK,
    ("requests", "POST", "/bureaus/{bureau_id}/applicants/{applicant_ref}/erasure"): HEAD,
    ("requests", "POST", "/bureaus/{bureau_id}/ledger-imports"): CLERK,
    ("requests", "GET", "/ledger-template.csv"): PUBLIC,
    ("requests", "GET", "/ledger-template.xlsx"): PUBLIC,
    # review
    ("review", "GET", "/health"): PUBLIC,
    ("review", "GET", "/metrics"): PUBLIC,
    ("review", "GET", "/bureaus/{bureau_id}/review-stages"): READ,
    ("review", "PUT", "/bureaus/{bureau_id}/review-stages"): HEAD,
    ("review", "POST", f"{CASE}/stage-completions"): REVIEWER,
    ("review", "POST", f"{CASE}/rejection"): REVIEWER,
    ("review", "POST", f"{CASE}/referral"): REVIEWER,
    ("review", "POST", f"{CASE}/referral-answer"): REVIEWER,
    ("review", "GET", "/bureaus/{bureau_id}/reviews"): READ,
    ("review", "GET", CASE): READ,
    ("review", "GET", f"{CASE}/record"): READ,
    # reporting
    ("reporting", "GET", "/health"): PUBLIC,
    ("reporting", "GET", "/metrics"): PUBLIC,
    ("reporting", "GET", "/bureaus/{bureau_id}/annual-reports/{year}"): READ,
    ("reporting", "GET", "/bureaus/{bureau_id}/annual-reports/{year}/cells"): READ,
    ("reporting", "PUT", "/bureaus/{bureau_id}/annual-reports/{year}/narrative"): CLERK,
    ("reporting", "GET", "/bureaus/{bureau_id}/annual-reports/{year}/narrative"): READ,
    ("reporting", "GET", "/bureaus/{bureau_id}/monthly-reports/{year}/{month}"): READ,
    ("reporting", "POST", "/bureaus/{bureau_id}/monthly-reports/{year}/{month}/sign-off"): HEAD,
    ("reporting", "GET", "/bureaus/{bureau_id}/monthly-reports/{year}/{month}/sign-off"): READ,
    ("reporting", "POST", "/bureaus/{bureau_id}/annual-reports/{year}/publication"): HEAD,
    ("reporting", "GET", "/bureaus/{bureau_id}/annual-reports/{year}/restatement"): READ,
    ("reporting", "GET", "/central/sign-offs"): OVERSEER,
    ("reporting", "GET", "/central/rollup"): OVERSEER,
    ("reporting", "GET", "/central/dashboard"): OVERSEER,
    ("reporting", "GET", "/bureaus/{bureau_id}/self-assessments/{year}"): READ,
    ("reporting", "PUT", "/bureaus/{bureau_id}/self-assessments/{year}/items/{key}"): CLERK,
    ("reporting", "GET", "/requests-received"): OVERSEER,
    ("reporting", "GET", "/bureaus/{bureau_id}/requests-received"): READ,
    ("reporting", "GET", "/bureaus/{bureau_id}/request-outcomes"): READ,
    ("reporting", "GET", "/bureaus/{bureau_id}/fees"): READ,
    ("reporting", "GET", "/bureaus/{bureau_id}/items-published"): READ,
    ("reporting", "GET", "/consumers"): OVERSEER,
}

SERVICES: list[Service] = ["catalogue", "requests", "review", "reporting"]
ROLES = ["clerk", "reviewer", "bureau_head", "central_office", "auditor"]


def callers() -> dict[str, dict[str, str]]:
    """Every role of the own bureau, the bureau staff of another bureau, and nobody."""
    people = {
        role: bearer(role, OWN if role in {"clerk", "reviewer", "bureau_head"} else None)
        for role in ROLES
    }
    for role in ("clerk", "reviewer", "bureau_head"):
        people[f"other {role}"] = bearer(role, OTHER)
    people["nobody"] = {}
    return people


def concrete(path: str, parameters: list[dict[str, Any]]) -> str:
    """The path with ids that exist nowhere (the own bureau for {bureau_id})."""
    for p in parameters:
        if p.get("in") != "path":
            continue
        schema = p.get("schema", {})
        if p["name"] == "bureau_id":
            value = OWN
        elif "enum" in schema:
            value = str(schema["enum"][0])
        elif p["name"] == "year":
            value = "2026"
        elif p["name"] == "month":
            value = "3"
        elif schema.get("type") == "integer":
            value = "1"
        else:
            value = "nonexistent-1"
        path = path.replace(f"{{{p['name']}}}", value)
    return path


def expected(rule: str | set[str], caller: str, bureau_route: bool) -> str:
    if rule == PUBLIC:
        return "allow"
    if caller == "nobody":
        return "401"
    if rule == ANY:
        return "allow"
    assert isinstance(rule, set)
    if caller.startswith("other "):
        # Staff of another bureau: never on a bureau's route; cross-bureau routes by role.
        return "403" if bureau_route or caller.removeprefix("other ") not in rule else "allow"
    return "allow" if caller in rule else "403"


async def test_every_role_on_every_endpoint(stack: LocalStack) -> None:
    people = callers()
    seen: set[tuple[Service, str, str]] = set()
    failures: list[str] = []
    checked = 0
    async with httpx.AsyncClient(timeout=20) as client:
        for service in SERVICES:
            base = stack.url(service)
            document = (await client.get(f"{base}/openapi.json")).json()
            for template, operations in document["paths"].items():
                for method, operation in operations.items():
                    key = (service, method.upper(), template)
                    seen.add(key)
                    if key not in POLICY:
                        failures.append(f"{key}: no row in the policy table")
                        continue
                    url = base + concrete(template, operation.get("parameters", []))

                    async def probe(caller: str, url: str = url, key: Any = key) -> str | None:
                        answer = await client.request(key[1], url, headers=people[caller])
                        want = expected(POLICY[key], caller, "{bureau_id}" in key[2])
                        got = answer.status_code
                        ok = got not in (401, 403) if want == "allow" else str(got) == want
                        if not ok:
                            return f"{key} as {caller}: want {want}, got {got} {answer.text[:160]}"
                        if got == 403 and not answer.json().get("detail"):
                            return f"{key} as {caller}: 403 without a reason"
                        return None

                    results = await asyncio.gather(*(probe(c) for c in people))
                    failures += [r for r in results if r]
                    checked += len(results)
    missing = set(POLICY) - seen
    failures += [f"{key}: in the policy table but not served" for key in sorted(missing)]
    print(f"\n{len(seen)} endpoints × {len(people)} callers = {checked} requests checked")
    assert not failures, "\n".join(failures)


async def test_operations_and_public_pages_need_no_token(stack: LocalStack) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        for service in SERVICES:
            for path in ("/health", "/metrics", "/openapi.json", "/docs"):
                answer = await client.get(f"{stack.url(service)}{path}")
                assert answer.status_code == 200, (service, path, answer.status_code)

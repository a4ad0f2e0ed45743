"""Tokens and the access rules every service uses (gongkai_platform.auth)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from gongkai_contracts.envelope import Role
from gongkai_platform.auth import (
    BureauHead,
    CentralOffice,
    Clerk,
    Overseer,
    Principal,
    Reader,
    TokenError,
    issue_token,
    read_token,
)
from gongkai_platform.errors import ForbiddenError
from gongkai_platform.http import install_common
from tests.support import bearer


def test_a_token_round_trips_user_role_bureau_and_name() -> None:
    token = issue_token("li-si", Role.REVIEWER, "cz-hrss", name="办公室 李四")
    who = read_token(token)
    assert who == Principal(
        user_id="li-si", role=Role.REVIEWER, bureau_id="cz-hrss", name="办公室 李四"
    )
    assert who.actor.user_id == "li-si" and who.actor.role == Role.REVIEWER
    assert who.signature == "办公室 李四"


@pytest.mark.parametrize(
    ("role", "bureau", "reason"),
    [
        (Role.CLERK, None, "needs the bureau"),
        (Role.BUREAU_HEAD, None, "needs the bureau"),
        (Role.AUDITOR, "cz-hrss", "not tied to one bureau"),
        (Role.CENTRAL_OFFICE, "cz-hrss", "not tied to one bureau"),
        (Role.SYSTEM, None, "not given to people"),
    ],
)
def test_tokens_are_not_issued_for_impossible_people(
    role: Role, bureau: str | None, reason: str
) -> None:
    with pytest.raises(TokenError, match=reason):
        issue_token("x", role, bureau)


def test_expired_forged_and_foreign_tokens_are_refused_with_the_reason() -> None:
    old = issue_token("x", "clerk", "b", now=datetime.now(UTC) - timedelta(days=2))
    with pytest.raises(TokenError, match="expired"):
        read_token(old)
    forged = issue_token("x", "clerk", "b", secret="another-secret-of-at-least-32-bytes!!")
    with pytest.raises(TokenError, match="signature"):
        read_token(forged)
    # Signed with our key but claiming a role/bureau pair we never issue.
    claims: dict[str, object] = {
        "sub": "x",
        "role": "auditor",
        "bureau": "b",
        "iss": "gongkai",
        "aud": "gongkai",
    }
    claims["exp"] = datetime.now(UTC) + timedelta(hours=1)
    from gongkai_platform.auth import signing_secret

    odd = jwt.encode(claims, signing_secret(), algorithm="HS256")
    with pytest.raises(TokenError, match="not one this platform issues"):
        read_token(odd)
    unsigned = jwt.encode({**claims, "role": "clerk"}, key="", algorithm="none")
    with pytest.raises(TokenError, match="not valid"):
        read_token(unsigned)


def app() -> FastAPI:
    app = FastAPI()
    install_common(app, "test")

    @app.get("/bureaus/{bureau_id}/things")
    async def read(bureau_id: str, who: Reader) -> dict[str, str]:
        return {"who": who.user_id}

    @app.post("/bureaus/{bureau_id}/things")
    async def write(bureau_id: str, who: Clerk) -> dict[str, str]:
        return {"who": who.user_id}

    @app.post("/bureaus/{bureau_id}/sign-off")
    async def sign(bureau_id: str, who: BureauHead) -> dict[str, str]:
        return {"who": who.user_id}

    @app.post("/bureaus/{bureau_id}/late-refusal")
    async def late(bureau_id: str, who: Clerk) -> dict[str, str]:
        raise ForbiddenError(f"{who.user_id} is not assigned to this")

    @app.post("/calendars")
    async def calendar(who: CentralOffice) -> dict[str, str]:
        return {"who": who.user_id}

    @app.get("/everything")
    async def everything(who: Overseer) -> dict[str, str]:
        return {"who": who.user_id}

    return app


ROLES = {
    "clerk": bearer("clerk", "b1", "clerk-1"),
    "reviewer": bearer("reviewer", "b1", "reviewer-1"),
    "bureau_head": bearer("bureau_head", "b1", "head-1"),
    "other_clerk": bearer("clerk", "b2", "clerk-2"),
    "other_head": bearer("bureau_head", "b2", "head-2"),
    "central_office": bearer("central_office"),
    "auditor": bearer("auditor"),
}
EXPECTED = {
    # route: roles allowed (everyone else: 403)
    ("GET", "/bureaus/b1/things"): {
        "clerk",
        "reviewer",
        "bureau_head",
        "central_office",
        "auditor",
    },
    ("POST", "/bureaus/b1/things"): {"clerk", "bureau_head"},
    ("POST", "/bureaus/b1/sign-off"): {"bureau_head"},
    ("POST", "/calendars"): {"central_office"},
    ("GET", "/everything"): {"central_office", "auditor"},
}


async def test_each_rule_allows_exactly_its_roles_and_needs_a_token() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for (method, path), allowed in EXPECTED.items():
            anonymous = await client.request(method, path)
            assert anonymous.status_code == 401, (method, path)
            assert anonymous.headers["www-authenticate"] == "Bearer"
            garbage = await client.request(method, path, headers={"Authorization": "Bearer x.y"})
            assert garbage.status_code == 401
            for role, headers in ROLES.items():
                answer = await client.request(method, path, headers=headers)
                expected = 200 if role in allowed else 403
                assert answer.status_code == expected, (method, path, role, answer.text)
                if expected == 403:
                    assert answer.json()["detail"], "a 403 says why"


async def test_refusals_say_why_and_are_logged_with_the_actor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=app())
    caplog.set_level(logging.WARNING, logger="gongkai.access")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        cross = await client.post("/bureaus/b1/things", headers=ROLES["other_clerk"])
        auditor = await client.post("/bureaus/b1/things", headers=ROLES["auditor"])
        clerk_signs = await client.post("/bureaus/b1/sign-off", headers=ROLES["clerk"])
        late = await client.post("/bureaus/b1/late-refusal", headers=ROLES["clerk"])
    assert cross.json()["detail"] == "clerk-2 (clerk of b2) may not act for bureau b1"
    assert "does not act for them" in auditor.json()["detail"]
    assert clerk_signs.json()["detail"] == "this is done by the bureau's bureau_head, not a clerk"
    assert late.status_code == 403
    assert late.json()["detail"] == "clerk-1 is not assigned to this"
    logged = [r.getMessage() for r in caplog.records if r.name == "gongkai.access"]
    assert any("clerk-2 (clerk of b2)" in m and "POST /bureaus/b1/things" in m for m in logged)
    assert any("auditor (auditor)" in m for m in logged)
    assert any("clerk-1 (clerk of b1)" in m and "late-refusal" in m for m in logged)


def test_openapi_declares_bearer_auth() -> None:
    schema = app().openapi()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

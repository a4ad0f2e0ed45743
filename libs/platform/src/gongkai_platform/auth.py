"""Who is calling, and may they: signed bearer tokens (JWT, HS256) and one place for access rules.

A token carries the user, the role and — for a bureau's own staff — the bureau. Every HTTP
route declares one rule (`public`, `reader`, `acts_as`, `central_office`, `overseer`); the rule
checks the token and the `{bureau_id}` of the path before the handler runs, and answers 401
(no or bad token) or 403 (forbidden, with the reason). Refusals are logged with the actor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings

from gongkai_contracts.envelope import Actor, Role

log = logging.getLogger("gongkai.access")

ISSUER = "gongkai"
AUDIENCE = "gongkai"
ALGORITHM = "HS256"
# Only for a laptop: `gongkai up` and the tests use it unless GONGKAI_JWT_SECRET is set.
DEVELOPMENT_SECRET = "gongkai-local-development-secret-not-for-production"

BUREAU_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.BUREAU_HEAD})
OVERSEERS = frozenset({Role.CENTRAL_OFFICE, Role.AUDITOR})

ROLE_LABELS = {
    Role.CLERK: "经办人员",
    Role.REVIEWER: "审查人员",
    Role.BUREAU_HEAD: "机关负责人",
    Role.CENTRAL_OFFICE: "政务公开主管部门",
    Role.AUDITOR: "审计人员",
}


class AuthSettings(BaseSettings):
    jwt_secret: str = Field(
        DEVELOPMENT_SECRET,
        min_length=32,
        validation_alias=AliasChoices("GONGKAI_JWT_SECRET", "jwt_secret"),
        description="HS256 key shared by the token issuer and every service.",
    )


@lru_cache(maxsize=1)
def signing_secret() -> str:
    return AuthSettings().jwt_secret


class Principal(BaseModel):
    """The verified caller."""

    model_config = ConfigDict(frozen=True)
    user_id: str
    role: Role
    bureau_id: str | None = None
    name: str | None = None  # display name for signed records (审查人, 签发人); user_id if absent

    @property
    def signature(self) -> str:
        return self.name or self.user_id

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, role=self.role)

    def describe(self) -> str:
        where = f" of {self.bureau_id}" if self.bureau_id else ""
        return f"{self.user_id} ({self.role}{where})"


class TokenError(ValueError):
    """A token that cannot be trusted; the message says why."""


def issue_token(
    user_id: str,
    role: Role | str,
    bureau_id: str | None = None,
    *,
    name: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    secret: str | None = None,
    now: datetime | None = None,
) -> str:
    """A signed token; bureau staff need a bureau, the central office and auditors have none."""
    role = Role(role)
    if role == Role.SYSTEM:
        raise TokenError("the system role is not given to people")
    if role in BUREAU_ROLES and not bureau_id:
        raise TokenError(f"a {role} token needs the bureau the user works for")
    if role in OVERSEERS and bureau_id:
        raise TokenError(f"a {role} token is not tied to one bureau")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "role": str(role),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl,
    }
    if bureau_id:
        claims["bureau"] = bureau_id
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret or signing_secret(), algorithm=ALGORITHM)


def read_token(token: str, *, secret: str | None = None) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret or signing_secret(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("the token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"the token is not valid: {exc}") from None
    try:
        role = Role(claims.get("role"))
    except ValueError:
        raise TokenError(f"unknown role {claims.get('role')!r} in the token") from None
    bureau = claims.get("bureau")
    if role == Role.SYSTEM or (role in BUREAU_ROLES) != bool(bureau):
        raise TokenError(f"a {role} token with bureau {bureau!r} is not one this platform issues")
    name = claims.get("name")
    return Principal(
        user_id=str(claims["sub"]), role=role, bureau_id=bureau, name=str(name) if name else None
    )


def _unauthorised(request: Request, reason: str) -> HTTPException:
    log.warning("refused %s %s: 401 %s", request.method, request.url.path, reason)
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def forbidden(request: Request, who: Principal, reason: str) -> HTTPException:
    """403 with the reason, logged with the actor."""
    log.warning(
        "refused %s %s for %s: 403 %s", request.method, request.url.path, who.describe(), reason
    )
    return HTTPException(403, detail=reason)


# Declares bearer auth in every OpenAPI document (the Authorize button of /docs).
bearer_scheme = HTTPBearer(auto_error=False, description="`gongkai token --user … --role …`")


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    if not request.headers.get("authorization"):
        raise _unauthorised(request, "this needs a bearer token (Authorization: Bearer …)")
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorised(request, "the Authorization header must be 'Bearer <token>'")
    try:
        principal = read_token(credentials.credentials.strip())
    except TokenError as exc:
        raise _unauthorised(request, str(exc)) from None
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(caller)]
# Async: FastAPI runs a plain `def` dependency in a worker thread, on every request.
Rule = Callable[..., Coroutine[Any, Any, Principal]]


def _path_bureau(request: Request) -> str:
    bureau = request.path_params.get("bureau_id")
    if not bureau:
        raise RuntimeError(f"{request.url.path}: a bureau rule on a route without {{bureau_id}}")
    return str(bureau)


def reader() -> Rule:
    """Reads of one bureau: its own staff, the central office and auditors."""

    async def rule(request: Request, who: Caller) -> Principal:
        bureau = _path_bureau(request)
        if who.role in OVERSEERS or who.bureau_id == bureau:
            return who
        raise forbidden(request, who, f"{who.describe()} may not read bureau {bureau}'s records")

    return rule


def acts_as(*roles: Role) -> Rule:
    """Commands of one bureau: only its own staff, only in the given roles."""
    allowed = ", ".join(str(r) for r in roles)

    async def rule(request: Request, who: Caller) -> Principal:
        bureau = _path_bureau(request)
        if who.role in OVERSEERS:
            raise forbidden(
                request, who, f"the {who.role} reads bureaus' records but does not act for them"
            )
        if who.bureau_id != bureau:
            raise forbidden(request, who, f"{who.describe()} may not act for bureau {bureau}")
        if who.role not in roles:
            reason = f"this is done by the bureau's {allowed}, not a {who.role}"
            raise forbidden(request, who, reason)
        return who

    return rule


def central_office() -> Rule:
    """What only the central office does (the calendar, the register of bureaus)."""

    async def rule(request: Request, who: Caller) -> Principal:
        if who.role != Role.CENTRAL_OFFICE:
            raise forbidden(request, who, "only the central office does this")
        return who

    return rule


def overseer() -> Rule:
    """Reads across every bureau: the central office and auditors."""

    async def rule(request: Request, who: Caller) -> Principal:
        if who.role not in OVERSEERS:
            raise forbidden(
                request, who, "reads across all bureaus are for the central office and auditors"
            )
        return who

    return rule


def allow(rule: Rule) -> Any:
    """`Annotated[Principal, allow(acts_as(Role.CLERK))]` in a handler's signature."""
    return Depends(rule)


# The common rules, ready to put in a signature.
Reader = Annotated[Principal, Depends(reader())]
Clerk = Annotated[Principal, Depends(acts_as(Role.CLERK, Role.BUREAU_HEAD))]
BureauHead = Annotated[Principal, Depends(acts_as(Role.BUREAU_HEAD))]
Reviewer = Annotated[Principal, Depends(acts_as(Role.REVIEWER))]
CentralOffice = Annotated[Principal, Depends(central_office())]
Overseer = Annotated[Principal, Depends(overseer())]

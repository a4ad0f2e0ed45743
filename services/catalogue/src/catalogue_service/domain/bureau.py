"""A bureau (行政机关): registered once, with its organisation code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gongkai_contracts.events import BureauRegistered
from gongkai_platform.errors import DomainError

# 统一社会信用代码 (18 characters) or the older 组织机构代码 (9 characters, as in 014416330).
ORGANISATION_CODE = re.compile(r"^(?:[0-9A-HJ-NPQRTUWXY]{18}|[0-9A-Z]{8}-?[0-9X])$")


@dataclass(frozen=True)
class RegisterBureau:
    """Command: register a bureau."""

    bureau_id: str
    name: str
    organisation_code: str
    region: str
    parent_id: str | None = None


def register(command: RegisterBureau, *, existing_version: int) -> BureauRegistered:
    if existing_version:
        raise DomainError("bureau_id", f"bureau {command.bureau_id} is already registered")
    if not ORGANISATION_CODE.match(command.organisation_code):
        raise DomainError(
            "organisation_code",
            "expected an 18-character 统一社会信用代码 or a 9-character 组织机构代码",
        )
    if command.parent_id == command.bureau_id:
        raise DomainError("parent_id", "a bureau cannot be its own parent")
    return BureauRegistered(
        name=command.name.strip(),
        organisation_code=command.organisation_code,
        region=command.region,
        parent_id=command.parent_id,
    )

"""A bureau (行政机关): its profile, its place under a parent bureau, its index number pattern
and its disclosure guide (公开指南)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gongkai_contracts import Event
from gongkai_contracts.events import (
    BureauProfileUpdated,
    BureauRegistered,
    GuideUpdated,
    IndexPatternSet,
)
from gongkai_platform.errors import DomainError

from .index_number import DEFAULT_PATTERN, validate_pattern

# 统一社会信用代码 (18 characters) or the older 组织机构代码 (9 characters, as in 014416330).
ORGANISATION_CODE = re.compile(r"^(?:[0-9A-HJ-NPQRTUWXY]{18}|[0-9A-Z]{8}-?[0-9X])$")

# bureau id -> its parent's id, for every registered bureau.
Parents = Mapping[str, str | None]


@dataclass(frozen=True)
class RegisterBureau:
    """Command: register a bureau."""

    bureau_id: str
    name: str
    organisation_code: str
    region: str
    parent_id: str | None = None


@dataclass(frozen=True)
class UpdateBureauProfile:
    """Command: the bureau's profile as it should now read."""

    name: str
    organisation_code: str
    region: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Bureau:
    """The state of one bureau, folded from its events."""

    bureau_id: str
    name: str
    organisation_code: str
    region: str
    parent_id: str | None
    index_pattern: str = DEFAULT_PATTERN
    guide: GuideUpdated | None = None

    @staticmethod
    def fold(bureau_id: str, events: Iterable[Event]) -> Bureau | None:
        state: Bureau | None = None
        for event in events:
            state = apply(state, event, bureau_id)
        return state

    def update_profile(self, command: UpdateBureauProfile, parents: Parents) -> list[Event]:
        _check_code(command.organisation_code)
        check_parent(self.bureau_id, command.parent_id, parents)
        event = BureauProfileUpdated(
            name=command.name.strip(),
            organisation_code=command.organisation_code,
            region=command.region.strip(),
            parent_id=command.parent_id,
        )
        unchanged = (self.name, self.organisation_code, self.region, self.parent_id) == (
            event.name,
            event.organisation_code,
            event.region,
            event.parent_id,
        )
        return [] if unchanged else [event]

    def set_index_pattern(self, pattern: str) -> list[Event]:
        pattern = validate_pattern(pattern)
        return [] if pattern == self.index_pattern else [IndexPatternSet(pattern=pattern)]

    def update_guide(self, guide: GuideUpdated) -> list[Event]:
        if not guide.office_name.strip():
            raise DomainError("office_name", "name the office that handles disclosure")
        return [] if guide == self.guide else [guide]


def register(
    command: RegisterBureau, *, existing_version: int, parents: Parents
) -> BureauRegistered:
    """`parents` holds every registered bureau with its parent."""
    if existing_version:
        raise DomainError("bureau_id", f"bureau {command.bureau_id} is already registered")
    _check_code(command.organisation_code)
    check_parent(command.bureau_id, command.parent_id, parents)
    return BureauRegistered(
        name=command.name.strip(),
        organisation_code=command.organisation_code,
        region=command.region,
        parent_id=command.parent_id,
    )


def check_parent(bureau_id: str, parent_id: str | None, parents: Parents) -> None:
    """The parent must be registered and must not be the bureau or one of its descendants."""
    if parent_id is None:
        return
    if parent_id == bureau_id:
        raise DomainError("parent_id", "a bureau cannot be its own parent")
    if parent_id not in parents:
        raise DomainError("parent_id", f"bureau {parent_id} is not registered")
    seen: set[str] = set()
    ancestor: str | None = parent_id
    while ancestor is not None and ancestor not in seen:
        if ancestor == bureau_id:
            raise DomainError(
                "parent_id", f"bureau {parent_id} is under {bureau_id}: that would make a cycle"
            )
        seen.add(ancestor)
        ancestor = parents.get(ancestor)


def hierarchy(bureaus: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Bureaus as a forest: each with its `children`, roots and children ordered by id.
    A bureau whose parent is unknown is shown as a root rather than lost."""
    nodes = {b["bureau_id"]: {**b, "children": []} for b in bureaus}
    roots: list[dict[str, Any]] = []
    for bureau_id in sorted(nodes):
        node = nodes[bureau_id]
        parent = nodes.get(node.get("parent_id") or "")
        (parent["children"] if parent is not None else roots).append(node)
    return roots


def _check_code(code: str) -> None:
    if not ORGANISATION_CODE.match(code):
        raise DomainError(
            "organisation_code",
            "expected an 18-character 统一社会信用代码 or a 9-character 组织机构代码",
        )


def apply(state: Bureau | None, event: Event, bureau_id: str) -> Bureau:
    """Fold one event into the bureau; the only place that knows what each event means."""
    if isinstance(event, BureauRegistered):
        return Bureau(
            bureau_id=bureau_id,
            name=event.name,
            organisation_code=event.organisation_code,
            region=event.region,
            parent_id=event.parent_id,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before BureauRegistered")
    match event:
        case BureauProfileUpdated():
            return replace(
                state,
                name=event.name,
                organisation_code=event.organisation_code,
                region=event.region,
                parent_id=event.parent_id,
            )
        case IndexPatternSet():
            return replace(state, index_pattern=event.pattern)
        case GuideUpdated():
            return replace(state, guide=event)
    raise ValueError(f"a bureau does not know {type(event).__name__}")

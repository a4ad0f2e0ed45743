"""Bureaus: registration under a registered parent, profile updates without cycles, the index
number pattern, the guide, and the hierarchy the central office reads."""

from __future__ import annotations

import pytest

from catalogue_service.domain.bureau import (
    Bureau,
    RegisterBureau,
    UpdateBureauProfile,
    check_parent,
    hierarchy,
    register,
)
from gongkai_contracts.events import (
    BureauProfileUpdated,
    BureauRegistered,
    GuideUpdated,
    IndexPatternSet,
)
from gongkai_platform.errors import DomainError

# cz (市政府) ← cz-hrss (人社局) ← cz-hrss-si (社保中心)
PARENTS: dict[str, str | None] = {"cz": None, "cz-hrss": "cz", "cz-hrss-si": "cz-hrss"}


def hrss() -> Bureau:
    registered = BureauRegistered(
        name="常州市人力资源和社会保障局",
        organisation_code="014416330",
        region="江苏省常州市",
        parent_id="cz",
    )
    bureau = Bureau.fold("cz-hrss", [registered])
    assert bureau is not None
    return bureau


def guide(**changes: object) -> GuideUpdated:
    fields: dict[str, object] = {
        "categories": ("机构职能", "政策文件", "规划计划"),
        "arrangement": "按主题分类和组配分类编排",
        "how_to_apply": "通过政府网站、政府公报查阅；依申请公开请填写申请表",
        "office_name": "常州市人力资源和社会保障局办公室",
        "address": "常州市龙城大道1280号",
        "hours": "工作日 9:00-12:00, 13:30-17:00",
        "phone": "0519-85682000",
        "fax": "0519-85682001",
        "email": "gk@czhrss.gov.cn",
        **changes,
    }
    return GuideUpdated.model_validate(fields)


def test_a_bureau_registers_under_a_registered_parent() -> None:
    command = RegisterBureau(
        "cz-hrss-lb", "常州市劳动保障监察支队", "014416348", "江苏省常州市", "cz-hrss"
    )
    event = register(command, existing_version=0, parents=PARENTS)
    assert event.parent_id == "cz-hrss"
    unknown = RegisterBureau("x", "某局", "014416348", "江苏省", "nowhere")
    with pytest.raises(DomainError, match="nowhere is not registered") as refused:
        register(unknown, existing_version=0, parents=PARENTS)
    assert refused.value.field == "parent_id"
    with pytest.raises(DomainError, match="own parent"):
        register(
            RegisterBureau("x", "某局", "014416348", "江苏省", "x"), existing_version=0, parents={}
        )
    with pytest.raises(DomainError, match="already registered"):
        register(command, existing_version=1, parents=PARENTS)


def test_a_profile_update_names_a_registered_parent_and_never_makes_a_cycle() -> None:
    check_parent("cz-hrss", None, PARENTS)
    with pytest.raises(DomainError, match="cycle"):
        check_parent("cz", "cz-hrss-si", PARENTS)  # 市政府 under its own 社保中心
    with pytest.raises(DomainError, match="own parent"):
        check_parent("cz", "cz", PARENTS)
    moved = hrss().update_profile(
        UpdateBureauProfile(
            "常州市人力资源和社会保障局", "91320400014416330X", "江苏省常州市", None
        ),
        PARENTS,
    )
    assert moved == [
        BureauProfileUpdated(
            name="常州市人力资源和社会保障局",
            organisation_code="91320400014416330X",
            region="江苏省常州市",
            parent_id=None,
        )
    ]
    same = UpdateBureauProfile("常州市人力资源和社会保障局", "014416330", "江苏省常州市", "cz")
    assert hrss().update_profile(same, PARENTS) == []
    with pytest.raises(DomainError) as refused:
        hrss().update_profile(UpdateBureauProfile("x", "bad", "江苏省", None), PARENTS)
    assert refused.value.field == "organisation_code"


def test_the_pattern_and_the_guide_are_recorded_when_they_change() -> None:
    bureau = hrss()
    assert bureau.index_pattern == "{org_code}/{year}-{seq:05d}"
    assert bureau.set_index_pattern("{org_code}/{year}-{seq:05d}") == []
    [event] = bureau.set_index_pattern("{org_code}-1/{year}-{seq:04d}")
    assert event == IndexPatternSet(pattern="{org_code}-1/{year}-{seq:04d}")
    with pytest.raises(DomainError, match="must contain"):
        bureau.set_index_pattern("{org_code}")

    assert bureau.update_guide(guide()) == [guide()]
    with_guide = Bureau.fold(
        "cz-hrss",
        [
            BureauRegistered(
                name="常州市人力资源和社会保障局",
                organisation_code="014416330",
                region="江苏省常州市",
                parent_id="cz",
            ),
            event,
            guide(),
        ],
    )
    assert with_guide is not None
    assert (with_guide.index_pattern, with_guide.guide) == (
        "{org_code}-1/{year}-{seq:04d}",
        guide(),
    )
    assert with_guide.update_guide(guide()) == []
    with pytest.raises(DomainError):
        with_guide.update_guide(guide(office_name=" "))


def test_the_hierarchy_lists_each_bureau_with_its_children() -> None:
    rows = [
        {"bureau_id": b, "name": b, "parent_id": p}
        for b, p in [
            ("cz-hrss-si", "cz-hrss"),
            ("cz", None),
            ("cz-hrss", "cz"),
            ("cz-fin", "cz"),
            ("nj", None),
        ]
    ]
    tree = hierarchy(rows)
    assert [root["bureau_id"] for root in tree] == ["cz", "nj"]
    assert [c["bureau_id"] for c in tree[0]["children"]] == ["cz-fin", "cz-hrss"]
    assert tree[0]["children"][1]["children"][0]["bureau_id"] == "cz-hrss-si"
    assert tree[1]["children"] == []

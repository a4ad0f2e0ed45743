"""Closed vocabularies of the domain, with their official Chinese labels."""

from enum import StrEnum


class Channel(StrEnum):
    """How a request arrived (申请渠道)."""

    IN_PERSON = "in_person"
    LETTER = "letter"
    FAX = "fax"
    EMAIL = "email"
    ONLINE = "online"
    OTHER = "other"


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.IN_PERSON: "当面",
    Channel.LETTER: "信函",
    Channel.FAX: "传真",
    Channel.EMAIL: "电子邮件",
    Channel.ONLINE: "网上申请",
    Channel.OTHER: "其他",
}


class ApplicantCategory(StrEnum):
    """The applicant columns of annual report table 三 (申请人情况)."""

    NATURAL_PERSON = "natural_person"
    COMMERCIAL_ENTERPRISE = "commercial_enterprise"
    RESEARCH_INSTITUTION = "research_institution"
    SOCIAL_WELFARE_ORGANISATION = "social_welfare_organisation"
    LEGAL_SERVICE_ORGANISATION = "legal_service_organisation"
    OTHER_ORGANISATION = "other_organisation"


APPLICANT_CATEGORY_LABELS: dict[ApplicantCategory, str] = {
    ApplicantCategory.NATURAL_PERSON: "自然人",
    ApplicantCategory.COMMERCIAL_ENTERPRISE: "商业企业",
    ApplicantCategory.RESEARCH_INSTITUTION: "科研机构",
    ApplicantCategory.SOCIAL_WELFARE_ORGANISATION: "社会公益组织",
    ApplicantCategory.LEGAL_SERVICE_ORGANISATION: "法律服务机构",
    ApplicantCategory.OTHER_ORGANISATION: "其他",
}


class ReplyOutcome(StrEnum):
    """One outcome row of table 三 (本年度办理结果), 2021 format."""

    DISCLOSED = "disclosed"
    PARTIALLY_DISCLOSED = "partially_disclosed"
    WITHHELD_STATE_SECRET = "withheld_state_secret"
    WITHHELD_PROHIBITED_BY_LAW = "withheld_prohibited_by_law"
    WITHHELD_ENDANGERS_SECURITY = "withheld_endangers_security"
    WITHHELD_THIRD_PARTY = "withheld_third_party"
    WITHHELD_INTERNAL_AFFAIRS = "withheld_internal_affairs"
    WITHHELD_PROCESS_INFORMATION = "withheld_process_information"
    WITHHELD_ENFORCEMENT_FILE = "withheld_enforcement_file"
    WITHHELD_ADMINISTRATIVE_QUERY = "withheld_administrative_query"
    UNAVAILABLE_NOT_HELD = "unavailable_not_held"
    UNAVAILABLE_NEEDS_CREATION = "unavailable_needs_creation"
    UNAVAILABLE_UNCLEAR_AFTER_CORRECTION = "unavailable_unclear_after_correction"
    NOT_PROCESSED_PETITION = "not_processed_petition"
    NOT_PROCESSED_REPEAT = "not_processed_repeat"
    NOT_PROCESSED_PUBLICATION = "not_processed_publication"
    NOT_PROCESSED_MASS_REQUESTS = "not_processed_mass_requests"
    NOT_PROCESSED_CONFIRM_OR_REISSUE = "not_processed_confirm_or_reissue"
    OTHER_CORRECTION_LAPSED = "other_correction_lapsed"
    OTHER_FEE_LAPSED = "other_fee_lapsed"
    OTHER = "other"


REPLY_OUTCOME_LABELS: dict[ReplyOutcome, str] = {
    ReplyOutcome.DISCLOSED: "（一）予以公开",
    ReplyOutcome.PARTIALLY_DISCLOSED: "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    ReplyOutcome.WITHHELD_STATE_SECRET: "1.属于国家秘密",
    ReplyOutcome.WITHHELD_PROHIBITED_BY_LAW: "2.其他法律行政法规禁止公开",
    ReplyOutcome.WITHHELD_ENDANGERS_SECURITY: "3.危及“三安全一稳定”",
    ReplyOutcome.WITHHELD_THIRD_PARTY: "4.保护第三方合法权益",
    ReplyOutcome.WITHHELD_INTERNAL_AFFAIRS: "5.属于三类内部事务信息",
    ReplyOutcome.WITHHELD_PROCESS_INFORMATION: "6.属于四类过程性信息",
    ReplyOutcome.WITHHELD_ENFORCEMENT_FILE: "7.属于行政执法案卷",
    ReplyOutcome.WITHHELD_ADMINISTRATIVE_QUERY: "8.属于行政查询事项",
    ReplyOutcome.UNAVAILABLE_NOT_HELD: "1.本机关不掌握相关政府信息",
    ReplyOutcome.UNAVAILABLE_NEEDS_CREATION: "2.没有现成信息需要另行制作",
    ReplyOutcome.UNAVAILABLE_UNCLEAR_AFTER_CORRECTION: "3.补正后申请内容仍不明确",
    ReplyOutcome.NOT_PROCESSED_PETITION: "1.信访举报投诉类申请",
    ReplyOutcome.NOT_PROCESSED_REPEAT: "2.重复申请",
    ReplyOutcome.NOT_PROCESSED_PUBLICATION: "3.要求提供公开出版物",
    ReplyOutcome.NOT_PROCESSED_MASS_REQUESTS: "4.无正当理由大量反复申请",
    ReplyOutcome.NOT_PROCESSED_CONFIRM_OR_REISSUE: "5.要求行政机关确认或重新出具已获取信息",
    ReplyOutcome.OTHER_CORRECTION_LAPSED: (
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"
    ),
    ReplyOutcome.OTHER_FEE_LAPSED: (
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"
    ),
    ReplyOutcome.OTHER: "3.其他",
}


class ItemCategory(StrEnum):
    """Catalogue item categories that annual report table 二 counts."""

    REGULATION = "regulation"  # 规章
    NORMATIVE_DOCUMENT = "normative_document"  # 行政规范性文件
    LICENSING = "licensing"  # 行政许可
    PENALTY = "penalty"  # 行政处罚
    COERCION = "coercion"  # 行政强制
    ADMINISTRATIVE_FEE = "administrative_fee"  # 行政事业性收费
    OTHER = "other"  # 其他业务信息


ITEM_CATEGORY_LABELS: dict[ItemCategory, str] = {
    ItemCategory.REGULATION: "规章",
    ItemCategory.NORMATIVE_DOCUMENT: "行政规范性文件",
    ItemCategory.LICENSING: "行政许可",
    ItemCategory.PENALTY: "行政处罚",
    ItemCategory.COERCION: "行政强制",
    ItemCategory.ADMINISTRATIVE_FEE: "行政事业性收费",
    ItemCategory.OTHER: "其他",
}


class DisclosureAttribute(StrEnum):
    """公开属性."""

    PROACTIVE = "proactive"  # 主动公开
    ON_REQUEST = "on_request"  # 依申请公开
    WITHHELD = "withheld"  # 不予公开


class ReviewSubject(StrEnum):
    """What a confidentiality review case is about."""

    ITEM = "item"
    REPLY = "reply"


class CaseResult(StrEnum):
    """Reconsideration and litigation results as table 四 counts them."""

    UPHELD = "upheld"  # 结果维持 (驳回 counts here)
    CORRECTED = "corrected"  # 结果纠正 (撤销/变更/确认违法/责令履行)
    OTHER = "other"  # 其他结果 (终止/撤回/调解)


class WithholdingGround(StrEnum):
    """A ground of 条例 第十四、十五、十六条 on which information is not to be disclosed."""

    STATE_SECRET = "state_secret"
    PROHIBITED_BY_LAW = "prohibited_by_law"
    ENDANGERS_SECURITY = "endangers_security"
    THIRD_PARTY = "third_party"
    INTERNAL_AFFAIRS = "internal_affairs"
    PROCESS_INFORMATION = "process_information"
    ENFORCEMENT_FILE = "enforcement_file"


WITHHOLDING_GROUND_LABELS: dict[WithholdingGround, str] = {
    WithholdingGround.STATE_SECRET: "第十四条 依法确定为国家秘密",
    WithholdingGround.PROHIBITED_BY_LAW: "第十四条 法律、行政法规禁止公开",
    WithholdingGround.ENDANGERS_SECURITY: (
        "第十四条 公开后可能危及国家安全、公共安全、经济安全、社会稳定"
    ),
    WithholdingGround.THIRD_PARTY: (
        "第十五条 涉及商业秘密、个人隐私等公开会对第三方合法权益造成损害"
    ),
    WithholdingGround.INTERNAL_AFFAIRS: "第十六条第一款 内部事务信息",
    WithholdingGround.PROCESS_INFORMATION: "第十六条第二款 过程性信息",
    WithholdingGround.ENFORCEMENT_FILE: "第十六条第二款 行政执法案卷信息",
}

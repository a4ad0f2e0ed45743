"""Every event type the four services publish. Fields are ids, primitives, enums and dates."""

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Event
from .vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    DisclosureAttribute,
    ItemCategory,
    ReplyOutcome,
    ReviewSubject,
    WithholdingGround,
)

NonEmpty = Field(min_length=1)

# ---------------------------------------------------------------- catalogue

# 有效性 of a catalogue entry: 有效, 失效 (lapsed at the end of its term), 废止 (repealed; only
# ever set by ItemRepealed, which records the date table 二 counts).
ItemValidity = Literal["valid", "expired", "repealed"]

# 条例 第二十三条: 政府公报、政府网站或者其他互联网政务媒体、新闻发布会以及报刊、广播、电视.
PublicationChannel = Literal[
    "government_website",
    "government_gazette",
    "other_online_media",
    "press_conference",
    "newspaper",
    "radio",
    "television",
]

FeeYuan = Field(None, ge=0, decimal_places=2)


class BureauRegistered(Event):
    """A bureau (行政机关) joined Gongkai."""

    event_type: ClassVar[str] = "catalogue.BureauRegistered"
    name: str = NonEmpty
    organisation_code: str = NonEmpty  # 统一社会信用代码 or 组织机构代码
    region: str
    parent_id: str | None = None


class BureauProfileUpdated(Event):
    """The bureau's profile as it now stands (every field, not only the changed ones)."""

    event_type: ClassVar[str] = "catalogue.BureauProfileUpdated"
    name: str = NonEmpty
    organisation_code: str = NonEmpty
    region: str
    parent_id: str | None = None


class IndexPatternSet(Event):
    """How the bureau's index numbers (索引号) are written from now on, e.g.
    `{org_code}/{year}-{seq:05d}`; numbers already given keep their form."""

    event_type: ClassVar[str] = "catalogue.IndexPatternSet"
    pattern: str = NonEmpty


class ItemDrafted(Event):
    """A catalogue item (公开目录条目) drafted with the fields of its catalogue entry."""

    event_type: ClassVar[str] = "catalogue.ItemDrafted"
    item_id: str
    title: str = NonEmpty  # 名称
    summary: str  # 内容概述
    formed_on: date  # 生成日期 (成文日期)
    document_number: str | None = None  # 文号
    issuing_body: str  # 发布机构
    topic: str | None = None  # 主题分类
    form_category: str | None = None  # 组配分类
    attribute: DisclosureAttribute
    scope: str | None = None  # 公开范围
    category: ItemCategory
    validity: ItemValidity = "valid"  # 有效性
    fee_amount_yuan: Decimal | None = FeeYuan  # 行政事业性收费 only: 收费金额 in 元


class ItemSubmittedForReview(Event):
    event_type: ClassVar[str] = "catalogue.ItemSubmittedForReview"
    item_id: str
    item_version: int = Field(ge=1)


class ItemApproved(Event):
    """Confidentiality review approved this item version (caused by review.ReviewApproved):
    only an approved version can be published (先审查后公开)."""

    event_type: ClassVar[str] = "catalogue.ItemApproved"
    item_id: str
    item_version: int = Field(ge=1)
    review_case_id: str = NonEmpty


class ItemRejected(Event):
    """Review rejected this item version (caused by review.ReviewRejected): back to draft."""

    event_type: ClassVar[str] = "catalogue.ItemRejected"
    item_id: str
    item_version: int = Field(ge=1)
    review_case_id: str = NonEmpty
    reasons: str = NonEmpty


class ItemPublished(Event):
    """An approved version entered the public catalogue. A revised version keeps the index
    number of the first publication (`first_publication` False)."""

    event_type: ClassVar[str] = "catalogue.ItemPublished"
    item_id: str
    item_version: int = Field(ge=1)
    index_number: str = NonEmpty  # 索引号
    category: ItemCategory
    published_on: date
    channels: tuple[PublicationChannel, ...] = Field(min_length=1)
    first_publication: bool = True  # table 二 本年制发 counts first publications only
    due_on: date  # 条例 第二十六条: the 20th working day after forming (or changing)
    late: bool = False  # published after due_on
    fee_amount_yuan: Decimal | None = FeeYuan  # 行政事业性收费: the amount in 元


class ItemRevised(Event):
    """A new version of the item: the whole catalogue entry as it now reads. `changed_on` is
    the day the information changed (变更), from which a published item's revision is due."""

    event_type: ClassVar[str] = "catalogue.ItemRevised"
    item_id: str
    item_version: int = Field(ge=1)
    title: str = NonEmpty
    summary: str
    formed_on: date
    document_number: str | None = None
    issuing_body: str = NonEmpty
    topic: str | None = None
    form_category: str | None = None
    attribute: DisclosureAttribute
    scope: str | None = None
    category: ItemCategory
    validity: ItemValidity = "valid"
    fee_amount_yuan: Decimal | None = FeeYuan
    changed_on: date


class ItemRepealed(Event):
    """废止: counts in 本年废止件数 and leaves 现行有效件数."""

    event_type: ClassVar[str] = "catalogue.ItemRepealed"
    item_id: str
    repealed_on: date
    category: ItemCategory


class ItemWithdrawn(Event):
    """Published in error: taken out of the public catalogue; its index number is not reused."""

    event_type: ClassVar[str] = "catalogue.ItemWithdrawn"
    item_id: str
    reason: str = NonEmpty
    withdrawn_on: date
    category: ItemCategory


class GuideUpdated(Event):
    """The bureau's disclosure guide (公开指南, 条例 第十二条), as it now reads."""

    event_type: ClassVar[str] = "catalogue.GuideUpdated"
    categories: tuple[str, ...] = ()  # 政府信息的分类
    arrangement: str = ""  # 编排体系
    how_to_apply: str = ""  # 获取方式: where published, and how to apply (依申请公开)
    office_name: str
    address: str
    hours: str
    phone: str
    fax: str | None = None
    email: str | None = None
    website: str | None = None  # 互联网联系方式


# ---------------------------------------------------------------- requests
# Every event that moves a request's deadline carries the new `due_on` (None while the clock is
# stopped) and whether it is provisional, so readers never recompute statutory clocks.


class RequestReceived(Event):
    """A disclosure request (依申请公开) received; personal data stays in the requests service."""

    event_type: ClassVar[str] = "requests.RequestReceived"
    request_id: str
    channel: Channel
    applicant_category: ApplicantCategory
    applicant_ref: str  # pseudonym; name, ID number and contacts never enter the log
    received_on: date  # 收到申请之日, 条例 第三十一条
    description: str = NonEmpty
    requested_form: str | None = None
    regime: str  # "2007" or "2019", chosen by the receipt date
    due_on: date
    due_provisional: bool = False


class CorrectionRequested(Event):
    """补正 notice (条例 第三十条): once, within 7 working days; the clock stops."""

    event_type: ClassVar[str] = "requests.CorrectionRequested"
    request_id: str
    notified_on: date
    correct_by: date
    items_to_correct: str = NonEmpty
    notice_late: bool = False  # sent after the 7th working day


class CorrectionReceived(Event):
    """The corrected request arrived: the reply period restarts from this day."""

    event_type: ClassVar[str] = "requests.CorrectionReceived"
    request_id: str
    received_on: date
    due_on: date
    due_provisional: bool = False


class CorrectionLapsed(Event):
    """No correction by the stated date: 视为放弃申请 (table 三 （六）1)."""

    event_type: ClassVar[str] = "requests.CorrectionLapsed"
    request_id: str
    lapsed_on: date


class ConsultationStarted(Event):
    """条例 第三十二、三十三条: consultation time is not counted."""

    event_type: ClassVar[str] = "requests.ConsultationStarted"
    request_id: str
    started_on: date
    party: str = NonEmpty
    third_party: bool
    answer_due_on: date


class ConsultationEnded(Event):
    event_type: ClassVar[str] = "requests.ConsultationEnded"
    request_id: str
    ended_on: date
    due_on: date
    due_provisional: bool = False


class DeadlineExtended(Event):
    """Once, approved by the head of the disclosure office, notified to the applicant."""

    event_type: ClassVar[str] = "requests.DeadlineExtended"
    request_id: str
    working_days: int = Field(ge=1, le=20)
    approved_by: str = NonEmpty
    notified_on: date
    due_on: date
    due_provisional: bool = False


class DeadlineRecomputed(Event):
    """A published calendar moved an open request's deadline."""

    event_type: ClassVar[str] = "requests.DeadlineRecomputed"
    request_id: str
    previous_due_on: date
    due_on: date
    due_provisional: bool
    calendar_year: int


class FeeNoticed(Event):
    """收费通知 under 国办函〔2020〕109号; one scheme per request."""

    event_type: ClassVar[str] = "requests.FeeNoticed"
    request_id: str
    scheme: str  # "per_item" or "per_page"
    units: int = Field(ge=0)
    amount_yuan: Decimal = Field(ge=0, decimal_places=2)
    noticed_on: date
    pay_by: date


class FeePaid(Event):
    """Paid: the clock runs again (the time to pay is not counted)."""

    event_type: ClassVar[str] = "requests.FeePaid"
    request_id: str
    paid_on: date
    amount_yuan: Decimal = Field(ge=0, decimal_places=2)
    due_on: date
    due_provisional: bool = False


class FeeLapsed(Event):
    """Not paid in time: 不再处理 (table 三 （六）2)."""

    event_type: ClassVar[str] = "requests.FeeLapsed"
    request_id: str
    lapsed_on: date


class ReplyDrafted(Event):
    """A reply draft, which goes to confidentiality review before it can be sent."""

    event_type: ClassVar[str] = "requests.ReplyDrafted"
    request_id: str
    draft_id: str
    outcome: ReplyOutcome
    legal_basis: str = NonEmpty
    summary: str = ""
    # Set for a historical reply imported from a ledger: its review happened before Gongkai,
    # so the review service opens no case for it.
    reviewed_elsewhere: str | None = None


class ReplyDraftApproved(Event):
    """The review service approved the draft (caused by review.ReviewApproved)."""

    event_type: ClassVar[str] = "requests.ReplyDraftApproved"
    request_id: str
    draft_id: str
    review_case_id: str


class ReplyDraftRejected(Event):
    event_type: ClassVar[str] = "requests.ReplyDraftRejected"
    request_id: str
    draft_id: str
    review_case_id: str
    reasons: str


class ReplySent(Event):
    event_type: ClassVar[str] = "requests.ReplySent"
    request_id: str
    draft_id: str | None  # None for an outcome that needs no reply letter (a lapse)
    outcome: ReplyOutcome
    legal_basis: str = NonEmpty
    sent_on: date
    due_on: date | None
    on_time: bool
    applicant_category: ApplicantCategory


class RequestWithdrawn(Event):
    """The applicant withdrew (table 三 （六）3 其他)."""

    event_type: ClassVar[str] = "requests.RequestWithdrawn"
    request_id: str
    withdrawn_on: date


class ApplicantErased(Event):
    """The applicant's key was destroyed: their personal data can no longer be read."""

    event_type: ClassVar[str] = "requests.ApplicantErased"
    applicant_ref: str
    erased_on: date


class ReconsiderationFiled(Event):
    """行政复议 against the bureau's handling of a request."""

    event_type: ClassVar[str] = "requests.ReconsiderationFiled"
    case_id: str
    request_id: str | None = None
    filed_on: date


class ReconsiderationDecided(Event):
    event_type: ClassVar[str] = "requests.ReconsiderationDecided"
    case_id: str
    decided_on: date
    result: CaseResult
    decision: str  # as written: 驳回, 撤销, 终止…


class LitigationFiled(Event):
    """行政诉讼, directly or after reconsideration."""

    event_type: ClassVar[str] = "requests.LitigationFiled"
    case_id: str
    request_id: str | None = None
    filed_on: date
    after_reconsideration: bool


class LitigationDecided(Event):
    event_type: ClassVar[str] = "requests.LitigationDecided"
    case_id: str
    decided_on: date
    result: CaseResult
    decision: str


class CalendarPublished(Event):
    """The central office's working-day calendar for a year, overriding the package's."""

    event_type: ClassVar[str] = "requests.CalendarPublished"
    year: int = Field(ge=2000, le=2100)
    holidays: tuple[date, ...]
    make_up_workdays: tuple[date, ...]  # 调休


# ---------------------------------------------------------------- review


class ReviewOpened(Event):
    event_type: ClassVar[str] = "review.ReviewOpened"
    case_id: str
    subject: ReviewSubject
    subject_id: str  # item id or reply draft id
    subject_version: int = Field(ge=1)
    stages: tuple[str, ...]


class ReviewStageCompleted(Event):
    event_type: ClassVar[str] = "review.ReviewStageCompleted"
    case_id: str
    stage: str
    reviewer: str
    opinion: str
    # What must still be withheld (书面审查记录 part 二), and whether the stage agreed.
    withholding_grounds: tuple[WithholdingGround, ...] = ()
    passed: bool = True


class ReviewApproved(Event):
    event_type: ClassVar[str] = "review.ReviewApproved"
    case_id: str
    subject: ReviewSubject
    subject_id: str
    subject_version: int = Field(ge=1)


class ReviewRejected(Event):
    event_type: ClassVar[str] = "review.ReviewRejected"
    case_id: str
    subject: ReviewSubject
    subject_id: str
    subject_version: int = Field(ge=1)
    reasons: str = NonEmpty


class ReviewReferred(Event):
    """Referred to the 保密行政管理部门 or the competent department (条例 第十七条)."""

    event_type: ClassVar[str] = "review.ReviewReferred"
    case_id: str
    referred_to: str
    question: str


class StageReviewers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = NonEmpty
    reviewers: tuple[str, ...] = Field(min_length=1)  # user ids (the token's subject)


class ReviewersAssigned(Event):
    """The bureau head's review stages, in order, and who reviews at each: new cases open with
    these stages, and from now on only these users act at them. The actor is the head."""

    event_type: ClassVar[str] = "review.ReviewersAssigned"
    stages: tuple[StageReviewers, ...] = Field(min_length=1)


# ---------------------------------------------------------------- reporting


class MonthlyReportSubmitted(Event):
    """A bureau signed off its monthly statistics: the figures as they stood, frozen.
    `figures_digest` = SHA-256 (hex) of the RFC 8785 canonical JSON of `figures`."""

    event_type: ClassVar[str] = "reporting.MonthlyReportSubmitted"
    year: int
    month: int = Field(ge=1, le=12)
    figures_digest: str
    figures: dict[str, int | str]
    signed_by: str = NonEmpty
    submitted_on: date  # in Asia/Shanghai
    due_on: date  # the last day that is on time
    on_time: bool


class AnnualReportPublished(Event):
    """A bureau published its annual report (every cross-check passed): every printed figure,
    frozen, keyed by table, block, row and column label; digest as in MonthlyReportSubmitted."""

    event_type: ClassVar[str] = "reporting.AnnualReportPublished"
    year: int
    figures_digest: str
    figures: dict[str, int | str]
    signed_by: str = NonEmpty
    submitted_on: date  # in Asia/Shanghai
    due_on: date
    on_time: bool

"""Realistic event logs for the benchmarks: bureaus, a year of catalogue items, requests with
every outcome, fees, cases and confidentiality reviews, sealed as the services' event stores
seal them and written straight to the Kafka topics as the relays write them."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gongkai_contracts import GENESIS_HASH, SYSTEM_ACTOR, Actor, Envelope, Event
from gongkai_contracts.envelope import Role, new_event_id
from gongkai_contracts.events import (
    BureauRegistered,
    CorrectionLapsed,
    CorrectionRequested,
    DeadlineExtended,
    FeeLapsed,
    FeeNoticed,
    FeePaid,
    ItemApproved,
    ItemDrafted,
    ItemPublished,
    ItemRepealed,
    ItemRevised,
    ItemSubmittedForReview,
    ItemWithdrawn,
    LitigationDecided,
    LitigationFiled,
    ReconsiderationDecided,
    ReconsiderationFiled,
    ReplyDraftApproved,
    ReplyDrafted,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
    ReviewApproved,
    ReviewOpened,
    ReviewStageCompleted,
)
from gongkai_contracts.topics import (
    HEADER_EVENT_ID,
    HEADER_EVENT_TYPE,
    HEADER_SCHEMA_VERSION,
    Service,
    events_topic,
)
from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    DisclosureAttribute,
    ItemCategory,
    ReplyOutcome,
    ReviewSubject,
)
from gongkai_platform.relay import make_producer

STAGES = ("初审", "复审", "终审")
REGIONS = ["江苏省常州市", "江苏省南京市", "浙江省杭州市", "广东省深圳市", "四川省成都市"]
# Roughly the mix of table 三 in published annual reports: most requests are answered in
# full or in part; every row occurs somewhere.
OUTCOME_WEIGHTS: dict[ReplyOutcome, float] = {
    ReplyOutcome.DISCLOSED: 40,
    ReplyOutcome.PARTIALLY_DISCLOSED: 10,
    ReplyOutcome.UNAVAILABLE_NOT_HELD: 15,
    ReplyOutcome.UNAVAILABLE_NEEDS_CREATION: 2,
    ReplyOutcome.UNAVAILABLE_UNCLEAR_AFTER_CORRECTION: 2,
    ReplyOutcome.NOT_PROCESSED_PETITION: 3,
    ReplyOutcome.NOT_PROCESSED_REPEAT: 2,
    ReplyOutcome.NOT_PROCESSED_PUBLICATION: 3,
    ReplyOutcome.NOT_PROCESSED_MASS_REQUESTS: 0.5,
    ReplyOutcome.NOT_PROCESSED_CONFIRM_OR_REISSUE: 1,
    ReplyOutcome.OTHER_CORRECTION_LAPSED: 3,
    ReplyOutcome.OTHER_FEE_LAPSED: 0.5,
    ReplyOutcome.OTHER: 3,
    **{
        o: 1
        for o in ReplyOutcome
        if o.value.startswith("withheld_")  # the eight grounds of 不予公开
    },
}
CATEGORY_WEIGHTS = {
    ItemCategory.REGULATION: 1,
    ItemCategory.NORMATIVE_DOCUMENT: 4,
    ItemCategory.LICENSING: 30,
    ItemCategory.PENALTY: 30,
    ItemCategory.COERCION: 5,
    ItemCategory.ADMINISTRATIVE_FEE: 2,
    ItemCategory.OTHER: 28,
}
# Average events per request (gongkai.requests.events) and per item (gongkai.catalogue.events),
# to size the topics reporting folds; the reviews (gongkai.review.events) come on top.
EVENTS_PER_REQUEST = 4.1
EVENTS_PER_ITEM = 4.5
ITEM_SHARE = 0.45  # share of those events that come from catalogue items


def bureau_id(i: int) -> str:
    return f"bench-b{i:05d}"


@dataclass(order=True)
class Planned:
    """One event to seal: when, in which stream of which service's log."""

    at: datetime
    seq: int
    service: Service = field(compare=False)
    bureau: str = field(compare=False)
    stream: str = field(compare=False)
    actor: Actor = field(compare=False)
    event: type[Event] = field(compare=False)
    data: dict[str, Any] = field(compare=False)


class Planner:
    """The events of one bureau over a year, each stream's events in time order."""

    def __init__(self, rng: random.Random, year: int, index: int) -> None:
        self.rng = rng
        self.year = year
        self.bureau = bureau_id(index)
        self.index = index
        self.seq = 0
        self.events: list[Planned] = []
        self.clerk = Actor(user_id=f"clerk-{index}", role=Role.CLERK)
        self.head = Actor(user_id=f"head-{index}", role=Role.BUREAU_HEAD)
        self.reviewers = [
            Actor(user_id=f"reviewer-{index}-{n}", role=Role.REVIEWER) for n in range(3)
        ]
        self.stages = STAGES[: rng.choice((1, 2, 3, 3))]
        self.index_seq = 0
        self.code = f"{10_000_000 + index:09d}"

    def add(
        self,
        at: datetime,
        service: Service,
        stream: str,
        actor: Actor,
        event: type[Event],
        **data: Any,
    ) -> datetime:
        self.seq += 1
        self.events.append(Planned(at, self.seq, service, self.bureau, stream, actor, event, data))
        return at

    def when(self, day: date, after: datetime | None = None) -> datetime:
        """A moment on `day` during office hours, after `after` when given."""
        moment = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(
            seconds=self.rng.randrange(8 * 3600)
        )
        if after is not None and moment <= after:
            moment = after + timedelta(seconds=self.rng.randrange(1, 600))
        return moment

    def day_of_year(self) -> date:
        return date(self.year, 1, 1) + timedelta(days=self.rng.randrange(365))

    # --------------------------------------------------------------- review

    def review(self, at: datetime, subject: ReviewSubject, subject_id: str, version: int) -> str:
        case_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        stream = f"review-{case_id}"
        at = self.add(
            at,
            "review",
            stream,
            SYSTEM_ACTOR,
            ReviewOpened,
            case_id=case_id,
            subject=subject,
            subject_id=subject_id,
            subject_version=version,
            stages=self.stages,
        )
        for n, stage in enumerate(self.stages):
            at = self.add(
                at + timedelta(hours=self.rng.randrange(1, 30)),
                "review",
                stream,
                self.reviewers[n],
                ReviewStageCompleted,
                case_id=case_id,
                stage=stage,
                reviewer=self.reviewers[n].user_id,
                opinion="同意公开",
            )
        self.add(
            at + timedelta(seconds=1),
            "review",
            stream,
            SYSTEM_ACTOR,
            ReviewApproved,
            case_id=case_id,
            subject=subject,
            subject_id=subject_id,
            subject_version=version,
        )
        return case_id

    # --------------------------------------------------------------- catalogue

    def bureau_registered(self) -> None:
        region = REGIONS[self.index % len(REGIONS)]
        parent = bureau_id(self.index - self.index % 50) if self.index % 50 else None
        self.add(
            datetime(self.year, 1, 1, 0, 30, tzinfo=UTC) + timedelta(seconds=self.index),
            "catalogue",
            f"bureau-{self.bureau}",
            Actor(user_id="central-1", role=Role.CENTRAL_OFFICE),
            BureauRegistered,
            name=f"基准测试第{self.index}局",
            organisation_code=f"11{self.code}X",
            region=region,
            parent_id=parent,
        )

    def item(self) -> None:
        rng = self.rng
        item_id = uuid.UUID(int=rng.getrandbits(128)).hex
        stream = f"item-{self.bureau}-{item_id}"
        category = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
        fee = Decimal("25.00") if category is ItemCategory.ADMINISTRATIVE_FEE else None
        formed = self.day_of_year()
        common = {
            "title": f"关于{category.value}事项的公告",
            "summary": "内容概述",
            "issuing_body": f"基准测试第{self.index}局",
            "attribute": DisclosureAttribute.PROACTIVE,
            "category": category,
            "fee_amount_yuan": fee,
        }
        at = self.add(
            self.when(formed), "catalogue", stream, self.clerk, ItemDrafted,
            item_id=item_id, formed_on=formed, **common,
        )  # fmt: skip
        version = 1
        at = self.publish(stream, item_id, version, category, fee, at, first=True)
        if rng.random() < 0.1:
            version = 2
            changed = (at + timedelta(days=rng.randrange(5, 60))).date()
            at = self.add(
                self.when(changed, at), "catalogue", stream, self.clerk, ItemRevised,
                item_id=item_id, item_version=version, formed_on=changed, changed_on=changed,
                **common,
            )  # fmt: skip
            at = self.publish(stream, item_id, version, category, fee, at, first=False)
        roll = rng.random()
        later = (at + timedelta(days=rng.randrange(10, 200))).date()
        if roll < 0.05 and category in (ItemCategory.REGULATION, ItemCategory.NORMATIVE_DOCUMENT):
            self.add(
                self.when(later, at), "catalogue", stream, self.clerk, ItemRepealed,
                item_id=item_id, repealed_on=later, category=category,
            )  # fmt: skip
        elif roll < 0.02:
            self.add(
                self.when(later, at), "catalogue", stream, self.clerk, ItemWithdrawn,
                item_id=item_id, reason="内容有误", withdrawn_on=later, category=category,
            )  # fmt: skip

    def publish(
        self,
        stream: str,
        item_id: str,
        version: int,
        category: ItemCategory,
        fee: Decimal | None,
        at: datetime,
        *,
        first: bool,
    ) -> datetime:
        at = self.add(
            at + timedelta(minutes=5), "catalogue", stream, self.clerk, ItemSubmittedForReview,
            item_id=item_id, item_version=version,
        )  # fmt: skip
        case_id = self.review(at + timedelta(seconds=1), ReviewSubject.ITEM, item_id, version)
        at = self.events[-1].at + timedelta(seconds=1)
        at = self.add(
            at, "catalogue", stream, SYSTEM_ACTOR, ItemApproved,
            item_id=item_id, item_version=version, review_case_id=case_id,
        )  # fmt: skip
        published = (at + timedelta(days=self.rng.randrange(0, 3))).date()
        self.index_seq += 1
        return self.add(
            self.when(published, at), "catalogue", stream, self.clerk, ItemPublished,
            item_id=item_id, item_version=version,
            index_number=f"{self.code}/{self.year}-{self.index_seq:05d}", category=category,
            published_on=published, channels=("government_website",), first_publication=first,
            due_on=published + timedelta(days=20), fee_amount_yuan=fee,
        )  # fmt: skip

    # --------------------------------------------------------------- requests

    def request(self) -> None:
        rng = self.rng
        request_id = uuid.UUID(int=rng.getrandbits(128)).hex
        stream = f"request-{self.bureau}-{request_id}"
        received = self.day_of_year()
        category = rng.choices(list(ApplicantCategory), [80, 8, 2, 2, 3, 5])[0]
        due = received + timedelta(days=28)
        at = self.add(
            self.when(received), "requests", stream, self.clerk, RequestReceived,
            request_id=request_id, channel=rng.choice(list(Channel)),
            applicant_category=category, applicant_ref=f"ap-{rng.getrandbits(48):012x}",
            received_on=received, description="社会保险基金年度收支情况", regime="2019",
            due_on=due,
        )  # fmt: skip
        outcome = rng.choices(list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values()))[0]

        def later(days: int) -> tuple[date, datetime]:
            day = (at + timedelta(days=rng.randrange(1, days))).date()
            return day, self.when(day, at)

        if outcome is ReplyOutcome.OTHER_CORRECTION_LAPSED:
            day, at = later(7)
            at = self.add(
                at, "requests", stream, self.clerk, CorrectionRequested, request_id=request_id,
                notified_on=day, correct_by=day + timedelta(days=15), items_to_correct="申请内容",
            )  # fmt: skip
            day, at = later(20)
            self.add(
                at, "requests", stream, SYSTEM_ACTOR, CorrectionLapsed,
                request_id=request_id, lapsed_on=day,
            )  # fmt: skip
            return
        if outcome is ReplyOutcome.OTHER_FEE_LAPSED or rng.random() < 0.03:
            day, at = later(10)
            amount = Decimal(rng.choice(("10.00", "50.00", "100.00")))
            at = self.add(
                at, "requests", stream, self.clerk, FeeNoticed, request_id=request_id,
                scheme="per_page", units=rng.randrange(1, 200), amount_yuan=amount,
                noticed_on=day, pay_by=day + timedelta(days=20),
            )  # fmt: skip
            day, at = later(20)
            if outcome is ReplyOutcome.OTHER_FEE_LAPSED:
                self.add(
                    at, "requests", stream, SYSTEM_ACTOR, FeeLapsed,
                    request_id=request_id, lapsed_on=day,
                )  # fmt: skip
                return
            at = self.add(
                at, "requests", stream, self.clerk, FeePaid, request_id=request_id,
                paid_on=day, amount_yuan=amount, due_on=day + timedelta(days=20),
            )  # fmt: skip
        if outcome is ReplyOutcome.OTHER:
            day, at = later(15)
            self.add(
                at, "requests", stream, self.clerk, RequestWithdrawn,
                request_id=request_id, withdrawn_on=day,
            )  # fmt: skip
            return
        if rng.random() < 0.05:
            day, at = later(15)
            due = due + timedelta(days=28)
            at = self.add(
                at, "requests", stream, self.head, DeadlineExtended, request_id=request_id,
                working_days=20, approved_by=self.head.user_id, notified_on=day, due_on=due,
            )  # fmt: skip
        draft_id = uuid.UUID(int=rng.getrandbits(128)).hex
        day, at = later(15)
        at = self.add(
            at, "requests", stream, self.clerk, ReplyDrafted, request_id=request_id,
            draft_id=draft_id, outcome=outcome, legal_basis="《条例》第三十六条",
        )  # fmt: skip
        case_id = self.review(at + timedelta(seconds=1), ReviewSubject.REPLY, draft_id, 1)
        at = self.events[-1].at + timedelta(seconds=1)
        at = self.add(
            at, "requests", stream, SYSTEM_ACTOR, ReplyDraftApproved,
            request_id=request_id, draft_id=draft_id, review_case_id=case_id,
        )  # fmt: skip
        sent = (at + timedelta(days=rng.randrange(0, 3))).date()
        at = self.add(
            self.when(sent, at), "requests", stream, self.clerk, ReplySent,
            request_id=request_id, draft_id=draft_id, outcome=outcome,
            legal_basis="《条例》第三十六条", sent_on=sent, due_on=due, on_time=sent <= due,
            applicant_category=category,
        )  # fmt: skip
        if outcome is not ReplyOutcome.DISCLOSED and rng.random() < 0.08:
            self.case(request_id, at)

    def case(self, request_id: str, at: datetime) -> None:
        rng = self.rng
        case_id = uuid.UUID(int=rng.getrandbits(128)).hex
        stream = f"case-{self.bureau}-{case_id}"
        filed = (at + timedelta(days=rng.randrange(5, 60))).date()
        decided = filed + timedelta(days=rng.randrange(30, 90))
        result = rng.choices(list(CaseResult), [70, 20, 10])[0]
        if rng.random() < 0.7:
            at = self.add(
                self.when(filed, at), "requests", stream, self.clerk, ReconsiderationFiled,
                case_id=case_id, request_id=request_id, filed_on=filed,
            )  # fmt: skip
            self.add(
                self.when(decided, at), "requests", stream, self.clerk, ReconsiderationDecided,
                case_id=case_id, decided_on=decided, result=result, decision="驳回",
            )  # fmt: skip
            return
        at = self.add(
            self.when(filed, at), "requests", stream, self.clerk, LitigationFiled,
            case_id=case_id, request_id=request_id, filed_on=filed,
            after_reconsideration=rng.random() < 0.3,
        )  # fmt: skip
        self.add(
            self.when(decided, at), "requests", stream, self.clerk, LitigationDecided,
            case_id=case_id, decided_on=decided, result=result, decision="驳回诉讼请求",
        )  # fmt: skip


def plan_bureau(seed: int, year: int, index: int, events: float) -> list[Planned]:
    """About `events` events of one bureau in the topics reporting folds (its share of the
    log), and the reviews of its items and replies."""
    rng = random.Random(seed * 1_000_003 + index)
    planner = Planner(rng, year, index)
    planner.bureau_registered()
    items = max(1, round(events * ITEM_SHARE / EVENTS_PER_ITEM))
    requests = max(1, round(events * (1 - ITEM_SHARE) / EVENTS_PER_REQUEST))
    for _ in range(items):
        planner.item()
    for _ in range(requests):
        planner.request()
    planner.events.sort()
    return planner.events


def bureau_shares(bureaus: int, events: int, seed: int) -> list[float]:
    """Events per bureau: a long tail (a few busy bureaus, many quiet ones), summing to
    `events`."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.5) for _ in range(bureaus)]
    total = sum(weights)
    return [events * w / total for w in weights]


@dataclass
class Written:
    """What one producer wrote."""

    events: int = 0
    per_topic: Counter[str] = field(default_factory=Counter)
    per_type: Counter[str] = field(default_factory=Counter)


async def produce(
    bootstrap: str, indices: list[int], shares: list[float], seed: int, year: int
) -> Written:
    """Plan, seal and publish the events of these bureaus, merged in time order; keyed by
    bureau with the relay's headers and producer settings."""
    plans = [plan_bureau(seed, year, i, shares[i]) for i in indices]
    merged: Iterator[Planned] = heapq.merge(*plans)
    written = Written()
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for p, raw, event_id in zip_planned(merged):
            topic = events_topic(p.service)
            headers = [  # the relay's headers (kafka_headers), without a trace context
                (HEADER_EVENT_TYPE, p.event.event_type.encode()),
                (HEADER_SCHEMA_VERSION, str(p.event.schema_version).encode()),
                (HEADER_EVENT_ID, event_id.encode()),
            ]
            pending.append(
                await producer.send(topic, value=raw, key=p.bureau.encode(), headers=headers)
            )
            written.events += 1
            written.per_topic[topic] += 1
            written.per_type[p.event.event_type] += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return written


def _canonical(value: Any) -> bytes:
    """RFC 8785 for the values envelopes hold here (objects with ASCII keys, strings, integers,
    booleans, null; no floats): json.dumps with sorted keys, no spaces and raw UTF-8 writes the
    same bytes, ten times faster than the general implementation. `zip_planned` checks it
    against `canonical_json` on a sample, and every consumer re-verifies every hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def zip_planned(
    planned: Iterator[Planned], check_every: int = 500
) -> Iterator[tuple[Planned, bytes, str]]:
    """Each planned event with its sealed envelope as published (JSON bytes): stream versions
    per stream, hash chains per (service, bureau), as each service's event store seals them
    (`_seal_all`, `Envelope.seal`)."""
    versions: Counter[str] = Counter()
    heads: dict[tuple[str, str], str] = {}
    for n, p in enumerate(planned):
        versions[p.stream] += 1
        chain = (p.service, p.bureau)
        event = p.event.model_validate(p.data)
        prev_hash = heads.get(chain, GENESIS_HASH)
        fields = Envelope.model_validate(
            {
                "event_id": new_event_id(),
                "event_type": event.event_type,
                "schema_version": event.schema_version,
                "bureau_id": p.bureau,
                "stream_id": p.stream,
                "stream_version": versions[p.stream],
                "occurred_at": p.at,
                "recorded_at": p.at + timedelta(milliseconds=5),
                "actor": p.actor,
                "correlation_id": uuid.uuid4(),
                "causation_id": None,
                "prev_hash": prev_hash,
                "data": event.model_dump(mode="json"),
                "hash": "",
            }
        ).without_hash()
        digest = hashlib.sha256(prev_hash.encode("ascii"))
        digest.update(_canonical(fields))
        fields["hash"] = digest.hexdigest()
        raw = _canonical(fields)
        if n % check_every == 0:
            envelope = Envelope.from_json(raw)  # recomputes the hash with rfc8785
            if envelope.to_json() != raw:
                raise AssertionError(f"not canonical: {raw[:200]!r}")
        heads[chain] = fields["hash"]
        yield p, raw, str(fields["event_id"])


def produce_in_process(
    bootstrap: str, indices: list[int], shares: list[float], seed: int, year: int
) -> Written:
    return asyncio.run(produce(bootstrap, indices, shares, seed, year))

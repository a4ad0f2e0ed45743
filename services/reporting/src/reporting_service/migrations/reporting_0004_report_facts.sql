-- Facts for reports computed as of any instant (DESIGN: Reports). One row per event, only ever
-- inserted: business_date is the day the event is about, recorded_at the envelope's system
-- time that `as_of` cuts on. The event id is the key, so a redelivery inserts nothing.

CREATE TABLE IF NOT EXISTS report_request_facts (
    event_id            uuid PRIMARY KEY,
    bureau_id           text        NOT NULL,
    event_type          text        NOT NULL,
    occurred_at         timestamptz NOT NULL,
    recorded_at         timestamptz NOT NULL,
    request_id          text        NOT NULL,
    kind                text        NOT NULL
                        CHECK (kind IN ('received', 'closed', 'fee_noticed', 'fee_paid')),
    business_date       date        NOT NULL,
    applicant_category  text,           -- received (and ReplySent)
    channel             text,           -- received
    outcome             text,           -- closed: the table 三 row (ReplyOutcome)
    on_time             boolean,        -- ReplySent
    amount_yuan         numeric(14, 2)  -- fees
);
CREATE INDEX IF NOT EXISTS report_request_facts_bureau
    ON report_request_facts (bureau_id, request_id);

-- 行政复议 and 行政诉讼 (table 四): filed (with its block) and decided (with its result).
CREATE TABLE IF NOT EXISTS report_case_facts (
    event_id       uuid PRIMARY KEY,
    bureau_id      text        NOT NULL,
    event_type     text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    case_id        text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('filed', 'decided')),
    business_date  date        NOT NULL,
    block          text,        -- filed: reconsideration, litigation_direct, litigation_after_…
    request_id     text,
    result         text,        -- decided: upheld, corrected, other (CaseResult)
    decision       text
);
CREATE INDEX IF NOT EXISTS report_case_facts_bureau ON report_case_facts (bureau_id, case_id);

-- Catalogue items (table 二): drafted/revised (business date = 生成日期), published, repealed,
-- withdrawn; fee amounts of 行政事业性收费 items in 元.
CREATE TABLE IF NOT EXISTS report_item_facts (
    event_id           uuid PRIMARY KEY,
    bureau_id          text        NOT NULL,
    event_type         text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    recorded_at        timestamptz NOT NULL,
    item_id            text        NOT NULL,
    kind               text        NOT NULL
                       CHECK (kind IN ('drafted', 'revised', 'published', 'repealed', 'withdrawn')),
    category           text        NOT NULL,
    business_date      date        NOT NULL,
    item_version       integer,
    first_publication  boolean,
    fee_amount_yuan    numeric(14, 2)
);
CREATE INDEX IF NOT EXISTS report_item_facts_bureau ON report_item_facts (bureau_id, item_id);

-- The bureau's name as registered or last updated, for the report's title.
CREATE TABLE IF NOT EXISTS report_bureau_names (
    event_id     uuid PRIMARY KEY,
    bureau_id    text        NOT NULL,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    name         text        NOT NULL
);
CREATE INDEX IF NOT EXISTS report_bureau_names_bureau ON report_bureau_names (bureau_id);

-- What the bureau writes itself (sections 一, 五, 六). Every PUT is a new row, so a report as
-- of an instant shows the narrative of that instant.
CREATE TABLE IF NOT EXISTS annual_report_narratives (
    id                         bigserial PRIMARY KEY,
    bureau_id                  text        NOT NULL,
    year                       integer     NOT NULL,
    overview                   text        NOT NULL,
    problems_and_improvements  text        NOT NULL,
    other_matters              text        NOT NULL,
    recorded_at                timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS annual_report_narratives_year
    ON annual_report_narratives (bureau_id, year, recorded_at DESC);

-- Self-assessment (自评). Review approvals of catalogue items (catalogue.ItemApproved), so that
-- "every published item was reviewed first" can be proved from the log; one row per event.
CREATE TABLE IF NOT EXISTS report_item_approvals (
    event_id        uuid PRIMARY KEY,
    bureau_id       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    item_id         text        NOT NULL,
    item_version    integer     NOT NULL,
    review_case_id  text        NOT NULL
);
CREATE INDEX IF NOT EXISTS report_item_approvals_bureau
    ON report_item_approvals (bureau_id, item_id, item_version);

-- Scores the bureau enters for the items no event can prove, each with its reason. Every PUT
-- is a new row; the latest per item counts.
CREATE TABLE IF NOT EXISTS self_assessment_entries (
    id           bigserial PRIMARY KEY,
    bureau_id    text          NOT NULL,
    year         integer       NOT NULL,
    item_key     text          NOT NULL,
    score        numeric(6, 2) NOT NULL,
    reason       text          NOT NULL,
    recorded_at  timestamptz   NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS self_assessment_entries_year
    ON self_assessment_entries (bureau_id, year, item_key, id DESC);

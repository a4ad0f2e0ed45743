-- Sign-off of monthly (month 1–12) and annual (month 0) reports. The row is written in the same
-- transaction as the MonthlyReportSubmitted / AnnualReportPublished event in `events` (the
-- outbox the relay publishes to gongkai.reporting.events); the key makes it once per period.

CREATE TABLE IF NOT EXISTS report_sign_offs (
    bureau_id       text        NOT NULL,
    year            integer     NOT NULL,
    month           smallint    NOT NULL CHECK (month BETWEEN 0 AND 12),  -- 0: the annual report
    signed_by       text        NOT NULL,
    submitted_at    timestamptz NOT NULL,
    submitted_on    date        NOT NULL,  -- in Asia/Shanghai
    due_on          date        NOT NULL,
    on_time         boolean     NOT NULL,
    figures         jsonb       NOT NULL,
    figures_digest  text        NOT NULL,
    event_id        uuid        NOT NULL,
    PRIMARY KEY (bureau_id, year, month)
);

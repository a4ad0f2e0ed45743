-- The requests service's own read model (kept in the same transaction as its appends),
-- the applicant register (personal data, encrypted per applicant) and reply drafts.

CREATE TABLE IF NOT EXISTS request_summaries (
    bureau_id          text    NOT NULL,
    request_id         text    NOT NULL,
    seq                bigserial,
    status             text    NOT NULL,
    channel            text    NOT NULL,
    applicant_category text    NOT NULL,
    applicant_ref      text    NOT NULL,
    received_on        date    NOT NULL,
    description        text    NOT NULL,
    due_on             date,
    due_provisional    boolean NOT NULL DEFAULT false,
    extension_days     integer NOT NULL DEFAULT 0,
    outcome            text,
    closed_on          date,
    fee_yuan           numeric(12, 2) NOT NULL DEFAULT 0,
    version            integer NOT NULL,
    PRIMARY KEY (bureau_id, request_id)
);
CREATE INDEX IF NOT EXISTS request_summaries_open_due
    ON request_summaries (bureau_id, due_on) WHERE closed_on IS NULL;
CREATE INDEX IF NOT EXISTS request_summaries_applicant_month
    ON request_summaries (applicant_ref, received_on);

CREATE TABLE IF NOT EXISTS reply_drafts (
    draft_id    text PRIMARY KEY,
    bureau_id   text NOT NULL,
    request_id  text NOT NULL
);

-- Personal data (条例 第二十九条 asks for it; the log never carries it). Erasing an applicant
-- deletes the key row: the ciphertext stays and can no longer be read.
CREATE TABLE IF NOT EXISTS applicants (
    applicant_ref  text PRIMARY KEY,
    blind_index    text UNIQUE,
    ciphertext     bytea NOT NULL,
    erased_on      date
);
CREATE TABLE IF NOT EXISTS applicant_keys (
    applicant_ref  text PRIMARY KEY REFERENCES applicants (applicant_ref),
    key            bytea NOT NULL
);

CREATE INDEX IF NOT EXISTS events_calendar_published
    ON events (position) WHERE event_type = 'requests.CalendarPublished';

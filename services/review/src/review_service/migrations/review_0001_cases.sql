-- The review service's own tables, written in the same transaction as its appends.

-- One case per subject version: the consumer claims the row before it appends ReviewOpened,
-- so a redelivered or replayed submission finds it and opens nothing.
CREATE TABLE IF NOT EXISTS review_cases (
    case_id          text        PRIMARY KEY,
    bureau_id        text        NOT NULL,
    subject          text        NOT NULL,
    subject_id       text        NOT NULL,
    subject_version  integer     NOT NULL,
    title            text        NOT NULL,
    document_number  text,
    summary          text        NOT NULL DEFAULT '',
    state            text        NOT NULL DEFAULT 'open',
    current_stage    text,
    referred_to      text,
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz,
    version          integer     NOT NULL DEFAULT 0,
    UNIQUE (bureau_id, subject, subject_id, subject_version)
);
CREATE INDEX IF NOT EXISTS review_cases_by_state
    ON review_cases (bureau_id, state, opened_at);

-- A bureau's review stages; each case keeps those in force when it opened (ReviewOpened.stages).
CREATE TABLE IF NOT EXISTS review_stage_settings (
    bureau_id  text        PRIMARY KEY,
    stages     text[]      NOT NULL,
    set_at     timestamptz NOT NULL,
    set_by     text        NOT NULL
);

-- Titles of catalogue items, from the catalogue's events, for the written record.
CREATE TABLE IF NOT EXISTS catalogue_items (
    bureau_id        text NOT NULL,
    item_id          text NOT NULL,
    title            text NOT NULL,
    document_number  text,
    summary          text NOT NULL DEFAULT '',
    PRIMARY KEY (bureau_id, item_id)
);

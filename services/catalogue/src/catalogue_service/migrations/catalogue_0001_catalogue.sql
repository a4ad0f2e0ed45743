-- The catalogue service's own tables, written in the same transaction as its appends: bureaus,
-- items (the clerk's view of each item's current version), the public catalogue (the last
-- published version of each item) and the index number counters.

CREATE TABLE IF NOT EXISTS bureaus (
    bureau_id          text    PRIMARY KEY,
    name               text    NOT NULL,
    organisation_code  text    NOT NULL,
    region             text    NOT NULL,
    parent_id          text,
    index_pattern      text    NOT NULL,
    guide              jsonb,
    version            integer NOT NULL
);
CREATE INDEX IF NOT EXISTS bureaus_parent ON bureaus (parent_id);

CREATE TABLE IF NOT EXISTS items (
    bureau_id           text    NOT NULL,
    item_id             text    NOT NULL,
    seq                 bigserial,
    state               text    NOT NULL,
    version             integer NOT NULL,
    title               text    NOT NULL,
    summary             text    NOT NULL,
    formed_on           date    NOT NULL,
    document_number     text,
    issuing_body        text    NOT NULL,
    topic               text,
    form_category       text,
    attribute           text    NOT NULL,
    scope               text,
    validity            text    NOT NULL,
    category            text    NOT NULL,
    fee_amount_yuan     numeric(14, 2),
    changed_on          date,
    submitted_version   integer,
    approved_version    integer,
    review_case_id      text,
    rejection_reasons   text,
    index_number        text,
    published_version   integer,
    published_on        date,
    first_published_on  date,
    due_on              date,
    late                boolean,
    repealed_on         date,
    withdrawn_on        date,
    withdrawal_reason   text,
    stream_version      integer NOT NULL,
    PRIMARY KEY (bureau_id, item_id)
);
CREATE INDEX IF NOT EXISTS items_by_state ON items (bureau_id, state, seq);

-- 公开目录: what the public sees. Withdrawn entries stay for the record, never listed.
CREATE TABLE IF NOT EXISTS catalogue_entries (
    bureau_id           text    NOT NULL,
    item_id             text    NOT NULL,
    index_number        text    NOT NULL,
    version             integer NOT NULL,
    title               text    NOT NULL,
    summary             text    NOT NULL,
    formed_on           date    NOT NULL,
    document_number     text,
    issuing_body        text    NOT NULL,
    topic               text,
    form_category       text,
    attribute           text    NOT NULL,
    scope               text,
    validity            text    NOT NULL,
    category            text    NOT NULL,
    fee_amount_yuan     numeric(14, 2),
    published_on        date    NOT NULL,
    first_published_on  date    NOT NULL,
    channels            text[]  NOT NULL,
    due_on              date    NOT NULL,
    late                boolean NOT NULL,
    repealed_on         date,
    withdrawn_on        date,
    PRIMARY KEY (bureau_id, item_id),
    UNIQUE (bureau_id, index_number)
);
CREATE INDEX IF NOT EXISTS catalogue_entries_listed
    ON catalogue_entries (bureau_id, first_published_on DESC, index_number DESC)
    WHERE withdrawn_on IS NULL;

-- 索引号: one counter row per bureau and year of publication. A publication locks the row
-- (SELECT … FOR UPDATE) and advances it in its own transaction, so the counter moves only when
-- the publication commits: the numbers of a year have no gaps and no duplicates.
CREATE TABLE IF NOT EXISTS index_counters (
    bureau_id  text    NOT NULL,
    year       integer NOT NULL,
    next_seq   integer NOT NULL CHECK (next_seq >= 1),
    PRIMARY KEY (bureau_id, year)
);

-- Every number given, with the item it went to.
CREATE TABLE IF NOT EXISTS index_numbers (
    bureau_id     text    NOT NULL,
    year          integer NOT NULL,
    seq           integer NOT NULL,
    index_number  text    NOT NULL,
    item_id       text    NOT NULL,
    PRIMARY KEY (bureau_id, year, seq),
    UNIQUE (bureau_id, index_number),
    UNIQUE (bureau_id, item_id)
);

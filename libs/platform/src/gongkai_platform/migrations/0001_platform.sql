-- Platform tables every service database has: the event store (also the outbox),
-- the relay cursor, and what each consumer has applied.

CREATE TABLE IF NOT EXISTS events (
    position        bigserial PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    bureau_id       text        NOT NULL,
    event_type      text        NOT NULL,
    hash            text        NOT NULL,
    body            text        NOT NULL,   -- the canonical JSON published to Kafka, byte for byte
    trace_context   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_bureau_position ON events (bureau_id, position DESC);

CREATE TABLE IF NOT EXISTS relay_cursor (
    topic     text PRIMARY KEY,
    position  bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer     text    NOT NULL,
    topic        text    NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint  NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE IF NOT EXISTS consumer_streams (
    consumer      text    NOT NULL,
    stream_id     text    NOT NULL,
    last_version  integer NOT NULL,
    PRIMARY KEY (consumer, stream_id)
);

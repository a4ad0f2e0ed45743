-- The locked part of an append as one statement (ADR 001): take the append lock, check the
-- stream's version, read the bureau's chain head, hash and insert each event, notify.
-- The caller prepares each event's canonical JSON (RFC 8785) with its two hashes cut out:
-- unhashed = u1 ‖ prev_hash ‖ u2 (the envelope without `hash`), and
-- body = b1 ‖ hash ‖ b2 ‖ prev_hash ‖ b3 (`hash` sorts before `prev_hash`), so all that is
-- left under the lock is SHA-256(prev_hash ‖ unhashed) and string concatenation.
-- When the stream is not at p_expected, nothing is written and `actual` says where it is.
CREATE OR REPLACE FUNCTION gongkai_append(
    p_lock bigint,
    p_channel text,
    p_stream_id text,
    p_expected integer,
    p_bureau_id text,
    p_event_ids uuid[],
    p_event_types text[],
    p_u1 text[],
    p_u2 text[],
    p_b1 text[],
    p_b2 text[],
    p_b3 text[],
    p_trace_context jsonb,
    OUT actual integer,
    OUT head text,
    OUT hashes text[]
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev text;
    h text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- Each statement below takes a new snapshot (READ COMMITTED): it sees every append that
    -- committed before this one got the lock.
    SELECT coalesce(max(stream_version), 0) INTO actual FROM events WHERE stream_id = p_stream_id;
    IF actual <> p_expected THEN
        RETURN;
    END IF;
    SELECT e.hash INTO head FROM events e
        WHERE e.bureau_id = p_bureau_id ORDER BY e.position DESC LIMIT 1;
    head := coalesce(head, repeat('0', 64));
    prev := head;
    hashes := ARRAY[]::text[];
    FOR i IN 1 .. coalesce(array_length(p_event_ids, 1), 0) LOOP
        h := encode(sha256(convert_to(prev || p_u1[i] || prev || p_u2[i], 'UTF8')), 'hex');
        INSERT INTO events (event_id, stream_id, stream_version, bureau_id, event_type, hash,
                            body, trace_context)
        VALUES (p_event_ids[i], p_stream_id, p_expected + i, p_bureau_id, p_event_types[i], h,
                p_b1[i] || h || p_b2[i] || prev || p_b3[i], p_trace_context);
        hashes := hashes || h;
        prev := h;
    END LOOP;
    PERFORM pg_notify(p_channel, '');
END;
$$;

-- The central office's roll-up reads each bureau's figures of a year computed ahead
-- (central_figures) instead of building 3,000 bureaus' reports on every GET. A line is used
-- only while the bureau's facts are as they were when it was computed: central_facts_marks
-- counts the fact rows inserted per bureau and table (the fact tables are insert-only, so the
-- sum over a bureau's rows moves with every new fact and never comes back to a value), kept
-- by a statement trigger on each fact table, in the same transaction as the facts.

CREATE TABLE IF NOT EXISTS central_facts_marks (
    bureau_id   text   NOT NULL,
    fact_table  text   NOT NULL,
    facts       bigint NOT NULL,
    PRIMARY KEY (bureau_id, fact_table)
);

-- In `public`, not the migration's schema: a replay runs these migrations in replay_<ts> and
-- drops that schema (CASCADE) after moving its tables, with their triggers, to public. The
-- marks go to the schema of the table that fired, so a replay's inserts count in its own.
-- Rows are keyed by table as well as bureau, so the request and catalogue projections, which
-- commit concurrently, never wait for each other's row locks.
CREATE OR REPLACE FUNCTION public.central_count_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO %I.central_facts_marks AS m (bureau_id, fact_table, facts)
         SELECT bureau_id, %L, count(*) FROM added GROUP BY bureau_id ORDER BY bureau_id
         ON CONFLICT (bureau_id, fact_table) DO UPDATE SET facts = m.facts + EXCLUDED.facts',
        TG_TABLE_SCHEMA, TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- Triggers first (they lock each table against writes until this migration commits), then
-- the counts of the rows already there.
DROP TRIGGER IF EXISTS central_count_facts ON report_request_facts;
CREATE TRIGGER central_count_facts AFTER INSERT ON report_request_facts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION public.central_count_facts();
DROP TRIGGER IF EXISTS central_count_facts ON report_case_facts;
CREATE TRIGGER central_count_facts AFTER INSERT ON report_case_facts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION public.central_count_facts();
DROP TRIGGER IF EXISTS central_count_facts ON report_item_facts;
CREATE TRIGGER central_count_facts AFTER INSERT ON report_item_facts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION public.central_count_facts();
DROP TRIGGER IF EXISTS central_count_facts ON report_bureau_names;
CREATE TRIGGER central_count_facts AFTER INSERT ON report_bureau_names
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION public.central_count_facts();

INSERT INTO central_facts_marks (bureau_id, fact_table, facts)
SELECT bureau_id, 'report_request_facts', count(*) FROM report_request_facts GROUP BY bureau_id
UNION ALL
SELECT bureau_id, 'report_case_facts', count(*) FROM report_case_facts GROUP BY bureau_id
UNION ALL
SELECT bureau_id, 'report_item_facts', count(*) FROM report_item_facts GROUP BY bureau_id
UNION ALL
SELECT bureau_id, 'report_bureau_names', count(*) FROM report_bureau_names GROUP BY bureau_id
ON CONFLICT (bureau_id, fact_table) DO NOTHING;

-- One bureau's figures of a year (rollup.Figures as JSON) and the name its report prints, as
-- computed from its facts when the marks summed to `facts_mark`, by the code and on the fact
-- tables named by `basis` (a hash of the report builders' source and the tables' oids: a new
-- release or a replay's switch makes every line stale).
CREATE TABLE IF NOT EXISTS central_figures (
    bureau_id    text        NOT NULL,
    year         integer     NOT NULL,
    name         text        NOT NULL,
    figures      jsonb       NOT NULL,
    facts_mark   bigint      NOT NULL,
    basis        text        NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (year, bureau_id)
);

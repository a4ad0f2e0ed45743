-- What reporting must remember of each request to count its outcome (the applicant category).
CREATE TABLE IF NOT EXISTS request_facts (
    bureau_id           text NOT NULL,
    request_id          text NOT NULL,
    applicant_category  text NOT NULL,
    received_on         date NOT NULL,
    PRIMARY KEY (bureau_id, request_id)
);

-- Requests closed per bureau, month of closing, outcome (table 三 row) and applicant column.
CREATE TABLE IF NOT EXISTS request_outcomes_monthly (
    bureau_id           text    NOT NULL,
    year                integer NOT NULL,
    month               integer NOT NULL,
    outcome             text    NOT NULL,
    applicant_category  text    NOT NULL,
    closed              integer NOT NULL,
    late                integer NOT NULL,
    PRIMARY KEY (bureau_id, year, month, outcome, applicant_category)
);

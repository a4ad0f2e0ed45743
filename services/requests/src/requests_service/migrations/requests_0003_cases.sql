-- Reconsideration and litigation cases, as the requests service lists them.
CREATE TABLE IF NOT EXISTS case_summaries (
    bureau_id   text NOT NULL,
    case_id     text NOT NULL,
    kind        text NOT NULL,
    request_id  text,
    filed_on    date NOT NULL,
    decided_on  date,
    result      text,
    decision    text,
    PRIMARY KEY (bureau_id, case_id)
);

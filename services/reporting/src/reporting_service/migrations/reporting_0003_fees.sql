-- Information processing fees (信息处理费, 国办函〔2020〕109号) noticed and paid per month.
CREATE TABLE IF NOT EXISTS fees_monthly (
    bureau_id     text    NOT NULL,
    year          integer NOT NULL,
    month         integer NOT NULL,
    noticed       integer NOT NULL DEFAULT 0,
    noticed_yuan  numeric(14, 2) NOT NULL DEFAULT 0,
    paid          integer NOT NULL DEFAULT 0,
    paid_yuan     numeric(14, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (bureau_id, year, month)
);

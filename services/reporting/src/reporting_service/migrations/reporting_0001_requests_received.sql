-- Requests received per bureau and month (by the date of receipt, 收到申请之日).
CREATE TABLE IF NOT EXISTS requests_received_monthly (
    bureau_id  text    NOT NULL,
    year       integer NOT NULL,
    month      integer NOT NULL CHECK (month BETWEEN 1 AND 12),
    received   integer NOT NULL,
    PRIMARY KEY (bureau_id, year, month)
);

-- Ledger imports (台账导入): one row per file imported into a bureau, by the SHA-256 of its bytes.
-- Written in the import's own transaction, so a refused file leaves no row; the same file
-- again finds its row and adds nothing.

CREATE TABLE IF NOT EXISTS ledger_imports (
    bureau_id          text        NOT NULL,
    file_sha256        text        NOT NULL,
    filename           text        NOT NULL,
    imported_at        timestamptz NOT NULL DEFAULT now(),
    imported_by        text        NOT NULL,
    row_count          integer     NOT NULL DEFAULT 0,
    imported_requests  integer     NOT NULL DEFAULT 0,
    continued_requests integer     NOT NULL DEFAULT 0,
    skipped            integer     NOT NULL DEFAULT 0,
    events             integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (bureau_id, file_sha256)
);

-- The bureau's region and parent (主管部门) as registered or last updated, for the central
-- office's roll-ups: the same rows as the names (one per BureauRegistered/BureauProfileUpdated),
-- with two more columns. Rows recorded before this migration have NULL here until a replay
-- re-applies their events (the projection updates these columns on a redelivered event).
ALTER TABLE report_bureau_names ADD COLUMN IF NOT EXISTS region text;
ALTER TABLE report_bureau_names ADD COLUMN IF NOT EXISTS parent_id text;
CREATE INDEX IF NOT EXISTS report_bureau_names_parent ON report_bureau_names (parent_id);

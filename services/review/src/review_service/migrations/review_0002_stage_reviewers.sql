-- Who reviews at each stage, as the bureau head assigned them: one JSON array of user ids per
-- stage, in the order of `stages`. Stages set before reviewers were assigned have none, and
-- nobody may act at them until the head assigns some.
ALTER TABLE review_stage_settings
    ADD COLUMN IF NOT EXISTS reviewers jsonb NOT NULL DEFAULT '[]'::jsonb;

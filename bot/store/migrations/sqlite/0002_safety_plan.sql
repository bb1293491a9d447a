-- A person's own safety plan (JSON: the steps in their words, whether their country's lines are kept).
-- It lives on the person's row, so /forget and retention erase it with everything else.
-- Check-ins after a crisis reply need no new table: they are schedules rows with target_kind 'followup'.
ALTER TABLE people ADD COLUMN safety_plan TEXT;

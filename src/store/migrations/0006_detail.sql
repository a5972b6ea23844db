-- The fine-grained reason in Sisimai's vocabulary (userunknown, filtered, blocked…) beside
-- Campaign's type and reason: on each bounce event and on each qualification row. Empty for
-- rows and events recorded before this column existed.
ALTER TABLE qualification ADD COLUMN detail TEXT NOT NULL DEFAULT '';
ALTER TABLE bounce_event ADD COLUMN detail TEXT NOT NULL DEFAULT '';

-- What the rules read when a qualification row was created: the record kind and the extracted
-- bounce (status, reply code, SMTP command, remote MTA, diagnostic…) as JSON, so that
-- `inmail requalify` decides on the same evidence a fresh replay would. NULL for rows created
-- before this column existed (requalify leaves them unchanged and counts them).
ALTER TABLE qualification ADD COLUMN evidence TEXT;

-- Every change of a qualification row's type, reason, status or rule after its creation: by an
-- operator (`qual set`) or by `requalify`. Never deleted.
CREATE TABLE qualification_history (
    id                 INTEGER PRIMARY KEY,
    qualification_id   INTEGER NOT NULL REFERENCES qualification (id),
    at                 INTEGER NOT NULL,              -- unix seconds, wall clock
    action             TEXT    NOT NULL,              -- set | requalify
    by                 TEXT    NOT NULL,
    old_failure_type   TEXT    NOT NULL,
    old_failure_reason INTEGER NOT NULL,
    old_status         TEXT    NOT NULL,
    old_rule           TEXT    NOT NULL,
    new_failure_type   TEXT    NOT NULL,
    new_failure_reason INTEGER NOT NULL,
    new_status         TEXT    NOT NULL,
    new_rule           TEXT    NOT NULL
);
CREATE INDEX qualification_history_row ON qualification_history (qualification_id, at);

-- Every change of a qualification row's type, reason, status or rule after its creation, with
-- who made it. Same table as the qualification-evidence migration of the requalify work: when
-- both are merged, this file is dropped (the table is created once).
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

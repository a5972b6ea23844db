-- Delivery linkage on every bounce event (NULL when no extractor found it).
ALTER TABLE bounce_event ADD COLUMN delivery_id TEXT;
ALTER TABLE bounce_event ADD COLUMN delivery_log_id TEXT;

-- One row per address (or phone number). `address` is the comparison key: lowercased when the
-- quarantine is case-insensitive (the default).
CREATE TABLE quarantine (
    id               INTEGER PRIMARY KEY,
    address          TEXT    NOT NULL UNIQUE,
    channel          TEXT    NOT NULL DEFAULT 'email',
    status           TEXT    NOT NULL CHECK (status IN ('Valid', 'With errors', 'Quarantine', 'Denylisted')),
    error_count      INTEGER NOT NULL DEFAULT 0,
    error_text       TEXT    NOT NULL DEFAULT '',   -- raw text of the last significant error
    failure_type     TEXT,                          -- type of the last significant error
    failure_reason   INTEGER,                       -- reason value of the last significant error
    first_error      INTEGER,                       -- unix seconds (event time)
    last_error       INTEGER,
    last_modified    INTEGER NOT NULL,              -- event time for automatic changes, wall clock for operators
    qualification_id INTEGER REFERENCES qualification (id),
    event_id         INTEGER REFERENCES bounce_event (id),
    delivery_id      TEXT,
    delivery_log_id  TEXT
);
CREATE INDEX quarantine_status ON quarantine (status, last_modified);
CREATE INDEX quarantine_qualification ON quarantine (qualification_id);

-- Audit trail: every status change of an entry, automatic or by an operator. Never deleted.
CREATE TABLE quarantine_history (
    id         INTEGER PRIMARY KEY,
    address    TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    old_status TEXT,
    new_status TEXT    NOT NULL,
    action     TEXT    NOT NULL,                    -- event | maintain | release | import
    by         TEXT    NOT NULL DEFAULT 'inmail',
    reason     TEXT    NOT NULL DEFAULT '',
    event_id   INTEGER
);
CREATE INDEX quarantine_history_address ON quarantine_history (address, at);

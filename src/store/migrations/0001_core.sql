-- One row per message ever seen: the deduplication key is its content fingerprint.
CREATE TABLE message (
    id            INTEGER PRIMARY KEY,
    fingerprint   BLOB    NOT NULL UNIQUE,
    source        TEXT    NOT NULL,
    message_id    TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL,              -- dsn | arf | autoreply | text | not-bounce | error
    size          INTEGER NOT NULL,
    bounce_date   INTEGER,                       -- the bounce's own Date, unix seconds
    processed_at  INTEGER NOT NULL,
    error         TEXT                           -- why it could not be parsed, NULL when fine
);

-- The delivery log qualification table: one row per distinct normalized Text per channel.
CREATE TABLE qualification (
    id             INTEGER PRIMARY KEY,
    channel        TEXT    NOT NULL DEFAULT 'email',
    text           TEXT    NOT NULL,
    first_text     TEXT    NOT NULL,
    failure_type   TEXT    NOT NULL,             -- Hard | Soft | Ignored | Undefined
    failure_reason INTEGER NOT NULL,             -- Campaign's numeric reason value
    status         TEXT    NOT NULL CHECK (status IN ('To qualify', 'Keep', 'Ignore')),
    occurrences    INTEGER NOT NULL DEFAULT 0 CHECK (occurrences BETWEEN 0 AND 100000),
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    rule           TEXT    NOT NULL DEFAULT '',
    manual         INTEGER NOT NULL DEFAULT 0,   -- set by an operator: wins over the rules
    updated_at     INTEGER NOT NULL,
    UNIQUE (channel, text)
);
CREATE INDEX qualification_status ON qualification (status, occurrences);

-- One row per recipient per message.
CREATE TABLE bounce_event (
    id                INTEGER PRIMARY KEY,
    message_ref       INTEGER NOT NULL REFERENCES message (id),
    idx               INTEGER NOT NULL,          -- 1-based record index within the message
    event_time        INTEGER NOT NULL,
    source            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    channel           TEXT    NOT NULL DEFAULT 'email',
    recipient         TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    reply_code        TEXT    NOT NULL,
    action            TEXT    NOT NULL,
    diagnostic        TEXT    NOT NULL,
    qualification_id  INTEGER REFERENCES qualification (id),
    failure_type      TEXT    NOT NULL,          -- Hard | Soft | Ignored | Undefined | None
    failure_reason    INTEGER,                   -- NULL for a success
    rule              TEXT    NOT NULL,
    bounce_message_id TEXT    NOT NULL,
    UNIQUE (message_ref, idx)
);
CREATE INDEX bounce_event_recipient ON bounce_event (recipient, event_time);
CREATE INDEX bounce_event_qualification ON bounce_event (qualification_id);

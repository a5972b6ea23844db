-- IMAP daemon checkpoints: per watched mailbox and folder, the UIDVALIDITY seen and the highest
-- UID recorded. The checkpoint is an optimisation only: messages are deduplicated by their
-- content fingerprint, so a lost or reset checkpoint never causes a double count.
CREATE TABLE imap_state (
    mailbox       TEXT    NOT NULL,
    folder        TEXT    NOT NULL,
    uidvalidity   INTEGER NOT NULL DEFAULT 0,
    last_uid      INTEGER NOT NULL DEFAULT 0,
    last_poll     INTEGER,                     -- last time the folder was searched, unix seconds
    processed     INTEGER NOT NULL DEFAULT 0,  -- new messages recorded from this folder
    last_error    TEXT,                        -- NULL while connected and working
    last_error_at INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (mailbox, folder)
);

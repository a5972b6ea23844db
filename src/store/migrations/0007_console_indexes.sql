-- The web console: indexes that let a page of the qualification table or of the quarantine be read from an index in
-- its sort order, without scanning or sorting the table (a page over a million rows).

-- Sort orders of the qualification table (occurrences with status exists since 0001).
CREATE INDEX qualification_occurrences ON qualification (occurrences);
CREATE INDEX qualification_last_seen ON qualification (last_seen);
CREATE INDEX qualification_first_seen ON qualification (first_seen);
CREATE INDEX qualification_status_last_seen ON qualification (status, last_seen);
CREATE INDEX qualification_status_first_seen ON qualification (status, first_seen);

-- The quarantine list is sorted by last modification; by status it uses quarantine_status.
CREATE INDEX quarantine_last_modified ON quarantine (last_modified);
-- Search by recipient domain: the expression must be written the same way in the query.
CREATE INDEX quarantine_domain ON quarantine (substr(address, instr(address, '@') + 1), last_modified);

-- Text search of the qualification table ("Text contains"): a trigram index of the Text and
-- the First text, so that a substring of 3 characters or more is found without reading every
-- row. Kept by triggers; a row's texts never change after its insertion, so the cost on
-- ingestion is one index insertion per new row (new rows are rare: a row is a template).
CREATE VIRTUAL TABLE qualification_text USING fts5 (text, first_text, content = 'qualification', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO qualification_text (rowid, text, first_text) SELECT id, text, first_text FROM qualification;
CREATE TRIGGER qualification_text_insert AFTER INSERT ON qualification BEGIN
    INSERT INTO qualification_text (rowid, text, first_text) VALUES (new.id, new.text, new.first_text);
END;
CREATE TRIGGER qualification_text_delete AFTER DELETE ON qualification BEGIN
    INSERT INTO qualification_text (qualification_text, rowid, text, first_text) VALUES ('delete', old.id, old.text, old.first_text);
END;
CREATE TRIGGER qualification_text_update AFTER UPDATE OF text, first_text ON qualification BEGIN
    INSERT INTO qualification_text (qualification_text, rowid, text, first_text) VALUES ('delete', old.id, old.text, old.first_text);
    INSERT INTO qualification_text (rowid, text, first_text) VALUES (new.id, new.text, new.first_text);
END;

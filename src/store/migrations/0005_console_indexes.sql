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

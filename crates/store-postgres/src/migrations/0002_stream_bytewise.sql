-- Stream names compare byte by byte, as in the embedded store: they are identifiers, not
-- words, and a linguistic collation only makes every index lookup and insert on them
-- slower (a collation-only change keeps the rows and rebuilds the two indexes).
ALTER TABLE complaintflow_events ALTER COLUMN stream TYPE text COLLATE "C";

-- The event log: one row per event, never updated or deleted. Times are microseconds
-- since the Unix epoch, exactly what the hash chain covers.
CREATE TABLE complaintflow_events (
    position       bigint  PRIMARY KEY CHECK (position >= 0),
    stream         text    NOT NULL,
    version        bigint  NOT NULL CHECK (version >= 0),
    -- A retry key within its stream: the same id in two streams is two events.
    event_id       uuid    NOT NULL,
    event_type     text    NOT NULL,
    schema_version integer NOT NULL,
    occurred_at_us bigint  NOT NULL,
    recorded_at_us bigint  NOT NULL,
    correlation_id uuid,
    causation_id   uuid,
    actor          text    NOT NULL,
    payload        bytea   NOT NULL,
    content_hash   bytea   NOT NULL,
    hash           bytea   NOT NULL,
    UNIQUE (stream, version),
    UNIQUE (stream, event_id)
);

-- Where the log ends. Appenders lock this one row until they commit, so positions are
-- handed out in commit order and no reader ever sees a later position before an earlier
-- one. It is the only row the application updates, and it also records how far the log
-- reached, so that rows removed from the end are noticed.
CREATE TABLE complaintflow_head (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    next_position  bigint  NOT NULL CHECK (next_position >= 0),
    last_hash      bytea   NOT NULL,
    last_recorded_at_us bigint NOT NULL
);
INSERT INTO complaintflow_head (next_position, last_hash, last_recorded_at_us)
VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000', 0);

-- Defence in depth besides the grants: the log refuses to be rewritten, even by its owner
-- (a superuser can still bypass triggers; the hash chains then show what was changed).
CREATE FUNCTION complaintflow_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaintflow_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER complaintflow_events_append_only
    BEFORE UPDATE OR DELETE ON complaintflow_events
    FOR EACH ROW EXECUTE FUNCTION complaintflow_append_only();
CREATE TRIGGER complaintflow_events_no_truncate
    BEFORE TRUNCATE ON complaintflow_events
    FOR EACH STATEMENT EXECUTE FUNCTION complaintflow_append_only();

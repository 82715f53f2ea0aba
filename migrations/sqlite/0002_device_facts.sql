-- What devices say about themselves (sysDescr, sysObjectID, ENTITY-MIB model, serial,
-- revisions, maker), kept with history: one row per run of polls that saw a value unchanged.
-- `at` is the first poll of the run (INTEGER microseconds, UTC), `last_at` the last so far;
-- a new value starts a new run, so a fact's rows in `at` order are its history (a serial that
-- changed is a replaced device). Values are at most 255 characters, single-line (vigia makes
-- them safe before storing). Few rows, read by people: plain text, kept for years.
CREATE TABLE device_facts (
    at          INTEGER NOT NULL,
    device      TEXT NOT NULL,
    fact        TEXT NOT NULL,
    value       TEXT NOT NULL,
    first_agent TEXT NOT NULL,
    last_at     INTEGER NOT NULL,
    agent       TEXT NOT NULL,
    family      TEXT NOT NULL CHECK (family IN ('ipv4', 'ipv6')),
    PRIMARY KEY (device, fact, at)
) WITHOUT ROWID;

CREATE VIEW device_facts_view AS
SELECT device, fact, value,
       strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000000.0, 'unixepoch') AS first_seen,
       first_agent,
       strftime('%Y-%m-%dT%H:%M:%fZ', last_at / 1000000.0, 'unixepoch') AS last_seen,
       agent AS last_agent, family AS last_family
FROM device_facts;

-- What devices say about themselves (sysDescr, sysObjectID, ENTITY-MIB model, serial,
-- revisions, maker), kept with history: one row per run of polls that saw a value unchanged.
-- `at` is the first poll of the run, `last_at` the last so far; a new value starts a new run,
-- so a fact's rows in `at` order are its history (a serial that changed is a replaced device).
-- Values are at most 255 characters, single-line (vigia makes them safe before storing). Few
-- rows, read by people: plain text, kept for years. Several agents may write the same run:
-- the one with the later `last_at` wins.
CREATE TABLE device_facts (
    at          timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    device      text NOT NULL,
    fact        text NOT NULL,
    value       text NOT NULL,
    first_agent text NOT NULL,
    agent       text NOT NULL,
    family      text NOT NULL CHECK (family IN ('ipv4', 'ipv6')),
    PRIMARY KEY (device, fact, at)
);

CREATE VIEW device_facts_view AS
SELECT device, fact, value, at AS first_seen, first_agent, last_at AS last_seen,
       agent AS last_agent, family AS last_family
FROM device_facts;

-- vigia history, SQLite backend (see docs/storage.md).
--
-- Times are INTEGER microseconds since the Unix epoch (UTC); days are TEXT 'YYYY-MM-DD' (UTC).
-- Strings that repeat on every row (agent, device, site, outcome, SNMP system values, interface
-- names and aliases) are stored once in `strings` and referenced by id: a poll row stays small.
-- Family codes: 4 = ipv4, 6 = ipv6. Probe codes: 1 = icmp, 2 = snmp.
-- RTTs and durations are INTEGER microseconds. u64 counters are stored bit for bit in INTEGER
-- (values at or above 2^63 read negative in raw SQL; vigia reads them back exactly).

CREATE TABLE strings (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);

-- Raw polls: one row per probe of a device over a family. Kept for the raw retention only.
CREATE TABLE polls (
    at               INTEGER NOT NULL,
    agent            INTEGER NOT NULL,
    device           INTEGER NOT NULL,
    site             INTEGER NOT NULL,
    family           INTEGER NOT NULL CHECK (family IN (4, 6)),
    probe            INTEGER NOT NULL CHECK (probe IN (1, 2)),
    outcome          INTEGER NOT NULL,
    success          INTEGER NOT NULL CHECK (success IN (0, 1)),
    sent             INTEGER,
    received         INTEGER,
    rtt_min_us       INTEGER,
    rtt_avg_us       INTEGER,
    rtt_max_us       INTEGER,
    jitter_us        INTEGER,
    duration_us      INTEGER NOT NULL,
    sys_descr        INTEGER,
    sys_object_id    INTEGER,
    sys_name         INTEGER,
    sys_location     INTEGER,
    sys_contact      INTEGER,
    sys_uptime_ticks INTEGER
);
-- Roll-ups, availability over a range and pruning scan by time; per-device reads by device.
CREATE INDEX polls_at ON polls (at);
CREATE INDEX polls_device_at ON polls (device, at);

-- The latest poll per (device, family, probe), across agents, kept up to date on insert so the
-- current state never needs a scan of the raw history. Never pruned.
CREATE TABLE latest_polls (
    at               INTEGER NOT NULL,
    agent            INTEGER NOT NULL,
    device           INTEGER NOT NULL,
    site             INTEGER NOT NULL,
    family           INTEGER NOT NULL,
    probe            INTEGER NOT NULL,
    outcome          INTEGER NOT NULL,
    success          INTEGER NOT NULL,
    sent             INTEGER,
    received         INTEGER,
    rtt_min_us       INTEGER,
    rtt_avg_us       INTEGER,
    rtt_max_us       INTEGER,
    jitter_us        INTEGER,
    duration_us      INTEGER NOT NULL,
    sys_descr        INTEGER,
    sys_object_id    INTEGER,
    sys_name         INTEGER,
    sys_location     INTEGER,
    sys_contact      INTEGER,
    sys_uptime_ticks INTEGER,
    PRIMARY KEY (device, family, probe)
) WITHOUT ROWID;

-- Raw interface samples. Kept for the raw retention only.
CREATE TABLE interfaces (
    at           INTEGER NOT NULL,
    agent        INTEGER NOT NULL,
    device       INTEGER NOT NULL,
    if_index     INTEGER NOT NULL,
    name         INTEGER NOT NULL,
    alias        INTEGER,
    if_type      INTEGER,
    speed_mbps   INTEGER,
    oper_up      INTEGER,
    admin_up     INTEGER,
    in_octets    INTEGER,
    out_octets   INTEGER,
    counter_bits INTEGER NOT NULL CHECK (counter_bits IN (32, 64)),
    in_errors    INTEGER,
    out_errors   INTEGER,
    in_discards  INTEGER,
    out_discards INTEGER
);
CREATE INDEX interfaces_at ON interfaces (at);
CREATE INDEX interfaces_device_at ON interfaces (device, at);

-- Events are few and read by people: plain text, kept for years.
CREATE TABLE events (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    agent  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    device TEXT,
    site   TEXT,
    family TEXT,
    probe  TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);

-- What the inventory said, each time it changed. Kept for years.
CREATE TABLE inventory_snapshots (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    agent   TEXT NOT NULL,
    digest  TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX inventory_snapshots_at ON inventory_snapshots (at);

-- Daily roll-ups of the raw polls of all agents, per (day, device, family, probe). Kept for years.
-- `site` is the site of the day's last poll (`last_at`).
CREATE TABLE daily (
    day        TEXT NOT NULL,
    device     INTEGER NOT NULL,
    family     INTEGER NOT NULL,
    probe      INTEGER NOT NULL,
    site       INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    polls      INTEGER NOT NULL,
    successes  INTEGER NOT NULL,
    sent       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    rtt_sum_us INTEGER NOT NULL,
    rtt_count  INTEGER NOT NULL,
    PRIMARY KEY (day, device, family, probe)
) WITHOUT ROWID;

-- The days rolled up (a day with no polls is rolled up too, with 0 rows).
CREATE TABLE rolled_days (
    day       TEXT PRIMARY KEY,
    rolled_at INTEGER NOT NULL,
    rows      INTEGER NOT NULL
) WITHOUT ROWID;

-- One row. `raw_first_day`: the day of the oldest raw poll ever stored (where pruning starts
-- rolling up; NULL: none yet). `raw_pruned_before`: raw rows of every day before it are gone
-- (NULL: never pruned).
CREATE TABLE retention (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    raw_first_day     TEXT,
    raw_pruned_before TEXT
);
INSERT INTO retention (id) VALUES (1);

-- Views for people and tools reading the database directly (sqlite3, Grafana).
CREATE VIEW poll_view AS
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', p.at / 1000000.0, 'unixepoch') AS at,
       a.value AS agent, d.value AS device, s.value AS site,
       CASE p.family WHEN 4 THEN 'ipv4' ELSE 'ipv6' END AS family,
       CASE p.probe WHEN 1 THEN 'icmp' ELSE 'snmp' END AS probe,
       o.value AS outcome, p.success, p.sent, p.received,
       p.rtt_min_us / 1e6 AS rtt_min_s, p.rtt_avg_us / 1e6 AS rtt_avg_s,
       p.rtt_max_us / 1e6 AS rtt_max_s, p.jitter_us / 1e6 AS jitter_s,
       p.duration_us / 1e6 AS duration_s, p.sys_uptime_ticks
FROM polls p
JOIN strings a ON a.id = p.agent
JOIN strings d ON d.id = p.device
JOIN strings s ON s.id = p.site
JOIN strings o ON o.id = p.outcome;

CREATE VIEW daily_view AS
SELECT r.day, d.value AS device, s.value AS site,
       CASE r.family WHEN 4 THEN 'ipv4' ELSE 'ipv6' END AS family,
       CASE r.probe WHEN 1 THEN 'icmp' ELSE 'snmp' END AS probe,
       r.polls, r.successes, r.sent, r.received,
       CASE WHEN r.rtt_count > 0 THEN r.rtt_sum_us / 1e6 / r.rtt_count END AS rtt_mean_s
FROM daily r
JOIN strings d ON d.id = r.device
JOIN strings s ON s.id = r.site;

-- Events carry why a device or site was down when they happened (cause: device, link or
-- dependency; see src/outage.rs) and the maintenance windows in force over it (window ids,
-- comma separated; ids are [a-z0-9-]+). Both NULL for events of other kinds and older events.
ALTER TABLE events ADD COLUMN cause TEXT;
ALTER TABLE events ADD COLUMN maintenance TEXT;

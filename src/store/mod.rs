//! History: poll results, interface samples, events, inventory snapshots and daily roll-ups,
//! in SQLite (the embedded default) or PostgreSQL (several agents, long history).

pub mod records;

pub use records::*;

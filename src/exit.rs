//! Process exit codes, distinct per kind of outcome so scripts and cron can tell them apart.

/// Everything went as asked.
pub const OK: u8 = 0;
/// vigia itself failed (a socket, the database, a file it had to write).
pub const FAILURE: u8 = 1;
/// A check ran and did not pass (for example IPv6 coverage under the threshold).
pub const CHECK_FAILED: u8 = 2;
/// The input was invalid (an inventory, an argument): nothing was done.
pub const INVALID_INPUT: u8 = 64;

//! File descriptors: every SNMP poll holds a UDP socket per family while it runs, so the agent
//! raises its soft RLIMIT_NOFILE to the hard limit at start (the usual soft default, 1,024, is
//! a compatibility value for select(2), which tokio does not use) and keeps its SNMP
//! concurrency within what the limit allows.

use tracing::{info, warn};

/// Descriptors kept for everything else: the ICMP sockets, the database, the HTTP listener and
/// its connections, the runtime, logs.
pub const RESERVED_FDS: u64 = 128;

/// Sockets one SNMP task may hold at once (a dual-stack device is asked over both families
/// side by side).
pub const FDS_PER_SNMP_TASK: u64 = 2;

/// Raise the soft limit on open files to the hard limit. Returns the soft limit in force
/// afterwards (unchanged when it cannot be read or raised).
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let (soft, hard) = crate::sys::open_files_limit()?;
    if soft >= hard {
        return Ok(soft);
    }
    crate::sys::set_open_files_limit(hard, hard)?;
    info!(from = soft, to = hard, "raised the open-files limit");
    Ok(hard)
}

/// The most SNMP polls that may run at once under an open-files limit: `wanted`, or fewer when
/// the limit cannot hold that many sockets beside [`RESERVED_FDS`] (never below 1).
pub fn snmp_concurrency_within(limit: u64, wanted: usize) -> usize {
    let room = limit.saturating_sub(RESERVED_FDS) / FDS_PER_SNMP_TASK;
    let fits = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    wanted.min(fits)
}

/// Raise the limit and fit `max_in_flight` SNMP polls under it, saying so when it had to be
/// lowered. Returns the concurrency to use.
pub fn fit_snmp_concurrency(max_in_flight: usize) -> usize {
    let limit = match raise_open_files_limit() {
        Ok(limit) => limit,
        Err(e) => {
            warn!(error = %e, "cannot read or raise the open-files limit; keeping --max-in-flight");
            return max_in_flight;
        }
    };
    let fitted = snmp_concurrency_within(limit, max_in_flight);
    if fitted < max_in_flight {
        warn!(
            open_files_limit = limit,
            asked = max_in_flight,
            using = fitted,
            "the open-files limit cannot hold a socket for every SNMP poll asked for; running \
             fewer at once (raise LimitNOFILE / ulimit -Hn to allow more)"
        );
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snmp_concurrency_fits_the_limit_after_the_reserve() {
        // (limit, asked, expected)
        let cases = [
            (1024, 256, 256),
            (1024, 1000, 448),
            (524_288, 4096, 4096),
            (RESERVED_FDS + 10, 256, 5),
            (RESERVED_FDS, 256, 1),
            (0, 256, 1),
            (u64::MAX, 100_000, 100_000),
        ];
        for (limit, asked, expected) in cases {
            assert_eq!(
                snmp_concurrency_within(limit, asked),
                expected,
                "limit {limit}, asked {asked}"
            );
        }
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let soft = raise_open_files_limit().expect("RLIMIT_NOFILE is readable");
        let (now, hard) = crate::sys::open_files_limit().unwrap();
        assert_eq!((soft, now), (hard, hard));
    }
}

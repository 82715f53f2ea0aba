//! Helpers shared by the tests that probe labs with vigia's own adapters (tests/probe_lab.rs,
//! tests/probe_cli.rs, tests/lab_cli.rs): the lab crate's own test helpers
//! (lab/tests/support/mod.rs: unique lab names, agent configurations, specs, the check that
//! nothing a lab recorded remains), and the prerequisites of probing a lab with vigia.

#![allow(dead_code)] // each test binary uses its own subset

#[path = "../../lab/tests/support/mod.rs"]
mod shared;

pub use shared::*;

/// Fail (never skip) when the machine cannot run a lab or open vigia's ICMP sockets.
pub fn prerequisites() {
    lab_prerequisites();
    // The ICMP client registers with a tokio runtime: the caller's, or one made for the check.
    let icmp = match tokio::runtime::Handle::try_current() {
        Ok(_) => vigia::probe::icmp::Icmp::open().map(drop),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async { vigia::probe::icmp::Icmp::open().map(drop) }),
    };
    if let Err(e) = icmp {
        panic!("these tests need ICMP sockets: {e}");
    }
}

/// Write a secret file readable by its owner only (vigia refuses one every user may read).
pub fn write_secret(path: &std::path::Path, value: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

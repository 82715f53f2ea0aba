//! Shared by the end-to-end tests (`tests/e2e_reports.rs`, `tests/e2e_prometheus.rs`): the
//! `vigia` binary run as a child process (every run bounded in time, every child stopped by its
//! own pid), dates relative to today, the lab prerequisites, and the inventory the lab twins.

// Test harness, not the monitor: it signals its own vigia child with kill(2).
#![allow(unsafe_code)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, Utc};
use vigia::inventory::{self, Inventory, Secrets};
use vigia_lab::LabSpec;

/// The binary's conversion of an inventory into a lab spec.
#[path = "../../src/lab_twin.rs"]
pub mod lab_twin;

pub mod link_tables;

/// The `vigia` binary Cargo built for this test.
pub const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fail, saying what is missing, when this machine cannot build a lab.
pub fn lab_prerequisites() {
    if let Err(e) = vigia_lab::check_prerequisites() {
        panic!("the end-to-end tests need a lab: {e} (scripts/deps test installs the packages)");
    }
}

/// Today (UTC), after making sure the test does not straddle midnight: the figures are built
/// relative to today, and the reports compare them with the day they run. Within 3 minutes of
/// midnight the test waits for the new day (bounded: at most 3 minutes).
pub async fn settled_today() -> NaiveDate {
    let now = Utc::now();
    let midnight =
        (now.date_naive() + chrono::Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let left = midnight - now;
    if left < chrono::TimeDelta::minutes(3) {
        let wait = left.to_std().unwrap_or_default() + Duration::from_secs(1);
        eprintln!("waiting {wait:?} for midnight UTC so that the test runs within one day");
        tokio::time::sleep(wait).await;
    }
    Utc::now().date_naive()
}

/// `years` whole years before `day` (29 February falls on 28 February).
pub fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(years * 12)).expect("a date in range")
}

/// `days` days before (negative: after) `day`.
pub fn days_before(day: NaiveDate, days: i64) -> NaiveDate {
    day - chrono::TimeDelta::days(days)
}

/// 1 January of `day`'s year.
pub fn new_year(day: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(day.year(), 1, 1).expect("1 January")
}

/// What a finished run of `vigia` gave.
#[derive(Debug)]
pub struct Run {
    /// What was run (for messages).
    pub what: String,
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|e| panic!("{}: stdout is not UTF-8: {e}", self.what))
    }

    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!("{}: stdout is not JSON: {e}\n{}\n{}", self.what, self.text(), self.stderr)
        })
    }

    /// Panic unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code,
            code,
            "{}: exit code {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        self
    }
}

/// Run `vigia ARGS` with `env` added, wait at most `limit`, and return what it did. A run
/// that outlives its limit is killed (by its own handle) and the test fails.
pub async fn vigia(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let what = format!("vigia {}", args.join(" "));
    let mut cmd = tokio::process::Command::new(VIGIA);
    cmd.args(args)
        .envs(env.iter().copied())
        // Inherited settings must not point the child elsewhere.
        .env_remove("VIGIA_DB")
        .env_remove("VIGIA_INVENTORY")
        .env_remove("VIGIA_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start {VIGIA}: {e}"));
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => Run {
            what,
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{what}: {e}"),
        // Dropping the future dropped the child: kill_on_drop killed it.
        Err(_) => panic!("{what}: still running after {limit:?}; killed"),
    }
}

/// A long-running `vigia agent`, logging to a file. Dropping it stops it (SIGTERM, then SIGKILL
/// after 10 s), by its own pid.
pub struct AgentProcess {
    child: std::process::Child,
    log: PathBuf,
}

impl AgentProcess {
    /// Start `vigia ARGS` with `env` added, its output going to `log`.
    pub fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> AgentProcess {
        let file = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = file.try_clone().expect("log file handle");
        let child = std::process::Command::new(VIGIA)
            .args(args)
            .envs(env.iter().copied())
            .env_remove("VIGIA_DB")
            .env_remove("VIGIA_INVENTORY")
            .env_remove("VIGIA_LISTEN")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {VIGIA}: {e}"));
        AgentProcess { child, log: log.to_path_buf() }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// Panic, with its log, if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the agent exited ({status}); its log:\n{}", self.log());
        }
    }

    fn signal(&mut self, signal: libc::c_int) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: kill(2) on our own child, not reaped yet (try_wait returned None), so its
        // pid cannot have been reused.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// Send SIGHUP (reload the inventory).
    pub fn reload(&mut self) {
        self.signal(libc::SIGHUP);
    }

    /// SIGTERM and wait (at most `limit`) for it to drain and exit; its exit code.
    pub fn stop(&mut self, limit: Duration) -> i32 {
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code().unwrap_or(-1),
                Ok(None) if start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "the agent did not stop within {limit:?} of SIGTERM; killed. Its log:\n{}",
                        self.log()
                    );
                }
            }
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Write `text` to `dir/name`, creating `dir`.
pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("create the directory");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Write a secret file readable by its owner only.
pub fn write_secret(path: &Path, value: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the secrets directory");
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(value.as_bytes()).expect("write the secret");
}

/// Words of `text` joined by single spaces: table columns padded for people compare as data.
pub fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Panic unless `haystack` contains each of `needles` (after [`squeeze`] on both).
pub fn assert_has(what: &str, haystack: &str, needles: &[&str]) {
    let hay = squeeze(haystack);
    let missing: Vec<&&str> = needles.iter().filter(|n| !hay.contains(&squeeze(n))).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}:\n{haystack}");
}

/// The inventory in `dir`, which must be valid (every diagnostic shown when it is not).
pub fn load(dir: &Path) -> Inventory {
    match inventory::load(dir, Secrets::Require) {
        Ok((inv, _)) => inv,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics),
    }
}

/// Every address of the inventory belongs to a device of the lab: none would go unrouted.
pub fn assert_every_address_in_lab(inv: &Inventory, spec: &LabSpec) {
    for d in &inv.devices {
        for a in
            d.ipv4.map(std::net::IpAddr::V4).into_iter().chain(d.ipv6.map(std::net::IpAddr::V6))
        {
            assert!(
                spec.devices.iter().any(|l| l.ipv4.map(Into::into) == Some(a)
                    || l.ipv6.map(Into::into) == Some(a)),
                "{} {a} would be unrouted",
                d.id
            );
        }
    }
}

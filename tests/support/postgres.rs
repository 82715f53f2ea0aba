//! A real PostgreSQL for the tests, one database per test.
//!
//! With `VIGIA_TEST_POSTGRES_URL` set (a server where the tests may create and drop databases),
//! that server is used. Without it, the first test that needs one runs
//! `scripts/postgres-test run`: a throwaway cluster in a temporary directory, on a Unix socket
//! only. Its lifetime is tied to this test process by a pipe: the script stops the server and
//! removes the directory when its stdin reaches end-of-file, which the kernel guarantees when
//! this process ends, whichever way it ends (even SIGKILL). An `atexit` handler closes the pipe
//! and waits for the script on a normal exit, so the server is gone before `cargo test`
//! returns. (PR_SET_PDEATHSIG would tie the server to the thread that spawned it, which for a
//! test is a short-lived test thread, and it is cleared when `runuser` changes user.)
//!
//! When PostgreSQL cannot be started, every PostgreSQL test fails with the reason: none skips.

// Test harness, not the monitor: atexit(3) and kill(2) on its own PostgreSQL script.
#![allow(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The variable naming an existing server to use instead of starting one.
pub const URL_ENV: &str = "VIGIA_TEST_POSTGRES_URL";

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static SCRIPT: Mutex<Option<Child>> = Mutex::new(None);

/// The URL of a database on the test server from which databases can be created.
pub fn admin_url() -> Result<String, String> {
    SERVER
        .get_or_init(|| match std::env::var(URL_ENV) {
            Ok(url) if !url.is_empty() => Ok(url),
            _ => start(),
        })
        .clone()
}

fn start() -> Result<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres-test");
    let mut child = Command::new(script)
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(first);
        // Hold the read end for the script's whole life: a late write must never meet a
        // closed pipe (SIGPIPE would kill the script before it cleans up).
        let mut rest = String::new();
        while matches!(reader.read_line(&mut rest), Ok(n) if n > 0) {
            rest.clear();
        }
    });
    // Registered before waiting, so a script that started a server is always stopped.
    *SCRIPT.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
    // SAFETY: registers a plain `extern "C" fn` that touches only statics.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    let line = rx
        .recv_timeout(Duration::from_secs(180))
        .map_err(|_| format!("{script} run: no URL within 180 s"))?
        .map_err(|e| format!("{script} run: cannot read its output: {e}"))?;
    match line.trim().strip_prefix("VIGIA_TEST_POSTGRES_URL=") {
        Some(url) => Ok(url.to_owned()),
        None => {
            let status = SCRIPT
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .and_then(|c| c.wait().ok())
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".into());
            Err(format!(
                "{script} run could not start PostgreSQL ({status}; its messages are on stderr \
                 above). Install it with `scripts/deps test`, or set {URL_ENV} to a server \
                 where the tests may create databases."
            ))
        }
    }
}

extern "C" fn stop_at_exit() {
    let child = SCRIPT.lock().ok().and_then(|mut c| c.take());
    let Some(mut child) = child else { return };
    // End-of-file on its stdin: the script stops the server and removes its directory.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut asked = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) if !asked => {
                // SIGTERM by the pid we hold: the script's trap cleans up too.
                if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                    // SAFETY: signalling our own child by its pid.
                    unsafe {
                        libc::kill(pid, libc::SIGTERM);
                    }
                }
                asked = true;
            }
            Ok(None) => return,
        }
    }
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    admin: String,
    name: String,
}

/// Creates a fresh database on the test server.
pub async fn database() -> Result<TestDatabase, String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let admin = admin_url()?;
    let name = format!("vigia_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let mut conn = PgConnection::connect(&admin)
        .await
        .map_err(|e| format!("cannot connect to the test PostgreSQL: {e}"))?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create the test database {name}: {e}"))?;
    let _ = conn.close().await;
    Ok(TestDatabase { url: with_database(&admin, &name), admin, name })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop cannot await: a thread with its own runtime does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
    }
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

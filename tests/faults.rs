//! Faults under a running agent: its history on a disk that fills up and is freed again; its
//! listener under idle connections past its limit.
//!
//! The agent polls a lab device (a real namespace this test creates) with its SQLite history on
//! a small tmpfs this test mounts. The test fills the tmpfs, sees the agent say so (`/healthz`
//! 503, `vigia_store_write_failing 1`) while it keeps polling and holds rows in a small buffer,
//! dropping and counting the oldest; frees the space; and sees the history written again by
//! itself: the rows that waited are stored, SIGTERM exits 0, and the file passes
//! `PRAGMA integrity_check`. Before the fix one ENOSPC stopped the history for good.
//!
//! Needs root (mount, the lab), /dev/net/tun, iproute2 (`scripts/deps test`).

// Tests read the clock for deadlines (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// Test harness: kill(2) on its own agent child.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)] // the binary's conversion; this test uses part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use chrono::{DateTime, Utc};
use vigia::inventory::Secrets;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");
/// Rows the agent may hold while the store refuses them: small, so the test sees drops.
const BUFFER_ROWS: u64 = 10;
/// Connections the agent's listener holds at once.
const MAX_CONNECTIONS: usize = 8;

/// A tmpfs this test mounted, unmounted (by its path) when the test ends, whatever happens.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "vigia-test"])
            .arg(at)
            .status()
            .expect("mount(8)");
        assert!(st.success(), "mounting a tmpfs on {} (needs root)", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

/// The agent process, killed by its pid if the test fails before it stops.
struct Agent {
    child: Child,
    port: u16,
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The value of an unlabelled sample.
fn value(text: &str, metric: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(metric)?.strip_prefix(' ')?.trim().parse().ok())
}

struct Scrape {
    metrics: String,
    health: (u16, String),
}

/// `/metrics` and `/healthz`; a refused connection (the agent starting) reads as empty.
async fn scrape(client: &reqwest::Client, agent: &Agent) -> Scrape {
    let base = format!("http://127.0.0.1:{}", agent.port);
    let metrics = match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let health = match client.get(format!("{base}/healthz")).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    };
    Scrape { metrics, health }
}

async fn wait_for(
    client: &reqwest::Client,
    agent: &Agent,
    within: Duration,
    what: &str,
    ok: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + within;
    loop {
        let s = scrape(client, agent).await;
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}\n/healthz {:?}\n{}",
            s.health,
            s.metrics
                .lines()
                .filter(|l| l.starts_with("vigia_store"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn polls_between(db: &Path, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(format!(
            "SELECT count(*) FROM polls WHERE at >= {} AND at < {};",
            from.timestamp_micros(),
            to.timestamp_micros()
        ))
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_history_and_it_comes_back_by_itself() {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    std::fs::write(
        inv_dir.join("inventory.yaml"),
        format!(
            "sites:\n  - {{ id: main, name: Sede Principal, role: main }}\n\
             defaults:\n  poll: {{ icmp_interval: 2s, timeout: 1s, retries: 0, icmp_count: 1 }}\n\
             devices:\n  - {{ id: srv-a, site: main, class: server, ipv4: {}, ipv6: \"{}\" }}\n",
            block.v4(10),
            block.v6(10)
        ),
    )
    .unwrap();
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("ft{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    let _lab = Lab::up(spec).await.unwrap();

    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let _tmpfs = Tmpfs::mount(&disk, "6m");
    let db = disk.join("history.db");
    let port = free_port();
    let log = dir.path().join("agent.log");
    let child = Command::new(VIGIA)
        .args(["agent", "--inventory"])
        .arg(&inv_dir)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--buffer-rows", &BUFFER_ROWS.to_string()])
        .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
        .env("RUST_LOG", "info")
        .env("VIGIA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let agent = Agent { child, port };
    let client = reqwest::Client::new();
    let m = |s: &Scrape, name: &str| value(&s.metrics, name).unwrap_or(-1.0);

    // Polling and storing.
    wait_for(&client, &agent, Duration::from_secs(30), "the agent polls and stores", |s| {
        s.health.0 == 200 && m(s, "vigia_store_write_failing") == 0.0
    })
    .await;

    // The listener: reload over HTTP is off without a token; connections past the limit are
    // closed at once; idle ones are closed after the header timeout (10 s), and the agent
    // answers again.
    let base = format!("http://127.0.0.1:{port}");
    let r = client.post(format!("{base}/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 403, "reload over HTTP is off by default");
    let idle: Vec<std::net::TcpStream> = (0..MAX_CONNECTIONS)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let over = fresh().get(format!("{base}/healthz")).send().await;
    assert!(over.is_err(), "a connection past the limit is closed: {over:?}");
    for mut c in idle {
        use std::io::Read;
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 64];
        // The server closes it (0 bytes, or a reset), not the 30 s read timeout.
        match c.read(&mut buf) {
            Ok(n) => assert_eq!(n, 0, "an idle connection gets nothing but its close"),
            Err(e) => assert!(
                !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
                "an idle connection was held past 30 s"
            ),
        }
    }
    let r = fresh().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Fill the disk (dd ends with ENOSPC, as intended).
    let full_from = Utc::now();
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k", "status=none"])
        .arg(format!("of={}", disk.join("filler").display()))
        .status()
        .unwrap();
    let failing =
        wait_for(&client, &agent, Duration::from_secs(60), "the agent says the store fails", |s| {
            s.health.0 == 503 && m(s, "vigia_store_write_failing") == 1.0
        })
        .await;
    assert!(failing.health.1.starts_with("history store failing since "), "{:?}", failing.health);
    // It keeps polling, holds at most the buffer, drops the oldest rows and counts them.
    let before = m(&failing, "vigia_polls_total");
    let dropping = wait_for(
        &client,
        &agent,
        Duration::from_secs(90),
        "rows dropped past the buffer while polling goes on",
        |s| m(s, "vigia_store_dropped_rows_total") > 0.0,
    )
    .await;
    let polls_of = |s: &Scrape| {
        s.metrics
            .lines()
            .filter(|l| l.starts_with("vigia_polls_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert!(polls_of(&dropping) > polls_of(&failing), "polling goes on: {before}");
    assert!(m(&dropping, "vigia_store_buffered_rows") <= BUFFER_ROWS as f64);
    assert!(m(&dropping, "vigia_store_write_errors_total") >= 2.0, "retried");
    assert_eq!(dropping.health.0, 503);

    // Free the space: the writes come back by themselves, and what waited is written.
    std::fs::remove_file(disk.join("filler")).unwrap();
    let freed_at = Utc::now();
    let back =
        wait_for(&client, &agent, Duration::from_secs(60), "the history is written again", |s| {
            s.health.0 == 200
                && m(s, "vigia_store_write_failing") == 0.0
                && m(s, "vigia_store_buffered_rows") < BUFFER_ROWS as f64
        })
        .await;
    let back_at = Utc::now();
    assert_eq!(back.health.1, "ok\n");
    let dropped = m(&back, "vigia_store_dropped_rows_total");

    // Stop: exit 0, the file whole, rows from the time the disk was full stored (those the
    // buffer kept), and new rows after it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut agent = agent;
    let pid = libc::pid_t::try_from(agent.child.id()).unwrap();
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = agent.child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}\n{logged}");
    assert!(logged.contains("history writes recovered"), "{logged}");
    let integrity =
        Command::new("sqlite3").arg(&db).arg("PRAGMA integrity_check;").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&integrity.stdout).trim(), "ok");
    // Rows polled while the store refused writes (the buffer kept the newest) were stored once
    // it took writes again.
    let during = polls_between(&db, full_from, back_at);
    let after = polls_between(&db, back_at, Utc::now());
    let dump = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT datetime(at / 1000000, 'unixepoch'), family FROM polls ORDER BY at;")
        .output()
        .unwrap();
    assert!(
        during > 0,
        "rows polled while the store refused writes ({full_from} to {back_at}; freed {freed_at}) were stored later:\n{}\n{logged}",
        String::from_utf8_lossy(&dump.stdout)
    );
    assert!(after > 0, "rows after the disk was freed");
    assert!(dropped > 0.0);
}

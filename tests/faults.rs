//! Faults under a running agent, each over a lab device (a real namespace this test creates):
//! - its SQLite history on a small tmpfs that fills up and is freed: the agent says so
//!   (`/healthz` 503, `vigia_store_write_failing 1`), keeps polling, holds rows in a small
//!   buffer dropping and counting the oldest, and writes again by itself (before the fix one
//!   ENOSPC stopped the history for good); its listener under idle connections past its limit;
//! - SIGKILL mid-write, five times over one file: integrity holds, no committed row is lost;
//! - its PostgreSQL (a throwaway cluster) stopped and started under it: the same recovery;
//! - snmpd killed under it, a namespace name removed: data, not failures;
//! - TLS and basic auth from a `--web-config-file`, curl as the client.
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
    let (from, to) = (from.timestamp_micros(), to.timestamp_micros());
    sqlite(db, &format!("SELECT count(*) FROM polls WHERE at >= {from} AND at < {to};"))
        .parse()
        .unwrap()
}

/// A lab and its inventory, in a fresh directory.
struct Setup {
    _lab: Lab,
    _block: AddressBlock,
    dir: tempfile::TempDir,
    inv_dir: PathBuf,
}

/// One dual-stack server polled every 2 s over ICMP.
fn one_server(block: &AddressBlock) -> String {
    format!(
        "sites:\n  - {{ id: main, name: Sede Principal, role: main }}\n\
         defaults:\n  poll: {{ icmp_interval: 2s, timeout: 1s, retries: 0, icmp_count: 1 }}\n\
         devices:\n  - {{ id: srv-a, site: main, class: server, ipv4: {}, ipv6: \"{}\" }}\n",
        block.v4(10),
        block.v6(10)
    )
}

async fn setup(tag: &str) -> Setup {
    setup_with(tag, one_server).await
}

/// The lab of the inventory `inventory` writes for a claimed address block.
async fn setup_with(tag: &str, inventory: impl Fn(&AddressBlock) -> String) -> Setup {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    std::fs::write(inv_dir.join("inventory.yaml"), inventory(&block)).unwrap();
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("f{tag}{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    let lab = Lab::up(spec).await.unwrap();
    Setup { _lab: lab, _block: block, dir, inv_dir }
}

/// `vigia agent` on the setup's inventory with its history at `db`, logging to `log`.
fn spawn_agent(s: &Setup, db: &str, extra: &[&str], log: &Path) -> Agent {
    let port = free_port();
    let child = Command::new(VIGIA)
        .args(["agent", "--inventory"])
        .arg(&s.inv_dir)
        .args(["--db", db, "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    Agent { child, port }
}

impl Agent {
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on the pid of our own child.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
}

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_history_and_it_comes_back_by_itself() {
    let setup = setup("d").await;
    let dir = &setup.dir;
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let _tmpfs = Tmpfs::mount(&disk, "6m");
    let db = disk.join("history.db");
    let log = dir.path().join("agent.log");
    let agent = spawn_agent(
        &setup,
        &format!("sqlite://{}", db.display()),
        &[
            "--buffer-rows",
            &BUFFER_ROWS.to_string(),
            "--max-connections",
            &MAX_CONNECTIONS.to_string(),
        ],
        &log,
    );
    let port = agent.port;
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
    agent.signal(libc::SIGTERM);
    let status = agent.child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}\n{logged}");
    assert!(logged.contains("history writes recovered"), "{logged}");
    assert_eq!(sqlite(&db, "PRAGMA integrity_check;"), "ok");
    // Rows polled while the store refused writes (the buffer kept the newest) were stored once
    // it took writes again.
    let during = polls_between(&db, full_from, back_at);
    let after = polls_between(&db, back_at, Utc::now());
    let dump =
        sqlite(&db, "SELECT datetime(at / 1000000, 'unixepoch'), family FROM polls ORDER BY at;");
    assert!(
        during > 0,
        "rows polled while the store refused writes ({full_from} to {back_at}; freed {freed_at}) were stored later:\n{dump}\n{logged}"
    );
    assert!(after > 0, "rows after the disk was freed");
    assert!(dropped > 0.0);
}

/// SIGKILL of the agent while it writes, five times over the same file: every time the file
/// passes `PRAGMA integrity_check`, and no row committed before the kill is gone after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_write_loses_no_committed_row_and_never_breaks_the_file() {
    let setup = setup("k").await;
    let db = setup.dir.path().join("history.db");
    let url = format!("sqlite://{}", db.display());
    let client = reqwest::Client::new();
    let mut committed = 0i64;
    for round in 0..5u64 {
        let log = setup.dir.path().join(format!("agent-{round}.log"));
        let mut agent = spawn_agent(&setup, &url, &[], &log);
        wait_for(&client, &agent, Duration::from_secs(30), "the agent polls", |s| {
            value(&s.metrics, "vigia_store_buffered_rows").is_some()
        })
        .await;
        // Let some batches commit, then read what is committed and kill at once, at a
        // different moment of the 2 s flush cycle each round.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n: i64 = sqlite(&db, "SELECT count(*) FROM polls;").parse().unwrap();
            if n > committed + 2 {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: no new row in 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(400 * round)).await;
        committed = sqlite(&db, "SELECT count(*) FROM polls;").parse().unwrap();
        agent.signal(libc::SIGKILL);
        agent.child.wait().unwrap();
        assert_eq!(sqlite(&db, "PRAGMA integrity_check;"), "ok", "round {round}");
        let after: i64 = sqlite(&db, "SELECT count(*) FROM polls;").parse().unwrap();
        assert!(after >= committed, "round {round}: {committed} committed, {after} after kill -9");
        committed = after;
    }
}

/// A throwaway PostgreSQL cluster (`scripts/postgres-test start`) this test stops and starts
/// under the agent; removed at the end by its directory.
struct Cluster {
    dir: PathBuf,
    url: String,
}

impl Cluster {
    fn start() -> Cluster {
        let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres-test"))
            .arg("start")
            .output()
            .expect("scripts/postgres-test");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} in {text}"))
                .to_owned()
        };
        Cluster {
            dir: PathBuf::from(var("VIGIA_TEST_POSTGRES_DIR")),
            url: var("VIGIA_TEST_POSTGRES_URL"),
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin/pg_ctl")))
            .filter(|p| p.exists())
            .max()
            .expect("pg_ctl");
        let st = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctl {args:?}");
        // scripts/postgres-test stops the cluster by the pid it recorded: keep it current.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("data/postmaster.pid")) {
            std::fs::write(self.dir.join("pid"), pid.lines().next().unwrap_or("")).unwrap();
        }
    }

    fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }

    fn start_again(&self) {
        let opts =
            format!("-c listen_addresses= -k {} -c fsync=off", self.dir.join("sock").display());
        let log = self.dir.join("server.log");
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", log.to_str().unwrap(), "-o", &opts]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres-test"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// PostgreSQL stopped under the agent for a while, then started again: the agent says so,
/// keeps polling, and writes what waited once the server is back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stopped_and_started_under_the_agent() {
    let setup = setup("p").await;
    let cluster = Cluster::start();
    let log = setup.dir.path().join("agent.log");
    let agent = spawn_agent(&setup, &cluster.url, &[], &log);
    let client = reqwest::Client::new();
    let m = |s: &Scrape, name: &str| value(&s.metrics, name).unwrap_or(-1.0);
    wait_for(&client, &agent, Duration::from_secs(30), "the agent polls and stores", |s| {
        s.health.0 == 200 && m(s, "vigia_store_write_failing") == 0.0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let down_from = Utc::now();
    cluster.stop();
    wait_for(&client, &agent, Duration::from_secs(60), "the agent says the store fails", |s| {
        s.health.0 == 503 && m(s, "vigia_store_write_failing") == 1.0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    cluster.start_again();
    wait_for(&client, &agent, Duration::from_secs(90), "the history is written again", |s| {
        s.health.0 == 200 && m(s, "vigia_store_write_failing") == 0.0
    })
    .await;
    let back_at = Utc::now();
    let mut agent = agent;
    agent.signal(libc::SIGTERM);
    let status = agent.child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}\n{logged}");
    assert!(logged.contains("history writes recovered"), "{logged}");

    let store = vigia::store::Store::connect(&cluster.url).await.unwrap();
    let polls = store.polls("srv-a", down_from, back_at).await.unwrap();
    assert!(!polls.is_empty(), "rows polled while PostgreSQL was down were stored later");
}

/// `--web-config-file` (the exporter-toolkit format): TLS with a certificate openssl makes
/// here, basic auth with a bcrypt hash; curl is the client. Plain HTTP and missing or wrong
/// credentials get nothing; the right ones get `/metrics` and the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_from_a_web_config_file() {
    use std::os::unix::fs::PermissionsExt;
    let setup = setup("t").await;
    let dir = setup.dir.path();
    let st = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "2", "-subj", "/CN=vigia-test", "-addext"])
        .arg("subjectAltName=IP:127.0.0.1")
        .arg("-keyout")
        .arg(dir.join("vigia.key"))
        .arg("-out")
        .arg(dir.join("vigia.crt"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(st.success());
    std::fs::set_permissions(dir.join("vigia.key"), std::fs::Permissions::from_mode(0o600))
        .unwrap();
    let hash = bcrypt::hash("test-password-1234", 6).unwrap();
    let config = dir.join("web.yml");
    std::fs::write(
        &config,
        format!(
            "tls_server_config:\n  cert_file: vigia.crt\n  key_file: vigia.key\n\
             basic_auth_users:\n  prometheus: '{hash}'\n"
        ),
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.join("history.db").display());
    let log = dir.join("agent.log");
    let agent = spawn_agent(&setup, &db, &["--web-config-file", config.to_str().unwrap()], &log);
    let curl = |args: &[&str], path: &str, scheme: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
            .arg("--cacert")
            .arg(dir.join("vigia.crt"))
            .args(args)
            .arg(format!("{scheme}://127.0.0.1:{}{path}", agent.port))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let user = ["-u", "prometheus:test-password-1234"];
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(&user, "/healthz", "https") != "200" {
        assert!(
            Instant::now() < deadline,
            "no TLS answer in 30 s:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(curl(&user, "/metrics", "https"), "200");
    assert_eq!(curl(&user, "/", "https"), "200", "the console too");
    assert_eq!(curl(&[], "/metrics", "https"), "401", "no credentials");
    assert_eq!(curl(&["-u", "prometheus:wrong"], "/metrics", "https"), "401");
    assert_eq!(curl(&["-u", "someone:test-password-1234"], "/", "https"), "401");
    assert_eq!(curl(&user, "/metrics", "http"), "000", "plain HTTP gets no answer");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains("test-password-1234"), "{logged}");
}

/// Device failures are data: snmpd killed under the agent reads as that device's SNMP down
/// (its ICMP up, the other device untouched); then its namespace's name removed under the
/// polls: the agent goes on, and the lab is taken down afterwards without a complaint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpd_killed_and_a_namespace_removed_under_the_agent_are_data() {
    let community = [("VIGIA_FAULT_COMMUNITY", "fault-test-community")];
    // SAFETY: set before any thread of this test reads the environment for this name.
    unsafe { std::env::set_var(community[0].0, community[0].1) };
    let setup = setup_with("s", |block| {
        format!(
            "sites:\n  - {{ id: main, name: Sede Principal, role: main }}\n\
             snmp_profiles:\n  v2c: {{ version: \"2c\", community_env: VIGIA_FAULT_COMMUNITY }}\n\
             defaults:\n  snmp: v2c\n  poll: {{ icmp_interval: 2s, snmp_interval: 2s, timeout: 1s, retries: 0, icmp_count: 1 }}\n\
             devices:\n  - {{ id: sw-a, site: main, class: switch, ipv4: {} }}\n  - {{ id: sw-b, site: main, class: switch, ipv4: {} }}\n",
            block.v4(10),
            block.v4(11)
        )
    })
    .await;
    let lab = &setup._lab;
    let db = format!("sqlite://{}", setup.dir.path().join("history.db").display());
    let log = setup.dir.path().join("agent.log");
    let agent = spawn_agent(&setup, &db, &[], &log);
    let client = reqwest::Client::new();
    let up = |s: &Scrape, device: &str, probe: &str| {
        s.metrics.lines().find_map(|l| {
            (l.starts_with("vigia_device_up{")
                && l.contains(&format!("device=\"{device}\""))
                && l.contains(&format!("probe=\"{probe}\"")))
            .then(|| l.rsplit(' ').next().unwrap().to_owned())
        })
    };
    let is = |s: &Scrape, d: &str, p: &str, v: f64| {
        up(s, d, p).and_then(|x| x.parse::<f64>().ok()) == Some(v)
    };
    wait_for(&client, &agent, Duration::from_secs(30), "both devices answer", |s| {
        is(s, "sw-a", "snmp", 1.0) && is(s, "sw-b", "snmp", 1.0) && is(s, "sw-b", "icmp", 1.0)
    })
    .await;

    lab.stop_agent("sw-b").await.unwrap();
    wait_for(&client, &agent, Duration::from_secs(20), "sw-b's SNMP down, ICMP up", |s| {
        is(s, "sw-b", "snmp", 0.0) && is(s, "sw-b", "icmp", 1.0) && is(s, "sw-a", "snmp", 1.0)
    })
    .await;

    let namespace = lab
        .state()
        .devices
        .iter()
        .find(|d| d.id == "sw-b")
        .and_then(|d| d.namespace.clone())
        .expect("sw-b's namespace");
    let st = Command::new("ip").args(["netns", "del", &namespace]).status().unwrap();
    assert!(st.success(), "ip netns del {namespace}");
    // The name goes; the namespace lives on while something holds it (the lab's holder does),
    // so what the agent sees is unchanged: it goes on polling every device.
    let polls = |s: &Scrape| -> f64 {
        s.metrics
            .lines()
            .filter(|l| l.starts_with("vigia_polls_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let before = polls(&scrape(&client, &agent).await);
    let s = wait_for(&client, &agent, Duration::from_secs(20), "polling goes on", |s| {
        polls(s) >= before + 4.0 && is(s, "sw-a", "snmp", 1.0) && is(s, "sw-a", "icmp", 1.0)
    })
    .await;
    assert_eq!(s.health.0, 200, "the agent is well: {:?}", s.health);
    let mut agent = agent;
    agent.signal(libc::SIGTERM);
    let status = agent.child.wait().unwrap();
    assert!(status.success(), "{}", std::fs::read_to_string(&log).unwrap());
    let Setup { _lab: lab, .. } = setup;
    lab.down().await.unwrap();
}

//! Secrets never leave: distinctive SNMP secrets (a v2c community, v3 auth and privacy
//! passwords) and a reload token are set; every command, page and failure path is driven with
//! the log at trace level; every output, every HTTP body, the log, and the history's files
//! (database, WAL, shared memory) are searched for them. Also a secret pasted where a variable
//! name belongs: refused, never printed.
//!
//! Over a lab this test creates (two switches with real snmpd, one cut to take the failure
//! path). Needs root, /dev/net/tun, iproute2, snmpd (`scripts/deps test`).

// Tests read the clock for deadlines (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]
// Test harness: kill(2) on its own agent child, the environment set before any thread reads it.
#![allow(unsafe_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)] // the binary's conversion; this test uses part of it
#[path = "../src/lab_twin.rs"]
mod lab_twin;

use chrono::Utc;
use vigia::inventory::Secrets;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");

const SECRETS: [(&str, &str); 3] = [
    ("VIGIA_TEST_COMMUNITY", "Zq7community4Leak"),
    ("VIGIA_TEST_AUTH", "Zq7authpass4Leak"),
    ("VIGIA_TEST_PRIV", "Zq7privpass4Leak"),
];
const TOKEN: &str = "Zq7reloadtoken4Leak";
/// Not a variable name (a password pasted in its place).
const PASTED: &str = "Zq7-pasted/4Leak";

fn inventory(block: &AddressBlock, community_env: &str) -> String {
    format!(
        r#"sites:
  - {{ id: main, name: Sede Principal, role: main }}
  - {{ id: grau, name: Mercado Grau, role: branch, link: fibre }}
snmp_profiles:
  v2c: {{ version: "2c", community_env: {community_env} }}
  v3:
    version: "3"
    user: vigia
    auth_protocol: sha256
    auth_password_env: VIGIA_TEST_AUTH
    priv_protocol: aes128
    priv_password_env: VIGIA_TEST_PRIV
defaults:
  snmp: v2c
  poll: {{ icmp_interval: 2s, snmp_interval: 3s, timeout: 1s, retries: 0, icmp_count: 1 }}
devices:
  - {{ id: sw-a, site: main, class: switch, ipv4: {}, ipv6: "{}" }}
  - {{ id: sw-b, site: grau, class: switch, ipv4: {}, uplink: true, snmp: v3 }}
"#,
        block.v4(10),
        block.v6(10),
        block.v4(11),
    )
}

/// Everything a run printed or served, with where it came from.
#[derive(Default)]
struct Outputs(Vec<(String, Vec<u8>)>);

impl Outputs {
    fn add(&mut self, what: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((what.into(), bytes.into()));
    }

    fn run(&mut self, what: &str, args: &[&str], dir: &Path) -> std::process::Output {
        let out = Command::new(VIGIA)
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "trace")
            .envs(SECRETS)
            .output()
            .unwrap();
        self.add(format!("{what}: stdout"), out.stdout.clone());
        self.add(format!("{what}: stderr"), out.stderr.clone());
        out
    }

    fn assert_clean(&self) {
        let mut leaks = Vec::new();
        for (what, bytes) in &self.0 {
            for secret in SECRETS.iter().map(|s| s.1).chain([TOKEN, PASTED]) {
                if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                    leaks.push(format!("{secret} in {what}"));
                }
            }
        }
        assert!(leaks.is_empty(), "secrets found:\n{}", leaks.join("\n"));
        assert!(self.0.len() > 20, "only {} outputs searched", self.0.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output_page_log_or_history_file() {
    vigia_lab::check_prerequisites().unwrap_or_else(|e| panic!("needs the lab: {e}"));
    for (k, v) in SECRETS {
        // SAFETY: set before any thread of this test reads the environment for these names.
        unsafe { std::env::set_var(k, v) };
    }
    let block = AddressBlock::claim().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let inv_dir = dir.join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    std::fs::write(inv_dir.join("inventory.yaml"), inventory(&block, "VIGIA_TEST_COMMUNITY"))
        .unwrap();
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("sc{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    let lab = Lab::up(spec).await.unwrap();
    let inv_arg = inv_dir.to_str().unwrap();
    let db = format!("sqlite://{}", dir.join("history.db").display());
    let mut outs = Outputs::default();

    // The commands, each over both SNMP versions.
    let ok = outs.run("inventory check", &["inventory", "check", "--inventory", inv_arg], dir);
    assert!(ok.status.success());
    outs.run("inventory show", &["inventory", "show", "--inventory", inv_arg], dir);
    for device in ["sw-a", "sw-b"] {
        let out = outs.run(device, &["probe", device, "--inventory", inv_arg], dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        outs.run(device, &["probe", device, "--json", "--inventory", inv_arg], dir);
    }

    // The agent, with a reload token, at trace level; its pages and API; a device cut (the
    // failure path: timeouts, events, SNMP diagnosis); a reload refused and one taken.
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.join("agent.log");
    let mut agent = Command::new(VIGIA)
        .args(["agent", "--inventory", inv_arg, "--db", &db])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--reload-token-file")
        .arg(&token_file)
        .env("RUST_LOG", "trace")
        .envs(SECRETS)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = http.get(format!("{base}/metrics")).send().await;
        if let Ok(r) = m
            && r.text().await.unwrap().contains("vigia_device_up{device=\"sw-b\"")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the agent did not poll sw-b in 30 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    lab.cut("sw-b").await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let r = http.post(format!("{base}/-/reload")).bearer_auth("not-the-token-at-all").send();
    outs.add("reload refused", r.await.unwrap().bytes().await.unwrap().to_vec());
    let r = http.post(format!("{base}/-/reload")).bearer_auth(TOKEN).send();
    outs.add("reload", r.await.unwrap().bytes().await.unwrap().to_vec());
    for path in [
        "/metrics",
        "/api/devices",
        "/healthz",
        "/",
        "/sede/grau",
        "/equipo/sw-a",
        "/equipo/sw-b",
        "/eventos",
        "/inventario",
        "/reportes/renewal",
        "/reportes/renewal/json",
        "/reportes/links/md",
    ] {
        let body = http.get(format!("{base}{path}")).send().await.unwrap().bytes().await.unwrap();
        outs.add(format!("GET {path}"), body.to_vec());
    }
    lab.restore("sw-b").await.unwrap();
    let pid = libc::pid_t::try_from(agent.id()).unwrap();
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert!(agent.wait().unwrap().success());
    outs.add("agent log", std::fs::read(&log).unwrap());

    // The reports over that history.
    for (report, format) in
        [("renewal", "md"), ("renewal", "json"), ("links", "md"), ("ipv6", "json")]
    {
        let args = ["report", report, "--inventory", inv_arg, "--db", &db, "--format", format];
        outs.run(&format!("report {report} {format}"), &args, dir);
    }

    // A secret pasted where the variable's name belongs: refused, never echoed (check, and
    // an agent that will not start).
    std::fs::write(inv_dir.join("inventory.yaml"), inventory(&block, PASTED)).unwrap();
    let bad =
        outs.run("inventory check (pasted)", &["inventory", "check", "--inventory", inv_arg], dir);
    assert!(!bad.status.success());
    outs.run(
        "agent --once (pasted)",
        &["agent", "--once", "--inventory", inv_arg, "--db", &db],
        dir,
    );

    // The history's files, whatever SQLite left beside the database.
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("history.db") {
            outs.add(name, std::fs::read(&path).unwrap());
        }
    }
    drop(lab);
    outs.assert_clean();
}

//! A net-snmp `snmpd` of a test's own on loopback (127.0.0.1 and ::1, one free high port),
//! configured from text into a temporary directory and killed by its recorded pid when dropped.
//! Shared by tests/snmp.rs, the SNMP unit tests and examples/snmp_bench.rs (`#[path]` includes).

// Test harness, not the monitor: it signals its own snmpd child with kill(2).
#![allow(unsafe_code)]
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One running snmpd.
pub struct Snmpd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// The pid recorded at start (the one Drop kills).
    pub pid: u32,
}

/// Lines every test agent gets: no per-request log lines ("Connection from UDP ..."), which
/// would slow it and fill the log.
const COMMON: &str = "dontLogTCPWrappersConnects yes\n";

fn snmpd_binary() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/bin"] {
        let p = Path::new(dir).join("snmpd");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "net-snmp's snmpd is not installed, and the SNMP tests need a real agent: \
         run `scripts/deps test` (Debian package snmpd)"
    );
}

/// A UDP port free on both 127.0.0.1 and ::1 right now.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let v4 = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1");
        let port = v4.local_addr().unwrap().port();
        if port >= 20_000 && UdpSocket::bind((Ipv6Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no UDP port free on both 127.0.0.1 and ::1");
}

impl Snmpd {
    /// Start an agent with `config` (snmpd.conf lines). Panics with the agent's log when it
    /// does not come up.
    pub fn start(config: &str) -> Snmpd {
        let dir = tempfile::Builder::new().prefix("vigia-snmpd-").tempdir().expect("temp dir");
        fs::write(dir.path().join("snmpd.conf"), format!("{COMMON}{config}"))
            .expect("write snmpd.conf");
        let mut s = Snmpd { dir, port: 0, child: None, pid: 0 };
        let mut last_log = String::new();
        for _ in 0..5 {
            s.port = free_port();
            match s.spawn() {
                Ok(()) => return s,
                Err(log) => last_log = log,
            }
        }
        panic!("snmpd did not start in 5 tries; last log:\n{last_log}");
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("snmpd.log")
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(self.log_path()) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn spawn(&mut self) -> Result<(), String> {
        let _ = fs::remove_file(self.log_path());
        let dir = self.dir.path();
        let endpoints = format!("udp:127.0.0.1:{p},udp6:[::1]:{p}", p = self.port);
        let child = Command::new(snmpd_binary())
            // -f: foreground, so the pid we hold is the agent's. -C: no system config files.
            // -I -smux: no SMUX TCP listener (agents would fight over 127.0.0.1:199).
            .args(["-f", "-C", "-c"])
            .arg(dir.join("snmpd.conf"))
            .args(["-M", "/dev/null", "-I", "-smux", "-p"])
            .arg(dir.join("snmpd.pid"))
            .arg("-Lf")
            .arg(self.log_path())
            .arg(&endpoints)
            .env("MIBS", "")
            .env("SNMPCONFPATH", dir)
            // Engine ID, engine boots and v3 users persist here, not in /var/lib/snmp.
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run snmpd: {e}"))?;
        self.pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let log = self.log();
            if log.contains("Error opening specified endpoint") {
                self.stop();
                return Err(log);
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("snmpd exited with {status}:\n{log}"));
            }
            if log.contains("NET-SNMP version") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.log();
        self.stop();
        Err(format!("snmpd not ready after 15 s:\n{log}"))
    }

    /// The agent's UDP port (the same on both families).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// 127.0.0.1:port.
    pub fn v4(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// [::1]:port.
    pub fn v6(&self) -> SocketAddr {
        (Ipv6Addr::LOCALHOST, self.port).into()
    }

    fn signal(&self, sig: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, sig);
            }
        }
    }

    /// Freeze the agent (SIGSTOP): requests queue in its socket, answered after `resume`.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Let a paused agent run again (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Stop the agent: SIGTERM (so it saves engine boots), SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // A paused agent cannot handle SIGTERM.
        // SAFETY: as in `signal`.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGCONT);
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Stop the agent and start it again on the same port with the same configuration and
    /// persistent state (its engine boots go up by one, its sysUpTime starts again).
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.spawn() {
            panic!("snmpd did not come back on port {}:\n{log}", self.port);
        }
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        self.stop();
    }
}

//! `vigia lab up | down | status` and the hidden `vigia lab serve` holder: what `main` calls.
//!
//! `up` starts a detached holder process (a new session, logging to a file) that builds the
//! lab and holds its TUN descriptors and link tasks; `up` returns once the holder says the lab
//! answers. `down` signals that holder (after checking it really is this lab's holder), waits,
//! then removes whatever recorded item is still there.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::state::{self, LabState, holder_args, holder_log};
use super::{Lab, LabError, LabSpec, RUN_ROOT, check_prerequisites, run_dir, spec_from_inventory};
use crate::exit;
use crate::inventory::{Inventory, SecretRef, SnmpProfile};

/// `println!` that does not panic when the reader went away (`vigia lab status | head`).
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn fail(e: &LabError) -> u8 {
    eprintln!("vigia lab: {e}");
    if e.is_invalid_input() { exit::INVALID_INPUT } else { exit::FAILURE }
}

/// The spec of a CLI lab: the inventory's polled devices today, with these host addresses.
pub fn cli_spec(
    inv: &Inventory,
    name: &str,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
) -> Result<LabSpec, LabError> {
    let mut spec = spec_from_inventory(inv, name, chrono::Local::now().date_naive())?;
    spec.host_v4 = host_v4;
    spec.host_v6 = host_v6;
    super::validate(&spec)?;
    Ok(spec)
}

/// `vigia lab up`: check, start the holder, wait until the lab answers, print a summary.
pub fn up(
    inv: &Inventory,
    inventory_dir: &Path,
    name: &str,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
) -> u8 {
    let started = Instant::now();
    if let Err(e) = check_prerequisites() {
        return fail(&e);
    }
    // Refuse bad input here, in the foreground, before any holder starts.
    if let Err(e) = cli_spec(inv, name, host_v4, host_v6) {
        return fail(&e);
    }
    if run_dir(name).exists() {
        return fail(&LabError::Exists { name: name.to_owned(), dir: run_dir(name) });
    }
    if let Err(e) = fs::create_dir_all(RUN_ROOT) {
        return fail(&LabError::io(format!("creating {RUN_ROOT}"), e));
    }
    let log_path = holder_log(name);
    let log = match fs::File::create(&log_path) {
        Ok(f) => f,
        Err(e) => return fail(&LabError::io(format!("creating {}", log_path.display()), e)),
    };
    let (read_end, write_end) = match pipe() {
        Ok(p) => p,
        Err(e) => return fail(&LabError::io("creating the ready pipe", e)),
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(&LabError::io("finding the vigia executable", e)),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(holder_args(name))
        .arg("--inventory")
        .arg(inventory_dir)
        .args([
            "--host-v4",
            &host_v4.to_string(),
            "--host-v6",
            &host_v6.to_string(),
            "--ready-fd",
            "3",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
        .stderr(Stdio::from(log));
    let raw_write = write_end.as_raw_fd();
    // SAFETY: between fork and exec, only async-signal-safe calls on a descriptor copied in.
    unsafe {
        cmd.pre_exec(move || {
            // A session of its own: the holder outlives this command and its terminal.
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(raw_write, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(&LabError::io("starting the lab holder", e)),
    };
    drop(write_end);
    let mut answer = String::new();
    let _ = fs::File::from(read_end).read_to_string(&mut answer);
    if answer.trim() != "ready" {
        let status = child.wait().ok();
        eprintln!("vigia lab: the lab holder failed; its log ({}) ends with:", log_path.display());
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(15)..] {
            eprintln!("  {line}");
        }
        let _ = fs::remove_file(&log_path);
        return match status.and_then(|s| s.code()) {
            Some(code) if code == i32::from(exit::INVALID_INPUT) => exit::INVALID_INPUT,
            _ => exit::FAILURE,
        };
    }
    match LabState::load(name) {
        Ok(state) => {
            print_summary(&state, inv, started.elapsed());
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn print_summary(state: &LabState, inv: &Inventory, took: Duration) {
    let mut media = std::collections::BTreeMap::<&str, usize>::new();
    for d in &state.devices {
        *media.entry(d.medium.as_str()).or_default() += 1;
    }
    let media: Vec<String> = media.iter().map(|(m, n)| format!("{n} {m}")).collect();
    let agents = state.devices.iter().filter(|d| d.agent.is_some()).count();
    say!(
        "lab {} is up in {:.1} s: {} devices ({}), {agents} snmpd agents; holder pid {}",
        state.name,
        took.as_secs_f64(),
        state.devices.len(),
        media.join(", "),
        state.owner.pid
    );
    say!("probes into the lab leave from {} and {}", state.host_v4, state.host_v6);
    say!();
    say!("{:<44} {:<7} {:<16} ipv6", "device", "medium", "ipv4");
    for d in &state.devices {
        say!(
            "{:<44} {:<7} {:<16} {}",
            d.id,
            d.medium,
            d.ipv4.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            d.ipv6.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
        );
    }
    say!();
    let example =
        state.devices.iter().find(|d| d.medium == "radio").or_else(|| state.devices.first());
    if let Some(d) = example {
        let target = d
            .ipv4
            .map(|a| a.to_string())
            .or_else(|| d.ipv6.map(|a| a.to_string()))
            .unwrap_or_default();
        say!("probe it:");
        say!("  ping -c 5 {target}                      # {} ({})", d.id, d.medium);
        if let Some(snmp) = inv.device(&d.id).and_then(|dev| dev.snmp.as_ref()) {
            say!("  MIBS= {} {target} .1.3.6.1.2.1.1.5.0", snmpget_hint(&snmp.profile));
        }
    }
    say!("  vigia lab status --name {}", state.name);
    say!("  vigia lab down --name {}", state.name);
}

/// An `snmpget` command line for a profile that names secrets by where they live, never by
/// their value.
fn snmpget_hint(profile: &SnmpProfile) -> String {
    let shown = |r: &SecretRef| match r {
        SecretRef::Env(var) => format!("\"${var}\""),
        SecretRef::File(path) => format!("\"$(cat {})\"", path.display()),
        SecretRef::Inline(_) => "'<inline secret from the inventory>'".into(),
    };
    match profile {
        SnmpProfile::V2c { community } => format!("snmpget -v2c -c {}", shown(community)),
        SnmpProfile::V3 { user, auth, privacy } => {
            let level = match (auth, privacy) {
                (None, _) => "noAuthNoPriv",
                (Some(_), None) => "authNoPriv",
                (Some(_), Some(_)) => "authPriv",
            };
            let mut s = format!("snmpget -v3 -l {level} -u {user}");
            if let Some((p, secret)) = auth {
                s += &format!(" -a {} -A {}", super::snmpd::auth_token(*p), shown(secret));
            }
            if let Some((p, secret)) = privacy {
                s += &format!(" -x {} -X {}", super::snmpd::priv_token(*p), shown(secret));
            }
            s
        }
    }
}

/// `vigia lab serve` (hidden): build the lab, tell `up` through `ready_fd`, hold it until
/// SIGTERM or SIGINT, then take it down.
pub fn serve(
    inv: &Inventory,
    name: &str,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
    ready_fd: Option<i32>,
) -> u8 {
    let spec = match cli_spec(inv, name, host_v4, host_v6) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&LabError::io("starting the runtime", e)),
    };
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return fail(&LabError::io("installing signal handlers", std::io::Error::last_os_error()));
        };
        let lab = match Lab::up(spec).await {
            Ok(lab) => lab,
            Err(e) => return fail(&e),
        };
        tracing::info!(lab = %lab.name(), devices = lab.devices().len(), "lab is up; holding it until SIGTERM");
        if let Some(fd) = ready_fd {
            // SAFETY: `up` handed us this descriptor as fd 3; we own it from here.
            let mut f = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
            let _ = std::io::Write::write_all(&mut f, b"ready\n");
        }
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(lab = %lab.name(), "taking the lab down");
        match lab.down().await {
            Ok(()) => exit::OK,
            Err(e) => fail(&e),
        }
    })
}

/// `vigia lab down`: stop the holder, then remove whatever recorded item is still there.
pub fn down(name: &str) -> u8 {
    let state = match LabState::load(name) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if state.owner.is_alive() {
        if !state.owner_is_holder() {
            return fail(&LabError::ForeignHolder {
                name: name.to_owned(),
                pid: state.owner.pid,
                cmdline: state.owner.cmdline().unwrap_or_default().join(" "),
            });
        }
        state.owner.signal(libc::SIGTERM);
        let waited = Duration::from_secs(60);
        if !state::wait_gone(state.owner, waited) {
            eprintln!(
                "vigia lab: holder {} did not stop within {waited:?}; killing it",
                state.owner.pid
            );
            state.owner.signal(libc::SIGKILL);
            if !state::wait_gone(state.owner, Duration::from_secs(10)) {
                return fail(&LabError::HolderStuck {
                    name: name.to_owned(),
                    pid: state.owner.pid,
                    waited,
                });
            }
        }
    }
    // The holder removes its lab as it stops; whatever it left (it crashed, or was killed)
    // is removed here, by the ids recorded, the latest record first.
    let state = match LabState::load(name) {
        Ok(latest) => latest,
        Err(LabError::NotFound { .. }) => {
            let left = state.remaining();
            if !left.is_empty() {
                return fail(&LabError::Leftovers { name: name.to_owned(), left });
            }
            let _ = fs::remove_file(holder_log(name));
            say!("lab {name} is down: nothing of it remains");
            return exit::OK;
        }
        Err(e) => return fail(&e),
    };
    match state::remove_leftovers(&state) {
        Ok(removed) => {
            say!("lab {name} is down; removed what its holder left: {}", removed.join(", "));
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `vigia lab status`: one lab per device, or every lab with `all`.
pub fn status(name: &str, all: bool) -> u8 {
    if all {
        let labs = state::list();
        if labs.is_empty() {
            say!("no lab on this machine");
        }
        for (n, s) in labs {
            match s {
                Ok(s) => say!(
                    "{n}: {} devices, owner pid {} {}",
                    s.devices.len(),
                    s.owner.pid,
                    if s.owner.is_alive() {
                        "alive"
                    } else {
                        "DEAD (run `vigia lab down --name ...`)"
                    }
                ),
                Err(e) => say!("{n}: {e}"),
            }
        }
        return exit::OK;
    }
    let state = match LabState::load(name) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let alive = state.owner.is_alive();
    say!(
        "lab {}: created {}, holder pid {} {}, host addresses {} and {}",
        state.name,
        state.created,
        state.owner.pid,
        if alive { "alive" } else { "DEAD: `vigia lab down` removes what it left" },
        state.host_v4,
        state.host_v6
    );
    say!("{:<44} {:<7} {:<16} {:<22} {:<4} snmpd", "device", "medium", "ipv4", "ipv6", "ns");
    for d in &state.devices {
        let ns = match &d.namespace {
            Some(ns) if super::sys::netns_exists(ns) => "up",
            Some(_) => "GONE",
            None => "-",
        };
        let agent = match d.agent {
            Some(p) if p.is_alive() => format!("pid {} alive", p.pid),
            Some(p) => format!("pid {} DEAD", p.pid),
            None if d.has_agent => "stopped".into(),
            None => "none".into(),
        };
        let presence = if d.present { "" } else { " (address with no host)" };
        say!(
            "{:<44} {:<7} {:<16} {:<22} {:<4} {agent}{presence}",
            d.id,
            d.medium,
            d.ipv4.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            d.ipv6.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            ns
        );
    }
    if alive { exit::OK } else { exit::FAILURE }
}

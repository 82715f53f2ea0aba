//! A lab's state file: every id it created (namespaces, links, routes, addresses, pids), so
//! that `vigia lab down` (or anyone cleaning after a crash) removes exactly those and nothing
//! else. Written atomically after every change; holds no secret.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::link::LinkModel;
use super::sys::{self, ProcId};
use super::{LabError, RUN_ROOT, run_dir};

/// The state file's format version.
pub const VERSION: u32 = 1;

/// Metric of the lab's guard routes: `unreachable` routes behind each device address, so a
/// probe never leaks to the default route when the lab's own route is gone (a crashed lab)
/// or never existed (a site with no link).
pub const GUARD_METRIC: u32 = 4242;

/// Everything a lab made, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    /// Format version.
    pub version: u32,
    /// The lab's name.
    pub name: String,
    /// The short tag in its interface names.
    pub tag: String,
    /// The process holding the lab (its TUN descriptors and link tasks).
    pub owner: ProcId,
    /// That process's command line when it started the lab.
    pub owner_cmdline: Vec<String>,
    /// When the lab was started (RFC 3339, UTC).
    pub created: String,
    /// Host-side IPv4 source address.
    pub host_v4: Ipv4Addr,
    /// Host-side IPv6 source address.
    pub host_v6: Ipv6Addr,
    /// TUN devices created in the host (they vanish when the owner's descriptors close).
    pub links: Vec<String>,
    /// Network namespaces created.
    pub namespaces: Vec<String>,
    /// Host routes added.
    pub routes: Vec<RouteRecord>,
    /// Host addresses added.
    pub addresses: Vec<AddressRecord>,
    /// Per device.
    pub devices: Vec<DeviceState>,
}

/// A host route the lab added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// `198.18.1.10/32`, `2001:db8::a/128`.
    pub prefix: String,
    /// `dev`: through a lab link (vanishes with it); `unreachable`: a guard route.
    pub kind: String,
    /// The link, for `dev` routes.
    pub dev: Option<String>,
    /// The metric, for guard routes.
    pub metric: Option<u32>,
}

/// A host address the lab added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// `198.19.255.254/32`.
    pub address: String,
    /// The link holding it.
    pub dev: String,
}

/// What the lab built for one device, and its agent's process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    /// Device id.
    pub id: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Host-side TUN.
    pub host_link: Option<String>,
    /// Namespace-side TUN.
    pub device_link: Option<String>,
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// `lan`, `fibre`, `radio`, `custom` or `none` (no route).
    pub medium: String,
    /// The link model.
    pub link: Option<LinkModel>,
    /// Whether a host has the addresses.
    pub present: bool,
    /// Whether the spec gives it an agent.
    pub has_agent: bool,
    /// Its running snmpd.
    pub agent: Option<ProcId>,
}

/// A lab's state file.
pub fn state_path(name: &str) -> PathBuf {
    run_dir(name).join("state.json")
}

impl LabState {
    /// Write the state atomically (temporary file, then rename).
    pub fn save(&self) -> Result<(), LabError> {
        let path = state_path(&self.name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("state serialises");
        fs::write(&tmp, text + "\n")
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| LabError::io(format!("writing {}", path.display()), e))
    }

    /// Read a lab's state.
    pub fn load(name: &str) -> Result<LabState, LabError> {
        let path = state_path(name);
        let text = fs::read_to_string(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                LabError::NotFound { name: name.to_owned(), dir: run_dir(name) }
            } else {
                LabError::io(format!("reading {}", path.display()), e)
            }
        })?;
        let state: LabState = serde_json::from_str(&text)
            .map_err(|e| LabError::State { path: path.clone(), reason: e.to_string() })?;
        if state.version != VERSION {
            return Err(LabError::State {
                path,
                reason: format!("version {} (this vigia reads {VERSION})", state.version),
            });
        }
        Ok(state)
    }

    /// True when the owner is a holder ([`crate::holder`]) of this lab.
    pub fn owner_is_holder(&self) -> bool {
        self.owner.cmdline().is_some_and(|c| is_holder_cmdline(&c, &self.name))
    }

    /// Every recorded item still present on this machine, described.
    pub fn remaining(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.owner.is_alive() {
            left.push(format!("owner process {}", self.owner.pid));
        }
        for d in &self.devices {
            if let Some(agent) = d.agent
                && agent.is_alive()
            {
                left.push(format!("snmpd process {} of {}", agent.pid, d.id));
            }
        }
        for ns in &self.namespaces {
            if sys::netns_exists(ns) {
                left.push(format!("namespace {ns}"));
            }
        }
        for link in &self.links {
            if sys::link_exists(link) {
                left.push(format!("link {link}"));
            }
        }
        if !self.routes.is_empty() {
            let table = main_routes();
            for r in &self.routes {
                if route_in(r, &table) {
                    left.push(format!("route {} {}", r.kind, r.prefix));
                }
            }
        }
        left
    }
}

/// The arguments a lab's holder is started with (after the program) that name its lab.
pub fn holder_args(name: &str) -> Vec<String> {
    vec!["--name".into(), name.to_owned()]
}

/// True when a command line is that of the holder of lab `name`.
pub fn is_holder_cmdline(cmdline: &[String], name: &str) -> bool {
    let want = holder_args(name);
    cmdline.len() > want.len()
        && Path::new(&cmdline[0])
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with(crate::holder::PROGRAM))
        && cmdline[1..=want.len()] == want[..]
}

/// Every lab with a state directory: its name and its state (or why it cannot be read).
pub fn list() -> Vec<(String, Result<LabState, LabError>)> {
    let mut names: Vec<String> = fs::read_dir(RUN_ROOT)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.into_iter().map(|n| (n.clone(), LabState::load(&n))).collect()
}

/// Run `ip ARGS`, returning its standard output.
pub(crate) fn ip(args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(super::find_program("ip").unwrap_or_else(|| "ip".into()))
        .args(args)
        .output()
        .map_err(|e| LabError::io("running ip", e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Ip {
            args: args.join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// The main routing table of both families, one route a line.
pub fn main_routes() -> Vec<String> {
    ["-4", "-6"]
        .iter()
        .filter_map(|family| ip(&[family, "-o", "route", "show", "table", "main"]).ok())
        .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// Whether a recorded route is in `table` (lines of `ip -o route show`).
pub fn route_in(r: &RouteRecord, table: &[String]) -> bool {
    let host = r.prefix.trim_end_matches("/32").trim_end_matches("/128");
    table.iter().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let typed =
            matches!(words.first(), Some(&("unreachable" | "blackhole" | "prohibit" | "throw")));
        let dest = if typed { words.get(1) } else { words.first() };
        if !dest.is_some_and(|d| *d == host || *d == r.prefix) {
            return false;
        }
        match r.kind.as_str() {
            "unreachable" => {
                words.first() == Some(&"unreachable")
                    && r.metric
                        .is_none_or(|m| words.windows(2).any(|w| w == ["metric", &m.to_string()]))
            }
            _ => {
                !typed
                    && r.dev
                        .as_ref()
                        .is_some_and(|d| words.windows(2).any(|w| w == ["dev", d.as_str()]))
            }
        }
    })
}

/// Whether a recorded route is still in the main table.
pub fn route_present(r: &RouteRecord) -> bool {
    route_in(r, &main_routes())
}

/// Remove what a dead lab left behind, by its recorded ids: kill its snmpd processes (the
/// very processes recorded, checked by start time), delete its namespaces and guard routes,
/// then its directory. Refuses while the owner lives: the owner removes its own lab.
pub fn remove_leftovers(state: &LabState) -> Result<Vec<String>, LabError> {
    if state.owner.is_alive() {
        return Err(LabError::ForeignHolder {
            name: state.name.clone(),
            pid: state.owner.pid,
            cmdline: state.owner.cmdline().unwrap_or_default().join(" "),
        });
    }
    let mut removed = Vec::new();
    for d in &state.devices {
        if let Some(agent) = d.agent
            && agent.signal(libc::SIGKILL)
        {
            wait_gone(agent, Duration::from_secs(5));
            removed.push(format!("snmpd process {} of {}", agent.pid, d.id));
        }
    }
    for ns in &state.namespaces {
        if sys::netns_exists(ns) && ip(&["netns", "del", ns]).is_ok() {
            removed.push(format!("namespace {ns}"));
        }
    }
    for r in &state.routes {
        if r.kind == "unreachable" && route_present(r) {
            let metric = r.metric.map(|m| m.to_string()).unwrap_or_default();
            let mut args = vec!["route", "del", "unreachable", r.prefix.as_str()];
            if r.metric.is_some() {
                args.extend(["metric", metric.as_str()]);
            }
            if ip(&args).is_ok() {
                removed.push(format!("route unreachable {}", r.prefix));
            }
        }
    }
    let left = state.remaining();
    if !left.is_empty() {
        return Err(LabError::Leftovers { name: state.name.clone(), left });
    }
    let dir = run_dir(&state.name);
    fs::remove_dir_all(&dir).map_err(|e| LabError::io(format!("removing {}", dir.display()), e))?;
    let _ = fs::remove_file(holder_log(&state.name));
    Ok(removed)
}

/// Where a CLI lab's holder logs (beside its directory, so it outlives a failed start).
pub fn holder_log(name: &str) -> PathBuf {
    Path::new(RUN_ROOT).join(format!("{name}.holder.log"))
}

/// Wait until a process is gone (or `limit` passes); true if it is gone.
pub fn wait_gone(p: ProcId, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while p.is_alive() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_routes_are_found_in_the_table_by_kind() {
        let table: Vec<String> = [
            "198.19.3.80 dev vgabcdeh0 scope link src 198.19.3.254",
            "unreachable 198.19.3.80 metric 4242",
            "unreachable 2001:db8:1:3::81 dev lo metric 4242 pref medium",
            "198.19.3.8 dev other0 scope link",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let r = |prefix: &str, kind: &str, dev: Option<&str>| RouteRecord {
            prefix: prefix.into(),
            kind: kind.into(),
            dev: dev.map(Into::into),
            metric: (kind == "unreachable").then_some(GUARD_METRIC),
        };
        assert!(route_in(&r("198.19.3.80/32", "dev", Some("vgabcdeh0")), &table));
        assert!(route_in(&r("198.19.3.80/32", "unreachable", None), &table));
        assert!(route_in(&r("2001:db8:1:3::81/128", "unreachable", None), &table));
        assert!(!route_in(&r("2001:db8:1:3::80/128", "unreachable", None), &table));
        assert!(!route_in(&r("198.19.3.8/32", "dev", Some("vgabcdeh0")), &table));
        assert!(!route_in(&r("198.19.3.80/32", "dev", Some("vgabcdeh1")), &table));
    }

    #[test]
    fn holder_command_lines_are_recognised_exactly() {
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let holder = "/usr/bin/vigia-lab-holder";
        assert!(is_holder_cmdline(&args(&[holder, "--name", "tacna", "--ready-fd", "3"]), "tacna"));
        assert!(!is_holder_cmdline(
            &args(&[holder, "--name", "other", "--ready-fd", "3"]),
            "tacna"
        ));
        assert!(!is_holder_cmdline(
            &args(&["/usr/bin/sleep", "--name", "tacna", "--ready-fd", "3"]),
            "tacna"
        ));
        // `vigia lab up --name tacna` starts the holder; it is not one.
        assert!(!is_holder_cmdline(
            &args(&["/usr/bin/vigia", "lab", "up", "--name", "tacna"]),
            "tacna"
        ));
        assert!(!is_holder_cmdline(&args(&[holder]), "tacna"));
    }
}

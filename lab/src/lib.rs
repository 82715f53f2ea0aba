//! The lab: a real twin of a network on this machine.
//!
//! Each device gets its own network namespace holding its addresses and, where it speaks
//! SNMP, a real net-snmp `snmpd` configured with the device's own credentials and identity.
//! The namespace is joined to the host by a pair of TUN devices, and a lab task carries every
//! packet across, shaped by the site's medium ([`link`]): LAN, fibre (about 1 ms round trip)
//! or radio (about 30 ms, jitter, about 1 % loss). Host routes send each device address into
//! its namespace, sourced from a host address of the lab's own, so nothing a lab builds can
//! leak to the default route. `docs/lab.md` tells the whole story.
//!
//! The lab knows nothing of the monitor: it is built from a [`LabSpec`], plain data (devices,
//! addresses, link models, SNMP communities and users, the request that proves an agent
//! answers). The `vigia` binary turns an inventory into a spec. [`Lab::up`] builds a lab held
//! by the calling process; [`holder`] keeps one up in a detached process after the command
//! that started it returns (`vigia lab up`).
//!
//! Only addresses in 198.18.0.0/15 and 2001:db8::/32 are ever built.

// The lab is system programming: TUN devices (ioctl), entering namespaces (setns), timerfd,
// raw reads and writes on descriptors, fork-to-exec hooks, signals, priorities. Each `unsafe`
// block says why it is sound (`// SAFETY:`, required by the workspace's clippy lints). The
// monitor crate, which needs none of this, denies `unsafe_code`.
#![allow(unsafe_code)]

pub mod block;
mod engine;
pub mod holder;
pub mod link;
pub mod served;
mod snmpd;
pub mod state;
pub mod sys;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

pub use self::link::LinkModel;
use self::link::LinkStats;
pub use self::served::{Oid, PhysicalEntity, ServedTable, Value};
use self::state::{GUARD_METRIC, LabState, RouteRecord};

/// Where labs keep their state, snmpd configurations and logs: `/run/vigia/lab/NAME/`.
pub const RUN_ROOT: &str = "/run/vigia/lab";

/// The IPv4 range labs may use (RFC 2544 benchmarking, 198.18.0.0/15).
pub const LAB_V4: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 15);
/// The IPv6 range labs may use (RFC 3849 documentation, 2001:db8::/32).
pub const LAB_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32);

/// The host-side IPv4 source address of the CLI's lab.
pub const DEFAULT_HOST_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 254);
/// The host-side IPv6 source address of the CLI's lab.
pub const DEFAULT_HOST_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0xfe);

/// True when `address` is one the lab may build.
pub fn in_lab_range(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => u32::from(a) >> (32 - LAB_V4.1) == u32::from(LAB_V4.0) >> (32 - LAB_V4.1),
        IpAddr::V6(a) => {
            u128::from(a) >> (128 - LAB_V6.1) == u128::from(LAB_V6.0) >> (128 - LAB_V6.1)
        }
    }
}

/// Everything a lab is built from: the lab's whole input. It holds secrets (communities, v3
/// passwords), so it is never written to a file or a command line; its `Debug` shows none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabSpec {
    /// The lab's name: `[a-z0-9][a-z0-9-]*`, at most 40 characters, unique among live labs.
    pub name: String,
    /// The host-side IPv4 source address probes into this lab use.
    pub host_v4: Ipv4Addr,
    /// The host-side IPv6 source address probes into this lab use.
    pub host_v6: Ipv6Addr,
    /// Seed of every link's loss and jitter: the same seed gives the same pattern.
    pub seed: u64,
    /// The devices.
    pub devices: Vec<LabDevice>,
    /// The SNMP message every agent must answer, through its link, before the lab counts as
    /// up: an engine-discovery request, which any agent answers whatever its credentials. The
    /// monitor passes the one its own SNMP probe builds, so the lab needs no SNMP encoder.
    /// Required when any device has an agent.
    pub readiness_request: Vec<u8>,
    /// The program snmpd runs to serve agents' [`ServedTable`]s (`vigia-lab-holder`, whose
    /// `--pass-persist` mode is [`served::pass_persist_main`]). Required when an agent serves
    /// anything.
    #[serde(default)]
    pub served_program: Option<PathBuf>,
}

/// One device of a lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabDevice {
    /// Its id (the inventory's).
    pub id: String,
    /// IPv4 address, if any.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address, if any.
    pub ipv6: Option<Ipv6Addr>,
    /// The link to it; `None`: no route (a site with no link): its addresses are made
    /// unreachable on the host, so a probe fails at once and never leaves the machine.
    pub link: Option<LinkModel>,
    /// `false`: the address is routed into the lab but no host has it, so probes time out.
    pub present: bool,
    /// Its SNMP agent; `None`: no snmpd, so SNMP requests get port unreachable.
    pub agent: Option<AgentConfig>,
}

/// What a device's snmpd answers and to whom.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// SNMPv2c read-only communities.
    pub communities: Vec<String>,
    /// SNMPv3 USM users.
    pub users: Vec<V3User>,
    /// sysName (the device id).
    pub sys_name: String,
    /// sysLocation (the site's name).
    pub sys_location: String,
    /// sysDescr (vendor, model, class).
    pub sys_descr: String,
    /// sysContact.
    pub sys_contact: String,
    /// sysObjectID (dotted); net-snmp's own when `None`.
    #[serde(default)]
    pub sys_object_id: Option<String>,
    /// Objects served beyond net-snmp's MIBs (ENTITY-MIB rows, vendor tables), changeable while
    /// the agent runs ([`Lab::serve`]); its subtrees are fixed when the agent starts.
    #[serde(default)]
    pub served: ServedTable,
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("communities", &format_args!("<{} redacted>", self.communities.len()))
            .field("users", &self.users)
            .field("sys_name", &self.sys_name)
            .field("sys_location", &self.sys_location)
            .field("sys_descr", &self.sys_descr)
            .field("sys_contact", &self.sys_contact)
            .field("sys_object_id", &self.sys_object_id)
            .field(
                "served",
                &format_args!(
                    "{} objects in {:?}",
                    self.served.objects.len(),
                    self.served.subtrees
                ),
            )
            .finish()
    }
}

/// An SNMPv3 user: noAuthNoPriv without `auth`, authNoPriv with it, authPriv with both.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct V3User {
    /// User name.
    pub name: String,
    /// Authentication protocol and password.
    pub auth: Option<(AuthProtocol, String)>,
    /// Privacy protocol and password (needs `auth`).
    pub privacy: Option<(PrivProtocol, String)>,
}

impl fmt::Debug for V3User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3User")
            .field("name", &self.name)
            .field("auth", &self.auth.as_ref().map(|a| a.0))
            .field("privacy", &self.privacy.as_ref().map(|p| p.0))
            .finish()
    }
}

/// An SNMPv3 authentication protocol an agent can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-MD5-96.
    Md5,
    /// HMAC-SHA-96.
    Sha1,
    /// HMAC-SHA-224 (RFC 7860).
    Sha224,
    /// HMAC-SHA-256 (RFC 7860).
    Sha256,
    /// HMAC-SHA-384 (RFC 7860).
    Sha384,
    /// HMAC-SHA-512 (RFC 7860).
    Sha512,
}

impl AuthProtocol {
    /// Every protocol.
    pub const ALL: &'static [AuthProtocol] = &[
        AuthProtocol::Md5,
        AuthProtocol::Sha1,
        AuthProtocol::Sha224,
        AuthProtocol::Sha256,
        AuthProtocol::Sha384,
        AuthProtocol::Sha512,
    ];

    /// Its name in net-snmp's `createUser` and `snmpget -a`.
    pub fn net_snmp(self) -> &'static str {
        snmpd::auth_token(self)
    }
}

impl fmt::Display for AuthProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthProtocol::Md5 => "md5",
            AuthProtocol::Sha1 => "sha1",
            AuthProtocol::Sha224 => "sha224",
            AuthProtocol::Sha256 => "sha256",
            AuthProtocol::Sha384 => "sha384",
            AuthProtocol::Sha512 => "sha512",
        })
    }
}

/// An SNMPv3 privacy protocol an agent can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    /// DES-CBC.
    Des,
    /// AES-128-CFB.
    Aes128,
    /// AES-192-CFB, Blumenthal key extension (net-snmp's `AES-192`).
    Aes192,
    /// AES-256-CFB, Blumenthal key extension (net-snmp's `AES-256`).
    Aes256,
}

impl PrivProtocol {
    /// Every protocol.
    pub const ALL: &'static [PrivProtocol] =
        &[PrivProtocol::Des, PrivProtocol::Aes128, PrivProtocol::Aes192, PrivProtocol::Aes256];

    /// Its name in net-snmp's `createUser` and `snmpget -x`.
    pub fn net_snmp(self) -> &'static str {
        snmpd::priv_token(self)
    }
}

impl fmt::Display for PrivProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrivProtocol::Des => "des",
            PrivProtocol::Aes128 => "aes128",
            PrivProtocol::Aes192 => "aes192",
            PrivProtocol::Aes256 => "aes256",
        })
    }
}

/// Why the lab could not do what was asked. Never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab's name cannot be used.
    #[error("lab name {name:?} is not valid: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A device address is outside the lab ranges.
    #[error(
        "device {device}: address {address} is outside the lab ranges 198.18.0.0/15 and \
         2001:db8::/32; the lab builds nothing else"
    )]
    OutsideLab {
        /// The device.
        device: String,
        /// The address.
        address: IpAddr,
    },
    /// A host-side source address is outside the lab ranges.
    #[error(
        "the lab's host address {address} is outside the lab ranges 198.18.0.0/15 and 2001:db8::/32"
    )]
    HostOutsideLab {
        /// The address.
        address: IpAddr,
    },
    /// Two devices (or a device and the host side) share an address.
    #[error("device {device}: address {address} is already used by {other}")]
    DuplicateAddress {
        /// The device.
        device: String,
        /// The other user of the address.
        other: String,
        /// The address.
        address: IpAddr,
    },
    /// The spec as a whole is not usable.
    #[error("the lab spec is not usable: {reason}")]
    InvalidSpec {
        /// What is wrong.
        reason: &'static str,
    },
    /// A device spec is not usable.
    #[error("device {device:?}: {reason}")]
    InvalidDevice {
        /// The device.
        device: String,
        /// What is wrong.
        reason: String,
    },
    /// The machine lacks what the lab needs.
    #[error("the lab cannot run on this machine: {}", missing.join("; "))]
    Prerequisites {
        /// Each missing thing, with the Debian package that provides it.
        missing: Vec<String>,
    },
    /// A lab of that name already exists.
    #[error("lab {name} already exists (its state is in {}); `vigia lab down --name {name}` removes it", dir.display())]
    Exists {
        /// The lab.
        name: String,
        /// Its state directory.
        dir: PathBuf,
    },
    /// No lab of that name.
    #[error("no lab named {name} (nothing in {})", dir.display())]
    NotFound {
        /// The lab.
        name: String,
        /// Where its state would be.
        dir: PathBuf,
    },
    /// Something the lab would create already exists (another lab, or a leftover).
    #[error("{what} already exists on this machine (another lab, or a leftover of one)")]
    Clash {
        /// What.
        what: String,
    },
    /// No such device in the lab.
    #[error("lab {lab} has no device {device}")]
    UnknownDevice {
        /// The lab.
        lab: String,
        /// The device asked for.
        device: String,
    },
    /// The device has no link (its site has none).
    #[error("device {device} has no link in the lab (its site has none)")]
    NoLink {
        /// The device.
        device: String,
    },
    /// The device has no agent in the spec.
    #[error("device {device} has no SNMP agent in the lab")]
    NoAgent {
        /// The device.
        device: String,
    },
    /// A system call or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// An `ip` command failed.
    #[error("`ip {args}` failed ({status}): {stderr}")]
    Ip {
        /// Its arguments.
        args: String,
        /// Its exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// A device's snmpd failed.
    #[error("device {device}: snmpd {problem}; its log is {}", log.display())]
    Agent {
        /// The device.
        device: String,
        /// What happened.
        problem: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The lab is held by a process that is not a lab holder.
    #[error(
        "lab {name} is held by process {pid} ({cmdline}), not by a vigia-lab-holder: stop that process, it removes its lab"
    )]
    ForeignHolder {
        /// The lab.
        name: String,
        /// The process.
        pid: u32,
        /// Its command line.
        cmdline: String,
    },
    /// The holder program is not where it was looked for.
    #[error(
        "the lab holder {} is not there: it is built beside vigia (`cargo build` from the repository's top)", path.display()
    )]
    HolderMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The holder program was started with arguments or input it cannot use.
    #[error("{reason}")]
    HolderInput {
        /// What is wrong.
        reason: String,
    },
    /// The holder process failed before the lab was up.
    #[error("the lab holder failed ({status}); its log ({}, removed since) ended with:\n{}", log.display(), tail.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"))]
    HolderFailed {
        /// How it ended.
        status: String,
        /// Whether it refused its input (it exited with [`holder::EXIT_INVALID_INPUT`]).
        invalid_input: bool,
        /// Its log file (removed since).
        log: PathBuf,
        /// The last lines of that log.
        tail: Vec<String>,
    },
    /// The holder process did not stop.
    #[error("lab {name}: holder process {pid} did not stop within {waited:?}")]
    HolderStuck {
        /// The lab.
        name: String,
        /// The process.
        pid: u32,
        /// How long it was given.
        waited: Duration,
    },
    /// A state file cannot be read or written.
    #[error("lab state {}: {reason}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Cleaning up did not remove everything.
    #[error("lab {name}: cleanup left {}", left.join("; "))]
    Leftovers {
        /// The lab.
        name: String,
        /// What is still there.
        left: Vec<String>,
    },
    /// The lab's engine thread stopped on its own.
    #[error("lab {name}: its engine thread stopped unexpectedly")]
    EngineGone {
        /// The lab.
        name: String,
    },
}

impl LabError {
    /// True when the error is about the input (exit code 64), not about running it.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            LabError::InvalidName { .. }
                | LabError::OutsideLab { .. }
                | LabError::HostOutsideLab { .. }
                | LabError::DuplicateAddress { .. }
                | LabError::InvalidSpec { .. }
                | LabError::InvalidDevice { .. }
                | LabError::HolderInput { .. }
        ) || matches!(self, LabError::HolderFailed { invalid_input: true, .. })
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> LabError {
        LabError::Io { what: what.into(), source }
    }
}

/// Check a lab name: it becomes part of namespace names and of the state directory.
pub fn check_name(name: &str) -> Result<(), LabError> {
    let bad = |reason| Err(LabError::InvalidName { name: name.to_owned(), reason });
    if name.is_empty() || name.len() > 40 {
        return bad("it must have 1 to 40 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.starts_with('-')
    {
        return bad("only a-z, 0-9 and '-' (not first) are allowed");
    }
    Ok(())
}

/// Check everything about a spec that can be checked without touching the machine.
pub fn validate(spec: &LabSpec) -> Result<(), LabError> {
    check_name(&spec.name)?;
    for host in [IpAddr::V4(spec.host_v4), IpAddr::V6(spec.host_v6)] {
        if !in_lab_range(host) {
            return Err(LabError::HostOutsideLab { address: host });
        }
    }
    let mut owners: BTreeMap<IpAddr, String> = BTreeMap::new();
    owners.insert(IpAddr::V4(spec.host_v4), "the lab's host side".into());
    owners.insert(IpAddr::V6(spec.host_v6), "the lab's host side".into());
    let mut ids = BTreeSet::new();
    let invalid =
        |d: &LabDevice, reason: String| LabError::InvalidDevice { device: d.id.clone(), reason };
    for d in &spec.devices {
        if d.id.is_empty()
            || d.id.len() > 200
            || !d.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                d,
                "a device id is 1 to 200 characters of a-z, 0-9 and '-'".into(),
            ));
        }
        if !ids.insert(d.id.as_str()) {
            return Err(invalid(d, "the id appears twice".into()));
        }
        let addresses: Vec<IpAddr> =
            d.ipv4.map(IpAddr::V4).into_iter().chain(d.ipv6.map(IpAddr::V6)).collect();
        if addresses.is_empty() {
            return Err(invalid(d, "it has no address".into()));
        }
        for a in addresses {
            if !in_lab_range(a) {
                return Err(LabError::OutsideLab { device: d.id.clone(), address: a });
            }
            if a.is_multicast() || a.is_unspecified() || is_broadcastish(a) {
                return Err(invalid(d, format!("{a} cannot be a device address")));
            }
            if let Some(other) = owners.insert(a, d.id.clone()) {
                return Err(LabError::DuplicateAddress { device: d.id.clone(), other, address: a });
            }
        }
        if let Some(link) = d.link
            && !link.is_valid()
        {
            return Err(invalid(d, format!("link loss {} is not in [0, 1]", link.loss)));
        }
        if let Some(agent) = &d.agent {
            if !d.present {
                return Err(invalid(d, "an agent needs a present host (present: true)".into()));
            }
            snmpd::check_agent(&d.id, agent)?;
        }
    }
    if spec.readiness_request.is_empty() && spec.devices.iter().any(|d| d.agent.is_some()) {
        return Err(LabError::InvalidSpec {
            reason: "devices have SNMP agents but the spec has no readiness request",
        });
    }
    let serves =
        spec.devices.iter().any(|d| d.agent.as_ref().is_some_and(|a| !a.served.is_empty()));
    if serves {
        match &spec.served_program {
            None => {
                return Err(LabError::InvalidSpec {
                    reason: "agents serve tables but the spec names no served_program",
                });
            }
            Some(p)
                if !p.is_absolute()
                    || p.to_str().is_none_or(|t| t.contains(char::is_whitespace)) =>
            {
                return Err(LabError::InvalidSpec {
                    reason: "served_program must be an absolute path without blanks (snmpd splits its command line)",
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn is_broadcastish(a: IpAddr) -> bool {
    matches!(a, IpAddr::V4(v4) if v4.octets()[3] == 255 || v4.octets()[3] == 0)
}

/// A lab's default seed: fixed for a name, so a lab's loss pattern is the same every time.
pub fn seed_of(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Check that this machine can run a lab: root, `/dev/net/tun`, `ip` and `snmpd`. The error
/// names every missing thing and the Debian package that brings it.
pub fn check_prerequisites() -> Result<(), LabError> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (namespaces, TUN devices and routes need it)".to_owned());
    }
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun") {
        missing.push(format!("/dev/net/tun ({e}; the kernel's TUN driver)"));
    }
    if find_program("ip").is_none() {
        missing.push("ip (Debian package iproute2)".to_owned());
    }
    if find_program("snmpd").is_none() {
        missing.push("snmpd (Debian package snmpd)".to_owned());
    }
    if missing.is_empty() { Ok(()) } else { Err(LabError::Prerequisites { missing }) }
}

/// A program on PATH, or in the sbin directories root's PATH would hold.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A lab's directory under [`RUN_ROOT`].
pub fn run_dir(name: &str) -> PathBuf {
    Path::new(RUN_ROOT).join(name)
}

/// What the lab built for one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// The device id.
    pub id: String,
    /// Its namespace (`None` when it has no link: nothing is built but unreachable routes).
    pub namespace: Option<String>,
    /// The host-side TUN device.
    pub host_link: Option<String>,
    /// The namespace-side TUN device.
    pub device_link: Option<String>,
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// The link model.
    pub link: Option<LinkModel>,
    /// Whether a host has the addresses.
    pub present: bool,
    /// Whether it has an SNMP agent.
    pub has_agent: bool,
}

/// How a lab device's namespace refuses an address routed to it ([`Lab::route_unreachable`]):
/// the ICMP destination unreachable a router sends for a host it cannot reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No route to the host: ICMP type 3 code 1 (host unreachable), ICMPv6 type 1 code 0.
    Unreachable,
    /// Administratively prohibited (a filter): ICMP type 3 code 13, ICMPv6 type 1 code 1.
    Prohibited,
}

enum Command {
    StopAgent(String, oneshot::Sender<Result<(), LabError>>),
    StartAgent(String, oneshot::Sender<Result<(), LabError>>),
    Down(oneshot::Sender<Result<(), LabError>>),
}

/// A running lab. Dropping it removes everything it made (synchronously, best effort);
/// [`Lab::down`] does the same and says whether everything went.
pub struct Lab {
    name: String,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
    devices: Vec<DeviceInfo>,
    cuts: BTreeMap<String, Arc<AtomicBool>>,
    stats: BTreeMap<String, Arc<LinkStats>>,
    /// Each agent's served subtrees, fixed when it started.
    served: BTreeMap<String, Vec<Oid>>,
    state: Arc<std::sync::Mutex<LabState>>,
    tx: Option<mpsc::UnboundedSender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("name", &self.name)
            .field("devices", &self.devices.len())
            .finish()
    }
}

impl Lab {
    /// Build the lab and return once every agent answers through its link. On failure
    /// everything already made is removed before the error comes back.
    pub async fn up(spec: LabSpec) -> Result<Lab, LabError> {
        validate(&spec)?;
        check_prerequisites()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let name = spec.name.clone();
        let served = spec
            .devices
            .iter()
            .filter_map(|d| d.agent.as_ref().map(|a| (d.id.clone(), a.served.subtrees.clone())))
            .collect();
        let thread = std::thread::Builder::new()
            .name(format!("lab-{}", spec.name))
            .spawn(move || engine::run(spec, rx, ready_tx))
            .map_err(|e| LabError::io("starting the lab engine thread", e))?;
        match ready_rx.await {
            Ok(Ok(ready)) => Ok(Lab {
                name,
                host_v4: ready.host_v4,
                host_v6: ready.host_v6,
                devices: ready.devices,
                cuts: ready.cuts,
                stats: ready.stats,
                served,
                state: ready.state,
                tx: Some(tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                Err(e)
            }
            Err(_) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                Err(LabError::EngineGone { name })
            }
        }
    }

    /// The lab's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host-side IPv4 source address.
    pub fn host_v4(&self) -> Ipv4Addr {
        self.host_v4
    }

    /// The host-side IPv6 source address.
    pub fn host_v6(&self) -> Ipv6Addr {
        self.host_v6
    }

    /// What was built for each device, in spec order.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// What was built for one device.
    pub fn device(&self, id: &str) -> Option<&DeviceInfo> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// Where the lab's state file is.
    pub fn state_path(&self) -> PathBuf {
        state::state_path(&self.name)
    }

    /// A copy of the lab's recorded state (every id it created, agent pids).
    pub fn state(&self) -> LabState {
        self.state.lock().expect("state lock").clone()
    }

    /// The pid of a device's running snmpd.
    pub fn agent_pid(&self, device: &str) -> Option<u32> {
        let state = self.state.lock().expect("state lock");
        state.devices.iter().find(|d| d.id == device).and_then(|d| d.agent).map(|p| p.pid)
    }

    /// Packet counts of a device's link (down: towards the device; up: back).
    pub fn link_counts(&self, device: &str) -> Option<(link::Counts, link::Counts)> {
        self.stats.get(device).map(|s| (s.down.counts(), s.up.counts()))
    }

    fn cut_flag(&self, device: &str) -> Result<&Arc<AtomicBool>, LabError> {
        if self.device(device).is_none() {
            return Err(LabError::UnknownDevice { lab: self.name.clone(), device: device.into() });
        }
        self.cuts.get(device).ok_or_else(|| LabError::NoLink { device: device.into() })
    }

    /// Cut the device's link: from now on it drops every packet ("device taken down").
    pub async fn cut(&self, device: &str) -> Result<(), LabError> {
        self.cut_flag(device)?.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Restore a cut link.
    pub async fn restore(&self, device: &str) -> Result<(), LabError> {
        self.cut_flag(device)?.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), LabError>>) -> Command,
    ) -> Result<(), LabError> {
        let gone = || LabError::EngineGone { name: self.name.clone() };
        let (tx, rx) = oneshot::channel();
        self.tx.as_ref().ok_or_else(gone)?.send(make(tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Stop the device's snmpd (SNMP then gets port unreachable).
    pub async fn stop_agent(&self, device: &str) -> Result<(), LabError> {
        self.ask(|tx| Command::StopAgent(device.to_owned(), tx)).await
    }

    /// Start the device's snmpd again; returns once it listens.
    pub async fn start_agent(&self, device: &str) -> Result<(), LabError> {
        self.ask(|tx| Command::StartAgent(device.to_owned(), tx)).await
    }

    /// Stop and start the device's snmpd: sysUpTime starts again (and its engine boots count
    /// goes up, as a rebooted device's does).
    pub async fn restart_agent(&self, device: &str) -> Result<(), LabError> {
        self.stop_agent(device).await?;
        self.start_agent(device).await
    }

    /// Route `address`, which no device of the lab has, into the namespace of device `via`,
    /// whose kernel then answers every packet to it with ICMP destination unreachable, as a
    /// site's router with no route to a host does. The error comes from `via`'s own address
    /// of that family, back through `via`'s link (so it crosses the link's delay and loss).
    ///
    /// On the host the address gets a route through `via`'s link and a guard route like every
    /// device address (both recorded, removed with the lab); in the namespace, forwarding is
    /// turned on (a Linux host sends no ICMP error for a packet it does not forward) and the
    /// address is given an `unreachable` or `prohibit` route. The namespace's kernel limits
    /// IPv4 errors per source to about 5 at once, then 1 a second (`ip_error`'s token bucket,
    /// not a sysctl of the namespace); IPv6 errors are not limited in a lab.
    pub async fn route_unreachable(
        &self,
        via: &str,
        address: IpAddr,
        refusal: Refusal,
    ) -> Result<(), LabError> {
        let invalid = |reason: String| LabError::InvalidDevice { device: via.into(), reason };
        let device = self.device(via).ok_or_else(|| LabError::UnknownDevice {
            lab: self.name.clone(),
            device: via.into(),
        })?;
        if !in_lab_range(address) {
            return Err(LabError::OutsideLab { device: via.into(), address });
        }
        let used = self
            .devices
            .iter()
            .flat_map(|d| {
                let addresses = [d.ipv4.map(IpAddr::V4), d.ipv6.map(IpAddr::V6)];
                addresses.into_iter().flatten().map(move |a| (a, d.id.clone()))
            })
            .chain([
                (IpAddr::V4(self.host_v4), "the lab's host side".to_owned()),
                (IpAddr::V6(self.host_v6), "the lab's host side".to_owned()),
            ]);
        for (a, other) in used {
            if a == address {
                return Err(LabError::DuplicateAddress { device: via.into(), other, address });
            }
        }
        let (Some(ns), Some(host_link)) = (&device.namespace, &device.host_link) else {
            return Err(LabError::NoLink { device: via.into() });
        };
        let own = if address.is_ipv4() { device.ipv4.is_some() } else { device.ipv6.is_some() };
        if !device.present || !own {
            return Err(invalid(format!(
                "it needs a present host with an address of {address}'s family to answer for it"
            )));
        }
        let prefix = engine::with_prefix(address);
        let src = match address {
            IpAddr::V4(_) => self.host_v4.to_string(),
            IpAddr::V6(_) => self.host_v6.to_string(),
        };
        // The guard first: whatever happens next, the address never reaches the default route.
        let host = [
            (
                format!("route add unreachable {prefix} metric {GUARD_METRIC}"),
                RouteRecord {
                    prefix: prefix.clone(),
                    kind: "unreachable".into(),
                    dev: None,
                    metric: Some(GUARD_METRIC),
                },
            ),
            (
                format!("route add {prefix} dev {host_link} src {src}"),
                RouteRecord {
                    prefix: prefix.clone(),
                    kind: "dev".into(),
                    dev: Some(host_link.clone()),
                    metric: None,
                },
            ),
        ];
        let lines: Vec<String> = host.iter().map(|(l, _)| l.clone()).collect();
        let (ran, result) = engine::ip_batch(None, &lines).await;
        {
            let mut state = self.state.lock().expect("state lock");
            state.routes.extend(host.into_iter().take(ran).map(|(_, r)| r));
            state.save()?;
        }
        result?;
        let kind = match refusal {
            Refusal::Unreachable => "unreachable",
            Refusal::Prohibited => "prohibit",
        };
        engine::ip_batch(Some(ns), &[format!("route add {kind} {prefix}")]).await.1?;
        let forwarding = match address {
            IpAddr::V4(_) => "net.ipv4.ip_forward",
            IpAddr::V6(_) => "net.ipv6.conf.all.forwarding",
        };
        let ns2 = ns.clone();
        tokio::task::spawn_blocking(move || sys::set_netns_sysctls(&ns2, &[(forwarding, "1")]))
            .await
            .map_err(|e| LabError::io(format!("sysctls of {ns}"), std::io::Error::other(e)))?
            .map_err(|e| LabError::io(format!("sysctls of {ns}"), e))
    }

    /// Where device `device`'s served table is kept while the lab runs; anything with root may
    /// rewrite it (atomically: [`ServedTable::write_atomically`]) and the agent serves the new
    /// values from its next request.
    pub fn served_path(&self, device: &str) -> PathBuf {
        engine::device_dir(&self.name, device).join(served::TABLE_FILE)
    }

    /// Serve `table` on device `device`'s agent from its next request: a serial swapped, a
    /// signal that degrades, a counter's new rate. The subtrees must be those the agent was
    /// started with (snmpd registers them once).
    pub async fn serve(&self, device: &str, table: &ServedTable) -> Result<(), LabError> {
        let invalid = |reason: String| LabError::InvalidDevice { device: device.into(), reason };
        let info = self.device(device).ok_or_else(|| LabError::UnknownDevice {
            lab: self.name.clone(),
            device: device.into(),
        })?;
        if !info.has_agent {
            return Err(LabError::NoAgent { device: device.into() });
        }
        let registered = self.served.get(device).cloned().unwrap_or_default();
        if table.subtrees != registered {
            return Err(invalid(format!(
                "the agent serves the subtrees {registered:?}, fixed when it started; the new \
                 table has {:?}",
                table.subtrees
            )));
        }
        table.check().map_err(invalid)?;
        let path = self.served_path(device);
        let table = table.clone();
        tokio::task::spawn_blocking(move || {
            table
                .write_atomically(&path)
                .map_err(|e| LabError::io(format!("writing {}", path.display()), e))
        })
        .await
        .map_err(|e| LabError::io("writing a served table", std::io::Error::other(e)))?
    }

    /// Remove everything the lab made, by the ids it recorded, and say what could not be.
    pub async fn down(mut self) -> Result<(), LabError> {
        let result = self.ask(Command::Down).await;
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        result
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Closing the channel makes the engine tear everything down; wait for it so that a
        // failing test leaves nothing behind when it returns.
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, v4: Option<[u8; 4]>, v6: Option<Ipv6Addr>) -> LabDevice {
        LabDevice {
            id: id.into(),
            ipv4: v4.map(Ipv4Addr::from),
            ipv6: v6,
            link: Some(LinkModel::LAN),
            present: true,
            agent: None,
        }
    }

    fn spec(devices: Vec<LabDevice>) -> LabSpec {
        LabSpec {
            name: "unit".into(),
            host_v4: DEFAULT_HOST_V4,
            host_v6: DEFAULT_HOST_V6,
            seed: 1,
            devices,
            readiness_request: vec![],
            served_program: None,
        }
    }

    #[test]
    fn lab_ranges_are_exactly_198_18_slash_15_and_2001_db8_slash_32() {
        for (a, inside) in [
            ("198.18.0.1", true),
            ("198.19.255.254", true),
            ("198.17.255.255", false),
            ("198.20.0.0", false),
            ("2001:db8::1", true),
            ("2001:db8:ffff:ffff::1", true),
            ("2001:db9::1", false),
            ("2001:db7:ffff::1", false),
        ] {
            assert_eq!(in_lab_range(a.parse().unwrap()), inside, "{a}");
        }
    }

    // The addresses below are refused by `validate`, which touches nothing: no packet is
    // ever sent to them.
    #[test]
    fn addresses_outside_the_lab_are_refused_naming_device_and_address() {
        let e = validate(&spec(vec![device("sw-1", Some([203, 0, 113, 5]), None)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "device sw-1: address 203.0.113.5 is outside the lab ranges 198.18.0.0/15 and \
             2001:db8::/32; the lab builds nothing else"
        );
        assert!(e.is_invalid_input());
        let v6 = "2001:db9::5".parse().unwrap();
        let e = validate(&spec(vec![device("sw-2", Some([198, 18, 1, 1]), Some(v6))])).unwrap_err();
        assert!(
            matches!(e, LabError::OutsideLab { ref device, address } if device == "sw-2" && address == IpAddr::V6(v6))
        );
        let mut s = spec(vec![]);
        s.host_v4 = Ipv4Addr::new(203, 0, 113, 1);
        assert!(matches!(validate(&s), Err(LabError::HostOutsideLab { .. })));
    }

    #[test]
    fn duplicate_addresses_and_ids_are_refused() {
        let a = device("a", Some([198, 18, 1, 1]), None);
        let b = device("b", Some([198, 18, 1, 1]), None);
        assert!(matches!(
            validate(&spec(vec![a.clone(), b])),
            Err(LabError::DuplicateAddress { .. })
        ));
        assert!(matches!(
            validate(&spec(vec![a.clone(), a.clone()])),
            Err(LabError::InvalidDevice { .. })
        ));
        let host = device("h", Some([198, 19, 255, 254]), None);
        assert!(matches!(validate(&spec(vec![host])), Err(LabError::DuplicateAddress { .. })));
        assert!(validate(&spec(vec![a])).is_ok());
    }

    #[test]
    fn an_agent_needs_a_present_host() {
        let mut d = device("a", Some([198, 18, 1, 1]), None);
        d.present = false;
        d.agent = Some(AgentConfig {
            communities: vec!["c0mmunity".into()],
            users: vec![],
            sys_name: "a".into(),
            sys_location: "x".into(),
            sys_descr: "x".into(),
            sys_contact: "x".into(),
            sys_object_id: None,
            served: ServedTable::default(),
        });
        assert!(matches!(validate(&spec(vec![d.clone()])), Err(LabError::InvalidDevice { .. })));
        // A present one still needs a request that proves its agent answers.
        d.present = true;
        let mut s = spec(vec![d]);
        assert!(matches!(validate(&s), Err(LabError::InvalidSpec { .. })));
        s.readiness_request = vec![0x30, 0x00];
        assert!(validate(&s).is_ok());
    }

    #[test]
    fn a_lab_can_be_shared_between_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Lab>();
        send_sync::<LabSpec>();
    }

    #[test]
    fn lab_names_are_checked() {
        for ok in ["tacna", "t-1234-5", "a"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "Tacna", "a b", "a/b", &"x".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let agent = AgentConfig {
            communities: vec!["s3cret-community".into()],
            users: vec![V3User {
                name: "vigia".into(),
                auth: Some((AuthProtocol::Sha256, "auth-s3cret".into())),
                privacy: Some((PrivProtocol::Aes128, "priv-s3cret".into())),
            }],
            sys_name: "a".into(),
            sys_location: "b".into(),
            sys_descr: "c".into(),
            sys_contact: "d".into(),
            sys_object_id: None,
            served: ServedTable::default(),
        };
        let text = format!("{agent:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("Sha256") && text.contains("vigia"));
    }
}

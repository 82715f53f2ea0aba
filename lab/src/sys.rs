//! The few system calls the lab needs that no dependency offers: TUN devices, entering a
//! network namespace, and telling a process apart from a later one with the same pid.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use serde::{Deserialize, Serialize};

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
/// Refuse to attach to a TUN device that already exists: a name clash with another lab must
/// fail, never share its device.
const IFF_TUN_EXCL: libc::c_short = 0x8000u16 as libc::c_short;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags, padded to 40 bytes.
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Interface names are at most 15 bytes (IFNAMSIZ less the terminating zero).
pub const IFNAME_MAX: usize = libc::IFNAMSIZ - 1;

/// Create a TUN device (IP packets, no packet-info header) named `name` in the calling
/// thread's network namespace. The device lives as long as the descriptor.
pub fn create_tun(name: &str) -> io::Result<OwnedFd> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"));
    }
    let path = CString::new("/dev/net/tun").expect("no NUL");
    // SAFETY: open with a valid C string.
    let raw =
        unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL,
        _pad: [0; 22],
    };
    for (dst, src) in req.name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: TUNSETIFF reads a struct ifreq, which IfReq lays out.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Create one TUN device inside each named namespace, from a short-lived thread that enters
/// them in turn (a TUN device belongs to the namespace of the thread that opens it; its
/// descriptor works from anywhere). On failure, says which namespace.
pub fn create_tuns_in_namespaces(
    jobs: &[(String, String)],
) -> Result<Vec<OwnedFd>, (String, io::Error)> {
    let jobs = jobs.to_vec();
    std::thread::spawn(move || {
        let mut fds = Vec::with_capacity(jobs.len());
        for (ns, name) in &jobs {
            let made =
                open_netns(ns).and_then(|nsfd| enter_netns(&nsfd)).and_then(|()| create_tun(name));
            fds.push(made.map_err(|e| (ns.clone(), e))?);
        }
        Ok(fds)
    })
    .join()
    .map_err(|_| (String::new(), io::Error::other("TUN thread panicked")))?
}

/// Open a named network namespace (`/run/netns/NAME`) for `setns`.
pub fn open_netns(name: &str) -> io::Result<OwnedFd> {
    let file = fs::File::open(Path::new("/run/netns").join(name))?;
    Ok(OwnedFd::from(file))
}

/// Move the calling thread into the network namespace `fd` refers to. Only ever call this on
/// a thread the lab owns, never on a runtime's worker.
pub fn enter_netns(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: setns on a namespace descriptor.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Write network sysctls inside a namespace: `/proc/sys/net` shows the namespace of the
/// thread that opens it, so a short-lived thread enters the namespace and writes them.
/// Keys missing on this kernel are skipped; any other failure is returned.
pub fn set_netns_sysctls(ns: &str, values: &[(&str, &str)]) -> io::Result<()> {
    let fd = open_netns(ns)?;
    let values: Vec<(String, String)> =
        values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    std::thread::spawn(move || -> io::Result<()> {
        enter_netns(&fd)?;
        for (key, value) in &values {
            let path = Path::new("/proc/sys").join(key.replace('.', "/"));
            match fs::write(&path, value) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            }
        }
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("sysctl thread panicked"))?
}

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat`, field 22).
    pub start_time: u64,
}

impl ProcId {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: u32) -> Option<ProcId> {
        start_time(pid).map(|start_time| ProcId { pid, start_time })
    }

    /// This process.
    pub fn current() -> ProcId {
        ProcId::of(std::process::id()).expect("/proc/self/stat is readable")
    }

    /// True while this very process (not a later one with its pid) exists and is not a zombie.
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time) && !is_zombie(self.pid)
    }

    /// Its command line, arguments split.
    pub fn cmdline(&self) -> Option<Vec<String>> {
        let raw = fs::read(format!("/proc/{}/cmdline", self.pid)).ok()?;
        if start_time(self.pid) != Some(self.start_time) {
            return None;
        }
        Some(
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
        )
    }

    /// Send `signal` if (and only if) this very process is still alive.
    pub fn signal(&self, signal: libc::c_int) -> bool {
        if !self.is_alive() {
            return false;
        }
        // SAFETY: kill with a pid we just checked.
        unsafe { libc::kill(self.pid as libc::pid_t, signal) == 0 }
    }
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn start_time(pid: u32) -> Option<u64> {
    // After the name, fields start at 3 (state); start time is field 22.
    stat_fields(pid)?.get(22 - 3)?.parse().ok()
}

fn is_zombie(pid: u32) -> bool {
    stat_fields(pid).and_then(|f| f.first().cloned()).is_some_and(|s| s == "Z" || s == "X")
}

/// True when an interface of that name exists in this process's namespace.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// True when the named network namespace exists.
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// True when a process inside a namespace has a UDP socket bound to local port `port` (read
/// from that process's own view, `/proc/PID/net/udp` and `udp6`).
pub fn udp_port_bound(pid: u32, port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["udp", "udp6"].iter().any(|table| {
        fs::read_to_string(format!("/proc/{pid}/net/{table}")).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                line.split_whitespace().nth(1).is_some_and(|local| local.ends_with(&wanted))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = ProcId::current();
        assert!(me.is_alive());
        assert!(!ProcId { start_time: me.start_time + 1, ..me }.is_alive());
        assert!(me.cmdline().is_some_and(|c| !c.is_empty()));
    }

    #[test]
    fn interface_names_are_checked_before_any_system_call() {
        assert!(create_tun("").is_err());
        assert!(create_tun("sixteen-chars-xx").is_err());
    }
}

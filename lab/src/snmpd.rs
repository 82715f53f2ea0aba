//! A device's net-snmp `snmpd`: its configuration, how it is started inside the device's
//! namespace, and how the lab knows it answers.
//!
//! Credentials go into a configuration file only root can read (never onto a command line);
//! `createUser` lines define the v3 users. AES-192 and AES-256 are configured as net-snmp's
//! `AES-192` / `AES-256`, the Blumenthal key extension (draft-blumenthal-aes-usm-04): an snmp2
//! client must select `KeyExtension::Blumenthal` for them when the authentication digest is
//! shorter than the privacy key (MD5 and SHA-1 with both, SHA-224 with AES-256).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::process::{Child, Command};

use super::served::{self, Oid};
use super::{AgentConfig, AuthProtocol, LabError, PrivProtocol, find_program, sys};

/// net-snmp's `createUser` token for an authentication protocol.
pub fn auth_token(p: AuthProtocol) -> &'static str {
    match p {
        AuthProtocol::Md5 => "MD5",
        AuthProtocol::Sha1 => "SHA",
        AuthProtocol::Sha224 => "SHA-224",
        AuthProtocol::Sha256 => "SHA-256",
        AuthProtocol::Sha384 => "SHA-384",
        AuthProtocol::Sha512 => "SHA-512",
    }
}

/// net-snmp's `createUser` token for a privacy protocol (AES-192/256: Blumenthal).
pub fn priv_token(p: PrivProtocol) -> &'static str {
    match p {
        PrivProtocol::Des => "DES",
        PrivProtocol::Aes128 => "AES",
        PrivProtocol::Aes192 => "AES-192",
        PrivProtocol::Aes256 => "AES-256",
    }
}

fn unconfigurable(device: &str, reason: String) -> LabError {
    LabError::InvalidDevice { device: device.to_owned(), reason }
}

/// Check that snmpd can be given this agent's settings, without printing any secret.
pub fn check_agent(device: &str, agent: &AgentConfig) -> Result<(), LabError> {
    for (what, text) in [
        ("sysName", &agent.sys_name),
        ("sysLocation", &agent.sys_location),
        ("sysDescr", &agent.sys_descr),
        ("sysContact", &agent.sys_contact),
    ] {
        if text.chars().any(char::is_control) || text.len() > 255 {
            return Err(unconfigurable(
                device,
                format!("{what} has control characters or over 255 bytes"),
            ));
        }
    }
    if let Some(oid) = &agent.sys_object_id {
        Oid::parse(oid).map_err(|e| unconfigurable(device, format!("sysObjectID: {e}")))?;
    }
    agent.served.check().map_err(|e| unconfigurable(device, format!("served table: {e}")))?;
    if agent.communities.is_empty() && agent.users.is_empty() {
        return Err(unconfigurable(device, "an agent needs a community or a v3 user".into()));
    }
    for (i, c) in agent.communities.iter().enumerate() {
        if c.is_empty() || c.chars().any(char::is_control) {
            return Err(unconfigurable(
                device,
                format!("community #{} is empty or has control characters", i + 1),
            ));
        }
    }
    for u in &agent.users {
        if u.name.is_empty()
            || !u.name.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' && c != '\'')
        {
            return Err(unconfigurable(
                device,
                format!("v3 user name {:?} must be printable ASCII without quotes", u.name),
            ));
        }
        if u.privacy.is_some() && u.auth.is_none() {
            return Err(unconfigurable(
                device,
                format!("v3 user {}: privacy needs authentication", u.name),
            ));
        }
        for (what, secret) in u
            .auth
            .iter()
            .map(|a| ("authentication", &a.1))
            .chain(u.privacy.iter().map(|p| ("privacy", &p.1)))
        {
            // net-snmp refuses USM passphrases under 8 characters.
            if secret.chars().count() < 8 || secret.chars().any(char::is_control) {
                return Err(unconfigurable(
                    device,
                    format!(
                        "v3 user {}: the {what} password must have at least 8 characters and no control characters",
                        u.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A word for net-snmp's config reader: double-quoted, with `"` and `\` escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The engine id text of a device's agent (net-snmp builds a text engine id from it; at most
/// 27 bytes).
pub fn engine_id_text(lab: &str, device: &str) -> String {
    use sha2::{Digest, Sha256};
    if device.len() <= 27 {
        return device.to_owned();
    }
    let h = Sha256::digest(format!("{lab}/{device}").as_bytes());
    format!("{}-{:02x}{:02x}{:02x}{:02x}", &device[..18], h[0], h[1], h[2], h[3])
}

/// The snmpd.conf of a device. Holds secrets: write it mode 0600. `served`: the program that
/// serves the agent's table and the table's file, for the `pass_persist` lines.
pub fn render_config(
    lab: &str,
    device: &str,
    agent: &AgentConfig,
    served: Option<(&Path, &Path)>,
) -> String {
    let mut c = String::new();
    let _ =
        writeln!(c, "# vigia lab {lab}: device {device}. Written by vigia; removed with the lab.");
    let _ = writeln!(c, "engineID {}", engine_id_text(lab, device));
    let _ = writeln!(c, "dontLogTCPWrappersConnects yes");
    // sys* take the rest of the line as it is.
    for (token, value) in [
        ("sysName", &agent.sys_name),
        ("sysLocation", &agent.sys_location),
        ("sysContact", &agent.sys_contact),
        ("sysDescr", &agent.sys_descr),
    ] {
        if !value.trim().is_empty() {
            let _ = writeln!(c, "{token} {}", value.trim());
        }
    }
    if let Some(oid) = agent.sys_object_id.as_deref().and_then(|o| Oid::parse(o).ok()) {
        let _ = writeln!(c, "sysObjectID {oid}");
    }
    let _ = writeln!(c, "sysServices 72");
    for community in &agent.communities {
        let _ = writeln!(c, "rocommunity {} default", quoted(community));
        let _ = writeln!(c, "rocommunity6 {} default", quoted(community));
    }
    for u in &agent.users {
        let mut line = format!("createUser {}", u.name);
        if let Some((p, secret)) = &u.auth {
            let _ = write!(line, " {} {}", auth_token(*p), quoted(secret));
            if let Some((p, secret)) = &u.privacy {
                let _ = write!(line, " {} {}", priv_token(*p), quoted(secret));
            }
        }
        let _ = writeln!(c, "{line}");
        let level = match (&u.auth, &u.privacy) {
            (None, _) => "noauth",
            (Some(_), None) => "auth",
            (Some(_), Some(_)) => "priv",
        };
        let _ = writeln!(c, "rouser {} {level}", u.name);
    }
    if let Some((program, table)) = served {
        // One registration per subtree; snmpd splits the command at blanks (paths have none).
        for subtree in &agent.served.subtrees {
            let args = served::pass_persist_args(table, subtree).join(" ");
            let _ = writeln!(c, "pass_persist {subtree} {} {args}", program.display());
        }
    }
    c
}

/// snmpd's listening endpoints: the device's explicit addresses (an IPv6 wildcard socket may
/// answer from another source address, which strict clients drop).
pub fn endpoints(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(|a| match a {
            IpAddr::V4(v4) => format!("udp:{v4}:161"),
            IpAddr::V6(v6) => format!("udp6:[{v6}]:161"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Start snmpd inside namespace `ns`, in its own process group, killed by the kernel if the
/// thread that started it (the lab's engine) ever dies without stopping it.
pub fn spawn(ns: &str, dir: &Path, addresses: &[IpAddr]) -> Result<Child, LabError> {
    let program = find_program("snmpd").ok_or_else(|| LabError::Prerequisites {
        missing: vec!["snmpd (Debian package snmpd)".into()],
    })?;
    let nsfd =
        sys::open_netns(ns).map_err(|e| LabError::io(format!("opening namespace {ns}"), e))?;
    let raw_ns = nsfd.as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut cmd = Command::new(program);
    cmd.args(["-f", "-C", "-c"])
        .arg(dir.join("snmpd.conf"))
        .args(["-M", "/dev/null", "-I", "-smux", "-Lf"])
        .arg(dir.join("snmpd.log"))
        .arg(endpoints(addresses))
        .env("MIBS", "")
        .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false);
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe system
    // calls on values copied in before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(raw_ns, libc::CLONE_NEWNET) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            if libc::getppid() != parent {
                // The lab died between fork and prctl: do not outlive it.
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| LabError::io(format!("starting snmpd in {ns}"), e))?;
    drop(nsfd);
    // It inherited the engine thread's raised priority, which made its start quick on a busy
    // machine; an agent needs no more than any other process.
    if let Some(pid) = child.id() {
        // SAFETY: setpriority on our own child.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, 0) };
    }
    Ok(child)
}

/// Send `request` from `source` to `target:161` and wait `wait` for any answer: each socket is
/// new, so an answer is to this request whatever its message id.
pub async fn answers(source: IpAddr, target: IpAddr, wait: Duration, request: &[u8]) -> bool {
    let Ok(socket) = UdpSocket::bind(SocketAddr::new(source, 0)).await else { return false };
    if socket.connect(SocketAddr::new(target, 161)).await.is_err() {
        return false;
    }
    if socket.send(request).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 2048];
    matches!(tokio::time::timeout(wait, socket.recv(&mut buf)).await, Ok(Ok(n)) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::V3User;

    fn agent() -> AgentConfig {
        AgentConfig {
            communities: vec!["pub\"lic\\x".into()],
            users: vec![
                V3User {
                    name: "vigia".into(),
                    auth: Some((AuthProtocol::Sha256, "auth pass".into())),
                    privacy: Some((PrivProtocol::Aes256, "priv-pass".into())),
                },
                V3User { name: "noauth".into(), auth: None, privacy: None },
                V3User {
                    name: "authonly".into(),
                    auth: Some((AuthProtocol::Md5, "12345678".into())),
                    privacy: None,
                },
            ],
            sys_name: "sw-mercado-grau".into(),
            sys_location: "Mercado Grau".into(),
            sys_descr: "switch (vigia lab)".into(),
            sys_contact: "OTIC".into(),
            sys_object_id: Some("1.3.6.1.4.1.12356.101.1".into()),
            served: served::ServedTable::entity(&[served::PhysicalEntity {
                model: "FortiGate \"500E\"".into(),
                class: served::CLASS_CHASSIS,
                ..Default::default()
            }]),
        }
    }

    #[test]
    fn config_quotes_secrets_and_maps_every_protocol() {
        let program = Path::new("/opt/vigia/vigia-lab-holder");
        let table = Path::new("/run/vigia/lab/tacna/devices/sw-mercado-grau/served.json");
        let c = render_config("tacna", "sw-mercado-grau", &agent(), Some((program, table)));
        assert!(c.contains("rocommunity \"pub\\\"lic\\\\x\" default\n"), "{c}");
        assert!(c.contains("rocommunity6 \"pub\\\"lic\\\\x\" default\n"));
        assert!(c.contains(
            "createUser vigia SHA-256 \"auth pass\" AES-256 \"priv-pass\"\nrouser vigia priv\n"
        ));
        assert!(c.contains("createUser noauth\nrouser noauth noauth\n"));
        assert!(c.contains("createUser authonly MD5 \"12345678\"\nrouser authonly auth\n"));
        assert!(c.contains("sysLocation Mercado Grau\n"));
        assert!(c.contains("sysObjectID .1.3.6.1.4.1.12356.101.1\n"));
        assert!(c.contains(
            "pass_persist .1.3.6.1.2.1.47 /opt/vigia/vigia-lab-holder --pass-persist \
             /run/vigia/lab/tacna/devices/sw-mercado-grau/served.json .1.3.6.1.2.1.47\n"
        ));
        let plain = render_config("tacna", "sw-mercado-grau", &agent(), None);
        assert!(!plain.contains("pass_persist"), "no program, no registration");
        let tokens: Vec<_> = AuthProtocol::ALL.iter().map(|p| auth_token(*p)).collect();
        assert_eq!(tokens, ["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]);
        let tokens: Vec<_> = PrivProtocol::ALL.iter().map(|p| priv_token(*p)).collect();
        assert_eq!(tokens, ["DES", "AES", "AES-192", "AES-256"]);
    }

    #[test]
    fn short_passwords_and_control_characters_are_refused_without_the_secret() {
        let mut a = agent();
        a.users[0].auth = Some((AuthProtocol::Sha1, "short".into()));
        let e = check_agent("d", &a).unwrap_err().to_string();
        assert!(e.contains("at least 8") && !e.contains("short\""), "{e}");
        let mut a = agent();
        a.communities[0] = "x\ny".into();
        let e = check_agent("d", &a).unwrap_err().to_string();
        assert!(!e.contains("x\ny"), "{e}");
        let mut a = agent();
        a.sys_location = "a\nrocommunity evil".into();
        assert!(check_agent("d", &a).is_err());
        let mut a = agent();
        a.sys_object_id = Some("1.3.6.x".into());
        assert!(check_agent("d", &a).is_err());
        assert!(check_agent("d", &agent()).is_ok());
    }

    #[test]
    fn endpoints_bind_explicit_addresses() {
        let a: Vec<IpAddr> = vec!["198.18.1.2".parse().unwrap(), "2001:db8::2".parse().unwrap()];
        assert_eq!(endpoints(&a), "udp:198.18.1.2:161,udp6:[2001:db8::2]:161");
    }

    #[test]
    fn engine_ids_fit_27_bytes_and_stay_distinct() {
        let long_a = engine_id_text("tacna", "sw-gerencia-transporte-seguridad-ciudadana");
        let long_b = engine_id_text("tacna", "sw-gerencia-transporte-seguridad-otra");
        assert!(long_a.len() <= 27 && long_b.len() <= 27);
        assert_ne!(long_a, long_b);
        assert_eq!(engine_id_text("tacna", "rt-01"), "rt-01");
    }
}

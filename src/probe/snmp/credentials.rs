//! Resolved SNMP credentials and the target of one poll.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::inventory::{AuthProtocol, PrivProtocol, SecretError, SnmpProfile};

/// Credentials with their secrets resolved, ready to put on the wire. `Debug` never shows a
/// community or a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// SNMPv2c.
    V2c {
        /// The community string.
        community: String,
    },
    /// SNMPv3, user security model.
    V3 {
        /// The USM user name (not a secret).
        user: String,
        /// Authentication protocol and password; `None` is noAuthNoPriv.
        auth: Option<(AuthProtocol, String)>,
        /// Privacy protocol and password; needs `auth`.
        privacy: Option<(PrivProtocol, String)>,
    },
}

impl Credentials {
    /// Resolve a profile's secrets (environment variables, files, inline values).
    pub fn from_profile(p: &SnmpProfile) -> Result<Credentials, SecretError> {
        Ok(match p {
            SnmpProfile::V2c { community } => Credentials::V2c { community: community.resolve()? },
            SnmpProfile::V3 { user, auth, privacy } => Credentials::V3 {
                user: user.clone(),
                auth: auth
                    .as_ref()
                    .map(|(p, s)| Ok::<_, SecretError>((*p, s.resolve()?)))
                    .transpose()?,
                privacy: privacy
                    .as_ref()
                    .map(|(p, s)| Ok::<_, SecretError>((*p, s.resolve()?)))
                    .transpose()?,
            },
        })
    }

    /// The USM security level, as net-snmp spells it (`v2c` for community credentials).
    pub fn level(&self) -> &'static str {
        match self {
            Credentials::V2c { .. } => "v2c",
            Credentials::V3 { auth: None, .. } => "noAuthNoPriv",
            Credentials::V3 { privacy: None, .. } => "authNoPriv",
            Credentials::V3 { .. } => "authPriv",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V2c { .. } => f.write_str("V2c { community: <redacted> }"),
            Credentials::V3 { user, auth, privacy } => {
                let auth = auth.as_ref().map(|(p, _)| p.as_str()).unwrap_or("none");
                let privacy = privacy.as_ref().map(|(p, _)| p.as_str()).unwrap_or("none");
                write!(
                    f,
                    "V3 {{ user: {user:?}, auth: {auth} <redacted>, privacy: {privacy} <redacted> }}"
                )
            }
        }
    }
}

/// One agent to poll over one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpTarget {
    /// The agent's address; its family is the family polled.
    pub address: IpAddr,
    /// UDP port (161 unless the inventory says otherwise).
    pub port: u16,
    /// Credentials.
    pub credentials: Credentials,
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// How many times to resend a request that got no reply (each on a fresh session).
    pub retries: u32,
    /// How long the whole poll may take, every request and table walk together: what was
    /// read by then is kept and the poll ends (the agent gives its SNMP interval).
    pub deadline: Duration,
}

impl SnmpTarget {
    /// The agent's socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::SecretRef;

    #[test]
    fn debug_never_shows_a_secret() {
        let v2 = Credentials::V2c { community: "s3cr3t-community".into() };
        let v3 = Credentials::V3 {
            user: "monitor".into(),
            auth: Some((AuthProtocol::Sha256, "auth-pass-xyz".into())),
            privacy: Some((PrivProtocol::Aes128, "priv-pass-xyz".into())),
        };
        let target = SnmpTarget {
            address: "198.18.0.1".parse().unwrap(),
            port: 161,
            credentials: v3.clone(),
            timeout: Duration::from_secs(1),
            retries: 1,
            deadline: Duration::from_secs(60),
        };
        for text in [format!("{v2:?}"), format!("{v3:?}"), format!("{target:?}")] {
            for secret in ["s3cr3t", "auth-pass", "priv-pass"] {
                assert!(!text.contains(secret), "{text} shows {secret}");
            }
        }
        assert!(format!("{v3:?}").contains("monitor") && format!("{v3:?}").contains("sha256"));
    }

    #[test]
    fn profiles_resolve_to_credentials_and_levels() {
        let p = SnmpProfile::V3 {
            user: "u".into(),
            auth: Some((AuthProtocol::Md5, SecretRef::Inline("authpass1".into()))),
            privacy: None,
        };
        let c = Credentials::from_profile(&p).unwrap();
        assert_eq!(
            c,
            Credentials::V3 {
                user: "u".into(),
                auth: Some((AuthProtocol::Md5, "authpass1".into())),
                privacy: None
            }
        );
        assert_eq!(c.level(), "authNoPriv");
        let missing = SnmpProfile::V2c {
            community: SecretRef::Env("VIGIA_TEST_COMMUNITY_THAT_IS_NOT_SET".into()),
        };
        assert_eq!(
            Credentials::from_profile(&missing),
            Err(SecretError::EnvNotSet("VIGIA_TEST_COMMUNITY_THAT_IS_NOT_SET".into()))
        );
    }
}

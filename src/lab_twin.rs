//! The lab twin of an inventory: the monitor's inventory turned into the lab's whole input, a
//! [`vigia_lab::LabSpec`] (devices, addresses, link models, SNMP communities and users, the
//! request that proves an agent answers).
//!
//! This module belongs to the `vigia` binary, never to its library: the library does not depend
//! on the lab crate (tests/boundaries.rs holds that), and the lab crate knows nothing of
//! inventories. The tests that build twins include this file.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use chrono::NaiveDate;
use vigia::inventory::{
    self, Device, Family, Inventory, LabLink, LinkMedium, SecretError, SecretRef, SnmpProfile,
};
use vigia::poll::vendor;
use vigia_lab::served::CLASS_CHASSIS;
use vigia_lab::{
    AgentConfig, LabDevice, LabError, LabSpec, LinkModel, PhysicalEntity, ServedTable, V3User,
};

/// Why an inventory has no lab twin. Never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    /// The lab refuses the spec (an address outside the lab ranges, a bad name, ...).
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A device's SNMP secret cannot be read.
    #[error("device {device}: SNMP secret cannot be read: {source}")]
    Secret {
        /// The device.
        device: String,
        /// Why (names the variable or file, never the value).
        source: SecretError,
    },
}

impl TwinError {
    /// True when the error is about the input (exit code 64), not about running it.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            TwinError::Lab(e) => e.is_invalid_input(),
            TwinError::Secret { .. } => true,
        }
    }
}

/// What every twin agent must answer, through its link, before the lab counts as up: the SNMP
/// probe's own engine-discovery request, so the lab is ready exactly when the probe can reach
/// its agents.
pub fn readiness_request() -> Vec<u8> {
    vigia::probe::snmp::discovery_request(1)
}

/// The program lab agents' snmpd runs to serve their tables: in this package's tests, the
/// holder Cargo built for them; otherwise `vigia-lab-holder` beside this executable.
pub fn served_program() -> Option<PathBuf> {
    if let Some(built) = option_env!("CARGO_BIN_EXE_vigia-lab-holder") {
        return Some(PathBuf::from(built));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.with_file_name(vigia_lab::holder::PROGRAM))
}

/// What a twin agent says it is, from the inventory: sysObjectID from the vendor's enterprise
/// number (when vigia knows the vendor as a maker), and, when the inventory records a model or
/// a serial, an ENTITY-MIB chassis row with them. Tests change these through the spec or,
/// while the lab runs, with `Lab::serve`.
pub fn identity(d: &Device) -> (Option<String>, ServedTable) {
    let known = d.vendor.as_deref().and_then(vendor::by_name).filter(|v| v.maker);
    let sys_object_id = known.map(|v| format!(".1.3.6.1.4.1.{}", v.enterprise));
    if d.model.is_none() && d.serial.is_none() {
        return (sys_object_id, ServedTable::default());
    }
    let maker = known.map_or_else(|| d.vendor.clone().unwrap_or_default(), |v| v.name.to_owned());
    let model = d.model.clone().unwrap_or_default();
    let chassis = PhysicalEntity {
        descr: [maker.as_str(), model.as_str()]
            .iter()
            .filter(|t| !t.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        class: CLASS_CHASSIS,
        contained_in: 0,
        name: "chassis".into(),
        serial: d.serial.clone().unwrap_or_default(),
        mfg_name: maker,
        model,
        ..PhysicalEntity::default()
    };
    (sys_object_id, ServedTable::entity(&[chassis]))
}

/// The lab's model of a site's link: `None` (the main site) is the LAN; a site with no link
/// (`Some(LinkMedium::None)`) has no route at all and gets no model.
pub fn link_model(link: Option<LinkMedium>) -> Option<LinkModel> {
    match link {
        None => Some(LinkModel::LAN),
        Some(LinkMedium::Fibre) => Some(LinkModel::FIBRE),
        Some(LinkMedium::Radio) => Some(LinkModel::RADIO),
        Some(LinkMedium::None) => None,
    }
}

/// The lab's model of a site's link: the inventory's lab-only figures for it (`lab.links`) when
/// it has them, else its medium's model ([`link_model`]).
pub fn site_link_model(inv: &Inventory, site: Option<&inventory::Site>) -> Option<LinkModel> {
    let medium = link_model(site.and_then(|s| s.link))?;
    Some(match site.and_then(|s| inv.lab.links.get(&s.id)) {
        Some(LabLink { delay, jitter, loss }) => {
            LinkModel { delay: *delay, jitter: *jitter, loss: *loss }
        }
        None => medium,
    })
}

/// The lab's id of a device's silent address (`lab.silent`): a device of the lab of its own,
/// behind the same link, with no host, so probes to the address time out.
pub fn silent_id(device: &str, family: Family) -> String {
    format!("{device}-{family}-silent")
}

/// The lab's name of an inventory's authentication protocol.
pub fn auth_protocol(p: inventory::AuthProtocol) -> vigia_lab::AuthProtocol {
    use inventory::AuthProtocol as A;
    match p {
        A::Md5 => vigia_lab::AuthProtocol::Md5,
        A::Sha1 => vigia_lab::AuthProtocol::Sha1,
        A::Sha224 => vigia_lab::AuthProtocol::Sha224,
        A::Sha256 => vigia_lab::AuthProtocol::Sha256,
        A::Sha384 => vigia_lab::AuthProtocol::Sha384,
        A::Sha512 => vigia_lab::AuthProtocol::Sha512,
    }
}

/// The lab's name of an inventory's privacy protocol.
pub fn priv_protocol(p: inventory::PrivProtocol) -> vigia_lab::PrivProtocol {
    use inventory::PrivProtocol as P;
    match p {
        P::Des => vigia_lab::PrivProtocol::Des,
        P::Aes128 => vigia_lab::PrivProtocol::Aes128,
        P::Aes192 => vigia_lab::PrivProtocol::Aes192,
        P::Aes256 => vigia_lab::PrivProtocol::Aes256,
    }
}

/// Each polled address on `day` outside the lab ranges, as `DEVICE ADDRESS`: an inventory
/// with none can have a twin.
pub fn outside_lab(inv: &Inventory, day: NaiveDate) -> Vec<String> {
    inv.polled_devices(day)
        .flat_map(|d| d.families().filter_map(move |f| Some((d, d.address(f)?))))
        .filter(|(_, a)| !vigia_lab::in_lab_range(*a))
        .map(|(d, a)| format!("{} {a}", d.id))
        .collect()
}

/// The lab of an inventory's polled devices on `day`, each with its site's link model, its
/// own SNMP credentials (secrets resolved now) and identity. Fails on any address outside
/// the lab ranges, naming the device and the address, and on any secret it cannot read.
pub fn spec_from_inventory(
    inv: &Inventory,
    name: &str,
    day: NaiveDate,
) -> Result<LabSpec, TwinError> {
    vigia_lab::check_name(name)?;
    let mut devices = Vec::new();
    for d in inv.polled_devices(day) {
        for a in d.ipv4.map(IpAddr::V4).into_iter().chain(d.ipv6.map(IpAddr::V6)) {
            if !vigia_lab::in_lab_range(a) {
                return Err(LabError::OutsideLab { device: d.id.to_string(), address: a }.into());
            }
        }
        let site = inv.site(&d.site);
        let agent = match &d.snmp {
            None => None,
            Some(snmp) => {
                let (communities, users) = credentials(&d.id, &snmp.profile)?;
                let what: Vec<&str> =
                    [d.vendor.as_deref(), d.model.as_deref()].into_iter().flatten().collect();
                let sys_descr = if what.is_empty() {
                    format!("{} (vigia lab)", d.class)
                } else {
                    format!("{} {} (vigia lab)", what.join(" "), d.class)
                };
                let (sys_object_id, served) = identity(d);
                Some(AgentConfig {
                    communities,
                    users,
                    sys_name: d.id.to_string(),
                    sys_location: site.map_or_else(|| d.site.to_string(), |s| s.name.clone()),
                    sys_descr,
                    sys_contact: "OTIC, Municipalidad Provincial de Tacna (vigia lab)".into(),
                    sys_object_id,
                    served,
                })
            }
        };
        let link = site_link_model(inv, site);
        let mut device = LabDevice {
            id: d.id.to_string(),
            ipv4: d.ipv4,
            ipv6: d.ipv6,
            link,
            present: true,
            agent,
        };
        // A silent address moves to a device of its own that no host holds: routed into the
        // lab through the same link, answered by nothing (its snmpd does not bind it either).
        let mut silent = Vec::new();
        for family in Family::ALL {
            if !inv.lab.silent.contains(&(d.id.clone(), *family)) {
                continue;
            }
            let (ipv4, ipv6) = match family {
                Family::Ipv4 => (device.ipv4.take(), None),
                Family::Ipv6 => (None, device.ipv6.take()),
            };
            let id = silent_id(&d.id, *family);
            silent.push(LabDevice { id, ipv4, ipv6, link, present: false, agent: None });
        }
        if device.ipv4.is_some() || device.ipv6.is_some() {
            devices.push(device);
        }
        devices.extend(silent);
    }
    let spec = LabSpec {
        name: name.to_owned(),
        host_v4: vigia_lab::DEFAULT_HOST_V4,
        host_v6: vigia_lab::DEFAULT_HOST_V6,
        seed: vigia_lab::seed_of(name),
        devices,
        readiness_request: readiness_request(),
        served_program: served_program(),
    };
    vigia_lab::validate(&spec)?;
    Ok(spec)
}

/// A device's communities and v3 users, secrets resolved.
fn credentials(
    device: &str,
    profile: &SnmpProfile,
) -> Result<(Vec<String>, Vec<V3User>), TwinError> {
    let secret = |r: &SecretRef| {
        r.resolve().map_err(|source| TwinError::Secret { device: device.to_owned(), source })
    };
    Ok(match profile {
        SnmpProfile::V2c { community } => (vec![secret(community)?], vec![]),
        SnmpProfile::V3 { user, auth, privacy } => {
            let auth = match auth {
                Some((p, s)) => Some((auth_protocol(*p), secret(s)?)),
                None => None,
            };
            let privacy = match privacy {
                Some((p, s)) => Some((priv_protocol(*p), secret(s)?)),
                None => None,
            };
            (vec![], vec![V3User { name: user.clone(), auth, privacy }])
        }
    })
}

/// The twin `vigia lab up` builds: the inventory's polled devices today, with these host
/// addresses.
pub fn cli_spec(
    inv: &Inventory,
    name: &str,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
) -> Result<LabSpec, TwinError> {
    let mut spec = spec_from_inventory(inv, name, vigia::clock::Clock::Wall.local_today())?;
    spec.host_v4 = host_v4;
    spec.host_v6 = host_v6;
    vigia_lab::validate(&spec)?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_site_medium_has_its_link_model() {
        assert_eq!(link_model(None), Some(LinkModel::LAN));
        assert_eq!(link_model(Some(LinkMedium::Fibre)), Some(LinkModel::FIBRE));
        assert_eq!(link_model(Some(LinkMedium::Radio)), Some(LinkModel::RADIO));
        assert_eq!(link_model(Some(LinkMedium::None)), None);
    }

    #[test]
    fn every_protocol_keeps_its_name_in_the_lab() {
        for p in inventory::AuthProtocol::ALL {
            assert_eq!(auth_protocol(*p).to_string(), p.as_str());
        }
        for p in inventory::PrivProtocol::ALL {
            assert_eq!(priv_protocol(*p).to_string(), p.as_str());
        }
    }
}

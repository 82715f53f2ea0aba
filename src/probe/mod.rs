//! The adapters that ask devices: ICMP echo cycles ([`icmp`]) and SNMP polls ([`snmp`]).
//!
//! What they find is plain data of the core ([`crate::poll`]), re-exported here for their
//! callers; what to ask an SNMP agent ([`SnmpQuery`]) is the adapter's own.

pub mod icmp;
pub mod snmp;

pub use crate::poll::{
    Counter, EntityInfo, Family, HostResources, IcmpOutcome, IcmpReport, Interface,
    InterfaceCounters, InterfaceTotals, PollOutcome, ProbeKind, SnmpCost, SnmpOutcome, SnmpReport,
    Storage, SystemInfo,
};

/// What to ask in one SNMP poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnmpQuery {
    /// The system group (always useful: it proves the agent answers).
    pub system: bool,
    /// IF-MIB interfaces (walked over one family only).
    pub interfaces: bool,
    /// ENTITY-MIB model and serial.
    pub entity: bool,
    /// HOST-RESOURCES (servers).
    pub host_resources: bool,
    /// Radio vendor tables (`poll/radio.rs`).
    pub radio: RadioQuery,
    /// Transceiver power (ENTITY-SENSOR-MIB; `poll/optics.rs`).
    pub optics: bool,
}

/// Whether devices of this class are asked for transceiver power: those with fibre ports
/// (switches, routers, firewalls). Servers, access points and radios are not walked for it.
pub fn optics_for_class(class: crate::inventory::DeviceClass) -> bool {
    use crate::inventory::DeviceClass;
    matches!(class, DeviceClass::Switch | DeviceClass::Router | DeviceClass::Firewall)
}

/// Which radio vendor tables a poll walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadioQuery {
    /// None.
    No,
    /// The tables of the vendor the sysObjectID names (any device: a bridge may be recorded
    /// as a switch), none for other vendors.
    ByVendor,
    /// The vendor's tables when the sysObjectID names a supported vendor, else every table
    /// (a device of class radio: its agent may answer with another maker's number).
    All,
}

impl RadioQuery {
    /// What a device of this class is asked: every device its vendor's tables, a radio all.
    pub fn for_class(class: crate::inventory::DeviceClass) -> RadioQuery {
        if class == crate::inventory::DeviceClass::Radio {
            RadioQuery::All
        } else {
            RadioQuery::ByVendor
        }
    }
}

impl SnmpQuery {
    /// Only the system group: the cheap "does SNMP work over this family" question.
    pub const SYSTEM: SnmpQuery = SnmpQuery {
        system: true,
        interfaces: false,
        entity: false,
        host_resources: false,
        radio: RadioQuery::No,
        optics: false,
    };
}

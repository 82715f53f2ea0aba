//! Who made a device, from the IANA private enterprise number its sysObjectID starts with
//! (`1.3.6.1.4.1.N...`), and how vendor names compare.
//!
//! Only numbers confirmed in a public source are listed; each entry says which. An agent whose
//! number belongs to software rather than to the maker of the hardware (net-snmp, Microsoft's
//! Windows SNMP service, VMware ESXi) names no maker: the report says which agent answered and
//! leaves the vendor to entPhysicalMfgName or to the inventory.

/// A vendor vigia recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vendor {
    /// Its IANA private enterprise number.
    pub enterprise: u32,
    /// The name reports show.
    pub name: &'static str,
    /// Other spellings people write in an inventory (compared after [`normalize`]).
    pub aliases: &'static [&'static str],
    /// Vendors that sell the same hardware under each other's names compare equal when they
    /// share a group (an Aruba switch may report HPE's number, and the inventory say "HP").
    pub group: &'static str,
    /// True when the number identifies the maker of the device; false when it identifies the
    /// agent software (net-snmp, Windows, ESXi), which says nothing of the hardware.
    pub maker: bool,
}

/// The vendors, by enterprise number. Sources:
/// - 9, 11, 311, 2636: Wireshark's `epan/sminmpec.h` (SMI Network Management Private
///   Enterprise Codes, taken from https://www.iana.org/assignments/enterprise-numbers).
/// - Each other number: the vendor's own MIB module, as LibreNMS ships it
///   (github.com/librenms/librenms, `mibs/`): 674 `dell/Dell-Vendor-MIB`
///   (`dell ::= { enterprises 674 }`); 2011 `huawei/HUAWEI-MIB`; 6876 `vmware/VMWARE-ROOT-MIB`;
///   11863 `tplink/TPLINK-MIB`; 12356 `fortinet/FORTINET-CORE-MIB` ("assigned by IANA");
///   14823 `arubaos/ARUBA-MIB`; 14988 `mikrotik/MIKROTIK-MIB`; 41112 `ubnt/UBNT-MIB`;
///   47196 `arubaos-cx/ARUBAWIRED-NETWORKING-OID` (`hpe ::= { enterprises 47196 }`).
/// - 8072: net-snmp's `NET-SNMP-MIB` (Debian package libsnmp-base,
///   `/usr/share/snmp/mibs/NET-SNMP-MIB.txt`).
pub const VENDORS: &[Vendor] = &[
    Vendor {
        enterprise: 9,
        name: "Cisco",
        aliases: &["cisco systems", "ciscosystems", "cisco systems inc"],
        group: "cisco",
        maker: true,
    },
    Vendor {
        enterprise: 11,
        name: "HP",
        aliases: &["hewlett packard", "hewlett-packard", "hp inc", "hpinc"],
        group: "hp",
        maker: true,
    },
    Vendor { enterprise: 311, name: "Microsoft", aliases: &[], group: "microsoft", maker: false },
    Vendor {
        enterprise: 674,
        name: "Dell",
        aliases: &["dell inc", "dell emc", "dell technologies"],
        group: "dell",
        maker: true,
    },
    Vendor {
        enterprise: 2011,
        name: "Huawei",
        aliases: &["huawei technologies", "huawei technologies co ltd"],
        group: "huawei",
        maker: true,
    },
    Vendor {
        enterprise: 2636,
        name: "Juniper",
        aliases: &["juniper networks"],
        group: "juniper",
        maker: true,
    },
    Vendor {
        enterprise: 6876,
        name: "VMware",
        aliases: &["vmware inc"],
        group: "vmware",
        maker: false,
    },
    Vendor { enterprise: 8072, name: "net-snmp", aliases: &[], group: "net-snmp", maker: false },
    Vendor {
        enterprise: 11863,
        name: "TP-Link",
        aliases: &["tp link", "tplink", "tp-link technologies"],
        group: "tp-link",
        maker: true,
    },
    Vendor {
        enterprise: 12356,
        name: "Fortinet",
        aliases: &["fortinet inc", "fortinet technologies"],
        group: "fortinet",
        maker: true,
    },
    Vendor {
        enterprise: 14823,
        name: "Aruba",
        aliases: &["aruba networks", "aruba a hewlett packard enterprise company"],
        group: "hp",
        maker: true,
    },
    Vendor { enterprise: 14988, name: "MikroTik", aliases: &[], group: "mikrotik", maker: true },
    Vendor {
        enterprise: 41112,
        name: "Ubiquiti",
        aliases: &["ubiquiti networks", "ubiquiti inc", "ubnt"],
        group: "ubiquiti",
        maker: true,
    },
    Vendor {
        enterprise: 47196,
        name: "HPE",
        aliases: &["hewlett packard enterprise", "hpe aruba networking"],
        group: "hp",
        maker: true,
    },
];

/// The `1.3.6.1.4.1` prefix of private enterprise OIDs.
const ENTERPRISES: [u32; 6] = [1, 3, 6, 1, 4, 1];

/// The enterprise number of a dotted sysObjectID (`1.3.6.1.4.1.12356.101.1.5004` -> 12356).
pub fn enterprise_of(object_id: &str) -> Option<u32> {
    let mut arcs = object_id.trim().trim_start_matches('.').split('.').map(str::parse::<u32>);
    for want in ENTERPRISES {
        if arcs.next()?.ok()? != want {
            return None;
        }
    }
    arcs.next()?.ok()
}

/// The vendor with enterprise number `n`.
pub fn by_enterprise(n: u32) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.enterprise == n)
}

/// The vendor a dotted sysObjectID belongs to.
pub fn of_object_id(object_id: &str) -> Option<&'static Vendor> {
    by_enterprise(enterprise_of(object_id)?)
}

/// The vendor a name (as an inventory or entPhysicalMfgName writes it) stands for.
pub fn by_name(name: &str) -> Option<&'static Vendor> {
    let n = normalize(name);
    if n.is_empty() {
        return None;
    }
    VENDORS.iter().find(|v| normalize(v.name) == n || v.aliases.iter().any(|a| normalize(a) == n))
}

/// Lower case, letters and digits only: `Fortinet, Inc.` and `fortinet inc` are one name.
pub fn normalize(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Whether two vendor names mean the same maker: the same known vendor (or vendors of one
/// group), or, for names vigia does not know, the same [`normalize`]d text.
pub fn same(a: &str, b: &str) -> bool {
    match (by_name(a), by_name(b)) {
        (Some(x), Some(y)) => x.group == y.group,
        _ => normalize(a) == normalize(b) && !normalize(a).is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_numbers_come_from_the_sys_object_id() {
        assert_eq!(enterprise_of("1.3.6.1.4.1.12356.101.1.5004"), Some(12356));
        assert_eq!(enterprise_of(".1.3.6.1.4.1.9"), Some(9));
        assert_eq!(enterprise_of("1.3.6.1.2.1.1"), None);
        assert_eq!(enterprise_of("1.3.6.1.4.1"), None);
        assert_eq!(enterprise_of("garbage"), None);
        assert_eq!(of_object_id("1.3.6.1.4.1.14988.1").map(|v| v.name), Some("MikroTik"));
        assert_eq!(of_object_id("1.3.6.1.4.1.8072.3.2.10").map(|v| v.maker), Some(false));
        assert_eq!(of_object_id("1.3.6.1.4.1.99999.1"), None);
    }

    #[test]
    fn the_table_has_one_entry_per_number_and_name() {
        for (i, v) in VENDORS.iter().enumerate() {
            for w in &VENDORS[i + 1..] {
                assert_ne!(v.enterprise, w.enterprise);
                assert_ne!(normalize(v.name), normalize(w.name));
            }
            assert_eq!(by_name(v.name), Some(v));
            for a in v.aliases {
                assert_eq!(by_name(a), Some(v), "{a}");
            }
        }
    }

    #[test]
    fn names_compare_by_maker() {
        assert!(same("Fortinet", "FORTINET, Inc."));
        assert!(same("HP", "HPE"), "one group");
        assert!(same("Aruba Networks", "Hewlett Packard Enterprise"));
        assert!(!same("Cisco", "Huawei"));
        assert!(same("Acme Corp", "acme-corp"), "unknown names compare as text");
        assert!(!same("", ""));
    }
}

//! What devices say about themselves, set beside what the inventory declares: per device the
//! declared and the discovered vendor, model and serial, a verdict, the evidence (which poll,
//! when), the replacements the serial history shows, and what `vigia inventory suggest` may
//! propose. Pure: it reads the inventory and a [`History`] for an as-of instant.
//!
//! Discovered values are never passed off as declared: every consumer keeps them apart (the
//! renewal report marks them, `suggest` writes them for a person to review).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::{AsOf, FactRecord, History};
use crate::inventory::catalog;
use crate::inventory::{Device, DeviceClass, DeviceId, Family, Inventory, SiteId};
use crate::lifecycle::{SiteIndex, in_service};
use crate::poll::{Fact, vendor};

names! {
    /// How what a device reports compares with what the inventory declares.
    Verdict {
        /// Declared and discovered agree on every field both have.
        Match = "match",
        /// A field the inventory declares differs from what the device reports.
        Mismatch = "mismatch",
        /// The inventory declares what the device, polled over SNMP, never reported.
        DeclaredOnly = "declared_only",
        /// The device reports what the inventory does not declare.
        DiscoveredOnly = "discovered_only",
        /// vigia does not poll the device over SNMP and knows nothing it reported.
        NoSnmp = "no_snmp",
        /// Polled over SNMP, yet neither declared nor reported.
        NoData = "no_data",
    }
}

names! {
    /// An identity field compared.
    Field { Vendor = "vendor", Model = "model", Serial = "serial" }
}

/// A value a device reported, and the poll that last did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The value.
    pub value: String,
    /// When the current run of this value started (first poll that reported it).
    pub first_seen: DateTime<Utc>,
    /// The last poll that reported it.
    pub last_seen: DateTime<Utc>,
    /// The agent of that poll.
    pub agent: String,
    /// Its address family.
    pub family: Family,
}

impl Seen {
    fn of(r: &FactRecord) -> Seen {
        Seen {
            value: r.value.clone(),
            first_seen: r.first_at,
            last_seen: r.last_at,
            agent: r.agent.clone(),
            family: r.family,
        }
    }
}

/// Everything a device reported of itself, as of an instant: each fact's latest run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reported {
    /// The maker: from the sysObjectID's enterprise number when it names a maker, else from
    /// entPhysicalMfgName.
    pub vendor: Option<Seen>,
    /// entPhysicalModelName.
    pub model: Option<Seen>,
    /// entPhysicalSerialNum.
    pub serial: Option<Seen>,
    /// entPhysicalSoftwareRev.
    pub software_rev: Option<Seen>,
    /// entPhysicalFirmwareRev.
    pub firmware_rev: Option<Seen>,
    /// entPhysicalHardwareRev.
    pub hardware_rev: Option<Seen>,
    /// sysDescr.
    pub sys_descr: Option<Seen>,
    /// sysObjectID.
    pub sys_object_id: Option<Seen>,
    /// The agent software when the sysObjectID names software, not a maker (`net-snmp`).
    pub agent_software: Option<&'static str>,
}

impl Reported {
    /// The value reported for an identity field.
    pub fn field(&self, f: Field) -> Option<&Seen> {
        match f {
            Field::Vendor => self.vendor.as_ref(),
            Field::Model => self.model.as_ref(),
            Field::Serial => self.serial.as_ref(),
        }
    }

    /// The most recent poll that reported anything: the evidence of the row.
    pub fn last(&self) -> Option<&Seen> {
        [
            &self.vendor,
            &self.model,
            &self.serial,
            &self.software_rev,
            &self.firmware_rev,
            &self.hardware_rev,
            &self.sys_descr,
            &self.sys_object_id,
        ]
        .into_iter()
        .flatten()
        .max_by_key(|s| s.last_seen)
    }

    /// From a device's current runs, one per fact (what the agent's state keeps).
    pub fn of_runs<'a>(runs: impl IntoIterator<Item = &'a FactRecord>) -> Reported {
        let map: HashMap<Fact, &FactRecord> = runs.into_iter().map(|r| (r.fact, r)).collect();
        Reported::from_runs(&map)
    }

    fn from_runs(runs: &HashMap<Fact, &FactRecord>) -> Reported {
        let seen = |f: Fact| runs.get(&f).map(|r| Seen::of(r));
        let sys_object_id = seen(Fact::SysObjectId);
        let by_oid = sys_object_id.as_ref().and_then(|s| vendor::of_object_id(&s.value));
        let mfg = seen(Fact::MfgName);
        let vendor = match by_oid {
            Some(v) if v.maker => sys_object_id.clone().map(|s| Seen { value: v.name.into(), ..s }),
            _ => mfg.map(|s| Seen {
                value: vendor::by_name(&s.value).map_or(s.value.clone(), |v| v.name.to_owned()),
                ..s
            }),
        };
        Reported {
            vendor,
            model: seen(Fact::Model),
            serial: seen(Fact::Serial),
            software_rev: seen(Fact::SoftwareRev),
            firmware_rev: seen(Fact::FirmwareRev),
            hardware_rev: seen(Fact::HardwareRev),
            sys_descr: seen(Fact::SysDescr),
            sys_object_id,
            agent_software: by_oid.filter(|v| !v.maker).map(|v| v.name),
        }
    }
}

/// Each device's [`Reported`] as of `before` (exclusive): per fact, the run with the latest
/// sighting that started before it.
pub fn reported(facts: &[FactRecord], before: DateTime<Utc>) -> HashMap<DeviceId, Reported> {
    let mut latest: HashMap<&str, HashMap<Fact, &FactRecord>> = HashMap::new();
    for r in facts.iter().filter(|r| r.first_at < before) {
        let slot = latest.entry(r.device.as_str()).or_default();
        if slot.get(&r.fact).is_none_or(|cur| r.last_at > cur.last_at) {
            slot.insert(r.fact, r);
        }
    }
    latest.iter().map(|(d, runs)| (DeviceId::from(*d), Reported::from_runs(runs))).collect()
}

/// Whether a declared and a discovered value of `field` agree: vendors by maker, models
/// without case, blanks or punctuation, serials without case or surrounding blanks.
pub fn agree(field: Field, declared: &str, discovered: &str) -> bool {
    match field {
        Field::Vendor => vendor::same(declared, discovered),
        Field::Model => catalog::key(declared) == catalog::key(discovered),
        Field::Serial => declared.trim().eq_ignore_ascii_case(discovered.trim()),
    }
}

/// One identity field of a device: declared, discovered, and whether they agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldCheck {
    /// Which field.
    pub field: Field,
    /// What the inventory declares.
    pub declared: Option<String>,
    /// What the device reports.
    pub discovered: Option<String>,
    /// `None` unless both are known.
    pub agrees: Option<bool>,
}

/// One device: what the inventory declares, what the device reports, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceIdentity {
    /// Device id.
    pub device: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Site name.
    pub site_name: String,
    /// Class.
    pub class: DeviceClass,
    /// Whether vigia polls it over SNMP (SNMP configured, device polled).
    pub snmp: bool,
    /// Vendor, model and serial, each declared and discovered.
    pub fields: Vec<FieldCheck>,
    /// The verdict.
    pub verdict: Verdict,
    /// Everything the device reported (empty when nothing).
    pub reported: Reported,
}

impl DeviceIdentity {
    /// The check of `field`.
    pub fn field(&self, f: Field) -> &FieldCheck {
        &self.fields[Field::ALL.iter().position(|x| *x == f).expect("every field is checked")]
    }
}

/// A replacement the serial history shows: one serial's run followed by another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// Device id.
    pub device: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// When the new serial was first seen.
    pub at: DateTime<Utc>,
    /// The serial before.
    pub old_serial: String,
    /// The serial after.
    pub new_serial: String,
    /// The model reported with the old serial, if any.
    pub old_model: Option<String>,
    /// The model reported with the new serial, if any.
    pub new_model: Option<String>,
    /// When the old serial was last seen.
    pub old_last_seen: DateTime<Utc>,
    /// The agent that first saw the new serial.
    pub agent: String,
}

/// The replacements in `facts` (runs before `before`), oldest first.
pub fn replacements(
    inv: &Inventory,
    facts: &[FactRecord],
    before: DateTime<Utc>,
) -> Vec<Replacement> {
    let mut serials: HashMap<&str, Vec<&FactRecord>> = HashMap::new();
    let mut models: HashMap<&str, Vec<&FactRecord>> = HashMap::new();
    for r in facts.iter().filter(|r| r.first_at < before) {
        match r.fact {
            Fact::Serial => serials.entry(r.device.as_str()).or_default().push(r),
            Fact::Model => models.entry(r.device.as_str()).or_default().push(r),
            _ => {}
        }
    }
    // The model reported at `at`: the run started latest at or before it.
    let model_at = |device: &str, at: DateTime<Utc>| {
        models
            .get(device)
            .and_then(|runs| runs.iter().filter(|r| r.first_at <= at).max_by_key(|r| r.first_at))
            .map(|r| r.value.clone())
    };
    let mut out = Vec::new();
    for (device, mut runs) in serials {
        runs.sort_by_key(|r| (r.first_at, r.last_at));
        for pair in runs.windows(2) {
            let (old, new) = (pair[0], pair[1]);
            if old.value == new.value {
                continue;
            }
            let site = inv.device(device).map_or_else(|| SiteId::from(""), |d| d.site.clone());
            out.push(Replacement {
                device: old.device.clone(),
                site,
                at: new.first_at,
                old_serial: old.value.clone(),
                new_serial: new.value.clone(),
                old_model: model_at(device, old.last_at),
                new_model: model_at(device, new.first_at),
                old_last_seen: old.last_at,
                agent: new.first_agent.clone(),
            });
        }
    }
    out.sort_by(|a, b| (a.at, &a.device).cmp(&(b.at, &b.device)));
    out
}

/// The comparison of the whole inventory as of a moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryCheck {
    /// The moment described.
    pub as_of: AsOf,
    /// Every device in service, in inventory order.
    pub devices: Vec<DeviceIdentity>,
    /// Replacements seen in the history up to the as-of instant, oldest first.
    pub replacements: Vec<Replacement>,
}

impl InventoryCheck {
    /// How many devices have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.devices.iter().filter(|d| d.verdict == verdict).count()
    }
}

/// Compare every device in service on the as-of day with what it reported before the as-of
/// instant.
pub fn analyse(inv: &Inventory, history: &History, as_of: AsOf) -> InventoryCheck {
    let sites = SiteIndex::new(inv);
    let mut reported = reported(&history.facts, as_of.instant);
    let devices = inv
        .devices
        .iter()
        .filter(|d| in_service(d, as_of.date))
        .map(|d| {
            let snmp = d.snmp.is_some() && sites.polled(d) && d.is_active(as_of.date);
            let r = reported.remove(&d.id).unwrap_or_default();
            identity(d, sites.get(&d.site).map(|s| s.name.clone()), snmp, r)
        })
        .collect();
    InventoryCheck {
        as_of,
        devices,
        replacements: replacements(inv, &history.facts, as_of.instant),
    }
}

fn declared(d: &Device, f: Field) -> Option<&str> {
    match f {
        Field::Vendor => d.vendor.as_deref(),
        Field::Model => d.model.as_deref(),
        Field::Serial => d.serial.as_deref(),
    }
}

/// One device's comparison: `snmp` says whether vigia polls it over SNMP.
pub fn identity(d: &Device, site_name: Option<String>, snmp: bool, r: Reported) -> DeviceIdentity {
    let fields: Vec<FieldCheck> = Field::ALL
        .iter()
        .map(|f| {
            let declared = declared(d, *f).map(str::to_owned);
            let discovered = r.field(*f).map(|s| s.value.clone());
            let agrees = match (&declared, &discovered) {
                (Some(a), Some(b)) => Some(agree(*f, a, b)),
                _ => None,
            };
            FieldCheck { field: *f, declared, discovered, agrees }
        })
        .collect();
    let any_declared = fields.iter().any(|f| f.declared.is_some());
    let any_discovered = fields.iter().any(|f| f.discovered.is_some());
    let verdict = if fields.iter().any(|f| f.agrees == Some(false)) {
        Verdict::Mismatch
    } else if fields.iter().any(|f| f.agrees == Some(true)) {
        Verdict::Match
    } else if any_discovered {
        Verdict::DiscoveredOnly
    } else if !snmp {
        Verdict::NoSnmp
    } else if any_declared {
        Verdict::DeclaredOnly
    } else {
        Verdict::NoData
    };
    DeviceIdentity {
        device: d.id.clone(),
        site: d.site.clone(),
        site_name: site_name.unwrap_or_default(),
        class: d.class,
        snmp,
        fields,
        verdict,
        reported: r,
    }
}

/// What `vigia inventory suggest` proposes for a device: the discovered values of the identity
/// fields the inventory lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Device id.
    pub device: DeviceId,
    /// Per field lacking in the inventory and reported by the device: the value and its poll.
    pub fields: Vec<(Field, Seen)>,
}

/// The suggestions of a check: devices that lack a field the device reports, in inventory
/// order. A field the inventory declares is never proposed, even when it disagrees.
pub fn suggestions(check: &InventoryCheck) -> Vec<Suggestion> {
    check
        .devices
        .iter()
        .filter_map(|d| {
            let fields: Vec<(Field, Seen)> = Field::ALL
                .iter()
                .filter(|f| d.field(**f).declared.is_none())
                .filter_map(|f| Some((*f, d.reported.field(*f)?.clone())))
                .collect();
            (!fields.is_empty()).then(|| Suggestion { device: d.device.clone(), fields })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testkit::{at, device, inventory, site, with_snmp};

    fn run(device: &str, fact: Fact, value: &str, first: &str, last: &str) -> FactRecord {
        FactRecord {
            device: device.into(),
            fact,
            value: value.into(),
            first_at: at(first),
            first_agent: "a".into(),
            last_at: at(last),
            agent: "a".into(),
            family: Family::Ipv4,
        }
    }

    fn scenario() -> (Inventory, History) {
        let mut devices: Vec<Device> = [
            // Declares what it reports (in other spellings).
            device("fw-same", "main", DeviceClass::Firewall),
            // Declares another model.
            device("sw-other", "main", DeviceClass::Switch),
            // Declares a model, reports nothing.
            device("sw-silent", "main", DeviceClass::Switch),
            // Declares nothing, reports a model and serial.
            device("sw-blank", "main", DeviceClass::Switch),
            // No SNMP, declares a model.
            device("srv-nosnmp", "main", DeviceClass::Server),
            // SNMP, nothing anywhere.
            device("sw-nothing", "main", DeviceClass::Switch),
        ]
        .into_iter()
        .map(with_snmp)
        .collect();
        devices[0].vendor = Some("Fortinet".into());
        devices[0].model = Some("FortiGate 500E".into());
        devices[0].serial = Some("fg5h0e0001".into());
        devices[1].model = Some("WS-C2960X-24PS-L".into());
        devices[2].model = Some("WS-C2960X-48".into());
        devices[4].model = Some("PowerEdge R740".into());
        devices[4].snmp = None;
        let inv = inventory(vec![site("main", None)], devices);
        let facts = vec![
            run(
                "fw-same",
                Fact::SysObjectId,
                "1.3.6.1.4.1.12356.101.1.5004",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run(
                "fw-same",
                Fact::Model,
                "FortiGate-500E",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run(
                "fw-same",
                Fact::Serial,
                "FG5H0E0001",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run(
                "sw-other",
                Fact::Model,
                "WS-C2960X-48TS-L",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run(
                "sw-blank",
                Fact::SysObjectId,
                "1.3.6.1.4.1.8072.3.2.10",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run(
                "sw-blank",
                Fact::MfgName,
                "Ubiquiti Inc.",
                "2026-05-01T10:00:00Z",
                "2026-06-01T10:00:00Z",
            ),
            run("sw-blank", Fact::Model, "USW-24", "2026-05-01T10:00:00Z", "2026-06-01T10:00:00Z"),
            // Replaced on 20 May: SN-1 then SN-2 (and a new model), SN-2 still reported.
            run("sw-blank", Fact::Serial, "SN-1", "2026-05-01T10:00:00Z", "2026-05-20T09:00:00Z"),
            run("sw-blank", Fact::Serial, "SN-2", "2026-05-20T10:00:00Z", "2026-06-01T10:00:00Z"),
            // Reported after the as-of instant: not seen yet.
            run(
                "sw-nothing",
                Fact::Model,
                "future",
                "2026-07-01T10:00:00Z",
                "2026-07-01T10:00:00Z",
            ),
        ];
        (inv, History { facts, ..History::default() })
    }

    #[test]
    fn verdicts_by_hand() {
        let (inv, history) = scenario();
        let check = analyse(&inv, &history, AsOf::at(at("2026-06-02T00:00:00Z")));
        let verdict = |id: &str| check.devices.iter().find(|d| d.device == id).unwrap().verdict;
        assert_eq!(verdict("fw-same"), Verdict::Match);
        assert_eq!(verdict("sw-other"), Verdict::Mismatch);
        assert_eq!(verdict("sw-silent"), Verdict::DeclaredOnly);
        assert_eq!(verdict("sw-blank"), Verdict::DiscoveredOnly);
        assert_eq!(verdict("srv-nosnmp"), Verdict::NoSnmp);
        assert_eq!(
            verdict("sw-nothing"),
            Verdict::NoData,
            "a fact after the as-of instant is unseen"
        );
        let blank = check.devices.iter().find(|d| d.device == "sw-blank").unwrap();
        assert_eq!(
            blank.reported.vendor.as_ref().unwrap().value,
            "Ubiquiti",
            "maker from the MfgName"
        );
        assert_eq!(blank.reported.agent_software, Some("net-snmp"));
        assert_eq!(blank.field(Field::Serial).discovered.as_deref(), Some("SN-2"));
        let same = check.devices.iter().find(|d| d.device == "fw-same").unwrap();
        assert_eq!(same.reported.vendor.as_ref().unwrap().value, "Fortinet");
        assert_eq!(check.count(Verdict::Match), 1);
    }

    #[test]
    fn a_serial_followed_by_another_is_a_replacement_with_both_models() {
        let (inv, mut history) = scenario();
        history.facts.push(run(
            "sw-blank",
            Fact::Model,
            "USW-48",
            "2026-05-20T10:00:00Z",
            "2026-06-01T10:00:00Z",
        ));
        let r = replacements(&inv, &history.facts, at("2026-06-02T00:00:00Z"));
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].old_serial.as_str(), r[0].new_serial.as_str()), ("SN-1", "SN-2"));
        assert_eq!(
            (r[0].old_model.as_deref(), r[0].new_model.as_deref()),
            (Some("USW-24"), Some("USW-48"))
        );
        assert_eq!(r[0].at, at("2026-05-20T10:00:00Z"));
        assert!(
            replacements(&inv, &history.facts, at("2026-05-20T10:00:00Z")).is_empty(),
            "not yet"
        );
    }

    #[test]
    fn suggestions_fill_only_what_the_inventory_lacks() {
        let (inv, history) = scenario();
        let check = analyse(&inv, &history, AsOf::at(at("2026-06-02T00:00:00Z")));
        let s = suggestions(&check);
        let ids: Vec<&str> = s.iter().map(|s| s.device.as_str()).collect();
        // fw-same declares all three; sw-other declares its (other) model and reports nothing
        // else: neither is proposed anything.
        assert_eq!(ids, ["sw-blank"]);
        let blank: Vec<(Field, &str)> =
            s[0].fields.iter().map(|(f, v)| (*f, v.value.as_str())).collect();
        assert_eq!(
            blank,
            [(Field::Vendor, "Ubiquiti"), (Field::Model, "USW-24"), (Field::Serial, "SN-2")]
        );
    }
}

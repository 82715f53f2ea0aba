//! What vigia reads from each MIB, and how rows of values become the probe's types.

use std::collections::BTreeMap;

use super::value::{ObjectId, Val, Varbind, dotted};
use crate::poll::{Counter, EntityInfo, HostResources, Interface, Storage, SystemInfo};

/// SNMPv2-MIB system group scalars, in the order [`system_info`] expects them.
pub(crate) const SYSTEM: [&[u32]; 6] = [
    &[1, 3, 6, 1, 2, 1, 1, 1, 0], // sysDescr
    &[1, 3, 6, 1, 2, 1, 1, 2, 0], // sysObjectID
    &[1, 3, 6, 1, 2, 1, 1, 3, 0], // sysUpTime
    &[1, 3, 6, 1, 2, 1, 1, 5, 0], // sysName
    &[1, 3, 6, 1, 2, 1, 1, 6, 0], // sysLocation
    &[1, 3, 6, 1, 2, 1, 1, 4, 0], // sysContact
];

/// IF-MIB columns other than the counters, in the order of [`IfCol`].
const IF_FIXED: [&[u32]; 8] = [
    &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1],  // ifName
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2],      // ifDescr
    &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18], // ifAlias
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 3],      // ifType
    &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15], // ifHighSpeed
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 5],      // ifSpeed
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8],      // ifOperStatus
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 7],      // ifAdminStatus
];

/// Positions in [`IF_FIXED`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum IfCol {
    Name,
    Descr,
    Alias,
    Type,
    HighSpeed,
    Speed,
    OperStatus,
    AdminStatus,
}

/// One IF-MIB column walked for a counter: which counter, and whether it is the 64-bit object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterColumn {
    pub counter: Counter,
    pub hc: bool,
}

/// The counter columns walked after [`IF_FIXED`], in order: each declared counter's 64-bit
/// object (where IF-MIB has one), then its Counter32 object.
pub(crate) fn counter_columns() -> impl Iterator<Item = CounterColumn> {
    Counter::ALL.into_iter().flat_map(|counter| {
        let hc = counter.oid64().map(|_| CounterColumn { counter, hc: true });
        hc.into_iter().chain([CounterColumn { counter, hc: false }])
    })
}

/// Every IF-MIB column a poll walks: [`IF_FIXED`], then [`counter_columns`].
pub(crate) fn if_columns() -> Vec<&'static [u32]> {
    let counters = counter_columns().map(|c| {
        let (_, oid) =
            if c.hc { c.counter.oid64().expect("an hc column has one") } else { c.counter.oid32() };
        oid
    });
    IF_FIXED.into_iter().chain(counters).collect()
}

/// HOST-RESOURCES-MIB columns, in the order of [`HrCol`].
pub(crate) const HR_COLUMNS: [&[u32]; 6] = [
    &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 2], // hrStorageType
    &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3], // hrStorageDescr
    &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 4], // hrStorageAllocationUnits
    &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 5], // hrStorageSize
    &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 6], // hrStorageUsed
    &[1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2], // hrProcessorLoad
];

/// Positions in [`HR_COLUMNS`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum HrCol {
    StorageType,
    StorageDescr,
    Units,
    Size,
    Used,
    ProcessorLoad,
}

/// hrStorageRam.
const HR_STORAGE_RAM: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 2, 1, 2];
/// hrStorageFixedDisk.
const HR_STORAGE_FIXED_DISK: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 2, 1, 4];

/// ENTITY-MIB entPhysicalEntry: the columns below are `ENT_PHYSICAL_ENTRY.N`.
const ENT_PHYSICAL_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
/// entPhysicalClass column.
pub(crate) const ENT_CLASS: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 5];
/// entPhysicalModelName column.
pub(crate) const ENT_MODEL_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 13];
/// entPhysicalClass chassis(3).
const CLASS_CHASSIS: i64 = 3;

/// The entPhysicalEntry columns read of the chosen entity, in the order of [`EntCol`].
const ENT_READ: [u32; 7] = [2, 13, 11, 8, 9, 10, 12];

/// Positions in [`ENT_READ`].
#[derive(Debug, Clone, Copy)]
enum EntCol {
    Descr,
    Model,
    Serial,
    HardwareRev,
    FirmwareRev,
    SoftwareRev,
    MfgName,
}

/// The instance OIDs of the columns read of entity `index`, in [`EntCol`] order.
pub(crate) fn entity_oids(index: u32) -> Vec<ObjectId> {
    ENT_READ
        .iter()
        .map(|c| ENT_PHYSICAL_ENTRY.iter().copied().chain([*c, index]).collect())
        .collect()
}

/// Rows of one column: instance suffix -> value.
pub(crate) type Rows = Vec<(ObjectId, Val)>;

/// The system group from a GET of [`SYSTEM`]; `None` when the agent has none of it.
pub(crate) fn system_info(varbinds: &[Varbind]) -> Option<SystemInfo> {
    let value = |i: usize| {
        varbinds
            .iter()
            .find(|(o, _)| o.as_slice() == SYSTEM[i])
            .map(|(_, v)| v)
            .filter(|v| !v.is_exception())
    };
    if (0..SYSTEM.len()).all(|i| value(i).is_none()) {
        return None;
    }
    Some(SystemInfo {
        descr: value(0).and_then(Val::as_device_text),
        object_id: value(1).and_then(|v| match v {
            Val::Oid(o) => Some(dotted(o)),
            _ => None,
        }),
        uptime_ticks: value(2).and_then(|v| match v {
            Val::Ticks(t) => Some(*t),
            _ => None,
        }),
        name: value(3).and_then(Val::as_device_text),
        location: value(4).and_then(Val::as_device_text),
        contact: value(5).and_then(Val::as_device_text),
    })
}

/// Single-index rows of a column, keyed by that index (other rows are not this table's).
fn by_index(rows: &[(ObjectId, Val)]) -> BTreeMap<u32, &Val> {
    rows.iter().filter(|(s, _)| s.len() == 1).map(|(s, v)| (s[0], v)).collect()
}

/// IF-MIB rows (the columns of [`if_columns`]) into interfaces, ordered by ifIndex. The
/// counters with a 64-bit variant are read from their ifHC* objects where the agent has both
/// ifHCInOctets and ifHCOutOctets for the interface, else from their 32-bit objects.
pub(crate) fn interfaces(columns: &[Rows]) -> Vec<Interface> {
    let col: Vec<BTreeMap<u32, &Val>> = columns.iter().map(|c| by_index(c)).collect();
    let get = |c: IfCol, i: u32| col.get(c as usize).and_then(|m| m.get(&i).copied());
    let num = |c: IfCol, i: u32| get(c, i).and_then(Val::as_u64);
    let at: Vec<CounterColumn> = counter_columns().collect();
    let counter = |want: CounterColumn, i: u32| {
        let n = at.iter().position(|c| *c == want)?;
        col.get(IF_FIXED.len() + n).and_then(|m| m.get(&i)).and_then(|v| v.as_u64())
    };
    let mut indices: Vec<u32> = col.iter().flat_map(|m| m.keys().copied()).collect();
    indices.sort_unstable();
    indices.dedup();
    indices
        .into_iter()
        .map(|i| {
            let hc = |counter| counter_column(counter, true);
            let low = |counter| counter_column(counter, false);
            let wide = counter(hc(Counter::InOctets), i).is_some()
                && counter(hc(Counter::OutOctets), i).is_some();
            let narrow = counter(low(Counter::InOctets), i).is_some()
                || counter(low(Counter::OutOctets), i).is_some();
            let mut interface = Interface {
                index: i,
                name: get(IfCol::Name, i)
                    .and_then(Val::as_nonempty_text)
                    .or_else(|| get(IfCol::Descr, i).and_then(Val::as_nonempty_text))
                    .unwrap_or_else(|| format!("ifIndex {i}")),
                alias: get(IfCol::Alias, i).and_then(Val::as_nonempty_text),
                if_type: num(IfCol::Type, i).and_then(|t| u32::try_from(t).ok()),
                speed_mbps: num(IfCol::HighSpeed, i)
                    .or_else(|| num(IfCol::Speed, i).map(|bps| bps / 1_000_000)),
                oper_up: get(IfCol::OperStatus, i).and_then(Val::as_i64).map(|s| s == 1),
                admin_up: get(IfCol::AdminStatus, i).and_then(Val::as_i64).map(|s| s == 1),
                counter_bits: if wide {
                    64
                } else if narrow {
                    32
                } else {
                    0
                },
                ..Interface::default()
            };
            for c in Counter::ALL {
                let from_hc = wide && c.oid64().is_some();
                *interface.counter_mut(c) = counter(counter_column(c, from_hc), i);
            }
            interface
        })
        .collect()
}

fn counter_column(counter: Counter, hc: bool) -> CounterColumn {
    CounterColumn { counter, hc }
}

/// hrStorageSize and hrStorageUsed are Integer32; agents with more than 2^31 allocation units
/// send them as if unsigned and they arrive negative. Read them back as the unsigned value.
fn hr_count(v: &Val) -> Option<u64> {
    match v {
        Val::Int(n) if *n < 0 => u64::try_from(*n + (1i64 << 32)).ok(),
        other => other.as_u64(),
    }
}

/// HOST-RESOURCES rows into figures; `None` when the agent has neither storage nor processors.
pub(crate) fn host_resources(columns: &[Rows]) -> Option<HostResources> {
    let col: Vec<BTreeMap<u32, &Val>> = columns.iter().map(|c| by_index(c)).collect();
    let get = |c: HrCol, i: u32| col.get(c as usize).and_then(|m| m.get(&i).copied());
    let loads: Vec<f64> = col
        .get(HrCol::ProcessorLoad as usize)
        .map(|m| m.values().filter_map(|v| v.as_i64()).map(|l| l as f64).collect())
        .unwrap_or_default();
    let types = col.get(HrCol::StorageType as usize).cloned().unwrap_or_default();
    if loads.is_empty() && types.is_empty() {
        return None;
    }
    let mut host = HostResources {
        cpu_load_percent: (!loads.is_empty())
            .then(|| loads.iter().sum::<f64>() / loads.len() as f64),
        ..HostResources::default()
    };
    for (i, ty) in types {
        let Val::Oid(ty) = ty else { continue };
        let units = get(HrCol::Units, i).and_then(Val::as_u64).filter(|u| *u > 0);
        let (Some(units), Some(size)) = (units, get(HrCol::Size, i).and_then(hr_count)) else {
            continue;
        };
        let used = get(HrCol::Used, i).and_then(hr_count).unwrap_or(0);
        let storage = Storage {
            descr: get(HrCol::StorageDescr, i)
                .and_then(Val::as_nonempty_text)
                .unwrap_or_else(|| format!("hrStorageIndex {i}")),
            size_bytes: size.saturating_mul(units),
            used_bytes: used.saturating_mul(units),
        };
        if ty.as_slice() == HR_STORAGE_RAM {
            // Several RAM rows are unusual; add them up rather than keep only one.
            host.memory_total_bytes =
                Some(host.memory_total_bytes.unwrap_or(0).saturating_add(storage.size_bytes));
            host.memory_used_bytes =
                Some(host.memory_used_bytes.unwrap_or(0).saturating_add(storage.used_bytes));
        } else if ty.as_slice() == HR_STORAGE_FIXED_DISK {
            host.disks.push(storage);
        }
    }
    Some(host)
}

/// ENTITY-MIB facts of entity `index` from the GET of [`entity_oids`]; every text made safe
/// ([`crate::poll::text::device_text`]).
pub(crate) fn entity_info(index: u32, varbinds: &[Varbind]) -> EntityInfo {
    let oids = entity_oids(index);
    let text = |c: EntCol| {
        varbinds.iter().find(|(o, _)| *o == oids[c as usize]).and_then(|(_, v)| v.as_device_text())
    };
    EntityInfo {
        index: Some(index),
        descr: text(EntCol::Descr),
        model: text(EntCol::Model),
        serial: text(EntCol::Serial),
        hardware_rev: text(EntCol::HardwareRev),
        firmware_rev: text(EntCol::FirmwareRev),
        software_rev: text(EntCol::SoftwareRev),
        mfg_name: text(EntCol::MfgName),
    }
}

/// The entity that stands for the device, from the class and model-name rows read so far:
/// the first chassis (lowest entPhysicalIndex of class chassis(3)); `Some` only once it is
/// certain (`complete`: both columns were read to their end). Without any chassis, the first
/// entity with a model name.
pub(crate) fn choose_entity(
    classes: &[(ObjectId, Val)],
    models: &[(ObjectId, Val)],
    complete: bool,
) -> Option<u32> {
    let chassis = by_index(classes)
        .into_iter()
        .find_map(|(i, v)| (v.as_i64() == Some(CLASS_CHASSIS)).then_some(i));
    if chassis.is_some() {
        return chassis;
    }
    if !complete {
        return None;
    }
    by_index(models).into_iter().find_map(|(i, v)| v.as_nonempty_text().map(|_| i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[(u32, Val)]) -> Rows {
        entries.iter().map(|(i, v)| (vec![*i], v.clone())).collect()
    }

    /// The walked columns with `fixed` and `counters` set, the others empty.
    fn if_rows(fixed: &[(IfCol, Rows)], counters: &[(Counter, bool, Rows)]) -> Vec<Rows> {
        let mut cols = vec![Rows::new(); if_columns().len()];
        for (c, r) in fixed {
            cols[*c as usize] = r.clone();
        }
        let at: Vec<CounterColumn> = counter_columns().collect();
        for (counter, hc, r) in counters {
            let n = at.iter().position(|c| *c == counter_column(*counter, *hc)).unwrap();
            cols[IF_FIXED.len() + n] = r.clone();
        }
        cols
    }

    #[test]
    fn system_group_by_hand_and_absent_group() {
        let mut vb: Vec<Varbind> = SYSTEM.iter().map(|o| (o.to_vec(), Val::NoSuchObject)).collect();
        assert_eq!(system_info(&vb), None);
        vb[0].1 = Val::Bytes(b"Linux sw1".to_vec());
        vb[1].1 = Val::Oid(vec![1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]);
        vb[2].1 = Val::Ticks(12_345);
        vb[3].1 = Val::Bytes(b"sw1".to_vec());
        let s = system_info(&vb).unwrap();
        assert_eq!(s.descr.as_deref(), Some("Linux sw1"));
        assert_eq!(s.object_id.as_deref(), Some("1.3.6.1.4.1.8072.3.2.10"));
        assert_eq!(s.uptime_ticks, Some(12_345));
        assert_eq!(s.name.as_deref(), Some("sw1"));
        assert_eq!(s.location, None);
    }

    #[test]
    fn interfaces_prefer_64_bit_counters_per_interface_and_fall_back_to_32() {
        let cols = if_rows(
            &[
                (
                    IfCol::Name,
                    rows(&[(1, Val::Bytes(b"lo".to_vec())), (2, Val::Bytes(Vec::new()))]),
                ),
                (
                    IfCol::Descr,
                    rows(&[(1, Val::Bytes(b"lo".to_vec())), (2, Val::Bytes(b"Gi0/1".to_vec()))]),
                ),
                (IfCol::Speed, rows(&[(2, Val::Gauge32(100_000_000))])),
                (IfCol::HighSpeed, rows(&[(1, Val::Gauge32(10))])),
                (IfCol::OperStatus, rows(&[(1, Val::Int(1)), (2, Val::Int(2))])),
                (IfCol::AdminStatus, rows(&[(1, Val::Int(1)), (2, Val::Int(1))])),
            ],
            &[
                (Counter::InOctets, true, rows(&[(1, Val::Counter64(5_000_000_000))])),
                (Counter::OutOctets, true, rows(&[(1, Val::Counter64(6_000_000_000))])),
                (
                    Counter::InOctets,
                    false,
                    rows(&[(1, Val::Counter32(1)), (2, Val::Counter32(700))]),
                ),
                (
                    Counter::OutOctets,
                    false,
                    rows(&[(1, Val::Counter32(2)), (2, Val::Counter32(800))]),
                ),
                (Counter::InErrors, false, rows(&[(2, Val::Counter32(3))])),
            ],
        );
        let ifs = interfaces(&cols);
        assert_eq!(ifs.len(), 2);
        assert_eq!(
            (ifs[0].in_octets, ifs[0].out_octets, ifs[0].counter_bits),
            (Some(5_000_000_000), Some(6_000_000_000), 64)
        );
        assert_eq!(ifs[1].name, "Gi0/1", "empty ifName falls back to ifDescr");
        assert_eq!(
            (ifs[1].in_octets, ifs[1].out_octets, ifs[1].counter_bits),
            (Some(700), Some(800), 32)
        );
        assert_eq!(ifs[0].speed_mbps, Some(10));
        assert_eq!(ifs[1].speed_mbps, Some(100), "ifSpeed when ifHighSpeed is missing");
        assert_eq!((ifs[1].oper_up, ifs[1].admin_up), (Some(false), Some(true)));
        assert_eq!((ifs[0].in_errors, ifs[1].in_errors), (None, Some(3)));
    }

    #[test]
    fn host_resources_by_hand() {
        let mut cols = vec![Rows::new(); HR_COLUMNS.len()];
        cols[HrCol::StorageType as usize] = rows(&[
            (1, Val::Oid(HR_STORAGE_RAM.to_vec())),
            (3, Val::Oid(vec![1, 3, 6, 1, 2, 1, 25, 2, 1, 3])),
            (31, Val::Oid(HR_STORAGE_FIXED_DISK.to_vec())),
        ]);
        cols[HrCol::StorageDescr as usize] =
            rows(&[(1, Val::Bytes(b"Physical memory".to_vec())), (31, Val::Bytes(b"/".to_vec()))]);
        cols[HrCol::Units as usize] =
            rows(&[(1, Val::Int(1024)), (3, Val::Int(1024)), (31, Val::Int(4096))]);
        cols[HrCol::Size as usize] =
            rows(&[(1, Val::Int(1000)), (3, Val::Int(9)), (31, Val::Int(-1))]);
        cols[HrCol::Used as usize] =
            rows(&[(1, Val::Int(250)), (3, Val::Int(9)), (31, Val::Int(10))]);
        cols[HrCol::ProcessorLoad as usize] =
            rows(&[(196608, Val::Int(10)), (196609, Val::Int(25))]);
        let h = host_resources(&cols).unwrap();
        assert_eq!(h.cpu_load_percent, Some(17.5));
        assert_eq!(h.memory_total_bytes, Some(1_024_000));
        assert_eq!(h.memory_used_bytes, Some(256_000));
        assert_eq!(h.disks.len(), 1);
        assert_eq!(h.disks[0].descr, "/");
        // -1 as Integer32 is 2^32 - 1 units.
        assert_eq!(h.disks[0].size_bytes, ((1u64 << 32) - 1) * 4096);
        assert_eq!(h.disks[0].used_bytes, 40_960);
        assert_eq!(host_resources(&vec![Rows::new(); HR_COLUMNS.len()]), None);
    }

    #[test]
    fn the_device_is_its_first_chassis_else_its_first_entity_with_a_model() {
        let classes = rows(&[(1, Val::Int(11)), (1001, Val::Int(3)), (2001, Val::Int(3))]);
        let models = rows(&[(1, Val::Bytes(Vec::new())), (1001, Val::Bytes(b"C9300".to_vec()))]);
        assert_eq!(choose_entity(&classes, &models, false), Some(1001), "a stack's first member");
        let no_chassis = rows(&[(1, Val::Int(9)), (2, Val::Int(10))]);
        let models = rows(&[(1, Val::Bytes(b" ".to_vec())), (2, Val::Bytes(b"SFP-1".to_vec()))]);
        assert_eq!(choose_entity(&no_chassis, &models, false), None, "not certain yet");
        assert_eq!(choose_entity(&no_chassis, &models, true), Some(2));
        assert_eq!(choose_entity(&Rows::new(), &Rows::new(), true), None);
    }

    #[test]
    fn entity_texts_are_made_safe() {
        let mut vb: Vec<Varbind> =
            entity_oids(7).into_iter().map(|o| (o, Val::NoSuchInstance)).collect();
        vb[EntCol::Model as usize].1 = Val::Bytes(b"FG-500E\0\0".to_vec());
        vb[EntCol::Serial as usize].1 = Val::Bytes(b"FG5H0E\x1b[2J\xff".to_vec());
        vb[EntCol::Descr as usize].1 = Val::Bytes(vec![b'x'; 65536]);
        let e = entity_info(7, &vb);
        assert_eq!(e.index, Some(7));
        assert_eq!(e.model.as_deref(), Some("FG-500E"));
        assert_eq!(e.serial.as_deref(), Some("FG5H0E\u{FFFD}[2J\u{FFFD}"));
        assert_eq!(e.descr.unwrap().chars().count(), 256, "cut and marked");
        assert_eq!(e.software_rev, None);
    }
}

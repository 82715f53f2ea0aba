//! `vigia probe DEVICE`: one immediate poll of one device, for the moment a site calls to say
//! "the network is down". Printed for a person (a short table per family) or as JSON.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::Prober;
use crate::inventory::{Device, DeviceClass, DeviceId, Family, Inventory, SiteId, SnmpProfile};
use crate::poll::vendor::of_object_id as vendor_of_oid;
use crate::poll::{HostResources, IcmpReport, Interface, SnmpReport};
use crate::probe::SnmpQuery;
use crate::probe::icmp::CycleSettings;
use crate::probe::snmp::{Credentials, SnmpTarget};

/// What one probe of one device found.
#[derive(Debug, Serialize)]
pub struct ProbeResult {
    /// Device id.
    pub device: DeviceId,
    /// Class.
    pub class: DeviceClass,
    /// Site id.
    pub site: SiteId,
    /// Site name.
    pub site_name: String,
    /// The site's medium (`main` for the main site).
    pub link: String,
    /// SNMP profile used, if any.
    pub snmp_profile: Option<String>,
    /// Per family probed.
    pub families: Vec<FamilyResult>,
}

/// One family of a probe.
#[derive(Debug, Serialize)]
pub struct FamilyResult {
    /// Family.
    pub family: Family,
    /// The ICMP cycle.
    pub icmp: IcmpReport,
    /// The SNMP poll, when the device has SNMP.
    pub snmp: Option<SnmpReport>,
}

/// Poll `device` now over the chosen families, its echoes `spacing` apart (`None`: the
/// device's own spacing, else the inventory's default). An operator asking for one device is
/// answered over ICMP even when the agent does not send it echoes (`icmp: false`).
pub async fn probe<P: Prober>(
    prober: &P,
    inv: &Inventory,
    device: &Device,
    families: &[Family],
    credentials: Option<Arc<Credentials>>,
    spacing: Option<Duration>,
) -> ProbeResult {
    let site = inv.site(&device.site);
    let settings = CycleSettings {
        count: inv.poll.icmp_count,
        spacing: spacing.unwrap_or_else(|| device.icmp_spacing(&inv.poll)),
        timeout: inv.poll.timeout,
    };
    let query = SnmpQuery {
        system: true,
        interfaces: true,
        entity: true,
        host_resources: device.class == DeviceClass::Server,
    };
    let mut out = Vec::new();
    for family in families {
        let Some(address) = device.address(*family) else { continue };
        let icmp = prober.icmp(address, settings);
        let snmp = async {
            let creds = credentials.clone()?;
            let target = SnmpTarget {
                address,
                port: 161,
                credentials: (*creds).clone(),
                timeout: inv.poll.timeout,
                retries: inv.poll.retries,
                deadline: inv.poll.snmp_interval,
            };
            Some(prober.snmp(target, query).await)
        };
        let (icmp, snmp) = tokio::join!(icmp, snmp);
        out.push(FamilyResult { family: *family, icmp, snmp });
    }
    ProbeResult {
        device: device.id.clone(),
        class: device.class,
        site: device.site.clone(),
        site_name: site.map(|s| s.name.clone()).unwrap_or_default(),
        link: site.map_or("unknown", |s| s.link_label()).to_owned(),
        snmp_profile: device.snmp.as_ref().map(|s| describe_profile(&s.name, &s.profile)),
        families: out,
    }
}

fn describe_profile(name: &str, p: &SnmpProfile) -> String {
    match p {
        SnmpProfile::V2c { .. } => format!("{name} (v2c)"),
        SnmpProfile::V3 { user, auth, privacy } => {
            let level = match (auth, privacy) {
                (None, _) => "noAuthNoPriv".to_owned(),
                (Some((a, _)), None) => format!("authNoPriv {a}"),
                (Some((a, _)), Some((p, _))) => format!("authPriv {a}/{p}"),
            };
            format!("{name} (v3 user {user}, {level})")
        }
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0))
}

fn bytes(n: Option<u64>) -> String {
    let Some(n) = n else { return "-".into() };
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", units[u]) }
}

fn uptime(ticks: u32) -> String {
    let s = u64::from(ticks) / 100;
    format!("{}d {:02}:{:02}:{:02}", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60)
}

/// The result as text for a person.
pub fn render(r: &ProbeResult, device: &Device) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}  ({}, site {}: {}, link {})",
        r.device, r.class, r.site, r.site_name, r.link
    );
    if let Some(p) = &r.snmp_profile {
        let _ = writeln!(o, "SNMP profile: {p}");
    }
    for family in Family::ALL {
        let Some(f) = r.families.iter().find(|f| f.family == *family) else {
            if device.address(*family).is_none() {
                let _ = writeln!(o, "\n{family}: no address in the inventory");
            }
            continue;
        };
        let _ = writeln!(o, "\n{family} {}", f.icmp.address);
        icmp_lines(&mut o, &f.icmp);
        match &f.snmp {
            Some(s) => snmp_lines(&mut o, s),
            None => {
                let _ = writeln!(o, "  SNMP  not configured (snmp: false)");
            }
        }
    }
    o
}

fn icmp_lines(o: &mut String, i: &IcmpReport) {
    let _ = writeln!(
        o,
        "  ICMP  {:<12} {}/{} replies  rtt min/avg/max {}/{}/{} ms  jitter {} ms  loss {:.0} %",
        i.outcome.to_string(),
        i.received,
        i.sent,
        ms(i.rtt_min()),
        ms(i.rtt_avg()),
        ms(i.rtt_max()),
        ms(i.jitter()),
        i.loss_ratio() * 100.0
    );
    if let Some(d) = &i.detail {
        let _ = writeln!(o, "        {d}");
    }
}

fn snmp_lines(o: &mut String, s: &SnmpReport) {
    let _ = writeln!(
        o,
        "  SNMP  {:<12} in {:.0} ms",
        s.outcome.to_string(),
        s.elapsed.as_secs_f64() * 1000.0
    );
    if let Some(d) = &s.detail {
        let _ = writeln!(o, "        {d}");
    }
    if let Some(sys) = &s.system {
        for (k, v) in [
            ("sysName", sys.name.clone()),
            ("sysDescr", sys.descr.clone()),
            ("sysObjectID", sys.object_id.clone()),
            ("sysUpTime", sys.uptime_ticks.map(uptime)),
            ("sysLocation", sys.location.clone()),
            ("sysContact", sys.contact.clone()),
        ] {
            if let Some(v) = v {
                let _ = writeln!(o, "        {k:<12} {v}");
            }
        }
    }
    let by_oid = s.system.as_ref().and_then(|x| x.object_id.as_deref()).and_then(vendor_of_oid);
    let mfg = s.entity.as_ref().and_then(|e| e.mfg_name.as_deref());
    match (by_oid, mfg) {
        (Some(v), _) if v.maker => {
            let _ = writeln!(
                o,
                "        {:<12} {} (sysObjectID, enterprise {})",
                "vendor", v.name, v.enterprise
            );
        }
        (by_oid, Some(m)) => {
            let _ = writeln!(o, "        {:<12} {m} (entPhysicalMfgName)", "vendor");
            if let Some(v) = by_oid {
                let _ = writeln!(
                    o,
                    "        {:<12} {} (sysObjectID, enterprise {})",
                    "agent", v.name, v.enterprise
                );
            }
        }
        (Some(v), None) => {
            let _ = writeln!(
                o,
                "        {:<12} {} (sysObjectID, enterprise {})",
                "agent", v.name, v.enterprise
            );
        }
        (None, None) => {}
    }
    if let Some(e) = &s.entity {
        let _ = writeln!(
            o,
            "        {:<12} model {}  serial {}",
            "entity",
            e.model.as_deref().unwrap_or("-"),
            e.serial.as_deref().unwrap_or("-")
        );
        let revs = [
            ("software", &e.software_rev),
            ("firmware", &e.firmware_rev),
            ("hardware", &e.hardware_rev),
        ];
        let known: Vec<String> =
            revs.iter().filter_map(|(k, v)| v.as_deref().map(|v| format!("{k} {v}"))).collect();
        if !known.is_empty() {
            let _ = writeln!(o, "        {:<12} {}", "revisions", known.join("  "));
        }
    }
    if let Some(h) = &s.host {
        host_lines(o, h);
    }
    if !s.interfaces.is_empty() {
        interface_lines(o, &s.interfaces);
    }
}

fn host_lines(o: &mut String, h: &HostResources) {
    let cpu = h.cpu_load_percent.map_or_else(|| "-".into(), |c| format!("{c:.0} %"));
    let _ = writeln!(
        o,
        "        {:<12} cpu {cpu}  memory {} of {}",
        "host",
        bytes(h.memory_used_bytes),
        bytes(h.memory_total_bytes)
    );
    for d in &h.disks {
        let _ = writeln!(
            o,
            "        {:<12} {} {} of {}",
            "disk",
            d.descr,
            bytes(Some(d.used_bytes)),
            bytes(Some(d.size_bytes))
        );
    }
}

fn interface_lines(o: &mut String, interfaces: &[Interface]) {
    let _ = writeln!(o, "  Interfaces ({})", interfaces.len());
    let _ = writeln!(
        o,
        "        {:>5} {:<16} {:<5} {:<5} {:>10} {:>10} {:>10} {:>9}",
        "index", "name", "oper", "admin", "speed", "in", "out", "err in/out"
    );
    let updown = |v: Option<bool>| match v {
        Some(true) => "up",
        Some(false) => "down",
        None => "-",
    };
    for it in interfaces {
        let _ = writeln!(
            o,
            "        {:>5} {:<16} {:<5} {:<5} {:>10} {:>10} {:>10} {:>4}/{:<4}{}",
            it.index,
            it.name,
            updown(it.oper_up),
            updown(it.admin_up),
            it.speed_mbps.map_or_else(|| "-".into(), |s| format!("{s} Mb/s")),
            bytes(it.in_octets),
            bytes(it.out_octets),
            it.in_errors.map_or_else(|| "-".into(), |e| e.to_string()),
            it.out_errors.map_or_else(|| "-".into(), |e| e.to_string()),
            if it.counter_bits == 32 { "  (32-bit counters)" } else { "" }
        );
    }
}

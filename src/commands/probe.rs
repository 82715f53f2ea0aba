//! `vigia probe DEVICE`: poll one device now and print what it answers.

use std::sync::Arc;

use vigia::agent::{NetProber, probe_cmd};
use vigia::inventory::{Family, Secrets};
use vigia::probe::icmp::Icmp;
use vigia::probe::snmp::Credentials;

use super::{CliError, Outcome, emit, load};
use crate::cli::{FamilyChoice, ProbeArgs};

/// Run `vigia probe`.
pub async fn run(args: ProbeArgs) -> Result<Outcome, CliError> {
    let inv = load(&args.inventory.inventory, Secrets::Require)?;
    let Some(device) = inv.device(&args.device).cloned() else {
        let known: Vec<&str> = inv.devices.iter().map(|d| d.id.as_str()).collect();
        return Err(CliError::UnknownDevice {
            device: args.device,
            dir: inv.dir.clone(),
            known: known.join(", "),
        });
    };
    let families: Vec<Family> = match args.family {
        FamilyChoice::Ipv4 => vec![Family::Ipv4],
        FamilyChoice::Ipv6 => vec![Family::Ipv6],
        FamilyChoice::Both => vec![Family::Ipv4, Family::Ipv6],
    };
    if !families.iter().any(|f| device.address(*f).is_some()) {
        return Err(CliError::NoAddress(device.id.clone()));
    }
    let credentials = match &device.snmp {
        None => None,
        Some(s) => Some(Arc::new(Credentials::from_profile(&s.profile).map_err(|source| {
            CliError::Secret { profile: s.name.clone(), device: device.id.clone(), source }
        })?)),
    };
    let prober = NetProber::new(Icmp::open().map_err(CliError::Icmp)?);
    let result =
        probe_cmd::probe(&prober, &inv, &device, &families, credentials, args.icmp_spacing).await;
    let text = if args.json {
        serde_json::to_string_pretty(&result).expect("probe results serialise") + "\n"
    } else {
        probe_cmd::render(&result, &device)
    };
    emit(None, text.as_bytes(), false)
}

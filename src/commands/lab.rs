//! `vigia lab up | down | status | check` and the lab of `vigia agent --lab`: the lab crate's
//! results turned into messages, its errors into [`CliError`]s. Part of the binary only.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vigia::clock::Clock;
use vigia::inventory::{self, Inventory, SecretRef, Secrets, SnmpProfile};
use vigia_lab::holder::{self, Stopped};
use vigia_lab::state::LabState;
use vigia_lab::{Lab, LabError};

use super::{CliError, Outcome, load};
use crate::cli::LabCommand;
use crate::lab_twin;

/// `println!` that does not panic when the reader went away (`vigia lab status | head`).
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Run `vigia lab ...`.
pub fn run(cmd: LabCommand) -> Result<Outcome, CliError> {
    match cmd {
        LabCommand::Up { inventory: args, lab } => {
            let inv = load(&args.inventory, Secrets::Require)?;
            up(&inv, &lab.name, lab.host_v4, lab.host_v6)
        }
        LabCommand::Down(lab) => down(&lab.name),
        // Warnings (unset secrets) are not this question's business; errors still refuse.
        LabCommand::Check(args) => {
            let (inv, _) = inventory::load(&args.inventory, Secrets::Warn)
                .map_err(CliError::InventoryDiagnostics)?;
            Ok(check(&inv, &args.inventory))
        }
        LabCommand::Status { lab, all } => status(&lab.name, all),
    }
}

/// The holder program, beside this executable (cargo builds both into the same directory).
fn holder_program() -> Result<PathBuf, LabError> {
    let exe = std::env::current_exe()
        .map_err(|e| LabError::Io { what: "finding the vigia executable".into(), source: e })?;
    Ok(exe.with_file_name(holder::PROGRAM))
}

/// `vigia lab up`: check, start the holder, wait until the lab answers, print a summary.
fn up(
    inv: &Inventory,
    name: &str,
    host_v4: Ipv4Addr,
    host_v6: Ipv6Addr,
) -> Result<Outcome, CliError> {
    let started = vigia::clock::monotonic();
    // The lab's own checks (root, TUN, programs) come first, as `vigia lab up` always did.
    vigia_lab::check_prerequisites().map_err(CliError::Lab)?;
    let spec = lab_twin::cli_spec(inv, name, host_v4, host_v6).map_err(CliError::Twin)?;
    let state = holder_program()
        .and_then(|program| holder::start(&spec, &program))
        .map_err(CliError::Lab)?;
    print_summary(&state, inv, started.elapsed());
    Ok(Outcome::Done)
}

/// `vigia lab down`: stop the holder, then remove whatever recorded item is still there.
fn down(name: &str) -> Result<Outcome, CliError> {
    match holder::stop(name).map_err(CliError::Lab)? {
        Stopped::Clean => say!("lab {name} is down: nothing of it remains"),
        Stopped::Leftovers(removed) => {
            say!("lab {name} is down; removed what its holder left: {}", removed.join(", "));
        }
    }
    Ok(Outcome::Done)
}

/// `vigia lab status`: one lab per device (exit 1 when its holder is dead), or every lab.
fn status(name: &str, all: bool) -> Result<Outcome, CliError> {
    if all {
        say!("{}", holder::list().trim_end());
        return Ok(Outcome::Done);
    }
    let status = holder::status(name).map_err(CliError::Lab)?;
    say!("{}", status.text.trim_end());
    Ok(if status.holder_alive { Outcome::Done } else { Outcome::FoundDown })
}

/// `vigia lab check`: whether every address the inventory polls today is a lab placeholder.
fn check(inv: &Inventory, inventory_dir: &Path) -> Outcome {
    let outside = lab_twin::outside_lab(inv, Clock::Wall.today());
    if outside.is_empty() {
        eprintln!("{}: every polled address is a lab placeholder", inventory_dir.display());
        Outcome::Done
    } else {
        eprintln!(
            "{}: {} polled address(es) outside the lab ranges, e.g. {}",
            inventory_dir.display(),
            outside.len(),
            outside[0]
        );
        Outcome::CheckNotMet
    }
}

/// Bring up the lab twin of the inventory, held by this process, for `vigia agent --lab`.
pub async fn agent_lab(inv: &Inventory) -> Result<Lab, CliError> {
    vigia_lab::check_prerequisites().map_err(CliError::AgentLab)?;
    let spec = lab_twin::spec_from_inventory(inv, "agent", Clock::Wall.today())
        .map_err(CliError::AgentLabTwin)?;
    tracing::info!(devices = spec.devices.len(), "bringing up the lab twin of the inventory");
    let lab = Lab::up(spec).await.map_err(CliError::AgentLab)?;
    tracing::info!(name = lab.name(), "lab up");
    Ok(lab)
}

fn print_summary(state: &LabState, inv: &Inventory, took: Duration) {
    let mut media = std::collections::BTreeMap::<&str, usize>::new();
    for d in &state.devices {
        *media.entry(d.medium.as_str()).or_default() += 1;
    }
    let media: Vec<String> = media.iter().map(|(m, n)| format!("{n} {m}")).collect();
    let agents = state.devices.iter().filter(|d| d.agent.is_some()).count();
    say!(
        "lab {} is up in {:.1} s: {} devices ({}), {agents} snmpd agents; holder pid {}",
        state.name,
        took.as_secs_f64(),
        state.devices.len(),
        media.join(", "),
        state.owner.pid
    );
    say!("probes into the lab leave from {} and {}", state.host_v4, state.host_v6);
    say!();
    say!("{:<44} {:<7} {:<16} ipv6", "device", "medium", "ipv4");
    for d in &state.devices {
        say!(
            "{:<44} {:<7} {:<16} {}",
            d.id,
            d.medium,
            d.ipv4.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            d.ipv6.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
        );
    }
    say!();
    let example =
        state.devices.iter().find(|d| d.medium == "radio").or_else(|| state.devices.first());
    if let Some(d) = example {
        let target = d
            .ipv4
            .map(|a| a.to_string())
            .or_else(|| d.ipv6.map(|a| a.to_string()))
            .unwrap_or_default();
        say!("probe it:");
        say!("  ping -c 5 {target}                      # {} ({})", d.id, d.medium);
        if let Some(snmp) = inv.device(&d.id).and_then(|dev| dev.snmp.as_ref()) {
            say!("  MIBS= {} {target} .1.3.6.1.2.1.1.5.0", snmpget_hint(&snmp.profile));
        }
    }
    say!("  vigia lab status --name {}", state.name);
    say!("  vigia lab down --name {}", state.name);
}

/// An `snmpget` command line for a profile that names secrets by where they live, never by
/// their value.
fn snmpget_hint(profile: &SnmpProfile) -> String {
    let shown = |r: &SecretRef| match r {
        SecretRef::Env(var) => format!("\"${var}\""),
        SecretRef::File(path) => format!("\"$(cat {})\"", path.display()),
        SecretRef::EnvOrFile(var, path) => format!("\"${{{var}:-$(cat {})}}\"", path.display()),
        SecretRef::Inline(_) => "'<inline secret from the inventory>'".into(),
    };
    match profile {
        SnmpProfile::V2c { community } => format!("snmpget -v2c -c {}", shown(community)),
        SnmpProfile::V3 { user, auth, privacy } => {
            let level = match (auth, privacy) {
                (None, _) => "noAuthNoPriv",
                (Some(_), None) => "authNoPriv",
                (Some(_), Some(_)) => "authPriv",
            };
            let mut s = format!("snmpget -v3 -l {level} -u {user}");
            if let Some((p, secret)) = auth {
                let token = lab_twin::auth_protocol(*p).net_snmp();
                s += &format!(" -a {token} -A {}", shown(secret));
            }
            if let Some((p, secret)) = privacy {
                let token = lab_twin::priv_protocol(*p).net_snmp();
                s += &format!(" -x {token} -X {}", shown(secret));
            }
            s
        }
    }
}

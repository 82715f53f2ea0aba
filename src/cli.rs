//! The command line: what each command takes. The handlers live in `main.rs`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// vigia: network and infrastructure inventory monitor (dual-stack reachability, link media,
/// life cycle, IPv6 transition and the AE.7.03 / AE.7.04 indicators).
#[derive(Debug, Parser)]
#[command(name = "vigia", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the inventory is.
#[derive(Debug, Clone, clap::Args)]
pub struct InventoryArg {
    /// Inventory directory (YAML files).
    #[arg(long, env = "VIGIA_INVENTORY", default_value = "inventory/tacna")]
    pub inventory: PathBuf,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, summarise or describe an inventory.
    #[command(subcommand)]
    Inventory(InventoryCommand),
}

/// `vigia inventory ...`
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Report every problem of an inventory at once; exit 0 when valid, 64 when not.
    Check {
        /// The inventory.
        #[command(flatten)]
        inventory: InventoryArg,
        /// Treat unreadable secrets (unset variables, missing files) as errors, as the agent
        /// does when it starts: run it on the machine that will run the agent.
        #[arg(long)]
        require_secrets: bool,
    },
    /// Summarise an inventory: sites by medium, devices, IPv6, missing life-cycle data.
    Show(InventoryArg),
    /// Print the JSON Schema of an inventory file, for editors.
    Schema,
}

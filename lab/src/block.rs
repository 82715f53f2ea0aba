//! Address blocks for labs that run side by side (parallel tests in several test binaries):
//! each claims a block of its own, 198.19.K.0/24 and 2001:db8:1:K::/64, by creating a lock
//! file that names its process. A block whose claimant died is taken over. Block 255 is never
//! handed out: 198.19.255.254 is the CLI lab's host address.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::LabError;
use super::sys::ProcId;

/// Where claims are kept.
pub const BLOCKS_DIR: &str = "/run/vigia/lab-blocks";

/// A claimed block; released when dropped.
#[derive(Debug)]
pub struct AddressBlock {
    index: u8,
    lock: PathBuf,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl AddressBlock {
    /// Claim a free block.
    pub fn claim() -> Result<AddressBlock, LabError> {
        fs::create_dir_all(BLOCKS_DIR)
            .map_err(|e| LabError::io(format!("creating {BLOCKS_DIR}"), e))?;
        let me = ProcId::current();
        let start = std::process::id()
            .wrapping_mul(31)
            .wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed) * 7);
        for step in 0..255u32 {
            let index = ((start + step) % 255) as u8;
            let lock = PathBuf::from(BLOCKS_DIR).join(index.to_string());
            for _ in 0..2 {
                match fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&lock) {
                    Ok(mut f) => {
                        let _ = writeln!(f, "{} {}", me.pid, me.start_time);
                        return Ok(AddressBlock { index, lock });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        if claimant_alive(&lock) {
                            break;
                        }
                        // Its claimant is gone: take it over (once; a race loses cleanly).
                        let _ = fs::remove_file(&lock);
                    }
                    Err(e) => return Err(LabError::io(format!("claiming {}", lock.display()), e)),
                }
            }
        }
        Err(LabError::Clash { what: "every lab address block (255 labs are up)".into() })
    }

    /// The block's number K.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// 198.19.K.`host`.
    pub fn v4(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, self.index, host)
    }

    /// 2001:db8:1:K::`host`.
    pub fn v6(&self, host: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 1, u16::from(self.index), 0, 0, 0, host)
    }

    /// The block's host-side IPv4 source address (198.19.K.254).
    pub fn host_v4(&self) -> Ipv4Addr {
        self.v4(254)
    }

    /// The block's host-side IPv6 source address (2001:db8:1:K::fe).
    pub fn host_v6(&self) -> Ipv6Addr {
        self.v6(0xfe)
    }
}

fn claimant_alive(lock: &PathBuf) -> bool {
    let Ok(text) = fs::read_to_string(lock) else { return true };
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(pid)), Some(Ok(start_time))) => ProcId { pid: pid as u32, start_time }.is_alive(),
        // Being written right now, or unreadable: leave it alone.
        _ => true,
    }
}

impl Drop for AddressBlock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

//! The monitor's only `unsafe` code: the few system calls that neither the standard library
//! nor the crates in use offer, each behind a safe function. The rest of the crate denies
//! `unsafe_code` (the workspace's lints); the lab, which needs much more, is a crate of its
//! own.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

/// The soft and hard limits on open files (RLIMIT_NOFILE).
pub fn open_files_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// Set the soft and hard limits on open files (raising the soft one up to the hard one needs
/// no privilege).
pub fn set_open_files_limit(soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `limit` is a valid rlimit the kernel only reads.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set an integer socket option (`setsockopt(fd, level, option, &value, sizeof(int))`), for
/// options the socket crates in use do not expose (IP_RECVERR, SO_RCVBUFFORCE).
pub fn set_socket_option(fd: RawFd, level: i32, option: i32, value: i32) -> io::Result<()> {
    let value: libc::c_int = value;
    // SAFETY: the kernel reads exactly `size_of::<c_int>()` bytes from `value`, which lives
    // across the call; nothing else is touched. A descriptor that is not a socket (or not
    // open) is an error return, not undefined behaviour.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            option,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Have glibc's allocator give large freed blocks back to the system at once, and keep few
/// arenas. glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB):
/// after the first scrape of a large `/metrics` (22 MB of text at 10,000 devices), every later
/// text, and the scrape's readings, came from the heap and stayed in the process after the
/// scrape, in as many arenas as threads had rendered (docs/performance.md has the figures).
/// A fixed threshold turns that off (and the trim threshold's matching rise); two arenas bound
/// what threads can keep apart. Harmless where glibc is not the allocator (the call fails).
pub fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called before other threads exist
    // (and is safe to call at any time in glibc).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_limit_reads_back_what_was_set() {
        let (soft, hard) = open_files_limit().expect("RLIMIT_NOFILE is readable");
        assert!(soft <= hard);
        set_open_files_limit(soft, hard).expect("setting the same limits is allowed");
        assert_eq!(open_files_limit().unwrap(), (soft, hard));
    }

    #[test]
    fn a_socket_option_is_set_and_a_bad_descriptor_is_an_error() {
        use std::os::fd::AsRawFd;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_socket_option(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVERR, 1).unwrap();
        let e = set_socket_option(-1, libc::IPPROTO_IP, libc::IP_RECVERR, 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }
}

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

/// Give the allocator's free pages back to the system (glibc's `malloc_trim`). A pass that
/// builds and drops tens of megabytes of small blocks (the plan's figures from the history, a
/// scrape's readings, at 10,000 devices) leaves them free but resident, scattered among live
/// blocks where no threshold returns them: the agent's RSS grew by each pass's peak. Walks the
/// heap's free blocks (milliseconds at that size). Does nothing where glibc is not the allocator.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own heap; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Register a socket with tokio's reactor for writability only (`AsyncFd::register_with_
/// interest`; `AsyncFd::new` is deprecated as unsound for types that may change their
/// descriptor): what arrives on it does not wake the runtime. Needs a tokio runtime.
pub fn async_socket(
    socket: socket2::Socket,
) -> io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    let interest = tokio::io::Interest::WRITABLE;
    // SAFETY: a socket2::Socket owns its descriptor: it is open from creation until the
    // Socket is dropped (with the AsyncFd that owns it), and `as_raw_fd` always returns it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(socket, interest) }
        .map_err(|e| e.into_parts().1)
}

/// One datagram read by [`recv_timestamped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The sender's address, where the socket gives one.
    pub from: Option<std::net::IpAddr>,
    /// When the kernel received it (CLOCK_REALTIME, since the Unix epoch): present once
    /// `SO_TIMESTAMPNS` is on for the socket.
    pub received_at: Option<std::time::Duration>,
    /// The datagram was longer than the buffer (the rest is lost).
    pub truncated: bool,
}

/// Read one datagram without blocking (`recvmsg(..., MSG_DONTWAIT)`), with its sender and the
/// kernel's receive time (`SCM_TIMESTAMPNS`). `WouldBlock` when nothing is queued.
pub fn recv_timestamped(fd: RawFd, buf: &mut [u8]) -> io::Result<Datagram> {
    // Control space for one timespec message and then some (u64s: cmsghdr alignment).
    let mut control = [0u64; 16];
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr (plain C structs of integers
    // and null pointers).
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut addr).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` points into locals that outlive the call, with the
    // lengths given beside them; the kernel writes at most those lengths.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut received_at = None;
    // SAFETY: `msg` was filled by recvmsg: the CMSG macros walk its control buffer within
    // `msg_controllen` (which the kernel set to what it wrote) and return null at its end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null header from CMSG_FIRSTHDR/NXTHDR lies inside the control buffer.
        let header = unsafe { &*cmsg };
        if header.cmsg_level == libc::SOL_SOCKET
            && header.cmsg_type == libc::SCM_TIMESTAMPNS
            && header.cmsg_len as usize >= timespec_cmsg_len()
        {
            // SAFETY: the header says its data holds a timespec (checked length); it may be
            // unaligned, hence read_unaligned.
            let ts: libc::timespec =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            if let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                received_at = Some(std::time::Duration::new(secs, nanos));
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        cmsg = unsafe { libc::CMSG_NXTHDR(&raw const msg, cmsg) };
    }
    let from = match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) into the storage, which
            // is large and aligned enough for any socket address.
            let a: libc::sockaddr_in = unsafe { std::ptr::read((&raw const addr).cast()) };
            Some(std::net::IpAddr::from(u32::from_be(a.sin_addr.s_addr).to_be_bytes()))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, a sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { std::ptr::read((&raw const addr).cast()) };
            Some(std::net::IpAddr::from(a.sin6_addr.s6_addr))
        }
        _ => None,
    };
    Ok(Datagram {
        len: usize::try_from(n).unwrap_or(0),
        from,
        received_at,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}

/// Wait until `fd` has data to read, at most `timeout` (`poll(2)`); `false` when the time ran
/// out first.
pub fn wait_readable(fd: RawFd, timeout: std::time::Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid, writable pollfd, and the count says one.
    let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
    match rc {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) }
        }
    }
}

/// The length of a control message holding one timespec.
fn timespec_cmsg_len() -> usize {
    // SAFETY: CMSG_LEN is arithmetic on its argument; it touches no memory.
    unsafe { libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize }
}

/// The wall clock (CLOCK_REALTIME) since the Unix epoch: the clock the kernel stamps received
/// packets with, read to time a send against such a stamp. Measures only; never a date.
pub fn wall_clock() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut ts) };
    std::time::Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram over loopback comes back with its sender and a kernel receive time that
    /// lies between the send and the read (same clock, the wall clock).
    #[test]
    fn a_datagram_is_read_with_its_sender_and_the_kernels_receive_time() {
        use std::os::fd::AsRawFd;
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = rx.as_raw_fd();
        let mut buf = [0u8; 8];
        let e = recv_timestamped(fd, &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "nothing queued yet");
        set_socket_option(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1).unwrap();
        let before = wall_clock();
        tx.send_to(b"0123456789", rx.local_addr().unwrap()).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut peek = [0u8; 1];
        rx.peek(&mut peek).unwrap();
        let d = recv_timestamped(fd, &mut buf).unwrap();
        let after = wall_clock();
        assert_eq!(d.len, 8);
        assert!(d.truncated, "10 bytes into 8");
        assert_eq!(&buf, b"01234567");
        assert_eq!(d.from, Some("127.0.0.1".parse().unwrap()));
        let at = d.received_at.expect("SO_TIMESTAMPNS gives a receive time");
        assert!(before <= at && at <= after, "{before:?} <= {at:?} <= {after:?}");
        // Without the option, no time.
        let plain = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let v6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
        v6.send_to(b"y", plain.local_addr().unwrap()).unwrap();
        plain.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        plain.peek(&mut peek).unwrap();
        let d = recv_timestamped(plain.as_raw_fd(), &mut buf).unwrap();
        assert_eq!((d.len, d.from, d.received_at), (1, Some("::1".parse().unwrap()), None));
        // Nothing queued: the wait ends by its timeout; then a datagram ends it.
        assert!(!wait_readable(fd, std::time::Duration::from_millis(1)).unwrap());
        tx.send_to(b"z", rx.local_addr().unwrap()).unwrap();
        assert!(wait_readable(fd, std::time::Duration::from_secs(5)).unwrap());
    }

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

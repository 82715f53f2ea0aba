//! A lab held up by a detached process, after the command that started it returns.
//!
//! [`start`] checks the spec in the foreground, then starts the holder program
//! (`vigia-lab-holder`, whose `main` is a call to [`serve`]) in a session of its own, logging to
//! a file; it hands the holder the spec as JSON on its standard input (the spec holds secrets:
//! never a command line or a file) and returns once the holder says the lab answers. The holder
//! holds the lab's TUN descriptors and link tasks until SIGTERM or SIGINT. [`stop`] signals it
//! (after checking it really is this lab's holder), waits, then removes whatever recorded item
//! is still there. Nothing here prints or exits: the callers turn results into messages and
//! exit codes.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::state::{self, LabState, holder_args, holder_log};
use super::{Lab, LabError, LabSpec, RUN_ROOT, check_prerequisites, run_dir, validate};

/// The holder program's name; [`start`] is given its path (`vigia` looks beside itself).
pub const PROGRAM: &str = "vigia-lab-holder";

/// The exit status of a holder that refused its input (arguments or spec); any other failure
/// exits with 1.
pub const EXIT_INVALID_INPUT: u8 = 64;

/// The descriptor [`start`] gives the holder to say "ready" on.
const READY_FD: i32 = 3;

/// Start a holder (`program`) for `spec` and wait until its lab answers; returns the lab's
/// state as recorded then. Bad input is refused here, before any holder starts.
pub fn start(spec: &LabSpec, program: &Path) -> Result<LabState, LabError> {
    check_prerequisites()?;
    validate(spec)?;
    let name = spec.name.as_str();
    if run_dir(name).exists() {
        return Err(LabError::Exists { name: name.to_owned(), dir: run_dir(name) });
    }
    if !program.is_file() {
        return Err(LabError::HolderMissing { path: program.to_owned() });
    }
    fs::create_dir_all(RUN_ROOT).map_err(|e| LabError::io(format!("creating {RUN_ROOT}"), e))?;
    let log_path = holder_log(name);
    let log = fs::File::create(&log_path)
        .map_err(|e| LabError::io(format!("creating {}", log_path.display()), e))?;
    let (read_end, write_end) = pipe().map_err(|e| LabError::io("creating the ready pipe", e))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(holder_args(name))
        .args(["--ready-fd", &READY_FD.to_string()])
        .stdin(Stdio::piped())
        .stdout(log.try_clone().map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
        .stderr(Stdio::from(log));
    let raw_write = write_end.as_raw_fd();
    // SAFETY: between fork and exec, only async-signal-safe calls on a descriptor copied in.
    unsafe {
        cmd.pre_exec(move || {
            // A session of its own: the holder outlives this command and its terminal.
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(raw_write, READY_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| LabError::io("starting the lab holder", e))?;
    drop(write_end);
    let input = serde_json::to_vec(spec).expect("a lab spec serialises");
    // A holder that died at once closes its end: the answer below says so, with its log.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let mut answer = String::new();
    let _ = fs::File::from(read_end).read_to_string(&mut answer);
    if answer.trim() != "ready" {
        let status = child.wait().ok();
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].iter().map(|l| l.to_string()).collect();
        let _ = fs::remove_file(&log_path);
        return Err(LabError::HolderFailed {
            status: status.map_or_else(|| "unknown status".into(), |s| s.to_string()),
            invalid_input: status
                .and_then(|s| s.code())
                .is_some_and(|c| c == i32::from(EXIT_INVALID_INPUT)),
            log: log_path,
            tail,
        });
    }
    LabState::load(name)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The holder's work, given its arguments (after the program name) and its standard input:
/// `--name NAME --ready-fd FD` and the spec as JSON. Builds the lab, writes "ready" to FD, holds
/// the lab until SIGTERM or SIGINT, then takes it down.
pub fn serve(args: impl IntoIterator<Item = String>, input: impl Read) -> Result<(), LabError> {
    let args: Vec<String> = args.into_iter().collect();
    let bad = |reason: String| LabError::HolderInput { reason };
    let (name, fd) = match args.as_slice() {
        [n, name, r, fd] if n == "--name" && r == "--ready-fd" => (name.clone(), fd),
        _ => {
            return Err(bad(format!(
                "expected --name NAME --ready-fd FD (and the spec as JSON on standard input), \
                 got {args:?}; `vigia lab up` starts this program"
            )));
        }
    };
    let fd: i32 = fd
        .parse()
        .ok()
        .filter(|fd| *fd > 2)
        .ok_or_else(|| bad(format!("--ready-fd {fd}: expected a descriptor number above 2")))?;
    // Taken first, before this process opens anything that could reuse the number.
    // SAFETY: fcntl(F_GETFD) only asks whether the number is an open descriptor.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(bad(format!("--ready-fd {fd}: not an open descriptor")));
    }
    // SAFETY: an open descriptor this process inherited (`start` put the ready pipe there) and
    // nothing else in it owns: nothing has been opened yet.
    let mut ready = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let spec: LabSpec = serde_json::from_reader(input)
        .map_err(|e| bad(format!("the lab spec on standard input: {e}")))?;
    if spec.name != name {
        return Err(bad(format!("--name {name} but the spec is of lab {}", spec.name)));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LabError::io("starting the runtime", e))?;
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let installing = |e| LabError::io("installing signal handlers", e);
        let mut term = signal(SignalKind::terminate()).map_err(installing)?;
        let mut int = signal(SignalKind::interrupt()).map_err(installing)?;
        let lab = Lab::up(spec).await?;
        tracing::info!(lab = %lab.name(), devices = lab.devices().len(), "lab is up; holding it until SIGTERM");
        let _ = ready.write_all(b"ready\n");
        drop(ready);
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(lab = %lab.name(), "taking the lab down");
        lab.down().await
    })
}

/// What [`stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The holder took everything down; nothing of the lab remains.
    Clean,
    /// The holder was gone or left things behind; these were removed.
    Leftovers(Vec<String>),
}

/// Stop lab `name`'s holder, then remove whatever recorded item is still there.
pub fn stop(name: &str) -> Result<Stopped, LabError> {
    let state = LabState::load(name)?;
    if state.owner.is_alive() {
        if !state.owner_is_holder() {
            return Err(LabError::ForeignHolder {
                name: name.to_owned(),
                pid: state.owner.pid,
                cmdline: state.owner.cmdline().unwrap_or_default().join(" "),
            });
        }
        state.owner.signal(libc::SIGTERM);
        let waited = Duration::from_secs(60);
        if !state::wait_gone(state.owner, waited) {
            tracing::warn!(
                lab = name,
                pid = state.owner.pid,
                ?waited,
                "the holder did not stop; killing it"
            );
            state.owner.signal(libc::SIGKILL);
            if !state::wait_gone(state.owner, Duration::from_secs(10)) {
                return Err(LabError::HolderStuck {
                    name: name.to_owned(),
                    pid: state.owner.pid,
                    waited,
                });
            }
        }
    }
    // The holder removes its lab as it stops; whatever it left (it crashed, or was killed)
    // is removed here, by the ids recorded, the latest record first.
    match LabState::load(name) {
        Ok(latest) => state::remove_leftovers(&latest).map(Stopped::Leftovers),
        Err(LabError::NotFound { .. }) => {
            let left = state.remaining();
            if !left.is_empty() {
                return Err(LabError::Leftovers { name: name.to_owned(), left });
            }
            let _ = fs::remove_file(holder_log(name));
            Ok(Stopped::Clean)
        }
        Err(e) => Err(e),
    }
}

/// Lab `name` as `vigia lab status` shows it.
#[derive(Debug, Clone)]
pub struct Status {
    /// Whether its holder (or the process holding it) is alive.
    pub holder_alive: bool,
    /// A header line, then one line per device: medium, addresses, namespace, snmpd.
    pub text: String,
}

/// Lab `name`'s status, per device.
pub fn status(name: &str) -> Result<Status, LabError> {
    use std::fmt::Write as _;
    let state = LabState::load(name)?;
    let alive = state.owner.is_alive();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "lab {}: created {}, holder pid {} {}, host addresses {} and {}",
        state.name,
        state.created,
        state.owner.pid,
        if alive { "alive" } else { "DEAD: `vigia lab down` removes what it left" },
        state.host_v4,
        state.host_v6
    );
    let _ = writeln!(
        text,
        "{:<44} {:<7} {:<16} {:<22} {:<4} snmpd",
        "device", "medium", "ipv4", "ipv6", "ns"
    );
    for d in &state.devices {
        let ns = match &d.namespace {
            Some(ns) if super::sys::netns_exists(ns) => "up",
            Some(_) => "GONE",
            None => "-",
        };
        let agent = match d.agent {
            Some(p) if p.is_alive() => format!("pid {} alive", p.pid),
            Some(p) => format!("pid {} DEAD", p.pid),
            None if d.has_agent => "stopped".into(),
            None => "none".into(),
        };
        let presence = if d.present { "" } else { " (address with no host)" };
        let _ = writeln!(
            text,
            "{:<44} {:<7} {:<16} {:<22} {:<4} {agent}{presence}",
            d.id,
            d.medium,
            d.ipv4.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            d.ipv6.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            ns
        );
    }
    Ok(Status { holder_alive: alive, text })
}

/// Every lab on this machine, one line each.
pub fn list() -> String {
    let labs = state::list();
    if labs.is_empty() {
        return "no lab on this machine\n".into();
    }
    labs.into_iter()
        .map(|(n, s)| match s {
            Ok(s) => format!(
                "{n}: {} devices, owner pid {} {}\n",
                s.devices.len(),
                s.owner.pid,
                if s.owner.is_alive() { "alive" } else { "DEAD (run `vigia lab down --name ...`)" }
            ),
            Err(e) => format!("{n}: {e}\n"),
        })
        .collect()
}

//! `vigia-lab-holder`: the process that holds a lab up after `vigia lab up` returns. Not for
//! direct use: `vigia lab up` starts it from beside itself, with the lab's spec on its standard
//! input, and `vigia lab down` stops it. Its work is `vigia_lab::holder::serve`; this binary
//! only logs to its standard error (the lab's holder log) and turns the result into an exit
//! code.
//!
//! `vigia-lab-holder --pass-persist FILE SUBTREE` is its other mode: the program a lab agent's
//! snmpd runs to serve the device's table of extra objects (`vigia_lab::served`).

use std::process::ExitCode;

use vigia::exit;
use vigia_lab::holder;

// `vigia lab up` reads this holder's "invalid input" from its exit status.
const _: () = assert!(exit::INVALID_INPUT == holder::EXIT_INVALID_INPUT);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--pass-persist") {
        return match vigia_lab::served::pass_persist_main(&args[1..]) {
            Ok(()) => ExitCode::from(exit::OK),
            Err(e) => {
                eprintln!("{}: {e}", holder::PROGRAM);
                ExitCode::from(exit::INVALID_INPUT)
            }
        };
    }
    let (filter, _) = vigia::logging::filter();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    match holder::serve(args, std::io::stdin().lock()) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("{}: {e}", holder::PROGRAM);
            ExitCode::from(if e.is_invalid_input() { exit::INVALID_INPUT } else { exit::FAILURE })
        }
    }
}

//! `atelier`: the command line of the refurbishment bench.
//!
//! This binary only parses arguments, asks the operator, shows progress and composes the
//! stage crates (`atelier-device`, `atelier-wipe`, …) around the local store
//! (`atelier-store`). All messages come from the catalogue in [`i18n`].

/// Prints a line on standard output, ignoring a closed pipe (`atelier devices | head -1`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cli;
mod commands;
mod config;
mod context;
mod help_fr;
mod i18n;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};
use crate::context::Context;

/// Exit statuses, documented in the operator guide.
pub mod exit {
    /// Everything asked was done and passed.
    pub const OK: u8 = 0;
    /// A wipe failed, or an error stopped the command.
    pub const FAILED: u8 = 1;
    /// Bad usage (unknown option…).
    pub const USAGE: u8 = 2;
    /// Nothing was done: refused device, no confirmation.
    pub const REFUSED: u8 = 3;
    /// Interrupted by the operator; `atelier wipe --resume` continues.
    pub const INTERRUPTED: u8 = 130;
}

/// The `--lang` value given on the command line, before clap parses it (the help itself must
/// be in that language).
fn lang_argument() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--lang=")
            .map(str::to_string)
            .or_else(|| (a == "--lang").then(|| args.get(i + 1).cloned()).flatten())
    })
}

fn main() -> ExitCode {
    let mut command = Cli::command();
    if i18n::Lang::detect(lang_argument().as_deref()) == i18n::Lang::Fr {
        command = help_fr::localize(command);
    }
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let ctx = Context::new(&cli);
    let code = match &cli.command {
        Command::Devices(args) => commands::devices::run(&ctx, args),
        Command::Wipe(args) => commands::wipe::run(&ctx, args),
        Command::Records(cmd) => commands::records::run(&ctx, cmd),
        Command::Deploy(args) => commands::deploy::run(&ctx, args),
        Command::Certify(args) => commands::certify::run(&ctx, args),
        Command::Verify(args) => commands::certify::verify(&ctx, args),
        Command::Keys(cmd) => commands::certify::keys(&ctx, cmd),
        Command::Inventory(args) => commands::inventory::run(&ctx, args),
        Command::Report(args) => commands::report::run(&ctx, args),
        Command::Export(args) => commands::export::run(&ctx, args),
        Command::Push(args) => commands::push::run(&ctx, args),
        Command::Print(cmd) => commands::print::run(&ctx, cmd),
        Command::Image(cmd) => commands::image::run(&ctx, cmd),
    };
    ExitCode::from(code)
}

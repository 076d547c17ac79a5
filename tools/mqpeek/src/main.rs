// SPDX-License-Identifier: GPL-2.0
//! mqpeek: list, show, dump and restore POSIX message queues without changing them.
//!
//! Reads queues with fcntl(F_MQ_PEEK_BATCH) or fcntl(F_MQ_PEEK) (mq_peek.ko).

mod cli;
mod cmd;
mod crash;
mod docs;
mod error;
mod image;
mod limits;
mod mq;
mod names;
mod ns;
mod peek;
mod safefile;
mod table;
mod view;

use clap::Parser;
use cli::{Cli, Cmd};
use cmd::restore;
use error::{out, Code, Res};
use std::io::{self, Write};
use std::process::ExitCode;

/// A message on standard error; never fails (a closed stderr must not stop a restore).
pub fn note(msg: &str) {
    let _ = io::stderr().write_all(format!("mqpeek: {msg}\n").as_bytes());
}

fn run(cli: Cli) -> Res<()> {
    let queues = matches!(
        cli.cmd,
        Cmd::List(_)
            | Cmd::Show(_)
            | Cmd::Dump(_)
            | Cmd::Restore(_)
            | Cmd::Send(_)
            | Cmd::Rm { .. }
    );
    if let Some(spec) = &cli.ipc_ns {
        if queues {
            ns::enter(spec)?;
        }
    }
    match cli.cmd {
        Cmd::List(a) => cmd::list::list(&a, cli.ipc_ns.is_some()),
        Cmd::Show(a) => cmd::show::show(&a),
        Cmd::Dump(a) => cmd::dump::dump(&a),
        Cmd::Restore(a) => restore::restore(&restore::Opts {
            file: a.file,
            name: a.name,
            force: a.force,
            no_owner: a.no_owner,
            maxmsg: a.maxmsg,
            msgsize: a.msgsize,
            dry_run: a.dry_run,
            backup_dir: a.backup_dir,
            keep_backup: a.keep_backup,
        }),
        Cmd::Inspect(a) => cmd::inspect::inspect(&a),
        Cmd::Send(a) => cmd::send::send(&a),
        Cmd::Rm { names } => cmd::rm::rm(&names),
        Cmd::Completions { shell } => {
            let mut o = io::stdout().lock();
            docs::completions(shell, &mut o)
                .and_then(|_| o.flush())
                .map_err(out)
        }
        Cmd::GenMan => {
            let mut o = io::stdout().lock();
            docs::man_page(&mut o).and_then(|_| o.flush()).map_err(out)
        }
    }
}

/// clap's own output (--help, --version, usage errors), written with its errors checked:
/// a failed write is a failure, EPIPE the quiet SIGPIPE exit.
fn clap_exit(e: clap::Error) -> ExitCode {
    let text = e.render().to_string();
    let code = e.exit_code();
    let w = if e.use_stderr() {
        let mut o = io::stderr().lock();
        o.write_all(text.as_bytes()).and_then(|_| o.flush())
    } else {
        let mut o = io::stdout().lock();
        o.write_all(text.as_bytes()).and_then(|_| o.flush())
    };
    match w {
        Ok(()) => ExitCode::from(code as u8),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => sigpipe(),
        Err(_) if code == 0 => ExitCode::from(Code::Failure as u8),
        Err(_) => ExitCode::from(code as u8),
    }
}

/// Ends as cat or ls would when the reader of standard output went away: by SIGPIPE,
/// quietly.  (Rust ignores SIGPIPE; only now is it safe to die of it.)
fn sigpipe() -> ExitCode {
    // SAFETY: restoring the default action of a signal has no preconditions.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGPIPE);
    ExitCode::from(128 + 13)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.broken_pipe => sigpipe(),
        Err(f) => {
            if !f.msg.is_empty() {
                note(&f.msg);
            }
            ExitCode::from(f.code as u8)
        }
    }
}

// SPDX-License-Identifier: GPL-2.0
//! The command line (clap); the man page and the shell completions are generated from it.

use crate::error::EXIT_STATUS;
use crate::table::COLUMNS_HELP;
use crate::view::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const ABOUT: &str = "List, show, dump and restore POSIX message queues without changing them";

const LONG_ABOUT: &str = "\
List, show, dump and restore POSIX message queues without changing them.

mqpeek reads queues with fcntl(F_MQ_PEEK_BATCH) or fcntl(F_MQ_PEEK) (the mq_peek.ko \
module), which copy messages without removing them: the queue, its order, its \
timestamps and an armed mq_notify() stay as they were. It works on the IPC namespace of \
the caller, or of another process with --ipc-ns.";

#[derive(Parser, Debug)]
#[command(
    name = "mqpeek",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = "Exit status: see --help.",
    after_long_help = EXIT_STATUS
)]
pub struct Cli {
    /// Work in the IPC namespace of process PID, or of the namespace file PATH (such as
    /// /proc/PID/ns/ipc): join it with setns(2) and list its queues through a private
    /// mount of its own mqueue filesystem. Needs CAP_SYS_ADMIN.
    #[arg(long, global = true, value_name = "PID|PATH")]
    pub ipc_ns: Option<OsString>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List the queues, with lsipc's POSIX message-queue columns
    List(ListArgs),
    /// Print the messages of a queue in receive order, without removing them
    Show(ShowArgs),
    /// Write an image of a queue: attributes, mode, owner, notification state, messages
    Dump(DumpArgs),
    /// Re-create a queue from an image; --force replaces one, never losing it
    #[command(long_about = RESTORE_LONG)]
    Restore(RestoreArgs),
    /// Print an image without restoring it
    Inspect(InspectArgs),
    /// Send messages to a queue (to try things out), creating it with --create
    Send(SendArgs),
    /// Remove queues, as ipcrm --posix-mqueue does
    Rm {
        /// The queues, /NAME (the leading / may be left out; any bytes but '/')
        #[arg(required = true, value_name = "NAME")]
        names: Vec<OsString>,
    },
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    #[command(hide = true)]
    GenMan,
}

const RESTORE_LONG: &str = "\
Re-create a queue from an image, so that it receives the same messages in the same order.

The image is checked whole first: checksum, priorities (below 32768), sizes, and the \
limits of the caller in its IPC namespace (/proc/sys/fs/mqueue/msg_max, msgsize_max, \
queues_max, RLIMIT_MSGQUEUE; CAP_SYS_RESOURCE lifts the first two up to 65536 and 16 MiB). \
With --force, an existing queue is replaced only after a copy of it is taken and the new \
queue was built and read back under a temporary name: any failure leaves the old queue \
exactly as it was. This needs room for both queues at once.

As the last step before unlinking the old queue, --force checks that the name is still \
the queue it copied (same device and inode); if the name changed hands, it unlinks \
nothing and exits 1, the copy saved. mq_unlink() takes a name, not a queue: a queue \
swapped in between that check and the unlink (a window of one open, fstat and close) \
would be unlinked instead, and that cannot be detected.";

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TimeFormat {
    /// 13:05 today, Nov26 this year, 2025-Nov26 before
    Short,
    /// Thu Nov 26 13:05:01 2026
    Full,
    /// 2026-11-26T13:05:01+01:00
    Iso,
}

/// The options of util-linux 2.41's `lsipc` that apply to POSIX queues, with its letters.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print USEDBYTES (and, with -g, sizes) in bytes rather than in human-readable form
    #[arg(short = 'b', long)]
    pub bytes: bool,
    /// Show creator and owner (adds CUID and CGID)
    #[arg(short = 'c', long, conflicts_with_all = ["output", "time"])]
    pub creator: bool,
    /// Display in an export-able output format (NAME="value" ...)
    #[arg(short = 'e', long, group = "format")]
    pub export: bool,
    /// Show the system-wide limits of POSIX queues and their use
    #[arg(short = 'g', long, conflicts_with = "name")]
    pub global: bool,
    /// Use the JSON output format: {"posix-messages": [...]}, every value a string
    #[arg(short = 'J', long, group = "format")]
    pub json: bool,
    /// Force list output format (with --name)
    #[arg(short = 'l', long, group = "format")]
    pub list: bool,
    /// Show only the queue NAME (which must start with '/'), one field a line
    #[arg(short = 'N', long, value_name = "NAME")]
    pub name: Option<OsString>,
    /// Display each piece of information on a new line
    #[arg(short = 'n', long, group = "format")]
    pub newline: bool,
    /// Don't print headings
    #[arg(long)]
    pub noheadings: bool,
    /// Don't truncate output (accepted for lsipc's sake: mqpeek never truncates)
    #[arg(long)]
    pub notruncate: bool,
    /// Columns to print, comma-separated; +LIST appends to the default (see --help)
    #[arg(short = 'o', long, value_name = "LIST", long_help = COLUMNS_HELP)]
    pub output: Option<String>,
    /// Print numeric permissions (PERMS column; lsipc 2.41 then leaves it empty for POSIX
    /// queues, and so does mqpeek)
    #[arg(short = 'P', long)]
    pub numeric_perms: bool,
    /// Display in raw mode: columns separated by one space, special characters escaped
    #[arg(short = 'r', long, group = "format")]
    pub raw: bool,
    /// Show attach, detach and change times (POSIX queues have none: nothing is added)
    #[arg(short = 't', long)]
    pub time: bool,
    /// Use column names usable as shell variables (USE% becomes USE_PCT)
    #[arg(short = 'y', long)]
    pub shell: bool,
    /// Display dates in short, full or iso format (default: short; full with --name)
    #[arg(long, value_enum, value_name = "TYPE")]
    pub time_format: Option<TimeFormat>,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The queue, /NAME (the leading / may be left out; any bytes but '/')
    pub name: OsString,
    /// Index of the first message to show, in receive order (0 = what mq_receive returns next)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: u64,
    /// Show at most N messages
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Show only the messages of priority P (they keep their index in the queue)
    #[arg(long, value_name = "P")]
    pub prio: Option<u32>,
    /// How to print the payloads
    #[arg(long, value_enum, default_value = "hex")]
    pub format: Format,
    /// Print every byte of each message, not just the first 16
    #[arg(long)]
    pub full: bool,
    /// JSON lines: one object per message (index, priority, length, data_FORMAT)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// The queue, /NAME (the leading / may be left out); with --pid and --fd, the name
    /// recorded in the image (default: the one the descriptor was opened with)
    #[arg(required_unless_present = "pid")]
    pub name: Option<OsString>,
    /// Dump the queue that process PID has open as descriptor --fd, through
    /// /proc/PID/fd/FD: a queue that was unlinked but is still open (what a checkpoint
    /// tool needs).  Needs the right to ptrace PID (same user, or CAP_SYS_PTRACE)
    #[arg(long, value_name = "PID", requires = "fd")]
    pub pid: Option<u32>,
    /// The descriptor of --pid
    #[arg(long, value_name = "FD", requires = "pid")]
    pub fd: Option<u32>,
    /// The image file to write ("-" writes to standard output): mode 0600, owned by the
    /// caller, written whole and synced before it appears under its name; an existing
    /// FILE (or symlink) is not replaced without --force
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace FILE if it exists (a symlink is replaced itself, not what it points to)
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The image to restore ("-" reads standard input)
    #[arg(value_name = "IMAGE")]
    pub file: PathBuf,
    /// Name of the queue to create (default: the name in the image; any bytes but '/')
    #[arg(long, value_name = "NAME")]
    pub name: Option<OsString>,
    /// Replace an existing queue of that name, only once the new one is known to work
    #[arg(long)]
    pub force: bool,
    /// Leave the queue owned by the caller instead of giving it to the image's owner
    #[arg(long)]
    pub no_owner: bool,
    /// Create the queue with this mq_maxmsg instead of the image's
    #[arg(long, value_name = "N")]
    pub maxmsg: Option<i64>,
    /// Create the queue with this mq_msgsize instead of the image's
    #[arg(long, value_name = "BYTES")]
    pub msgsize: Option<i64>,
    /// Check that the image can be restored, by building it under a temporary name and
    /// removing it; the queue under the name is not touched
    #[arg(long)]
    pub dry_run: bool,
    /// Where --force saves the existing queue before replacing it, and where interrupted
    /// runs are looked for (default: $MQPEEK_BACKUP_DIR, else /var/tmp, else $TMPDIR)
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Keep the backup of the replaced queue after a successful --force
    #[arg(long)]
    pub keep_backup: bool,
}

fn octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{s}: not an octal mode of at most 0777"))
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// The queue, /NAME (the leading / may be left out; any bytes but '/')
    pub name: OsString,
    /// The messages, one per argument (any bytes), sent in this order
    #[arg(required = true, value_name = "MESSAGE")]
    pub messages: Vec<OsString>,
    /// Priority of the messages (below 32768)
    #[arg(long, default_value_t = 0, value_name = "P")]
    pub prio: u32,
    /// Create the queue if it does not exist
    #[arg(long)]
    pub create: bool,
    /// With --create: the queue's mq_maxmsg (default 10); an existing queue must have it
    #[arg(long, value_name = "N")]
    pub maxmsg: Option<i64>,
    /// With --create: the queue's mq_msgsize (default 8192); an existing queue must have it
    #[arg(long, value_name = "BYTES")]
    pub msgsize: Option<i64>,
    /// With --create: the queue's permissions, in octal (default 600); an existing queue
    /// must have them
    #[arg(long, value_parser = octal, value_name = "MODE")]
    pub mode: Option<u32>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The image to read ("-" reads standard input)
    #[arg(value_name = "IMAGE")]
    pub file: PathBuf,
    /// Print one JSON object: the attributes and the messages
    #[arg(long)]
    pub json: bool,
    /// How to print the payloads
    #[arg(long, value_enum, default_value = "hex")]
    pub format: Format,
    /// Print every byte of each message, not just the first 16
    #[arg(long)]
    pub full: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_valid() {
        Cli::command().debug_assert();
    }

    /// Finding 6: every argument of every subcommand has help text.
    #[test]
    fn every_argument_has_help() {
        fn walk(c: &clap::Command, path: &str) {
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(a.get_help().is_some(), "{path} {id} has no help");
            }
            for s in c.get_subcommands() {
                assert!(
                    s.get_about().is_some(),
                    "{path} {} has no about",
                    s.get_name()
                );
                walk(s, &format!("{path} {}", s.get_name()));
            }
        }
        walk(&Cli::command(), "mqpeek");
    }

    #[test]
    fn lsipc_options_parse() {
        let c = Cli::try_parse_from([
            "mqpeek",
            "list",
            "-J",
            "--noheadings",
            "-o",
            "+NOTIFY_PID",
            "-b",
            "-P",
            "-y",
        ])
        .unwrap();
        let Cmd::List(l) = c.cmd else { panic!() };
        assert!(l.json && l.noheadings && l.bytes && l.numeric_perms && l.shell);
        assert_eq!(l.output.as_deref(), Some("+NOTIFY_PID"));
        // lsipc's exclusive groups: J e l n r; N g; c o t.
        for (a, b) in [
            ("-J", "-r"),
            ("-J", "-n"),
            ("-e", "-l"),
            ("-n", "-r"),
            ("-g", "-N/q"),
        ] {
            let (b, v) = b.split_at(2);
            let mut args = vec!["mqpeek", "list", a, b];
            if !v.is_empty() {
                args.push(v);
            }
            assert!(Cli::try_parse_from(&args).is_err(), "{a} {b}");
        }
        assert!(Cli::try_parse_from(["mqpeek", "list", "-c", "-o", "NAME"]).is_err());
        let c = Cli::try_parse_from(["mqpeek", "list", "-n"]).unwrap();
        let Cmd::List(l) = c.cmd else { panic!() };
        assert!(l.newline && !l.noheadings, "-n is --newline, as in lsipc");
        let c = Cli::try_parse_from(["mqpeek", "--ipc-ns", "42", "list", "--raw"]).unwrap();
        assert_eq!(c.ipc_ns.as_deref(), Some(std::ffi::OsStr::new("42")));
        let c = Cli::try_parse_from(["mqpeek", "show", "q", "--ipc-ns", "/proc/1/ns/ipc"]).unwrap();
        assert_eq!(
            c.ipc_ns.as_deref(),
            Some(std::ffi::OsStr::new("/proc/1/ns/ipc"))
        );
    }

    /// Names, messages and paths are bytes: a queue or file named with bytes that are
    /// not UTF-8 reaches every command as it is (clap would refuse a String).
    #[test]
    fn arguments_need_not_be_utf8() {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let q = OsString::from_vec(b"/q\xff\x1b[1m".to_vec());
        let f = OsString::from_vec(b"/tmp/i\xfe.img".to_vec());
        let m = OsString::from_vec(b"\xff\x01".to_vec());
        let parse = |args: &[&std::ffi::OsStr]| {
            let mut v: Vec<&std::ffi::OsStr> = vec!["mqpeek".as_ref()];
            v.extend_from_slice(args);
            Cli::try_parse_from(v).map(|c| c.cmd)
        };
        let Ok(Cmd::Show(a)) = parse(&["show".as_ref(), q.as_os_str()]) else {
            panic!("show")
        };
        assert_eq!(a.name, q);
        let Ok(Cmd::Dump(a)) =
            parse(&["dump".as_ref(), q.as_os_str(), "-o".as_ref(), f.as_os_str()])
        else {
            panic!("dump")
        };
        assert_eq!(
            (a.name.as_ref(), a.output.as_os_str()),
            (Some(&q), f.as_os_str())
        );
        let Ok(Cmd::Restore(a)) = parse(&[
            "restore".as_ref(),
            f.as_os_str(),
            "--name".as_ref(),
            q.as_os_str(),
        ]) else {
            panic!("restore")
        };
        assert_eq!(
            (a.name.as_ref(), a.file.as_os_str()),
            (Some(&q), f.as_os_str())
        );
        let Ok(Cmd::Send(a)) = parse(&["send".as_ref(), q.as_os_str(), m.as_os_str()]) else {
            panic!("send")
        };
        assert_eq!((&a.name, a.messages[0].as_bytes()), (&q, &b"\xff\x01"[..]));
        let Ok(Cmd::Inspect(a)) = parse(&["inspect".as_ref(), f.as_os_str()]) else {
            panic!("inspect")
        };
        assert_eq!(a.file.as_os_str(), f.as_os_str());
        let c = Cli::try_parse_from([
            OsString::from("mqpeek"),
            "--ipc-ns".into(),
            f.clone(),
            "list".into(),
        ])
        .unwrap();
        assert_eq!(c.ipc_ns.as_ref(), Some(&f));
    }

    #[test]
    fn usage_errors_exit_2() {
        let e = Cli::try_parse_from(["mqpeek", "show"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["mqpeek", "show", "/q", "--format", "octal"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn help_documents_exit_status() {
        let h = Cli::command().render_long_help().to_string();
        for code in [
            "3    no such queue",
            "5    the kernel has no fcntl(F_MQ_PEEK)",
            "6    invalid image",
            "7    over a limit",
        ] {
            assert!(h.contains(code), "{code}");
        }
    }
}

// SPDX-License-Identifier: GPL-2.0
//! mqpeek.1 and the shell completions, generated from the clap definitions
//! (`mqpeek gen-man`, `mqpeek completions SHELL`; `make tool-install` installs both).

use crate::cli::Cli;
use crate::error::EXIT_STATUS;
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::io::{self, Write};

/// Renders one section of `man` without its preamble and `.SH` line, to nest it under
/// our own heading.
fn body(render: impl Fn(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut b = Vec::new();
    render(&mut b)?;
    let s = String::from_utf8_lossy(&b).into_owned();
    Ok(s.split_once("\n.SH ")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map_or(String::new(), |(_, body)| body.to_string()))
}

/// The whole manual in one page: the global part as clap_mangen renders it, then each
/// command with its synopsis, description and options, the exit status, and see-also.
pub fn man_page(w: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    writeln!(w, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("mqpeek {}", sub.get_name());
        // The global --ipc-ns is described once, above.
        let sub = sub
            .clone()
            .bin_name(name.clone())
            .mut_arg("ipc_ns", |a| a.hide(true));
        let m = Man::new(sub.clone());
        let mut r = Roff::new();
        r.control("SS", [name.as_str()]);
        r.to_writer(w)?;
        w.write_all(body(|b| m.render_synopsis_section(b))?.as_bytes())?;
        let about = sub
            .get_long_about()
            .or_else(|| sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut r = Roff::new();
        for para in about.split("\n\n") {
            r.control("PP", []);
            r.text([roman(para.replace('\n', " "))]);
        }
        r.to_writer(w)?;
        if sub
            .get_arguments()
            .any(|a| !a.is_hide_set() && a.get_id() != "help")
        {
            w.write_all(body(|b| m.render_options_section(b))?.as_bytes())?;
        }
    }
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    r.control("nf", []);
    for line in EXIT_STATUS.lines().skip(1) {
        r.text([roman(line)]);
    }
    r.control("fi", []);
    r.control("SH", ["EXAMPLES"]);
    r.control("nf", []);
    for line in [
        "mqpeek send /orders --create --mode 640 --prio 9 '{\"id\": 42}'",
        "mqpeek list -o +NOTIFY_PID",
        "mqpeek show /orders --format text --full",
        "mqpeek dump /orders -o orders.img",
        "mqpeek inspect orders.img",
        "mqpeek restore orders.img --name /orders-copy",
        "mqpeek --ipc-ns $(pidof myservice) list -J",
    ] {
        r.text([roman(line)]);
    }
    r.control("fi", []);
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("lsipc"),
        roman("(1), "),
        bold("mq_overview"),
        roman("(7), "),
        bold("mq_notify"),
        roman("(3), "),
        bold("setns"),
        roman("(2), "),
        bold("ipcrm"),
        roman("(1), "),
        bold("F_MQ_PEEK"),
        roman("(2const) (docs/man/man2const/F_MQ_PEEK.2const), and the image format, "),
        bold("mqpeek-image"),
        roman("(5) (docs/man/man5/mqpeek-image.5)."),
    ]);
    r.to_writer(w)?;
    man.render_version_section(w)
}

/// The completion script, written with its errors returned (clap_complete panics on a
/// failed write, so it renders into memory first).
pub fn completions(shell: clap_complete::Shell, w: &mut dyn Write) -> io::Result<()> {
    let mut b = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mqpeek", &mut b);
    w.write_all(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_every_command_and_the_exit_status() {
        let mut b = Vec::new();
        man_page(&mut b).unwrap();
        let s = String::from_utf8(b).unwrap();
        assert!(s.contains("\n.TH mqpeek 1"), "{}", &s[..80]);
        for sub in [
            "list",
            "show",
            "dump",
            "restore",
            "inspect",
            "send",
            "completions",
        ] {
            assert!(s.contains(&format!(".SS \"mqpeek {sub}\"")), "{sub}");
        }
        for opt in [
            "\\-\\-ipc\\-ns",
            "\\-\\-noheadings",
            "\\-\\-no\\-owner",
            "\\-\\-format",
        ] {
            assert!(s.contains(opt), "{opt}");
        }
        assert!(s.contains(".SH \"EXIT STATUS\""));
        assert!(s.contains("no such queue"));
        assert!(!s.contains("gen\\-man"));
        assert_eq!(s.matches(".SH SYNOPSIS").count(), 1);
        assert_eq!(s.matches("Work in the IPC namespace").count(), 1);
    }

    #[test]
    fn completions_know_the_subcommands() {
        let mut b = Vec::new();
        completions(clap_complete::Shell::Bash, &mut b).unwrap();
        let s = String::from_utf8(b).unwrap();
        assert!(s.contains("inspect") && s.contains("--ipc-ns"));
    }
}

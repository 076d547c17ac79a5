// SPDX-License-Identifier: GPL-2.0
//! `mqpeek list`'s table, as util-linux 2.41's `lsipc -Q` prints it: the column model
//! (columns.rs), the text of each cell (format.rs), and the output formats (render.rs).

pub mod columns;
pub mod format;
pub mod render;

pub use columns::{desc, parse_columns, Col, Row, COLS, COLUMNS_HELP, DEFAULT, LSIPC};
pub use format::{cell, format_time, human_size, localtime, CellOpts, Names, TimeFormat};
pub use render::{pretty, render, Mode, Opts, Table};

#[cfg(test)]
mod tests {
    use super::format::{strmode, Tm};
    use super::*;

    const NOW: Tm = Tm {
        year: 2026,
        mon: 10,
        mday: 26,
        hour: 14,
        min: 0,
        sec: 0,
        wday: 4,
        yday: 329,
        gmtoff: 3600,
    };

    fn rows() -> Vec<Row> {
        vec![
            Row {
                name: b"/orders".to_vec(),
                mode: 0o640,
                uid: 0,
                gid: 0,
                mtime: 0,
                qsize: Some(124),
                curmsgs: Some(3),
                maxmsg: Some(10),
                msgsize: Some(1024),
                notify: Some((0, 0, 0)),
            },
            Row {
                name: b"/secret q".to_vec(),
                mode: 0o600,
                uid: 1000,
                gid: 100,
                mtime: 0,
                ..Default::default()
            },
        ]
    }

    fn names() -> Names {
        Names::parse(
            "root:x:0:0:root:/root:/bin/sh\nbad line\nalice:x:1000:100::/home/alice:/bin/sh\n",
            "root:x:0:\nusers:x:100:alice\n",
        )
    }

    fn table(rows: &[Row], cols: &[Col], c: &CellOpts) -> Table {
        Table {
            name: "posix-messages",
            heads: cols
                .iter()
                .map(|&k| (desc(k).name, desc(k).right))
                .collect(),
            rows: rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|&k| cell(r, k, c, &names(), &NOW))
                        .collect()
                })
                .collect(),
        }
    }

    fn show(rows: &[Row], cols: &[Col], c: &CellOpts, o: &Opts) -> String {
        String::from_utf8(render(&table(rows, cols, c), o)).unwrap()
    }

    #[test]
    fn columns_parse_like_lsipc() {
        assert_eq!(
            parse_columns("name,msgs,UsedBytes").unwrap(),
            vec![Col::Name, Col::Msgs, Col::Usedbytes]
        );
        let plus = parse_columns("+NOTIFY_PID").unwrap();
        assert_eq!(plus.len(), DEFAULT.len() + 1);
        assert_eq!(plus.last(), Some(&Col::NotifyPid));
        assert_eq!(
            parse_columns("NAME,KEY").unwrap_err(),
            "unknown column: KEY"
        );
    }

    #[test]
    fn help_lists_every_column() {
        for d in COLS {
            assert!(
                COLUMNS_HELP.contains(&format!("{}  {}", d.name, d.help)),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn table_aligns_like_lsipc() {
        let c = CellOpts::default();
        let o = Opts::default();
        assert_eq!(
            show(&rows(), DEFAULT, &c, &o),
            "\
NAME          PERMS OWNER MTIME USEDBYTES MSGS
/orders   rw-r-----  root            124B 3
/secret q rw------- alice
"
        );
        let n = Opts {
            noheadings: true,
            ..o
        };
        assert_eq!(show(&rows(), &[Col::Name], &c, &n), "/orders\n/secret q\n");
        // no rows, no heading (libsmartcols)
        assert_eq!(show(&[], DEFAULT, &c, &o), "");
    }

    #[test]
    fn names_are_escaped_never_dropped() {
        let mut r = rows();
        r[0].name = b"/\x1b[31mred\nx".to_vec();
        r[1].name = b"/\xff\xfe".to_vec();
        let c = CellOpts::default();
        let o = Opts::default();
        assert_eq!(
            show(&r, &[Col::Name], &c, &o),
            "NAME\n/\\x1b[31mred\\x0ax\n/\\xff\\xfe\n"
        );
        // JSON carries the exact bytes, control characters escaped as util-linux does.
        let j = render(
            &table(&r, &[Col::Name], &c),
            &Opts {
                mode: Mode::Json,
                ..o
            },
        );
        let want: &[u8] = b"{\n   \"posix-messages\": [\n      {\n         \"name\": \"/\\u001b[31mred\\nx\"\n      },{\n         \"name\": \"/\xff\xfe\"\n      }\n   ]\n}\n";
        assert_eq!(j, want);
        let e = render(
            &table(&r, &[Col::Name], &c),
            &Opts {
                mode: Mode::Export,
                ..o
            },
        );
        assert_eq!(e, b"NAME=\"/\\x1b[31mred\\x0ax\"\nNAME=\"/\\xff\\xfe\"\n");
    }

    #[test]
    fn raw_escapes_blanks() {
        let c = CellOpts {
            bytes: true,
            ..Default::default()
        };
        let o = Opts {
            mode: Mode::Raw,
            ..Default::default()
        };
        let cols = parse_columns("NAME,PERMS,CUSER,CGROUP,USEDBYTES").unwrap();
        assert_eq!(
            show(&rows(), &cols, &c, &o),
            "NAME PERMS CUSER CGROUP USEDBYTES\n/orders rw-r----- root root 124\n/secret\\x20q rw------- alice users \n"
        );
    }

    #[test]
    fn export_newline_and_shell_names() {
        let c = CellOpts::default();
        let cols = parse_columns("NAME,MSGS").unwrap();
        let e = Opts {
            mode: Mode::Export,
            ..Default::default()
        };
        assert_eq!(
            show(&rows(), &cols, &c, &e),
            "NAME=\"/orders\" MSGS=\"3\"\nNAME=\"/secret q\" MSGS=\"\"\n"
        );
        let n = Opts {
            mode: Mode::Newline,
            ..Default::default()
        };
        assert_eq!(
            show(&rows(), &cols, &c, &n),
            "NAME=\"/orders\"\nMSGS=\"3\"\nNAME=\"/secret q\"\nMSGS=\"\"\n"
        );
        assert_eq!(super::render::shellvar("USE%"), "USE_PCT");
        assert_eq!(super::render::shellvar("NOTIFY_PID"), "NOTIFY_PID");
        assert_eq!(super::render::shellvar("1X"), "_1X");
    }

    #[test]
    fn pretty_is_lsipcs() {
        let p = pretty(&[("Name", Some(b"/q".to_vec())), ("Creator user", None)]);
        assert_eq!(
            String::from_utf8(p).unwrap(),
            format!("Name:{}{:<36}\n", " ".repeat(31), "/q")
        );
    }

    #[test]
    fn json_is_lsipcs() {
        let c = CellOpts::default();
        let o = Opts {
            mode: Mode::Json,
            ..Default::default()
        };
        let cols = parse_columns("NAME,MSGS,USEDBYTES").unwrap();
        let s = show(&rows(), &cols, &c, &o);
        assert_eq!(
            s,
            r#"{
   "posix-messages": [
      {
         "name": "/orders",
         "msgs": "3",
         "usedbytes": "124B"
      },{
         "name": "/secret q",
         "msgs": null,
         "usedbytes": null
      }
   ]
}
"#
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["posix-messages"][0]["msgs"], "3");
        let empty = show(&[], &cols, &c, &o);
        let v: serde_json::Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(v["posix-messages"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn human_sizes_are_util_linuxs() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(124), "124B");
        assert_eq!(human_size(1023), "1023B");
        assert_eq!(human_size(1024), "1K");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(82880), "80.9K");
        assert_eq!(human_size(1048575), "1024K"); // 1023.999K rounds up, as in util-linux
        assert_eq!(human_size(16 << 20), "16M");
    }

    #[test]
    fn perms() {
        assert_eq!(strmode(0o640), "rw-r-----");
        assert_eq!(strmode(0o100777), "rwxrwxrwx");
        // lsipc 2.41 leaves PERMS empty with -P for POSIX queues.
        let o = CellOpts {
            numeric_perms: true,
            ..Default::default()
        };
        let r = Row {
            mode: 0o600,
            ..Default::default()
        };
        assert_eq!(cell(&r, Col::Perms, &o, &names(), &NOW), None);
    }

    #[test]
    fn times() {
        let t = |mday, yday, year| Tm {
            year,
            mday,
            yday,
            hour: 9,
            min: 5,
            sec: 7,
            ..NOW
        };
        assert_eq!(
            format_time(&t(26, 329, 2026), &NOW, TimeFormat::Short),
            "09:05"
        );
        assert_eq!(
            format_time(&t(2, 305, 2026), &NOW, TimeFormat::Short),
            "Nov02"
        );
        assert_eq!(
            format_time(&t(2, 305, 2025), &NOW, TimeFormat::Short),
            "2025-Nov02"
        );
        assert_eq!(
            format_time(&t(26, 329, 2026), &NOW, TimeFormat::Iso),
            "2026-11-26T09:05:07+01:00"
        );
        assert_eq!(
            format_time(&t(2, 305, 2026), &NOW, TimeFormat::Full),
            "Thu Nov  2 09:05:07 2026"
        );
    }
}

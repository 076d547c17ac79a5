// SPDX-License-Identifier: GPL-2.0
//! `mqpeek list`: lsipc's POSIX message-queue columns (util-linux sys-utils/lsipc.c,
//! `lsipc -Q`) and its output modes.
//!
//! The columns lsipc has for POSIX queues keep its names, order of defaults, alignment
//! and JSON spelling (lower-case keys, every value a string, null for an empty cell, the
//! table named "posix-messages"): NAME, PERMS, OWNER, MTIME, USEDBYTES, MSGS (lsipc's
//! default set, in its order), CUID, CUSER, CGID, CGROUP.  mqpeek adds the attributes
//! lsipc does not show: MAXMSG, MSGSIZE, and the notification state of the status line,
//! NOTIFY, SIGNO, NOTIFY_PID.

use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Name,
    Perms,
    Owner,
    Mtime,
    Usedbytes,
    Msgs,
    Cuid,
    Cuser,
    Cgid,
    Cgroup,
    Maxmsg,
    Msgsize,
    Notify,
    Signo,
    NotifyPid,
}

/// (column, name, right-aligned, help)
const COLS: &[(Col, &str, bool, &str)] = &[
    (Col::Name, "NAME", false, "POSIX resource name"),
    (Col::Perms, "PERMS", true, "Permissions"),
    (Col::Owner, "OWNER", true, "Owner's username or UID"),
    (Col::Mtime, "MTIME", true, "Time of last action"),
    (Col::Usedbytes, "USEDBYTES", true, "Bytes used"),
    (Col::Msgs, "MSGS", false, "Number of messages"),
    (Col::Cuid, "CUID", true, "Creator UID"),
    (Col::Cuser, "CUSER", false, "Creator user"),
    (Col::Cgid, "CGID", true, "Creator GID"),
    (Col::Cgroup, "CGROUP", false, "Creator group"),
    (
        Col::Maxmsg,
        "MAXMSG",
        true,
        "Maximum number of messages (mq_maxmsg)",
    ),
    (
        Col::Msgsize,
        "MSGSIZE",
        true,
        "Maximum message size (mq_msgsize)",
    ),
    (
        Col::Notify,
        "NOTIFY",
        true,
        "sigev_notify of the mq_notify registration",
    ),
    (
        Col::Signo,
        "SIGNO",
        true,
        "Signal of the mq_notify registration",
    ),
    (
        Col::NotifyPid,
        "NOTIFY_PID",
        true,
        "Process registered with mq_notify",
    ),
];

/// lsipc -Q's defaults, then the queue's attributes.
pub const DEFAULT: &[Col] = &[
    Col::Name,
    Col::Perms,
    Col::Owner,
    Col::Mtime,
    Col::Usedbytes,
    Col::Msgs,
    Col::Maxmsg,
    Col::Msgsize,
];

/// The long help of `list --output`.
pub const COLUMNS_HELP: &str = "\
Columns to print, comma-separated, case-insensitive (as lsipc -o); a list starting with
'+' is appended to the default columns.

Default: NAME,PERMS,OWNER,MTIME,USEDBYTES,MSGS,MAXMSG,MSGSIZE

Available columns:
        NAME  POSIX resource name
       PERMS  Permissions
       OWNER  Owner's username or UID
       MTIME  Time of last action
   USEDBYTES  Bytes used (QSIZE)
        MSGS  Number of messages
        CUID  Creator UID
       CUSER  Creator user
        CGID  Creator GID
      CGROUP  Creator group
      MAXMSG  Maximum number of messages (mq_maxmsg)
     MSGSIZE  Maximum message size (mq_msgsize)
      NOTIFY  sigev_notify of the mq_notify registration
       SIGNO  Signal of the mq_notify registration
  NOTIFY_PID  Process registered with mq_notify";

fn desc(c: Col) -> (&'static str, bool) {
    let d = COLS
        .iter()
        .find(|d| d.0 == c)
        .expect("every column is described");
    (d.1, d.2)
}

/// Parses an `-o` list: replaces the defaults, or extends them when it starts with '+'.
pub fn parse_columns(spec: &str) -> Result<Vec<Col>, String> {
    let (mut cols, list) = match spec.strip_prefix('+') {
        Some(rest) => (DEFAULT.to_vec(), rest),
        None => (Vec::new(), spec),
    };
    for name in list.split(',') {
        let name = name.trim();
        let c = COLS
            .iter()
            .find(|d| d.1.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown column: {name}"))?;
        cols.push(c.0);
    }
    Ok(cols)
}

/// What is known of one queue.  Every field comes from one object: the queue's own
/// descriptor, or (for a queue the caller cannot open) the mqueue filesystem entry alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub qsize: Option<u64>,
    pub curmsgs: Option<i64>,
    pub maxmsg: Option<i64>,
    pub msgsize: Option<i64>,
    /// (NOTIFY, SIGNO, NOTIFY_PID) of the status line.
    pub notify: Option<(i32, i32, i32)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeFormat {
    #[default]
    Short,
    Full,
    Iso,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Table,
    Raw,
    Json,
}

#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub mode: Mode,
    pub noheadings: bool,
    pub bytes: bool,
    pub numeric_perms: bool,
    pub time: TimeFormat,
}

/// Names of users and groups (from /etc/passwd and /etc/group: no NSS in a static
/// binary), numbers when unknown.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub users: HashMap<u32, String>,
    pub groups: HashMap<u32, String>,
}

impl Names {
    pub fn parse(passwd: &str, group: &str) -> Names {
        let map = |s: &str| {
            s.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let id = f.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                .collect()
        };
        Names {
            users: map(passwd),
            groups: map(group),
        }
    }

    pub fn load() -> Names {
        let r = |p| std::fs::read_to_string(p).unwrap_or_default();
        Names::parse(&r("/etc/passwd"), &r("/etc/group"))
    }
}

/// `ls -l`-style permissions of the low nine mode bits, as lsipc's PERMS.
pub fn strmode(mode: u32) -> String {
    let mut s = String::from("-");
    for shift in [6, 3, 0] {
        let b = mode >> shift;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// util-linux size_to_human_string() with one-letter suffixes: 124B, 1.5K, 80.9K.
pub fn human_size(bytes: u64) -> String {
    let mut exp = 0u32;
    while exp < 60 && bytes >= 1u64 << (exp + 10) {
        exp += 10;
    }
    let letter = b"BKMGTPE"[(exp / 10) as usize] as char;
    let mut dec = bytes >> exp;
    let mut frac = if exp > 0 {
        bytes & ((1u64 << exp) - 1)
    } else {
        0
    };
    if frac != 0 {
        frac = ((u128::from(frac) * 1000) >> exp) as u64;
        frac = (frac + 50) / 100 * 10;
        if frac == 100 {
            dec += 1;
            frac = 0;
        }
    }
    if frac != 0 {
        let mut s = format!("{dec}.{frac:02}");
        if s.ends_with('0') {
            s.pop();
        }
        format!("{s}{letter}")
    } else {
        format!("{dec}{letter}")
    }
}

/// Broken-down time: what localtime gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    pub year: i32,
    /// 0..=11
    pub mon: u32,
    pub mday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// 0 = Sunday
    pub wday: u32,
    pub yday: u32,
    /// seconds east of UTC
    pub gmtoff: i64,
}

const MON: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// lsipc's time formats: short ("13:05" today, "Nov26" this year, "2025-Nov26"),
/// full (asctime), iso.
pub fn format_time(t: &Tm, now: &Tm, f: TimeFormat) -> String {
    match f {
        TimeFormat::Short if t.year == now.year && t.yday == now.yday => {
            format!("{:02}:{:02}", t.hour, t.min)
        }
        TimeFormat::Short if t.year == now.year => format!("{}{:02}", MON[t.mon as usize], t.mday),
        TimeFormat::Short => format!("{}-{}{:02}", t.year, MON[t.mon as usize], t.mday),
        TimeFormat::Full => format!(
            "{} {} {:2} {:02}:{:02}:{:02} {}",
            DAY[t.wday as usize], MON[t.mon as usize], t.mday, t.hour, t.min, t.sec, t.year
        ),
        TimeFormat::Iso => {
            let off = t.gmtoff.abs();
            format!(
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
                t.year,
                t.mon + 1,
                t.mday,
                t.hour,
                t.min,
                t.sec,
                if t.gmtoff < 0 { '-' } else { '+' },
                off / 3600,
                off / 60 % 60
            )
        }
    }
}

/// Local time of `secs` since the epoch.
pub fn localtime(secs: i64) -> Tm {
    // SAFETY: an all-zero struct tm is a valid value; localtime_r only writes to `tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = secs;
    // SAFETY: both pointers are valid for the call.
    unsafe { libc::localtime_r(&t, &mut tm) };
    Tm {
        year: tm.tm_year + 1900,
        mon: tm.tm_mon.clamp(0, 11) as u32,
        mday: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
        wday: tm.tm_wday.clamp(0, 6) as u32,
        yday: tm.tm_yday as u32,
        gmtoff: tm.tm_gmtoff,
    }
}

/// The text of one cell; None for an empty one.
pub fn cell(r: &Row, c: Col, o: &Opts, names: &Names, now: &Tm) -> Option<String> {
    let n = |v: Option<i64>| v.map(|v| v.to_string());
    match c {
        Col::Name => Some(r.name.clone()),
        // C's "%#o", as lsipc -P: 0640, and 0 for no bits.
        Col::Perms if o.numeric_perms => Some(match r.mode & 0o777 {
            0 => "0".into(),
            m => format!("0{m:o}"),
        }),
        Col::Perms => Some(strmode(r.mode)),
        Col::Owner => Some(
            names
                .users
                .get(&r.uid)
                .cloned()
                .unwrap_or_else(|| r.uid.to_string()),
        ),
        Col::Mtime => (r.mtime != 0).then(|| format_time(&localtime(r.mtime), now, o.time)),
        Col::Usedbytes => r.qsize.map(|q| {
            if o.bytes {
                q.to_string()
            } else {
                human_size(q)
            }
        }),
        Col::Msgs => n(r.curmsgs),
        Col::Cuid => Some(r.uid.to_string()),
        Col::Cuser => names.users.get(&r.uid).cloned(),
        Col::Cgid => Some(r.gid.to_string()),
        Col::Cgroup => names.groups.get(&r.gid).cloned(),
        Col::Maxmsg => n(r.maxmsg),
        Col::Msgsize => n(r.msgsize),
        Col::Notify => r.notify.map(|v| v.0.to_string()),
        Col::Signo => r.notify.map(|v| v.1.to_string()),
        Col::NotifyPid => r.notify.map(|v| v.2.to_string()),
    }
}

/// libsmartcols' raw mode: blanks, backslashes and control characters hex-escaped.
fn raw_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_graphic() && ch != '\\' || (!ch.is_ascii() && !ch.is_control()) {
            o.push(ch);
        } else {
            let mut b = [0u8; 4];
            for byte in ch.encode_utf8(&mut b).bytes() {
                let _ = write!(o, "\\x{byte:02x}");
            }
        }
    }
    o
}

/// Renders the table.
pub fn render(rows: &[Row], cols: &[Col], o: &Opts, names: &Names, now: &Tm) -> String {
    let cells: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| cols.iter().map(|&c| cell(r, c, o, names, now)).collect())
        .collect();
    let mut out = String::new();
    match o.mode {
        Mode::Json => {
            out.push_str("{\n   \"posix-messages\": [");
            for (i, row) in cells.iter().enumerate() {
                out.push_str(if i == 0 { "\n      {" } else { ",{" });
                for (k, (&c, v)) in cols.iter().zip(row).enumerate() {
                    let key = desc(c).0.to_ascii_lowercase();
                    let val = v
                        .as_deref()
                        .filter(|v| !v.is_empty())
                        .map_or("null".to_string(), |v| serde_json::to_string(v).unwrap());
                    let sep = if k + 1 < cols.len() { "," } else { "" };
                    let _ = write!(out, "\n         \"{key}\": {val}{sep}");
                }
                out.push_str("\n      }");
            }
            out.push_str(if cells.is_empty() {
                "]\n}\n"
            } else {
                "\n   ]\n}\n"
            });
        }
        Mode::Raw => {
            let mut line = |vals: Vec<String>| {
                out.push_str(&vals.join(" "));
                out.push('\n');
            };
            if !o.noheadings {
                line(cols.iter().map(|&c| desc(c).0.to_string()).collect());
            }
            for row in &cells {
                line(
                    row.iter()
                        .map(|v| raw_escape(v.as_deref().unwrap_or("")))
                        .collect(),
                );
            }
        }
        Mode::Table => {
            let mut width: Vec<usize> = cols
                .iter()
                .map(|&c| if o.noheadings { 0 } else { desc(c).0.len() })
                .collect();
            for row in &cells {
                for (w, v) in width.iter_mut().zip(row) {
                    *w = (*w).max(v.as_deref().map_or(0, |v| v.chars().count()));
                }
            }
            let mut line = |vals: Vec<&str>| {
                let mut l = String::new();
                for (k, (&c, v)) in cols.iter().zip(vals).enumerate() {
                    if k > 0 {
                        l.push(' ');
                    }
                    let pad = width[k].saturating_sub(v.chars().count());
                    if desc(c).1 {
                        l.push_str(&" ".repeat(pad));
                        l.push_str(v);
                    } else {
                        l.push_str(v);
                        l.push_str(&" ".repeat(pad));
                    }
                }
                out.push_str(l.trim_end());
                out.push('\n');
            };
            if !o.noheadings {
                line(cols.iter().map(|&c| desc(c).0).collect());
            }
            for row in &cells {
                line(row.iter().map(|v| v.as_deref().unwrap_or("")).collect());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
                name: "/orders".into(),
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
                name: "/secret q".into(),
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
            assert!(COLUMNS_HELP.contains(&format!("{}  ", d.1)), "{}", d.1);
        }
    }

    #[test]
    fn table_aligns_like_lsipc() {
        let o = Opts::default();
        let s = render(&rows(), DEFAULT, &o, &names(), &NOW);
        assert_eq!(
            s,
            "\
NAME           PERMS OWNER MTIME USEDBYTES MSGS MAXMSG MSGSIZE
/orders   -rw-r-----  root            124B 3        10    1024
/secret q -rw------- alice
"
        );
        let n = render(
            &rows(),
            &[Col::Name],
            &Opts {
                noheadings: true,
                ..o
            },
            &names(),
            &NOW,
        );
        assert_eq!(n, "/orders\n/secret q\n");
    }

    #[test]
    fn raw_escapes_blanks() {
        let o = Opts {
            mode: Mode::Raw,
            numeric_perms: true,
            bytes: true,
            ..Default::default()
        };
        let cols = parse_columns("NAME,PERMS,CUSER,CGROUP,USEDBYTES").unwrap();
        let s = render(&rows(), &cols, &o, &names(), &NOW);
        assert_eq!(
            s,
            "NAME PERMS CUSER CGROUP USEDBYTES\n/orders 0640 root root 124\n/secret\\x20q 0600 alice users \n"
        );
    }

    #[test]
    fn json_is_lsipcs() {
        let o = Opts {
            mode: Mode::Json,
            ..Default::default()
        };
        let cols = parse_columns("NAME,MSGS,USEDBYTES").unwrap();
        let s = render(&rows(), &cols, &o, &names(), &NOW);
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
        let empty = render(&[], &cols, &o, &names(), &NOW);
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
        assert_eq!(strmode(0o640), "-rw-r-----");
        assert_eq!(strmode(0o100777), "-rwxrwxrwx");
        let o = Opts {
            numeric_perms: true,
            ..Default::default()
        };
        let r = Row {
            mode: 0o600,
            ..Default::default()
        };
        assert_eq!(cell(&r, Col::Perms, &o, &names(), &NOW).unwrap(), "0600");
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

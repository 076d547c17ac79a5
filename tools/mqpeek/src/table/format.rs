// SPDX-License-Identifier: GPL-2.0
//! The text of each cell, as lsipc formats it: permissions, sizes, times, user names.

use super::columns::{Col, Row};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeFormat {
    #[default]
    Short,
    Full,
    Iso,
}

/// How the cells are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellOpts {
    pub bytes: bool,
    pub numeric_perms: bool,
    pub time: TimeFormat,
}

/// Names of users and groups: through NSS (getpwuid_r, getgrgid_r: LDAP, sssd, files)
/// in a dynamically linked mqpeek; from /etc/passwd and /etc/group in the static build for
/// the test VM, which has no NSS.  None when unknown (the column then shows the number,
/// or nothing, as lsipc does).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub users: HashMap<u32, String>,
    pub groups: HashMap<u32, String>,
    nss: bool,
}

impl Names {
    #[cfg_attr(not(target_feature = "crt-static"), allow(dead_code))]
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
            nss: false,
        }
    }

    #[cfg(target_feature = "crt-static")]
    pub fn load() -> Names {
        let r = |p| std::fs::read_to_string(p).unwrap_or_default();
        Names::parse(&r("/etc/passwd"), &r("/etc/group"))
    }

    #[cfg(not(target_feature = "crt-static"))]
    pub fn load() -> Names {
        Names {
            nss: true,
            ..Default::default()
        }
    }

    pub fn user(&self, uid: u32) -> Option<String> {
        if let Some(n) = self.users.get(&uid) {
            return Some(n.clone());
        }
        self.nss
            .then(|| nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok())
            .flatten()
            .flatten()
            .map(|u| u.name)
    }

    pub fn group(&self, gid: u32) -> Option<String> {
        if let Some(n) = self.groups.get(&gid) {
            return Some(n.clone());
        }
        self.nss
            .then(|| nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)).ok())
            .flatten()
            .flatten()
            .map(|g| g.name)
    }
}

/// lsipc's PERMS: xstrmode(mode & 0777), which has no file-type letter for bits without
/// a type: "rw-r-----".
pub fn strmode(mode: u32) -> String {
    let mut s = String::new();
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

/// The bytes of one cell; None for an empty one.
pub fn cell(r: &Row, c: Col, o: &CellOpts, names: &Names, now: &Tm) -> Option<Vec<u8>> {
    let n = |v: Option<i64>| v.map(|v| v.to_string().into_bytes());
    let s = |v: String| Some(v.into_bytes());
    match c {
        Col::Name => Some(r.name.clone()),
        // lsipc 2.41 formats "%#o" for -P but never stores it for POSIX queues
        // (do_posix_msg()): the cell stays empty.  Kept, for identical output.
        Col::Perms if o.numeric_perms => None,
        Col::Perms => s(strmode(r.mode)),
        Col::Owner => s(names.user(r.uid).unwrap_or_else(|| r.uid.to_string())),
        Col::Mtime => {
            (r.mtime != 0).then(|| format_time(&localtime(r.mtime), now, o.time).into_bytes())
        }
        Col::Usedbytes => r.qsize.map(|q| {
            if o.bytes {
                q.to_string().into_bytes()
            } else {
                human_size(q).into_bytes()
            }
        }),
        Col::Msgs => n(r.curmsgs),
        Col::Cuid => s(r.uid.to_string()),
        Col::Cuser => names.user(r.uid).map(String::into_bytes),
        Col::Cgid => s(r.gid.to_string()),
        Col::Cgroup => names.group(r.gid).map(String::into_bytes),
        Col::Maxmsg => n(r.maxmsg),
        Col::Msgsize => n(r.msgsize),
        Col::Notify => r.notify.map(|v| v.0.to_string().into_bytes()),
        Col::Signo => r.notify.map(|v| v.1.to_string().into_bytes()),
        Col::NotifyPid => r.notify.map(|v| v.2.to_string().into_bytes()),
    }
}

// SPDX-License-Identifier: GPL-2.0
//! Rendering a table as libsmartcols does for lsipc: the human table (cells made safe for
//! a terminal, util-linux's `\xHH`), raw (`-r`), JSON (`-J`), export (`-e`, KEY="value"),
//! newline (`-n`, one KEY="value" a line), shell variable names (`-y`), and the one-row
//! view of `-N NAME`.  Cells are bytes: a queue name need not be UTF-8, and JSON and the
//! export formats carry or escape its exact bytes as util-linux does.

use crate::names::escape;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Table,
    Raw,
    Json,
    Export,
    Newline,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    pub mode: Mode,
    pub noheadings: bool,
    pub shellvar: bool,
}

/// A table: its name in JSON, its columns (name, right-aligned), its cells.
pub struct Table {
    pub name: &'static str,
    pub heads: Vec<(&'static str, bool)>,
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
}

/// scols_shellvar_name(): "USE%" -> "USE_PCT", "1FOO" -> "_1FOO", other bad chars '_'.
pub fn shellvar(name: &str) -> String {
    let mut s = String::new();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.push('_');
    }
    s.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    if name.ends_with('%') {
        s.push_str("PCT");
    }
    s
}

/// fputs_nonblank(): blanks, backslashes and anything not printable ASCII as `\xHH`
/// (glibc's isprint() in a UTF-8 locale is false for every byte above 0x7f).
fn nonblank(b: &[u8], o: &mut Vec<u8>) {
    for &c in b {
        if c == b' ' || c == b'\t' || c == b'\\' || !(0x21..0x7f).contains(&c) {
            let _ = write!(o, "\\x{c:02x}");
        } else {
            o.push(c);
        }
    }
}

/// fputs_quoted(): in double quotes, with `"`, `\`, `` ` ``, `$` and anything not
/// printable ASCII as `\xHH`.
fn quoted(b: &[u8], o: &mut Vec<u8>) {
    o.push(b'"');
    for &c in b {
        if matches!(c, b'"' | b'\\' | b'`' | b'$') || !(0x20..0x7f).contains(&c) {
            let _ = write!(o, "\\x{c:02x}");
        } else {
            o.push(c);
        }
    }
    o.push(b'"');
}

/// ul_jsonwrt_value_s(): `"` and `\` escaped, control characters as \b \t \n \f \r or
/// \u00XX, every other byte as it is (so a name that is not UTF-8 keeps its bytes).
fn json_string(b: &[u8], o: &mut Vec<u8>) {
    o.push(b'"');
    for &c in b {
        match c {
            b'"' | b'\\' => o.extend_from_slice(&[b'\\', c]),
            0x08 => o.extend_from_slice(b"\\b"),
            b'\t' => o.extend_from_slice(b"\\t"),
            b'\n' => o.extend_from_slice(b"\\n"),
            0x0c => o.extend_from_slice(b"\\f"),
            b'\r' => o.extend_from_slice(b"\\r"),
            c if c < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c);
            }
            c => o.push(c),
        }
    }
    o.push(b'"');
}

pub fn render(t: &Table, o: &Opts) -> Vec<u8> {
    let name = |h: &str| {
        if o.shellvar {
            shellvar(h)
        } else {
            h.to_string()
        }
    };
    let mut out = Vec::new();
    match o.mode {
        Mode::Json => {
            let _ = write!(out, "{{\n   \"{}\": [", t.name);
            for (i, row) in t.rows.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\n      {" } else { b",{" });
                for (k, (&(h, _), v)) in t.heads.iter().zip(row).enumerate() {
                    let _ = write!(out, "\n         \"{}\": ", name(h).to_ascii_lowercase());
                    match v.as_deref().filter(|v| !v.is_empty()) {
                        Some(v) => json_string(v, &mut out),
                        None => out.extend_from_slice(b"null"),
                    }
                    if k + 1 < t.heads.len() {
                        out.push(b',');
                    }
                }
                out.extend_from_slice(b"\n      }");
            }
            out.extend_from_slice(if t.rows.is_empty() {
                b"]\n}\n"
            } else {
                b"\n   ]\n}\n"
            });
        }
        Mode::Export | Mode::Newline => {
            let sep = if o.mode == Mode::Newline { b'\n' } else { b' ' };
            for row in &t.rows {
                for (k, (&(h, _), v)) in t.heads.iter().zip(row).enumerate() {
                    if k > 0 {
                        out.push(sep);
                    }
                    let _ = write!(out, "{}=", name(h));
                    quoted(v.as_deref().unwrap_or(b""), &mut out);
                }
                out.push(b'\n');
            }
        }
        Mode::Raw => {
            if !o.noheadings && !t.rows.is_empty() {
                let hs: Vec<String> = t.heads.iter().map(|h| name(h.0)).collect();
                let _ = writeln!(out, "{}", hs.join(" "));
            }
            for row in &t.rows {
                for (k, v) in row.iter().enumerate() {
                    if k > 0 {
                        out.push(b' ');
                    }
                    nonblank(v.as_deref().unwrap_or(b""), &mut out);
                }
                out.push(b'\n');
            }
        }
        Mode::Table => {
            let cells: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_deref().map_or(String::new(), escape))
                        .collect()
                })
                .collect();
            let heads: Vec<String> = t.heads.iter().map(|h| name(h.0)).collect();
            let mut width: Vec<usize> = heads
                .iter()
                .map(|h| if o.noheadings { 0 } else { h.chars().count() })
                .collect();
            for row in &cells {
                for (w, v) in width.iter_mut().zip(row) {
                    *w = (*w).max(v.chars().count());
                }
            }
            let mut line = |vals: Vec<&str>| {
                let mut l = String::new();
                for (k, (&(_, right), v)) in t.heads.iter().zip(vals).enumerate() {
                    if k > 0 {
                        l.push(' ');
                    }
                    let pad = width[k].saturating_sub(v.chars().count());
                    if right {
                        l.push_str(&" ".repeat(pad));
                        l.push_str(v);
                    } else {
                        l.push_str(v);
                        l.push_str(&" ".repeat(pad));
                    }
                }
                out.extend_from_slice(l.trim_end().as_bytes());
                out.push(b'\n');
            };
            if !o.noheadings && !cells.is_empty() {
                line(heads.iter().map(String::as_str).collect());
            }
            for row in &cells {
                line(row.iter().map(String::as_str).collect());
            }
        }
    }
    out
}

/// lsipc's print_pretty() for `-N NAME`: "Label:" padded to 35 columns, then the value
/// left-justified in 36; empty cells are left out.
pub fn pretty(fields: &[(&str, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (label, v) in fields {
        if let Some(v) = v {
            let _ = writeln!(
                out,
                "{label}:{}{:<36}",
                " ".repeat(35usize.saturating_sub(label.len()).max(1)),
                escape(v)
            );
        }
    }
    out
}

// SPDX-License-Identifier: GPL-2.0
//! How messages are printed by `show` and `inspect`.

use base64::Engine as _;
use serde::Serialize;
use std::io::{self, Write};

use crate::image::Message;

/// Bytes of each message shown without --full.
pub const PREVIEW: usize = 16;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Hex and ASCII, 16 bytes a row
    #[default]
    Hex,
    /// Text, with non-printable bytes escaped (\n, \t, \\, \xNN)
    Text,
    /// Base64 (RFC 4648, padded)
    Base64,
    /// The payloads themselves, back to back, nothing else (implies --full)
    Raw,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    pub format: Format,
    pub full: bool,
    pub json: bool,
    /// Only messages of this priority.
    pub prio: Option<u32>,
}

pub fn hex_ascii(data: &[u8]) -> String {
    let hex: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
    let ascii: String = data
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{:<48} |{}|", hex.join(" "), ascii)
}

/// Printable ASCII as is; everything else escaped, so the output is one line and
/// lossless.
pub fn escape_text(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for &b in data {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[derive(Serialize)]
struct JsonMsg {
    index: u64,
    priority: u32,
    length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
    /// The data fields hold only the first PREVIEW bytes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

impl View {
    fn shown<'d>(&self, data: &'d [u8]) -> &'d [u8] {
        if self.full || self.format == Format::Raw {
            data
        } else {
            &data[..data.len().min(PREVIEW)]
        }
    }

    /// Writes the messages, numbered from `first`.  For the table, `header` is printed
    /// above the column titles.
    pub fn write(
        &self,
        w: &mut dyn Write,
        header: Option<&str>,
        first: u64,
        msgs: &[Message],
    ) -> io::Result<()> {
        let picked = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (first + i as u64, m))
            .filter(|(_, m)| self.prio.is_none_or(|p| m.prio == p));
        if self.format == Format::Raw && !self.json {
            for (_, m) in picked {
                w.write_all(&m.data)?;
            }
            return Ok(());
        }
        if self.json {
            for (index, m) in picked {
                let d = self.shown(&m.data);
                let mut j = JsonMsg {
                    index,
                    priority: m.prio,
                    length: m.data.len(),
                    data_hex: None,
                    data_text: None,
                    data_base64: None,
                    truncated: d.len() < m.data.len(),
                };
                match self.format {
                    Format::Hex => {
                        j.data_hex = Some(d.iter().map(|b| format!("{b:02x}")).collect())
                    }
                    Format::Text => j.data_text = Some(escape_text(d)),
                    Format::Base64 | Format::Raw => {
                        j.data_base64 = Some(base64::engine::general_purpose::STANDARD.encode(d))
                    }
                }
                serde_json::to_writer(&mut *w, &j)?;
                w.write_all(b"\n")?;
            }
            return Ok(());
        }
        if let Some(h) = header {
            writeln!(w, "{h}")?;
        }
        writeln!(w, "{:>6} {:>6} {:>8}  DATA", "INDEX", "PRIO", "LENGTH")?;
        for (index, m) in picked {
            let d = self.shown(&m.data);
            let cut = if d.len() < m.data.len() { "..." } else { "" };
            match self.format {
                Format::Hex => {
                    let first_row = &d[..d.len().min(16)];
                    writeln!(
                        w,
                        "{:>6} {:>6} {:>8}  {}",
                        index,
                        m.prio,
                        m.data.len(),
                        hex_ascii(first_row)
                    )?;
                    for (k, row) in d.chunks(16).enumerate().skip(1) {
                        writeln!(w, "{:>22}  {}", format!("+{:x}", k * 16), hex_ascii(row))?;
                    }
                }
                Format::Text => writeln!(
                    w,
                    "{:>6} {:>6} {:>8}  {}{cut}",
                    index,
                    m.prio,
                    m.data.len(),
                    escape_text(d)
                )?,
                Format::Base64 | Format::Raw => writeln!(
                    w,
                    "{:>6} {:>6} {:>8}  {}{cut}",
                    index,
                    m.prio,
                    m.data.len(),
                    base64::engine::general_purpose::STANDARD.encode(d)
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs() -> Vec<Message> {
        vec![
            Message {
                prio: 9,
                data: b"{\"id\": 42, \"item\": \"tea\"}\n".to_vec(),
            },
            Message {
                prio: 1,
                data: vec![0, 1, 2, 0xff],
            },
        ]
    }

    fn out(v: View, first: u64) -> String {
        let mut b = Vec::new();
        v.write(&mut b, Some("/q: 2 messages"), first, &msgs())
            .unwrap();
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn hex_preview_and_full() {
        let s = out(View::default(), 0);
        assert_eq!(
            s,
            "/q: 2 messages\n INDEX   PRIO   LENGTH  DATA\n     0      9       26  7b 22 69 64 22 3a 20 34 32 2c 20 22 69 74 65 6d  |{\"id\": 42, \"item|\n     1      1        4  00 01 02 ff                                      |....|\n"
        );
        let full = out(
            View {
                full: true,
                ..Default::default()
            },
            0,
        );
        assert!(full.contains("                   +10  22 3a 20 22 74 65 61 22 7d 0a"));
    }

    #[test]
    fn text_and_base64() {
        let t = out(
            View {
                format: Format::Text,
                full: true,
                ..Default::default()
            },
            5,
        );
        assert!(
            t.contains("     5      9       26  {\"id\": 42, \"item\": \"tea\"}\\n\n"),
            "{t}"
        );
        assert!(
            t.contains("     6      1        4  \\x00\\x01\\x02\\xff\n"),
            "{t}"
        );
        let b = out(
            View {
                format: Format::Base64,
                ..Default::default()
            },
            0,
        );
        assert!(b.contains("       4  AAEC/w==\n"), "{b}");
        // the first 16 bytes, marked as cut
        assert!(
            b.contains("       26  eyJpZCI6IDQyLCAiaXRlbQ==...\n"),
            "{b}"
        );
    }

    #[test]
    fn raw_is_only_the_bytes() {
        let mut b = Vec::new();
        View {
            format: Format::Raw,
            prio: Some(1),
            ..Default::default()
        }
        .write(&mut b, Some("header"), 0, &msgs())
        .unwrap();
        assert_eq!(b, vec![0, 1, 2, 0xff]);
    }

    #[test]
    fn json_lines() {
        let s = out(
            View {
                json: true,
                format: Format::Base64,
                ..Default::default()
            },
            3,
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["index"], 3);
        assert_eq!(v["priority"], 9);
        assert_eq!(v["length"], 26);
        assert_eq!(v["truncated"], true);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(v["data_base64"].as_str().unwrap())
                .unwrap()
                .len(),
            PREVIEW
        );
        assert_eq!(
            lines[1],
            r#"{"index":4,"priority":1,"length":4,"data_base64":"AAEC/w=="}"#
        );
    }

    #[test]
    fn prio_filter_keeps_indexes() {
        let s = out(
            View {
                json: true,
                prio: Some(1),
                ..Default::default()
            },
            0,
        );
        assert_eq!(
            s,
            "{\"index\":1,\"priority\":1,\"length\":4,\"data_hex\":\"000102ff\"}\n"
        );
    }
}

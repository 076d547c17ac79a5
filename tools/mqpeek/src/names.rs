// SPDX-License-Identifier: GPL-2.0
//! Queue names as util-linux prints untrusted strings (lib/mbsalign.c,
//! mbs_safe_encode_to_buffer() in a UTF-8 locale): control characters, bytes that are not
//! valid UTF-8, characters that are not printable, and a backslash followed by 'x' are
//! written as `\xHH`, one per byte; everything else as it is.  Any user may create a queue
//! (/dev/mqueue is mode 1777), so a name must never reach a terminal raw.

use std::fmt::Write as _;

pub fn escape(b: &[u8]) -> String {
    let mut o = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if (c == b'\\' && b.get(i + 1) == Some(&b'x')) || c < 0x20 || c == 0x7f {
            let _ = write!(o, "\\x{c:02x}");
            i += 1;
            continue;
        }
        // The longest valid UTF-8 character starting here, if any.
        let end = (i + 4).min(b.len());
        let ch = (i + 1..=end).find_map(|j| {
            std::str::from_utf8(&b[i..j])
                .ok()
                .and_then(|s| s.chars().next())
        });
        match ch {
            Some(ch) if !ch.is_control() => {
                o.push(ch);
                i += ch.len_utf8();
            }
            Some(ch) => {
                for x in &b[i..i + ch.len_utf8()] {
                    let _ = write!(o, "\\x{x:02x}");
                }
                i += ch.len_utf8();
            }
            None => {
                let _ = write!(o, "\\x{c:02x}");
                i += 1;
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_util_linux() {
        assert_eq!(escape(b"/plain-name_1"), "/plain-name_1");
        assert_eq!(escape(b"/\x1b[31mred"), "/\\x1b[31mred");
        assert_eq!(escape(b"/a\nb"), "/a\\x0ab");
        assert_eq!(escape(b"/\xff\xfe"), "/\\xff\\xfe");
        assert_eq!(escape("/caf\u{e9}".as_bytes()), "/caf\u{e9}");
        assert_eq!(escape("/\u{85}".as_bytes()), "/\\xc2\\x85");
        assert_eq!(escape(b"/a\\xb\\c"), "/a\\x5cxb\\c");
        assert_eq!(escape(b"/del\x7f"), "/del\\x7f");
        assert_eq!(escape(b"/a b"), "/a b");
    }
}

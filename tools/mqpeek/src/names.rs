// SPDX-License-Identifier: GPL-2.0
//! Queue names as util-linux prints untrusted strings (lib/mbsalign.c,
//! mbs_safe_encode_to_buffer() in a UTF-8 locale): control characters, bytes that are not
//! valid UTF-8, characters that are not printable, and a backslash followed by 'x' are
//! written as `\xHH`, one per byte; everything else as it is.  Any user may create a queue
//! (/dev/mqueue is mode 1777), so a name must never reach a terminal raw.

use crate::error::{Code, Fail, Res};
use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::os::unix::ffi::OsStrExt;

/// A queue name as the kernel knows it: `/` and then 1 to 255 bytes (NAME_MAX), none of
/// them `/` or NUL.  Any other byte is allowed, UTF-8 or not: a queue someone else made
/// can be named anything, and every command must reach it.  It is printed escaped
/// (`Display`, as util-linux prints it) and passed to mq_open() as its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QName(Vec<u8>);

impl QName {
    /// The name given on the command line: the leading `/` may be left out.
    pub fn arg(s: &OsStr) -> Res<QName> {
        let b = s.as_bytes();
        let mut v = Vec::with_capacity(b.len() + 1);
        if !b.starts_with(b"/") {
            v.push(b'/');
        }
        v.extend_from_slice(b);
        QName::new(v)
    }

    /// A name as stored (an image, a journal, a directory entry), with its `/`.
    pub fn new(v: Vec<u8>) -> Res<QName> {
        if !valid(&v) {
            return Err(Fail::new(
                Code::Usage,
                format!(
                    "{}: not a queue name: a queue name is /NAME, at most 255 bytes, with no \
                     other '/'",
                    escape(&v)
                ),
            ));
        }
        Ok(QName(v))
    }

    /// The exact bytes, with the leading `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name without its `/`: its entry in an mqueue filesystem.
    pub fn file(&self) -> &OsStr {
        OsStr::from_bytes(&self.0[1..])
    }
}

/// Whether `b` is a queue name: `/NAME`, NAME 1 to 255 bytes with no `/` and no NUL.
pub fn valid(b: &[u8]) -> bool {
    b.len() >= 2 && b.len() <= 256 && b[0] == b'/' && !b[1..].contains(&b'/') && !b.contains(&0)
}

/// Escaped as util-linux prints it: safe on a terminal, one line.
impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0))
    }
}

/// A queue name for mq_open() and mq_unlink(): its exact bytes (nix makes the C string).
impl nix::NixPath for QName {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn with_nix_path<T, F>(&self, f: F) -> nix::Result<T>
    where
        F: FnOnce(&std::ffi::CStr) -> T,
    {
        self.0.as_slice().with_nix_path(f)
    }
}

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
    fn names_are_bytes() {
        let n = QName::arg(OsStr::from_bytes(b"q\xff\x1b[1m")).unwrap();
        assert_eq!(n.as_bytes(), b"/q\xff\x1b[1m");
        assert_eq!(n.to_string(), "/q\\xff\\x1b[1m");
        assert_eq!(n.file().as_bytes(), b"q\xff\x1b[1m");
        assert_eq!(QName::arg(OsStr::new("/q")).unwrap().as_bytes(), b"/q");
        for bad in [&b"/"[..], b"", b"/a/b", b"a/b", b"/a\0b"] {
            assert!(QName::arg(OsStr::from_bytes(bad)).is_err(), "{bad:?}");
        }
        assert!(QName::arg(OsStr::new(&"x".repeat(255))).is_ok());
        assert!(QName::arg(OsStr::new(&"x".repeat(256))).is_err());
        let e = QName::arg(OsStr::from_bytes(b"/\x1b/x")).unwrap_err();
        assert!(e.msg.starts_with("/\\x1b/x: not a queue name"), "{}", e.msg);
        // mq_open() gets the exact bytes.
        let c = nix::NixPath::with_nix_path(&n, |c| c.to_bytes().to_vec()).unwrap();
        assert_eq!(c, b"/q\xff\x1b[1m");
    }

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

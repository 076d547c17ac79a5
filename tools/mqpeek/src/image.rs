// SPDX-License-Identifier: GPL-2.0
//! The dump image: a queue's attributes and every message in receive order.
//!
//! Format, version 1 (all integers little-endian):
//!
//! ```text
//! offset  size  field
//! 0       8     magic "MQPEEK\0\n"
//! 8       4     version (1)
//! 12      8     mq_maxmsg
//! 20      8     mq_msgsize
//! 28      4     mode (permission bits of the queue file)
//! 32      4     uid
//! 36      4     gid
//! 40      4     name length L (bytes, the queue name with its leading '/')
//! 44      L     name
//! 44+L    8     message count N
//!         ...   N records: priority (4), length M (8), M payload bytes
//!         8     FNV-1a 64 of every byte before it
//! ```
//!
//! Records are in receive order, so sending them in order into an empty queue reproduces
//! the queue exactly.  The trailing checksum catches truncation and corruption.

use std::fmt;

pub const MAGIC: &[u8; 8] = b"MQPEEK\0\n";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub prio: u32,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    pub maxmsg: i64,
    pub msgsize: i64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub messages: Vec<Message>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    NotAnImage,
    Version(u32),
    Truncated,
    Checksum,
    Invalid(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAnImage => write!(f, "not an mqpeek image (bad magic)"),
            Error::Version(v) => write!(
                f,
                "image version {v} is not supported (this mqpeek reads version {VERSION})"
            ),
            Error::Truncated => write!(f, "image is truncated"),
            Error::Checksum => write!(f, "image is corrupt (checksum mismatch)"),
            Error::Invalid(what) => write!(f, "image is invalid: {what}"),
        }
    }
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Image {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(MAGIC);
        v.extend_from_slice(&VERSION.to_le_bytes());
        v.extend_from_slice(&self.maxmsg.to_le_bytes());
        v.extend_from_slice(&self.msgsize.to_le_bytes());
        v.extend_from_slice(&self.mode.to_le_bytes());
        v.extend_from_slice(&self.uid.to_le_bytes());
        v.extend_from_slice(&self.gid.to_le_bytes());
        v.extend_from_slice(&(self.name.len() as u32).to_le_bytes());
        v.extend_from_slice(self.name.as_bytes());
        v.extend_from_slice(&(self.messages.len() as u64).to_le_bytes());
        for m in &self.messages {
            v.extend_from_slice(&m.prio.to_le_bytes());
            v.extend_from_slice(&(m.data.len() as u64).to_le_bytes());
            v.extend_from_slice(&m.data);
        }
        let sum = fnv1a(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Image, Error> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
                Error::Truncated
            } else {
                Error::NotAnImage
            });
        }
        let mut r = Reader { b: bytes, at: 8 };
        let version = r.u32()?;
        if version != VERSION {
            return Err(Error::Version(version));
        }
        if bytes.len() < 8 + 4 + 8 {
            return Err(Error::Truncated);
        }
        let body = &bytes[..bytes.len() - 8];
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&bytes[bytes.len() - 8..]);
        let mut r = Reader { b: body, at: 12 };
        let maxmsg = r.i64()?;
        let msgsize = r.i64()?;
        let mode = r.u32()?;
        let uid = r.u32()?;
        let gid = r.u32()?;
        let name_len = r.u32()? as usize;
        let name = String::from_utf8(r.take(name_len)?.to_vec())
            .map_err(|_| Error::Invalid("queue name is not UTF-8"))?;
        let count = r.u64()?;
        let mut messages = Vec::new();
        for _ in 0..count {
            let prio = r.u32()?;
            let len = usize::try_from(r.u64()?).map_err(|_| Error::Truncated)?;
            messages.push(Message {
                prio,
                data: r.take(len)?.to_vec(),
            });
        }
        if r.at != body.len() {
            return Err(Error::Invalid("trailing bytes after the last message"));
        }
        if fnv1a(body) != u64::from_le_bytes(sum) {
            return Err(Error::Checksum);
        }
        if !name.starts_with('/') || name.len() < 2 || name[1..].contains('/') {
            return Err(Error::Invalid("queue name must be /NAME"));
        }
        if maxmsg < 1 || msgsize < 1 || messages.len() as i64 > maxmsg {
            return Err(Error::Invalid("attributes do not fit the messages"));
        }
        if messages.iter().any(|m| m.data.len() as i64 > msgsize) {
            return Err(Error::Invalid("a message is longer than mq_msgsize"));
        }
        Ok(Image {
            name,
            maxmsg,
            msgsize,
            mode,
            uid,
            gid,
            messages,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.at.checked_add(n).ok_or(Error::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(Error::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, Error> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Image {
        Image {
            name: "/q".into(),
            maxmsg: 10,
            msgsize: 9000,
            mode: 0o640,
            uid: 1000,
            gid: 100,
            messages: vec![
                Message {
                    prio: 9,
                    data: b"urgent".to_vec(),
                },
                Message {
                    prio: 1,
                    data: vec![],
                },
                Message {
                    prio: 1,
                    data: (0..9000u32).map(|i| (i * 7) as u8).collect(),
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let img = sample();
        assert_eq!(Image::decode(&img.encode()), Ok(img));
    }

    #[test]
    fn empty_queue_round_trip() {
        let img = Image {
            messages: vec![],
            ..sample()
        };
        assert_eq!(Image::decode(&img.encode()), Ok(img));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            let e = Image::decode(&bytes[..n]).unwrap_err();
            assert!(
                matches!(e, Error::Truncated | Error::Checksum | Error::Invalid(_)),
                "prefix of {n} bytes: {e:?}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x20;
            assert!(
                Image::decode(&b).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn version_mismatch() {
        let mut b = sample().encode();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(Image::decode(&b), Err(Error::Version(2)));
        assert!(Error::Version(2).to_string().contains("version 2"));
    }

    #[test]
    fn not_an_image() {
        assert_eq!(
            Image::decode(b"hello, world, this is text"),
            Err(Error::NotAnImage)
        );
    }

    #[test]
    fn oversized_message_rejected() {
        let mut img = sample();
        img.msgsize = 8;
        assert!(matches!(
            Image::decode(&img.encode()),
            Err(Error::Invalid(_))
        ));
    }
}

// SPDX-License-Identifier: GPL-2.0
//! `mqpeek inspect`: print an image without restoring it.

use super::now_secs;
use crate::cli;
use crate::error::{out, Code, Fail, Res};
use crate::image::{Image, Notify};
use crate::{names, table, view};
use std::io::{self, Write};

fn notify_text(n: Option<Notify>) -> String {
    match n {
        None => "not recorded (version 1 image)".into(),
        Some(n) if n.pid == 0 => "none".into(),
        Some(n) => {
            let how = match n.notify {
                0 => format!("SIGEV_SIGNAL, signal {}", n.signo),
                1 => "SIGEV_NONE".into(),
                2 => "SIGEV_THREAD".into(),
                k => format!("sigev_notify {k}"),
            };
            format!("process {} ({how})", n.pid)
        }
    }
}

pub fn inspect(a: &cli::InspectArgs) -> Res<()> {
    let (bytes, src) = super::read_image(&a.file)?;
    let img =
        Image::decode(&bytes).map_err(|e| Fail::new(Code::BadImage, format!("{src}: {e}")))?;
    let name = names::escape(&img.name);
    let mut o = io::BufWriter::new(io::stdout().lock());
    let v = view::View {
        format: a.format,
        full: a.full,
        json: a.json,
        prio: None,
    };
    if a.json {
        let mut msgs = Vec::new();
        v.write(&mut msgs, None, 0, &img.messages).map_err(out)?;
        let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&msgs)
            .lines()
            .map(|l| serde_json::from_str(l).expect("our own JSON"))
            .collect();
        let j = serde_json::json!({
            "image": a.file.to_string_lossy(),
            "version": img.version,
            // The exact bytes where they are UTF-8 (JSON escapes control characters),
            // else escaped as util-linux does; name_hex is always exact.
            "name": String::from_utf8(img.name.clone()).unwrap_or_else(|_| name.clone()),
            "name_hex": img.name.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "maxmsg": img.maxmsg,
            "msgsize": img.msgsize,
            "mode": format!("{:04o}", img.mode),
            "uid": img.uid,
            "gid": img.gid,
            "qsize": img.qsize,
            "notify_pid": img.notify.map(|n| n.pid),
            "notify": img.notify.map(|n| n.notify),
            "signo": img.notify.map(|n| n.signo),
            "time": img.time,
            "curmsgs": img.messages.len(),
            "bytes": img.bytes(),
            "messages": messages,
        });
        serde_json::to_writer_pretty(&mut o, &j).map_err(|e| out(e.into()))?;
        writeln!(o).and_then(|_| o.flush()).map_err(out)?;
        return Ok(());
    }
    let when = img.time.map_or("not recorded".into(), |t| {
        let now = table::localtime(now_secs() as i64);
        table::format_time(&table::localtime(t as i64), &now, table::TimeFormat::Iso)
    });
    let header = format!(
        "image:     {} (version {}, {} bytes)\n\
         name:      {}\n\
         maxmsg:    {}\n\
         msgsize:   {}\n\
         mode:      {:04o}\n\
         owner:     {}:{}\n\
         notify:    {}\n\
         dumped:    {when}\n\
         messages:  {} ({} bytes)",
        src,
        img.version,
        bytes.len(),
        name,
        img.maxmsg,
        img.msgsize,
        img.mode,
        img.uid,
        img.gid,
        notify_text(img.notify),
        img.messages.len(),
        img.bytes()
    );
    v.write(&mut o, Some(&header), 0, &img.messages)
        .and_then(|_| o.flush())
        .map_err(out)
}

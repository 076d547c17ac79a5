// SPDX-License-Identifier: GPL-2.0
//! The column model of `mqpeek list`: lsipc's POSIX message-queue columns (util-linux 2.41
//! sys-utils/lsipc.c, `lsipc -Q`) with their names, alignment, help and "pretty" names, in
//! lsipc's order, then the attributes lsipc does not show.

/// A column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Owner,
    Perms,
    Cuid,
    Cuser,
    Cgid,
    Cgroup,
    Name,
    Mtime,
    Usedbytes,
    Msgs,
    Maxmsg,
    Msgsize,
    Notify,
    Signo,
    NotifyPid,
}

/// What lsipc's `struct lsipc_coldesc` says of a column.
pub struct Desc {
    pub col: Col,
    pub name: &'static str,
    #[allow(dead_code)] // the text of COLUMNS_HELP, which a test checks against it
    pub help: &'static str,
    /// The label of `-N NAME`'s one-queue view.
    pub pretty: &'static str,
    pub right: bool,
}

const fn d(
    col: Col,
    name: &'static str,
    help: &'static str,
    pretty: &'static str,
    right: bool,
) -> Desc {
    Desc {
        col,
        name,
        help,
        pretty,
        right,
    }
}

/// In lsipc's coldescs[] order (which is also the order of the `-N NAME` view).
pub const COLS: &[Desc] = &[
    d(
        Col::Owner,
        "OWNER",
        "Owner's username or UID",
        "Owner",
        true,
    ),
    d(Col::Perms, "PERMS", "Permissions", "Permissions", true),
    d(Col::Cuid, "CUID", "Creator UID", "Creator UID", true),
    d(Col::Cuser, "CUSER", "Creator user", "Creator user", false),
    d(Col::Cgid, "CGID", "Creator GID", "Creator GID", true),
    d(
        Col::Cgroup,
        "CGROUP",
        "Creator group",
        "Creator group",
        false,
    ),
    d(Col::Name, "NAME", "POSIX resource name", "Name", false),
    d(
        Col::Mtime,
        "MTIME",
        "Time of last action",
        "Last action",
        true,
    ),
    d(
        Col::Usedbytes,
        "USEDBYTES",
        "Bytes used",
        "Bytes used",
        true,
    ),
    d(Col::Msgs, "MSGS", "Number of messages", "Messages", false),
    // mqpeek's own, not in lsipc: only with -o.
    d(
        Col::Maxmsg,
        "MAXMSG",
        "Maximum number of messages (mq_maxmsg)",
        "Maximum messages",
        true,
    ),
    d(
        Col::Msgsize,
        "MSGSIZE",
        "Maximum message size (mq_msgsize)",
        "Maximum message size",
        true,
    ),
    d(
        Col::Notify,
        "NOTIFY",
        "sigev_notify of the mq_notify registration",
        "Notification",
        true,
    ),
    d(
        Col::Signo,
        "SIGNO",
        "Signal of the mq_notify registration",
        "Notification signal",
        true,
    ),
    d(
        Col::NotifyPid,
        "NOTIFY_PID",
        "Process registered with mq_notify",
        "Notified process",
        true,
    ),
];

/// The columns lsipc has for POSIX queues (the rest are mqpeek's).
pub const LSIPC: usize = 10;

/// lsipc -Q's default columns, in its order.
pub const DEFAULT: &[Col] = &[
    Col::Name,
    Col::Perms,
    Col::Owner,
    Col::Mtime,
    Col::Usedbytes,
    Col::Msgs,
];

/// The long help of `list --output`.
pub const COLUMNS_HELP: &str = "\
Columns to print, comma-separated, case-insensitive (as lsipc -o); a list starting with
'+' is appended to the default columns.

Default: NAME,PERMS,OWNER,MTIME,USEDBYTES,MSGS (lsipc -Q's)

Columns of lsipc -Q:
        NAME  POSIX resource name
       OWNER  Owner's username or UID
       PERMS  Permissions
        CUID  Creator UID
       CUSER  Creator user
        CGID  Creator GID
      CGROUP  Creator group
       MTIME  Time of last action
   USEDBYTES  Bytes used
        MSGS  Number of messages

mqpeek's own:
      MAXMSG  Maximum number of messages (mq_maxmsg)
     MSGSIZE  Maximum message size (mq_msgsize)
      NOTIFY  sigev_notify of the mq_notify registration
       SIGNO  Signal of the mq_notify registration
  NOTIFY_PID  Process registered with mq_notify";

pub fn desc(c: Col) -> &'static Desc {
    COLS.iter()
        .find(|d| d.col == c)
        .expect("every column is described")
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
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown column: {name}"))?;
        cols.push(c.col);
    }
    Ok(cols)
}

/// What is known of one queue.  Every field comes from one object: the queue's own
/// descriptor, or (for a queue the caller cannot open) the mqueue filesystem entry alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The name's bytes, with its leading '/': any bytes but '/' and NUL.
    pub name: Vec<u8>,
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

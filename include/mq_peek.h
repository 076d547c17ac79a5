/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mq_peek.h - user-space interface of fcntl(F_MQ_PEEK), usable without a
 * patched libc or kernel headers.
 *
 *   struct mq_peek_attr pa = { .offset = 0, .buf = buf, .buf_len = sizeof(buf) };
 *   ssize_t n = fcntl(mqd, F_MQ_PEEK, &pa);
 *
 * copies the message at index pa.offset in receive order (0 is the message
 * mq_receive() would return next: highest priority first, oldest first within
 * one priority) without removing it from the queue.  On success:
 *   - the return value is the number of bytes copied, min(buf_len, length);
 *     a longer message is silently truncated;
 *   - pa.msg_prio holds the message's priority; no other field is written.
 *
 * Length query (an extension of the RFC): with buf == NULL and buf_len == 0
 * nothing is copied and the return value is the full length of the message
 * (msg_prio is filled in as well).
 *
 * 32-bit processes on a 64-bit kernel pass their own 16-byte layout of the
 * structure; the kernel reads it as such.
 *
 * Errors:
 *   EINVAL  F_MQ_PEEK is not supported (no provider module loaded: this is how
 *           to detect support), offset < 0, or exactly one of buf == NULL and
 *           buf_len == 0.
 *   EBADF   fd is not an open POSIX message queue descriptor, was not opened
 *           for reading (O_RDONLY or O_RDWR), or is an O_PATH descriptor.
 *   ENOMSG  offset >= the number of messages in the queue.
 *   EFAULT  the attr or the buffer is not accessible.
 *   ENOMEM  no memory for the kernel's copy of the message.
 *   EAGAIN  the queue's lock is held for at most 1024 list steps or 64 KiB of
 *           copying at a time; a long walk or a long message took several
 *           holds and the queue changed in between 16 times in a row.  Nothing
 *           was copied: retry.
 *
 * The queue is not changed: not the messages, their order, mq_curmsgs, the
 * timestamps, an armed mq_notify() registration, nor blocked senders or
 * receivers.
 */
#ifndef MQ_PEEK_H
#define MQ_PEEK_H

#include <fcntl.h>
#include <linux/types.h>

#ifdef F_MQ_PEEK
/* The system's kernel headers already carry the interface. */
#include <linux/mqueue.h>
#else
#define F_MQ_PEEK	(1024 + 17)	/* F_LINUX_SPECIFIC_BASE + 17 */

struct mq_peek_attr {
	__s32		offset;		/* index in receive order		*/
	__u32		msg_prio;	/* out: priority of the message		*/
	__kernel_size_t	buf_len;	/* size of buf				*/
	char		*buf;		/* where the payload is copied		*/
};
#endif

#endif /* MQ_PEEK_H */

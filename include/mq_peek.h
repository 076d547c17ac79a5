/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mq_peek.h - user-space interface of fcntl(F_MQ_PEEK) and
 * fcntl(F_MQ_PEEK_BATCH), usable without a patched libc or kernel headers.
 *
 * F_MQ_PEEK (the RFC's interface):
 *
 *   struct mq_peek_attr pa = { .offset = 0, .buf = buf, .buf_len = sizeof(buf) };
 *   int n = fcntl(mqd, F_MQ_PEEK, &pa);
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
 *   ENOMEM  no memory for the kernel's copy of the message (at most
 *           min(buf_len, length of the message) bytes; small messages need
 *           no allocation at all).
 * There is no transient error: a busy queue never makes a call fail.
 *
 * F_MQ_PEEK_BATCH (beyond the RFC): one call copies, from index b.offset on,
 * as many whole messages as fit in b.buf, each as a struct mq_peek_record
 * followed by its payload and padded to MQ_PEEK_RECORD_ALIGN bytes:
 *
 *   struct mq_peek_batch b = { .buf = (uintptr_t)buf, .buf_len = sizeof(buf) };
 *   int n = fcntl(mqd, F_MQ_PEEK_BATCH, &b);
 *
 *   - the return value is the number of records, at least 1 while
 *     b.offset < the number of messages (a first message that does not fit
 *     alone is truncated: data_len < msg_len), and 0 once b.offset is at or
 *     past the end of the queue;
 *   - b.used is the number of bytes written to buf, b.curmsgs the number of
 *     messages in the queue, and b.generation and b.mod_seq the queue's
 *     version.  All records of one call were read from the queue at that
 *     version; two calls on the same queue that report the same version saw
 *     the same messages in the same order: nothing was added to or removed
 *     from the queue between them.
 *
 * The structure has one layout for 32-bit and 64-bit callers.  b.flags and
 * b.reserved must be zero.  Errors: EINVAL (not supported, flags or reserved
 * not zero, buf_len < sizeof(struct mq_peek_record)), EBADF as above, EFAULT
 * (the struct is not accessible, or buf is not writable for the first
 * record; a fault after the first record ends the call early, counting only
 * the records written whole), ENOMEM.
 *
 * Neither command changes the queue: not the messages, their order,
 * mq_curmsgs, the timestamps, an armed mq_notify() registration, nor blocked
 * senders or receivers.
 */
#ifndef MQ_PEEK_H
#define MQ_PEEK_H

#include <fcntl.h>
#include <linux/types.h>

#ifdef F_MQ_PEEK_BATCH
/* The system's kernel headers already carry the interface. */
#include <linux/mqueue.h>
#else
#define F_MQ_PEEK	(1024 + 17)	/* F_LINUX_SPECIFIC_BASE + 17 */
#define F_MQ_PEEK_BATCH	(1024 + 18)	/* F_LINUX_SPECIFIC_BASE + 18 */

struct mq_peek_attr {
	__s32		offset;		/* index in receive order		*/
	__u32		msg_prio;	/* out: priority of the message		*/
	__kernel_size_t	buf_len;	/* size of buf				*/
	char		*buf;		/* where the payload is copied		*/
};

struct mq_peek_batch {
	__u64	buf;		/* address of the record buffer		*/
	__u64	buf_len;	/* its size in bytes			*/
	__u32	offset;		/* index of the first message		*/
	__u32	flags;		/* must be 0				*/
	__u64	used;		/* out: bytes of buf holding records	*/
	__u64	curmsgs;	/* out: messages in the queue		*/
	__u64	generation;	/* out: unique to this queue		*/
	__u64	mod_seq;	/* out: counts insertions and removals	*/
	__u64	reserved[3];	/* must be 0				*/
};

struct mq_peek_record {
	__u64	msg_len;	/* full length of the message		*/
	__u64	data_len;	/* bytes of payload that follow		*/
	__u32	msg_prio;	/* priority of the message		*/
	__u32	reserved;	/* 0					*/
};

#define MQ_PEEK_RECORD_ALIGN	8
#define MQ_PEEK_RECORD_SIZE(data_len)					\
	(sizeof(struct mq_peek_record) +				\
	 (((__u64)(data_len) + MQ_PEEK_RECORD_ALIGN - 1) &		\
	  ~(__u64)(MQ_PEEK_RECORD_ALIGN - 1)))
#endif

#endif /* MQ_PEEK_H */

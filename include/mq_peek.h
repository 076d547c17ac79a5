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
 * as many messages as fit whole in b.buf, each as a self-describing record:
 * a struct mq_peek_record, data_len bytes of payload, zero padding up to
 * rec_len, a multiple of MQ_PEEK_RECORD_ALIGN (8):
 *
 *   struct mq_peek_batch b = { .size = sizeof(b), .buf = (uintptr_t)buf,
 *                              .buf_len = sizeof(buf) };
 *   int n = fcntl(mqd, F_MQ_PEEK_BATCH, &b);
 *
 *   - the return value is the number of records, at least 1 while
 *     b.offset < the number of messages (a first message that does not fit
 *     alone is truncated to fill the buffer: data_len = min(msg_len,
 *     (buf_len - 24) & ~7)), and 0 once b.offset is at or past the end;
 *   - a record is written only if its whole rec_len fits, so b.used, the
 *     bytes of buf holding records, is the sum of their rec_len;
 *   - b.curmsgs is the number of messages in the queue, and (b.queue_id,
 *     b.changes) the queue's version: queue_id is unique per boot, global
 *     across IPC namespaces and never reused; changes counts every message
 *     inserted into and removed from the queue (one handed straight to a
 *     waiting receiver never enters it).  All records of one call come from
 *     one version; two calls that report the same version saw the same
 *     messages in the same order;
 *   - only used, curmsgs, queue_id and changes are written back.
 *
 * The structure has one layout for 32-bit and 64-bit callers and can grow:
 * b.size is the size the caller knows, checked as copy_struct_from_user()
 * does.  Errors: EINVAL (not supported, flags != 0, size <
 * MQ_PEEK_BATCH_SIZE_VER0, buf_len < sizeof(struct mq_peek_record)), E2BIG
 * (non-zero bytes past the size the kernel knows, or size > the page size),
 * EBADF as above, EFAULT (the struct is not accessible, or the first record
 * cannot be written), ENOMEM.  A fault after the first record ends the call:
 * it returns the records written whole before the first byte that could not
 * be written, and bytes of buf between used and the faulting address may
 * have been written.
 *
 * Neither command changes the queue: not the messages, their order,
 * mq_curmsgs, the timestamps, an armed mq_notify() registration, nor blocked
 * senders or receivers.
 *
 * This header compiles with <fcntl.h>, <mqueue.h> and <linux/fcntl.h> in any
 * order.  It never includes <linux/mqueue.h>, whose struct mq_attr clashes
 * with the C library's <mqueue.h>; if <linux/mqueue.h> of a kernel that has
 * the interface was included before, its definitions are used.
 */
#ifndef MQ_PEEK_H
#define MQ_PEEK_H

#include <linux/types.h>

#ifndef F_MQ_PEEK
#define F_MQ_PEEK	(1024 + 17)	/* F_LINUX_SPECIFIC_BASE + 17 */
#endif
#ifndef F_MQ_PEEK_BATCH
#define F_MQ_PEEK_BATCH	(1024 + 18)	/* F_LINUX_SPECIFIC_BASE + 18 */
#endif

#ifndef MQ_PEEK_BATCH_SIZE_VER0	/* not yet defined by <linux/mqueue.h> */
struct mq_peek_attr {
	__s32		offset;		/* index in receive order		*/
	__u32		msg_prio;	/* out: priority of the message		*/
	__kernel_size_t	buf_len;	/* size of buf				*/
	char		*buf;		/* where the payload is copied		*/
};

struct mq_peek_batch {
	__u32	size;		/* in: sizeof(struct mq_peek_batch) known	*/
	__u32	flags;		/* in: must be 0				*/
	__u64	buf;		/* in: address of the record buffer		*/
	__u64	buf_len;	/* in: its size in bytes			*/
	__u64	offset;		/* in: index of the first message		*/
	__u64	used;		/* out: bytes of buf holding records		*/
	__u64	curmsgs;	/* out: messages in the queue			*/
	__u64	queue_id;	/* out: id of the queue				*/
	__u64	changes;	/* out: insertions + removals so far		*/
};

#define MQ_PEEK_BATCH_SIZE_VER0	64	/* the first published size */

struct mq_peek_record {
	__u32	rec_len;	/* bytes from this header to the next		*/
	__u32	msg_prio;	/* priority of the message			*/
	__u64	msg_len;	/* full length of the message			*/
	__u64	data_len;	/* payload bytes that follow this header	*/
};

#define MQ_PEEK_RECORD_ALIGN	8
#endif

#endif /* MQ_PEEK_H */

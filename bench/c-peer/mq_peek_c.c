// SPDX-License-Identifier: GPL-2.0
/*
 * mq_peek_c - the C peer of mq_peek.ko in `make bench`: the RFC's algorithm
 * for fcntl(F_MQ_PEEK), and a plain implementation of F_MQ_PEEK_BATCH, in C,
 * behind the same hook (mq_peek_register()), so that every bench run answers
 * "what does Rust cost".  Built from the tree by `make bench` against the
 * release kernel, never shipped, never loaded by `make check`.
 *
 * F_MQ_PEEK, as the RFC series does it: allocate min(buf_len, mq_msgsize)
 * bytes, walk the tree from the head under info->lock (highest priority
 * first, each priority's list oldest first) to the message at the offset,
 * copy min(buf_len, its length) bytes into the buffer, unlock, copy to user
 * space, write msg_prio back.  O(offset) per call, so O(n^2) for a dump; no
 * length query (buf == NULL is EINVAL); the 32-bit layout of the attr is read
 * for compat callers so that both providers see the same callers.
 *
 * F_MQ_PEEK_BATCH, the v3 ABI (struct mq_peek_batch with a size field,
 * self-describing records), in the same shape: allocate a kernel buffer of
 * min(buf_len, what the queue can hold), gather as many whole records as fit
 * in one hold of info->lock, unlock, copy them out in one copy_to_user(), and
 * count the records written whole before a fault.  The kernel buffer is
 * bounded by the queue's limits only, so a large buffer on a large queue can
 * fail with ENOMEM where mq_peek.ko would not: a bench peer, not a product.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mqueue.h>
#include <linux/msg.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#define REC_HDR		sizeof(struct mq_peek_record)

static_assert(sizeof(struct mq_peek_batch) == MQ_PEEK_BATCH_SIZE_VER0);
static_assert(sizeof(struct mq_peek_record) == 24);

/* Bytes a record of @data payload bytes takes, padding included. */
static size_t rec_len(size_t data)
{
	return REC_HDR + ALIGN(data, MQ_PEEK_RECORD_ALIGN);
}

/* Copy the first @len bytes of @msg's payload to @dst; a memcpy() walk. */
static void copy_payload(void *dst, const struct msg_msg *msg, size_t len)
{
	const struct msg_msgseg *seg = msg->next;
	size_t n = min(len, DATALEN_MSG);

	memcpy(dst, msg + 1, n);
	dst += n;
	len -= n;
	while (len) {
		n = min(len, DATALEN_SEG);
		memcpy(dst, seg + 1, n);
		dst += n;
		len -= n;
		seg = seg->next;
	}
}

/* The message at @index in receive order, walking from the head. */
static struct msg_msg *walk(struct mqueue_inode_info *info, unsigned long index)
{
	struct rb_node *node;
	struct msg_msg *msg;

	lockdep_assert_held(&info->lock);
	for (node = info->msg_tree_rightmost; node; node = rb_prev(node)) {
		struct posix_msg_tree_node *leaf =
			rb_entry(node, struct posix_msg_tree_node, rb_node);

		list_for_each_entry(msg, &leaf->msg_list, m_list)
			if (!index--)
				return msg;
	}
	return NULL;
}

/* Reads the attr in the caller's layout; the 32-bit one for compat callers. */
static int get_attr(struct mq_peek_attr *attr, void __user *uattr, bool compat)
{
#ifdef CONFIG_COMPAT
	if (compat) {
		struct compat_mq_peek_attr c;

		if (copy_from_user(&c, uattr, sizeof(c)))
			return -EFAULT;
		attr->offset = c.offset;
		attr->buf_len = c.buf_len;
		attr->buf = compat_ptr(c.buf);
		return 0;
	}
#endif
	return copy_from_user(attr, uattr, sizeof(*attr)) ? -EFAULT : 0;
}

static long c_peek(const struct mq_peek_ops *ops, struct file *file,
		   void __user *uattr, bool compat)
{
	struct mqueue_inode_info *info = mqueue_file_info(file);
	struct mq_peek_attr __user *ua = uattr;
	struct mq_peek_attr attr;
	struct msg_msg *msg;
	size_t len;
	void *kbuf;
	u32 prio;
	long ret;

	if (!info || !(file->f_mode & FMODE_READ))
		return -EBADF;
	if (get_attr(&attr, uattr, compat))
		return -EFAULT;
	if (attr.offset < 0 || !attr.buf_len || !attr.buf)
		return -EINVAL;

	len = min_t(size_t, attr.buf_len, READ_ONCE(info->attr.mq_msgsize));
	kbuf = kvmalloc(len, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;

	spin_lock(&info->lock);
	msg = attr.offset < info->attr.mq_curmsgs ? walk(info, attr.offset) : NULL;
	if (!msg) {
		spin_unlock(&info->lock);
		ret = -ENOMSG;
		goto out;
	}
	len = min(len, msg->m_ts);
	prio = msg->m_type;
	copy_payload(kbuf, msg, len);
	spin_unlock(&info->lock);

	ret = len;
	if (copy_to_user(attr.buf, kbuf, len))
		ret = -EFAULT;
	/* msg_prio is at offset 4 in both layouts */
	else if (put_user(prio, &ua->msg_prio))
		ret = -EFAULT;
out:
	kvfree(kbuf);
	return ret;
}

/*
 * Gathers, under the lock, the records of the messages from @offset on that
 * fit in @size bytes of @kbuf (the first one truncated to fit if it alone
 * does not) and the queue's state.  Returns the number of records.
 */
static u64 gather(struct mqueue_inode_info *info, u64 offset, void *kbuf,
		  size_t size, struct mq_peek_batch *out)
{
	struct rb_node *node;
	struct msg_msg *msg;
	u64 records = 0;
	size_t used = 0;

	lockdep_assert_held(&info->lock);
	for (node = info->msg_tree_rightmost; node; node = rb_prev(node)) {
		struct posix_msg_tree_node *leaf =
			rb_entry(node, struct posix_msg_tree_node, rb_node);

		list_for_each_entry(msg, &leaf->msg_list, m_list) {
			struct mq_peek_record *rec = kbuf + used;
			size_t data = msg->m_ts, len = rec_len(data);

			if (offset) {
				offset--;
				continue;
			}
			if (len > size - used) {
				if (records)
					goto done;
				data = min(data, (size - REC_HDR) & ~(size_t)7);
				len = rec_len(data);
			}
			rec->rec_len = len;
			rec->msg_prio = msg->m_type;
			rec->msg_len = msg->m_ts;
			rec->data_len = data;
			copy_payload(rec + 1, msg, data);
			memset((void *)(rec + 1) + data, 0, len - REC_HDR - data);
			used += len;
			records++;
		}
	}
done:
	out->used = used;
	return records;
}

static long c_peek_batch(const struct mq_peek_ops *ops, struct file *file,
			 struct mq_peek_batch __user *ubatch)
{
	struct mqueue_inode_info *info = mqueue_file_info(file);
	struct mq_peek_batch b, out = {};
	void *kbuf = NULL;
	u64 records, size = 0, maxmsg, msgsize;
	size_t left;
	u32 usize;
	int err;

	if (!info || !(file->f_mode & FMODE_READ))
		return -EBADF;
	if (get_user(usize, &ubatch->size))
		return -EFAULT;
	if (usize < MQ_PEEK_BATCH_SIZE_VER0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(&b, sizeof(b), ubatch, usize);
	if (err)
		return err;
	if (b.flags || b.buf_len < REC_HDR)
		return -EINVAL;

	/* room for every record the queue can hold, at most buf_len */
	maxmsg = READ_ONCE(info->attr.mq_maxmsg);
	msgsize = READ_ONCE(info->attr.mq_msgsize);
	size = min(b.buf_len, maxmsg * rec_len(msgsize));
	for (;;) {
		/* no buffer for a call past the end, unless messages came in */
		if (!kbuf && b.offset < READ_ONCE(info->attr.mq_curmsgs)) {
			kbuf = kvmalloc(size, GFP_KERNEL | __GFP_NOWARN);
			if (!kbuf)
				return -ENOMEM;
		}
		spin_lock(&info->lock);
		if (kbuf || b.offset >= info->attr.mq_curmsgs)
			break;
		spin_unlock(&info->lock);
	}
	records = kbuf ? gather(info, b.offset, kbuf, size, &out) : 0;
	out.curmsgs = info->attr.mq_curmsgs;
	out.queue_id = info->queue_id;
	out.changes = info->changes;
	spin_unlock(&info->lock);

	left = copy_to_user(u64_to_user_ptr(b.buf), kbuf, out.used);
	if (left) {
		/* count only the records written whole before the fault */
		size_t whole = 0, written = out.used - left;
		u64 n = 0;

		while (n < records) {
			struct mq_peek_record *rec = kbuf + whole;

			if (whole + rec->rec_len > written)
				break;
			whole += rec->rec_len;
			n++;
		}
		records = n;
		out.used = whole;
	}
	kvfree(kbuf);
	if (left && !records)
		return -EFAULT;	/* not even the first record */
	if (copy_to_user(&ubatch->used, &out.used,
			 sizeof(out) - offsetof(struct mq_peek_batch, used)))
		return -EFAULT;
	return records;
}

static const struct mq_peek_ops c_ops = {
	.peek = c_peek,
	.peek_batch = c_peek_batch,
};

static int __init mq_peek_c_init(void)
{
	int err = mq_peek_register(&c_ops);

	if (!err)
		pr_info("F_MQ_PEEK provider registered (the C peer)\n");
	return err;
}

static void __exit mq_peek_c_exit(void)
{
	mq_peek_unregister(&c_ops);
	pr_info("F_MQ_PEEK provider unregistered (the C peer)\n");
}

module_init(mq_peek_c_init);
module_exit(mq_peek_c_exit);
MODULE_DESCRIPTION("fcntl(F_MQ_PEEK): the RFC's algorithm in C, the bench's peer of mq_peek.ko");
MODULE_LICENSE("GPL");

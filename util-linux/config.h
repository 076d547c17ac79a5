/*
 * config.h - hand-written in place of the one util-linux's meson writes, for building
 * lsipc alone (scripts/build-lsipc.sh) from util-linux-2.41.5-lsipc.tar.gz with cc on
 * glibc Linux (Debian 12 and later; x86_64, aarch64).  It defines what meson finds on
 * such a system for the files in the tarball, nothing else: every HAVE_ below is tested
 * by one of them.  Left undefined on purpose: the new mount API, pidfd, statx and
 * statmount (not used by lsipc's code paths), and NLS (ENABLE_NLS: messages in English,
 * as the comparison runs with LC_ALL=C.UTF-8).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define PACKAGE "util-linux"
#define PACKAGE_NAME "util-linux"
#define PACKAGE_VERSION "2.41.5"
#define PACKAGE_STRING "util-linux 2.41.5"
#define LOCALEDIR "/usr/share/locale"

/* wide characters: names are escaped and measured as util-linux does in a UTF-8 locale */
#define HAVE_WIDECHAR 1

/* headers */
#define HAVE_BYTESWAP_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_ERR_H 1
#define HAVE_LANGINFO_H 1
#define HAVE_LINUX_VERSION_H 1
#define HAVE_LOCALE_H 1
#define HAVE_MQUEUE_H 1
#define HAVE_PATHS_H 1
#define HAVE_SEMAPHORE_H 1
#define HAVE_STDIO_EXT_H 1
#define HAVE_SYS_IOCTL_H 1
#define HAVE_SYS_MMAN_H 1
#define HAVE_SYS_SENDFILE_H 1
#define HAVE_SYS_STATFS_H 1
#define HAVE_SYS_SYSCALL_H 1
#define HAVE_SYS_SYSMACROS_H 1
#define HAVE_SYS_VFS_H 1

/* functions, declarations, types */
#define HAVE_CLOSE_RANGE 1
#define HAVE_CPU_SET_T 1
#define HAVE_DECL_CPU_ALLOC 1
#define HAVE_DECL_DIRFD 1
#define HAVE_DIRFD 1
#define HAVE_D_TYPE 1
#define HAVE_ERR 1
#define HAVE_ERRX 1
#define HAVE_EXPLICIT_BZERO 1
#define HAVE_FSTATAT 1
#define HAVE_FSYNC 1
#define HAVE_GETDTABLESIZE 1
#define HAVE_GETRLIMIT 1
#define HAVE_LANGINFO_ALTMON 1
#define HAVE_LANGINFO_NL_ABALTMON 1
#define HAVE_LOFF_T 1
#define HAVE_MEMPCPY 1
#define HAVE_MKOSTEMP 1
#define HAVE_NANOSLEEP 1
#define HAVE_OPENAT 1
#define HAVE_OPEN_MEMSTREAM 1
#define HAVE_PROGRAM_INVOCATION_SHORT_NAME 1
#define HAVE_REALLOCARRAY 1
#define HAVE_SECURE_GETENV 1
#define HAVE_SENDFILE 1
#define HAVE_SETNS 1
#define HAVE_SRANDOM 1
#define HAVE_STRNDUP 1
#define HAVE_STRNLEN 1
#define HAVE_STRUCT_STAT_ST_MTIM_TV_NSEC 1
#define HAVE_SYSCONF 1
#define HAVE_TIMEGM 1
#define HAVE_TLS 1
#define HAVE_TM_GMTOFF 1
#define HAVE_UNSHARE 1
#define HAVE_USLEEP 1
#define HAVE_WARN 1
#define HAVE_WARNX 1
#define HAVE___FPENDING 1
#define HAVE___PROGNAME 1

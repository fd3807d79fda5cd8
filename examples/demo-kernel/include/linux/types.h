/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: the handful of basic types the demo uses. */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef long long s64;
typedef _Bool bool;
typedef unsigned long size_t;

#define true	1
#define false	0
#define NULL	((void *)0)

#define BIT(nr)		(1UL << (nr))

#define offsetof(type, member)	__builtin_offsetof(type, member)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define READ_ONCE(x)		(*(volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val)	(*(volatile typeof(x) *)&(x) = (val))

#endif /* _LINUX_TYPES_H */

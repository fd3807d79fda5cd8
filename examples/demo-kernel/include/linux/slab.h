/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: allocator entry points. */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

#include <linux/types.h>

typedef unsigned int gfp_t;

#define GFP_ATOMIC		0x20u
#define GFP_KERNEL		0xcc0u
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | 0x400000u)

void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void kfree(const void *objp);

#endif /* _LINUX_SLAB_H */

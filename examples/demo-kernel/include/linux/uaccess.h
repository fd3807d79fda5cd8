/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: user copies (these may fault and sleep). */
#ifndef _LINUX_UACCESS_H
#define _LINUX_UACCESS_H

#include <linux/types.h>

unsigned long copy_to_user(void *to, const void *from, unsigned long n);
unsigned long copy_from_user(void *to, const void *from, unsigned long n);

#define u64_to_user_ptr(x)	((void *)(unsigned long)(x))

#endif /* _LINUX_UACCESS_H */

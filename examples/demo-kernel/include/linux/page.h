/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: page geometry. */
#ifndef _LINUX_PAGE_H
#define _LINUX_PAGE_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)

#endif /* _LINUX_PAGE_H */

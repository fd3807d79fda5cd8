/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: temporary kernel mappings of pages. */
#ifndef _LINUX_HIGHMEM_H
#define _LINUX_HIGHMEM_H

struct page;

void *kmap(struct page *page);
void kunmap(struct page *page);

#endif /* _LINUX_HIGHMEM_H */

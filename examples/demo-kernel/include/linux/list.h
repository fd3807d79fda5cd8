/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: doubly linked lists (prototypes and the iterator only). */
#ifndef _LINUX_LIST_H
#define _LINUX_LIST_H

struct list_head {
	struct list_head *next, *prev;
};

void list_add(struct list_head *new, struct list_head *head);
void list_del(struct list_head *entry);

#define list_for_each_entry(pos, head, member)				\
	for (pos = container_of((head)->next, typeof(*pos), member);	\
		 &pos->member != (head);					\
		 pos = container_of(pos->member.next, typeof(*pos), member))

#endif /* _LINUX_LIST_H */

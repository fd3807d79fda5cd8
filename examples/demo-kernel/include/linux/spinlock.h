/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: spinlocks, plus the rwlock and lockdep bits the gpc uses. */
#ifndef _LINUX_SPINLOCK_H
#define _LINUX_SPINLOCK_H

#include <linux/types.h>
#include <linux/irqflags.h>
#include <linux/rwlock.h>

typedef struct {
	unsigned int val;
} spinlock_t;

void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

#define _THIS_IP_	0UL

void lock_set_subclass(struct lockdep_map *lock, unsigned int subclass,
		unsigned long ip);
void lockdep_assert_held(const void *lock);
void lockdep_assert_held_write(const void *lock);

#endif /* _LINUX_SPINLOCK_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: reader-writer spinlocks. */
#ifndef _LINUX_RWLOCK_H
#define _LINUX_RWLOCK_H

struct lockdep_map {
	const char *name;
};

typedef struct {
	unsigned int cnts;
	struct lockdep_map dep_map;
} rwlock_t;

void rwlock_init(rwlock_t *lock);

void read_lock(rwlock_t *lock);
int read_trylock(rwlock_t *lock);
void read_unlock(rwlock_t *lock);
void read_lock_irq(rwlock_t *lock);
void read_unlock_irq(rwlock_t *lock);
unsigned long _raw_read_lock_irqsave(rwlock_t *lock);
void read_unlock_irqrestore(rwlock_t *lock, unsigned long flags);

void write_lock_irq(rwlock_t *lock);
void write_unlock_irq(rwlock_t *lock);

#define read_lock_irqsave(lock, flags) \
	do { flags = _raw_read_lock_irqsave(lock); } while (0)

#endif /* _LINUX_RWLOCK_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: local interrupt control. */
#ifndef _LINUX_IRQFLAGS_H
#define _LINUX_IRQFLAGS_H

unsigned long arch_local_irq_save(void);
void arch_local_irq_restore(unsigned long flags);

#define local_irq_save(flags)		do { flags = arch_local_irq_save(); } while (0)
#define local_irq_restore(flags)	arch_local_irq_restore(flags)

#endif /* _LINUX_IRQFLAGS_H */

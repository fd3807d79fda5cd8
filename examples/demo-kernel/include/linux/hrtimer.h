/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: high resolution timers. */
#ifndef _LINUX_HRTIMER_H
#define _LINUX_HRTIMER_H

enum hrtimer_restart {
	HRTIMER_NORESTART,
	HRTIMER_RESTART,
};

struct hrtimer {
	enum hrtimer_restart (*function)(struct hrtimer *timer);
};

#endif /* _LINUX_HRTIMER_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: warnings. */
#ifndef _LINUX_BUG_H
#define _LINUX_BUG_H

void __warn(const char *file, int line);

#define WARN_ON_ONCE(cond) \
	({ bool __c = !!(cond); if (__c) __warn(__FILE__, __LINE__); __c; })

#endif /* _LINUX_BUG_H */

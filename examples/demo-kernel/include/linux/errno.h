/* SPDX-License-Identifier: GPL-2.0 */
/* demo-kernel: the error numbers the demo returns. */
#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define EIO		5
#define EAGAIN		11
#define ENOMEM		12
#define EFAULT		14
#define EINVAL		22
#define ENOTCONN	107
#define EWOULDBLOCK	EAGAIN

#endif /* _LINUX_ERRNO_H */

#ifndef RAILGATE_PLATFORM_H
#define RAILGATE_PLATFORM_H
/* Thin wrappers over libc calls Swift cannot reach directly (hidden behind
 * _GNU_SOURCE, or macros). Nothing here allocates. */
#include <stdint.h>

/* Names the calling thread (≤ 15 bytes, longer names are truncated) so
 * operators see it in `top -H`. Returns 0 or an errno value. */
int rg_set_thread_name(const char *name);

/* Sleeps until the absolute CLOCK_MONOTONIC deadline; restarts on EINTR. */
void rg_sleep_until_monotonic_ns(int64_t deadline_ns);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
int64_t rg_monotonic_ns(void);
int64_t rg_realtime_ns(void);
/* CPU time the calling thread has used, in nanoseconds. */
int64_t rg_thread_cpu_ns(void);

/* Hands the heap's free pages back to the kernel (glibc malloc_trim). Loading
 * a large configuration frees several times the memory it keeps; without
 * this, those pages stay resident. Call after a configuration is applied,
 * never from the sampling loop. */
void rg_release_free_heap(void);

/* Unmaps the resident pages of the process's private, read-only file mappings (the code and
 * constants of the binary and its libraries) that were never written. Start-up runs and reads
 * several times what a running gateway uses, and each fault maps the pages around it too; what
 * runs afterwards comes back from the page cache at its next use (a minor fault), the rest
 * stays there for the kernel to reclaim. A mapping holding a written page (relocated data made
 * read-only afterwards, a breakpoint a debugger set) is left alone: unmapping would lose what
 * was written. Gives the bytes that were resident in the mappings unmapped, or -1 when
 * /proc/self/smaps cannot be read. Allocates (the smaps lines): never from the sampling loop. */
long rg_release_file_pages(void);

/* Waits on a POSIX semaphore until an absolute CLOCK_MONOTONIC deadline.
 * Returns 0 when the semaphore was taken, -1 on timeout. Restarts on EINTR. */
int rg_sem_wait_until_monotonic_ns(void *semaphore, int64_t deadline_ns);

/* Sets any baud rate (PROFIBUS 45450, 93750, 187500…) with termios2 and
 * BOTHER, leaving the other termios settings as they are. Returns 0 or an
 * errno value. */
int rg_serial_set_baud(int fd, int baud);

/* Reads back the port's input/output baud rate (termios2), or -1. */
int rg_serial_get_baud(int fd);

/* Switches the UART's RS-485 mode (TIOCSRS485: RTS on send). Returns 0 or
 * an errno value (ENOTTY when the driver has no RS-485 mode). */
int rg_serial_set_rs485(int fd, int enable);

/* The peer of a connected Unix socket (SO_PEERCRED). Returns 0 or an
 * errno value. */
int rg_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);

/* 1 when the user `uid` belongs to group `gid` (primary or supplementary),
 * 0 when not or when the user is unknown. */
int rg_user_in_group(uint32_t uid, uint32_t gid);

#endif

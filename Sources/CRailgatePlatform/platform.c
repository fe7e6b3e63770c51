#define _GNU_SOURCE
#include "platform.h"
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

int rg_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    return pthread_setname_np(pthread_self(), buf);
}

void rg_sleep_until_monotonic_ns(int64_t deadline_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t rg_monotonic_ns(void) { return now_ns(CLOCK_MONOTONIC); }
int64_t rg_thread_cpu_ns(void) { return now_ns(CLOCK_THREAD_CPUTIME_ID); }
int64_t rg_realtime_ns(void) { return now_ns(CLOCK_REALTIME); }

void rg_release_free_heap(void) { (void)malloc_trim(0); }

/* One mapping of /proc/self/smaps as far as rg_release_file_pages cares. */
struct rg_mapping {
    unsigned long start, end;
    int eligible;        /* private, not writable, backed by a file */
    long rss_kb, anonymous_kb;
};

long rg_release_file_pages(void) {
    FILE *smaps = fopen("/proc/self/smaps", "re");
    if (smaps == NULL) return -1;
    enum { max_ranges = 1024 };
    struct { unsigned long start, end; } ranges[max_ranges];
    int count = 0;
    long released_kb = 0;
    struct rg_mapping current = {0, 0, 0, 0, 1};
    char *line = NULL;
    size_t capacity = 0;
    for (;;) {
        ssize_t length = getline(&line, &capacity, smaps);
        unsigned long start, end;
        char perms[8];
        int path = 0;
        int header = length > 0 && sscanf(line, "%lx-%lx %7s %*x %*x:%*x %*u %n", &start, &end, perms, &path) == 3;
        if (length <= 0 || header) {
            /* The mapping read so far is complete: keep it when it may be unmapped. */
            if (current.eligible && current.anonymous_kb == 0 && current.rss_kb > 0 && count < max_ranges) {
                ranges[count].start = current.start;
                ranges[count].end = current.end;
                count++;
                released_kb += current.rss_kb;
            }
            if (length <= 0) break;
            current.start = start;
            current.end = end;
            current.rss_kb = 0;
            current.anonymous_kb = -1;  /* unknown until its line is read */
            current.eligible = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && path > 0 && line[path] == '/';
            continue;
        }
        long kb;
        if (sscanf(line, "Rss: %ld kB", &kb) == 1) current.rss_kb = kb;
        else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1) current.anonymous_kb = kb;
    }
    free(line);
    fclose(smaps);
    for (int i = 0; i < count; i++) {
        (void)madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED);
    }
    return released_kb * 1024;
}

int rg_sem_wait_until_monotonic_ns(void *semaphore, int64_t deadline_ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
    int rc;
    do {
        rc = sem_clockwait((sem_t *)semaphore, CLOCK_MONOTONIC, &ts);
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : -1;
}

int rg_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid) {
    struct ucred cred;
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return errno;
    *uid = cred.uid;
    *gid = cred.gid;
    *pid = cred.pid;
    return 0;
}

int rg_user_in_group(uint32_t uid, uint32_t gid) {
    char buffer[4096];
    struct passwd entry, *found = NULL;
    if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) != 0 || found == NULL) return 0;
    if (entry.pw_gid == gid) return 1;
    int count = 64;
    gid_t groups[64];
    if (getgrouplist(entry.pw_name, entry.pw_gid, groups, &count) < 0) return 0;
    for (int i = 0; i < count; i++) {
        if (groups[i] == gid) return 1;
    }
    return 0;
}

/*
 * part_stat.c - a closed part's recorded file status (part_stat.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "part_stat.h"

/* File systems that keep nanosecond times and stamp them from this machine's clock. */
#define FS_EXT4 0xEF53 /* also ext2/ext3: their 1-second inodes have no nanoseconds (see below) */
#define FS_XFS 0x58465342
#define FS_BTRFS 0x9123683E
#define FS_TMPFS 0x01021994

void wk_part_stat_key(unsigned n, char key[WK_PART_STAT_KEY_MAX])
{
    snprintf(key, WK_PART_STAT_KEY_MAX, "part_stat.%05u", n);
}

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void text(const struct stat *sb, char out[WK_PART_STAT_MAX])
{
    snprintf(out, WK_PART_STAT_MAX, "%llu %llu %lld %lld %lld", (unsigned long long)sb->st_dev,
             (unsigned long long)sb->st_ino, (long long)sb->st_size, (long long)ns(&sb->st_mtim),
             (long long)ns(&sb->st_ctim));
}

int wk_part_stat_take(int fd, char out[WK_PART_STAT_MAX])
{
    struct statfs fs;
    struct stat sb;
    if (fstatfs(fd, &fs) != 0)
        return -1;
    if (fs.f_type != FS_EXT4 && fs.f_type != FS_XFS && fs.f_type != FS_BTRFS &&
        fs.f_type != FS_TMPFS)
        return 0;
    /* The kernel stamps a change with its coarse clock (or later). Read before the status, a
     * clock already past both times means any change after the status gets a later ctime. */
    for (int tries = 0; tries < 50; tries++) {
        struct timespec now, pause = {0, 1000000};
        if (clock_gettime(CLOCK_REALTIME_COARSE, &now) != 0 || fstat(fd, &sb) != 0)
            return -1;
        /* Whole seconds only: a file system (or an ext4 inode) without nanoseconds, whose one
         * second would hide a change; none of it is recorded. */
        if (sb.st_mtim.tv_nsec == 0 || sb.st_ctim.tv_nsec == 0 || !S_ISREG(sb.st_mode))
            return 0;
        if (ns(&sb.st_mtim) < ns(&now) && ns(&sb.st_ctim) < ns(&now)) {
            text(&sb, out);
            return 1;
        }
        nanosleep(&pause, NULL);
    }
    return 0;
}

int wk_part_stat_same(int fd, const char *recorded)
{
    struct stat sb;
    char now[WK_PART_STAT_MAX];
    const char *force = getenv("KIVO_WORKER_REUSE_VERIFY");
    if ((force && strcmp(force, "1") == 0) || !recorded || !recorded[0] || fstat(fd, &sb) != 0 ||
        sb.st_mtim.tv_nsec == 0 || sb.st_ctim.tv_nsec == 0)
        return 0;
    text(&sb, now);
    return strcmp(now, recorded) == 0;
}

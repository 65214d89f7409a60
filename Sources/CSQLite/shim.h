#ifndef CLAIMLINE_CSQLITE_SHIM_H
#define CLAIMLINE_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <sys/prctl.h>

/* sqlite3_config is variadic and does not import into Swift. Called once, before any other
 * SQLite call: memory statistics off, because keeping them takes a global mutex on every
 * allocation, which the writer thread paid on every statement. */
static inline int clm_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The WAL hook SQLite calls after each commit, with the frames now in the WAL: stored where
 * `context` points (an int the writer owns), so the writer knows the WAL's size without a
 * system call or a Swift closure crossing into C. */
static int clm_sqlite_store_wal_frames(void *context, sqlite3 *db, const char *name, int frames) {
    (void)db;
    (void)name;
    *(int *)context = frames;
    return SQLITE_OK;
}

/* Names the calling thread (at most 15 bytes) for top -H, perf and /proc; prctl is variadic,
 * so it does not import into Swift. */
static inline void clm_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

static inline void clm_sqlite_track_wal_frames(sqlite3 *db, int *frames) {
    sqlite3_wal_hook(db, clm_sqlite_store_wal_frames, frames);
}
#endif

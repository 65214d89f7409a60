#ifndef CLAIMLINE_CSQLITE_SHIM_H
#define CLAIMLINE_CSQLITE_SHIM_H
#include <sqlite3.h>

/* sqlite3_config is variadic and does not import into Swift. Called once, before any other
 * SQLite call: memory statistics off, because keeping them takes a global mutex on every
 * allocation, which the writer thread paid on every statement. */
static inline int clm_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif

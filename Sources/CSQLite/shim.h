#ifndef CLAIMLINE_CSQLITE_SHIM_H
#define CLAIMLINE_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif

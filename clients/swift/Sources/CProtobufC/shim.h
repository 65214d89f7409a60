#ifndef CLAIMLINE_CPROTOBUFC_SHIM_H
#define CLAIMLINE_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif

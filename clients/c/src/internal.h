/* Internal to libclaimline and its tests. */
#ifndef CLAIMLINE_INTERNAL_H
#define CLAIMLINE_INTERNAL_H

#include "claimline.h"

/* A client on an already connected socket past the handshake (HELLO_ACK
 * read, max_frame the limit it gave): the tests script a server with a
 * socketpair. Takes ownership of fd. NULL if out of memory. */
claimline_client *clm_client_from_fd(int fd, uint32_t max_frame);

#endif

// accept4 is a GNU extension: declared only with _GNU_SOURCE, which must not leak into the
// header Swift imports (it would change glibc's struct layouts against SwiftGlibc's view).
#define _GNU_SOURCE
#include <sys/socket.h>
#include "CLinux.h"

int hometown_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// memmem is a GNU extension too; the load tool finds a stamp in every delivered message with it.
#include <string.h>

const void *hometown_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

#ifndef HOMETOWN_CLINUX_H
#define HOMETOWN_CLINUX_H
// Linux calls that Glibc does not expose to Swift. `struct epoll_event` is packed on x86_64
// (12 bytes), so Swift never touches it directly: these wrappers read and write its fields.
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

typedef struct epoll_event hometown_epoll_event;

static inline int hometown_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int hometown_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

static inline int hometown_epoll_wait(int epfd, hometown_epoll_event *events, int max, int timeout_ms) {
    return epoll_wait(epfd, events, max, timeout_ms);
}

static inline uint32_t hometown_epoll_event_flags(const hometown_epoll_event *events, int index) {
    return events[index].events;
}

static inline uint64_t hometown_epoll_event_data(const hometown_epoll_event *events, int index) {
    return events[index].data.u64;
}

static inline int hometown_epoll_event_size(void) { return (int)sizeof(struct epoll_event); }

static inline int hometown_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int hometown_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

/// Arms `fd` to fire every `interval_ns` nanoseconds, first after `interval_ns`.
static inline int hometown_timerfd_set_interval(int fd, int64_t interval_ns) {
    struct itimerspec spec;
    spec.it_interval.tv_sec = interval_ns / 1000000000;
    spec.it_interval.tv_nsec = interval_ns % 1000000000;
    spec.it_value = spec.it_interval;
    return timerfd_settime(fd, 0, &spec, 0);
}

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (defined in CLinux.c, which needs _GNU_SOURCE).
int hometown_accept4(int fd, struct sockaddr *addr, socklen_t *len);

static inline int hometown_socket_stream(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static inline int hometown_socket_stream_blocking(int family) {
    return socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/// memmem(3): the first occurrence of `needle` in `haystack`, or NULL.
const void *hometown_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

static inline int hometown_set_int_option(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

static const uint32_t HOMETOWN_EPOLLIN = EPOLLIN;
static const uint32_t HOMETOWN_EPOLLOUT = EPOLLOUT;
static const uint32_t HOMETOWN_EPOLLERR = EPOLLERR;
static const uint32_t HOMETOWN_EPOLLHUP = EPOLLHUP;
static const uint32_t HOMETOWN_EPOLLRDHUP = EPOLLRDHUP;
static const int HOMETOWN_SO_REUSEPORT = SO_REUSEPORT;
static const int HOMETOWN_TCP_NODELAY = TCP_NODELAY;

#endif

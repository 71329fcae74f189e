/* Contestants floor_busy_warm and floor_tls_busy_warm: floor.c (FLOOR_WAIT=busy, plain or
 * -DFLOOR_TLS) with a loopback cache warmer like the product's busy-poll has
 * (sniper/live/warmer.py) — the SPIN=always budget lines' like-for-like C limit.
 *
 * While the floor busy-polls, every FLOOR_WARM_US µs (default 200) it
 * writes a ticker-shaped 400-byte message on one end of a loopback TCP connection it opened to
 * itself and reads it back on the other end (MSG_DONTWAIT), so the kernel's loopback send and
 * receive paths run as often as in the warmed Python contestants. floor.c is not changed: this
 * file includes it and hooks the busy loop's per-iteration call of time(NULL) (its deadline
 * check); time() keeps its meaning. Built by benchmarks/e2e.py:
 *   gcc -O2 floor_warm.c -o floor_warm -lcrypto   (or -DFLOOR_NO_OPENSSL_HEADERS -l:libcrypto.so.3)
 *   gcc -O2 -DFLOOR_TLS floor_warm.c -o floor_tls_warm -lssl -lcrypto
 * The warmer is plain TCP in both builds, as the product's (its loopback pair has no TLS).
 */
#define _GNU_SOURCE /* as floor.c: memmem, strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static time_t warm_time(time_t *out);
#define time(x) warm_time(x)
#include "floor.c"
#undef time

static int warm_tx = -1, warm_rx = -1, warm_state = 0; /* 0: not set up, 1: on, -1: off */
static int64_t warm_period_ns = 200000, warm_next_ns = 0;
static char warm_msg[400], warm_buf[4096];

static void warm_setup(void) {
    warm_state = -1;
    const char *us = getenv("FLOOR_WARM_US");
    if (us && *us) warm_period_ns = (int64_t)(atof(us) * 1000.0);
    if (warm_period_ns <= 0) return;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        return;
    warm_tx = socket(AF_INET, SOCK_STREAM, 0);
    if (warm_tx < 0 || connect(warm_tx, (struct sockaddr *)&a, sizeof a) != 0) return;
    warm_rx = accept(l, NULL, NULL);
    close(l);
    if (warm_rx < 0) return;
    int one = 1;
    setsockopt(warm_tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(warm_msg, 'x', sizeof warm_msg);
    warm_state = 1;
}

static time_t warm_time(time_t *out) {
    if (warm_state == 0) warm_setup();
    if (warm_state == 1) {
        int64_t now = mono_ns();
        if (now >= warm_next_ns) {
            warm_next_ns = now + warm_period_ns;
            if (send(warm_tx, warm_msg, sizeof warm_msg, MSG_DONTWAIT) < 0) warm_state = -1;
            while (recv(warm_rx, warm_buf, sizeof warm_buf, MSG_DONTWAIT) > 0) {
            }
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

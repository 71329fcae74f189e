/* Contestants floor_busy_warm and floor_tls_busy_warm: floor.c (FLOOR_WAIT=busy, plain or
 * -DFLOOR_TLS) with a loopback cache warmer like the product's busy-poll has
 * (sniper/live/warmer.py) — the SPIN=always budget lines' like-for-like C limit.
 * And floor_block_warm, floor_tls_block_warm: FLOOR_WAIT=block with FLOOR_TICK_US=1000, so the
 * blocking read wakes every ms without data and the warmer runs then, as the product's sleeping
 * loop warms from a 1 ms timer (SLEEP_WARM_US) — the SPIN=off lines' like-for-like C limit.
 *
 * While the floor busy-polls, every FLOOR_WARM_US µs (default 200) it
 * writes a ticker-shaped 400-byte message on one end of a loopback TCP connection it opened to
 * itself and reads it back on the other end (MSG_DONTWAIT), so the kernel's loopback send and
 * receive paths run as often as in the warmed Python contestants. floor.c is not changed: this
 * file includes it and hooks the busy loop's per-iteration call of time(NULL) (its deadline
 * check); time() keeps its meaning. Built by benchmarks/e2e.py:
 *   gcc -O2 floor_warm.c -o floor_warm -lcrypto   (or -DFLOOR_NO_OPENSSL_HEADERS -l:libcrypto.so.3)
 *   gcc -O2 -DFLOOR_TLS floor_warm.c -o floor_tls_warm -lssl -lcrypto
 * The warmer speaks what the product's does (sniper/live/warmer.py): plain TCP in the plain
 * build; in the TLS build a TLS loopback pair (an EC P-256 key and a self-signed certificate made
 * in memory at start-up; the client end does not verify it, a warm pair carries no secret): the
 * message goes SSL_write -> loopback -> SSL_read, as the product's warm frame goes through
 * OpenSSL's record layer and AES-GCM. FLOOR_WARM_TLS=0 keeps the TLS build's warmer plain.
 */
#define _GNU_SOURCE /* as floor.c: memmem, strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#ifdef FLOOR_TLS
static SSL *warm_stx = NULL, *warm_srx = NULL; /* the pair's TLS ends (NULL: plain warmer) */

/* A throwaway self-signed certificate for the loopback pair's server end. */
static SSL_CTX *warm_server_ctx(void) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!key || !crt || !ctx) return NULL;
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
    X509_gmtime_adj(X509_getm_notAfter(crt), 86400);
    X509_set_pubkey(crt, key);
    X509_NAME *name = X509_get_subject_name(crt);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(crt, name);
    if (!X509_sign(crt, key, EVP_sha256()) || SSL_CTX_use_certificate(ctx, crt) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        return NULL;
    return ctx;
}

/* One step of one end's handshake: 0 on a failure, else 1 (*done set once it completed). */
static int warm_handshake_step(SSL *ssl, int *done) {
    if (*done) return 1;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = 1;
        return 1;
    }
    int err = SSL_get_error(ssl, r);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
}

/* Both ends' handshakes over the (non-blocking) pair, in turns; 1 when both are done. */
static int warm_tls_setup(void) {
    const char *on = getenv("FLOOR_WARM_TLS");
    if (on && strcmp(on, "0") == 0) return 1; /* plain warmer */
    SSL_CTX *sctx = warm_server_ctx(), *cctx = SSL_CTX_new(TLS_client_method());
    if (!sctx || !cctx) return 0;
    warm_stx = SSL_new(sctx); /* the sending end is the server, as in the product */
    warm_srx = SSL_new(cctx);
    if (!warm_stx || !warm_srx) return 0;
    SSL_set_fd(warm_stx, warm_tx);
    SSL_set_fd(warm_srx, warm_rx);
    SSL_set_accept_state(warm_stx);
    SSL_set_connect_state(warm_srx);
    int fl = fcntl(warm_tx, F_GETFL);
    fcntl(warm_tx, F_SETFL, fl | O_NONBLOCK);
    fl = fcntl(warm_rx, F_GETFL);
    fcntl(warm_rx, F_SETFL, fl | O_NONBLOCK);
    int sdone = 0, cdone = 0;
    for (int i = 0; i < 100000 && !(sdone && cdone); i++) {
        if (!warm_handshake_step(warm_stx, &sdone) || !warm_handshake_step(warm_srx, &cdone))
            return 0;
    }
    return sdone && cdone;
}
#endif

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
#ifdef FLOOR_TLS
    if (!warm_tls_setup()) {
        fprintf(stderr, "floor: the TLS warm pair could not be set up\n");
        ERR_print_errors_fp(stderr);
        exit(1);
    }
#endif
    warm_state = 1;
}

static void warm_once(void) {
#ifdef FLOOR_TLS
    if (warm_stx) {
        if (SSL_write(warm_stx, warm_msg, sizeof warm_msg) <= 0) warm_state = -1;
        while (SSL_read(warm_srx, warm_buf, sizeof warm_buf) > 0) {
        }
        return;
    }
#endif
    if (send(warm_tx, warm_msg, sizeof warm_msg, MSG_DONTWAIT) < 0) warm_state = -1;
    while (recv(warm_rx, warm_buf, sizeof warm_buf, MSG_DONTWAIT) > 0) {
    }
}

static time_t warm_time(time_t *out) {
    if (warm_state == 0) warm_setup();
    if (warm_state == 1) {
        int64_t now = mono_ns();
        if (now >= warm_next_ns) {
            warm_next_ns = now + warm_period_ns;
            warm_once();
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

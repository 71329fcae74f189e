/*
 * floor: the least work a listing sniper can do on loopback, as a latency floor.
 *
 * No event loop, no JSON parser, the order built and signed before the wait:
 *   1. connect the order connection up front (HTTP/1.1 keep-alive, TCP_NODELAY; over TLS the
 *      handshake is done here too);
 *   2. pre-build and pre-sign the whole place-order request (HMAC-SHA256 + base64, libcrypto);
 *   3. WebSocket handshake by hand, send the masked subscribe frame;
 *   4. wait for bytes on the WebSocket, split WS frames by their length header, and on a text
 *      frame holding "action", "instId":"<TARGET>" and a non-empty "data" array, write the
 *      request once;
 *   5. read the HTTP response; exit 0 if its body says "code":"00000".
 *
 * Two ways to wait (FLOOR_WAIT, read at start; the same binary):
 *   block (default)  blocking recv() / SSL_read(): the thread sleeps until the kernel wakes it;
 *   busy             busy-polling: recv(MSG_DONTWAIT) in a loop on EAGAIN (plain), SSL_read()
 *                    on a non-blocking socket in a loop on SSL_ERROR_WANT_READ (TLS). One CPU
 *                    at 100 % for the whole wait; never sleeps.
 * FLOOR_TICK_US (block): the blocking read also wakes after this long without data, only to go
 * round the loop again (floor_warm.c warms there: floor_block_warm). FLOOR_SLICE_US: the time
 * slice to ask the scheduler for, as `sniper run` does (SCHED_SLICE_US).
 *
 * Two transports, chosen at build time:
 *   plain (default)  ws:// + http://, libcrypto only (the HMAC);
 *   -DFLOOR_TLS      wss:// + https:// through OpenSSL's libssl, verifying the exchange's
 *                    certificate against BITGET_CA_FILE (a PEM bundle; the system store when
 *                    unset), host name or IP checked. Needs the OpenSSL headers.
 *
 * After the response (off the measured path) it prints one JSON line on stdout,
 * {"detect_ns":..., "written_ns":...}: CLOCK_MONOTONIC ns right after the read that completed
 * the listing frame returned, and right after the request's write returned -- the same two
 * stamps `sniper run --json` reports (frame callback entered, transport.write returned), so the
 * harness splits every contestant's latency the same way.
 *
 * Same environment contract as `sniper run`: BITGET_API_KEY, BITGET_SECRET_KEY,
 * BITGET_PASSPHRASE, TARGET_TOKEN, COIN_AMOUNT, BITGET_REST_URL, BITGET_WS_URL, BITGET_CA_FILE
 * (TLS build). Exit codes: 0 order accepted, 1 rejected or protocol error, 2 configuration
 * error, 3 timed out (FLOOR_TIMEOUT_S, default 60 s).
 *
 * Build (the harness does this at bench time, benchmarks/e2e.py build_floor):
 *   plain: gcc -O2 floor.c -o floor -lcrypto
 *     or, without OpenSSL headers: gcc -O2 -DFLOOR_NO_OPENSSL_HEADERS floor.c -o floor
 *          -l:libcrypto.so.3
 *   TLS:   gcc -O2 -DFLOOR_TLS floor.c -o floor_tls -lssl -lcrypto   (headers required)
 * With -DFLOOR_AS_LIBRARY -fPIC -shared the same code is a shared object whose entry point is
 * int floor_main(void) instead of main(): the diagnostic contestant "hosted_floor" runs it in
 * a CPython process (contestants/hosted_floor.py) to tell the cost of the process from the
 * cost of the code that runs after the wake-up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef FLOOR_NO_OPENSSL_HEADERS
#ifdef FLOOR_TLS
#error "the TLS floor needs the OpenSSL headers (libssl-dev)"
#endif
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *data, size_t data_len, unsigned char *md,
                    unsigned int *md_len);
#else
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif

#ifdef FLOOR_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#define WS_SCHEME "wss"
#define REST_SCHEME "https"
#define DEFAULT_PORT 443
#define TRANSPORT "tls"
#else
#define WS_SCHEME "ws"
#define REST_SCHEME "http"
#define DEFAULT_PORT 80
#define TRANSPORT "plain"
#endif

#define ORDER_PATH "/api/v2/spot/trade/place-order"
#define RXBUF (1 << 20)

static void die(int code, const char *what) {
    fprintf(stderr, "floor: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
#ifdef FLOOR_TLS
    ERR_print_errors_fp(stderr);
#endif
    exit(code);
}

static const char *need(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "floor: %s is not set\n", name);
        exit(2);
    }
    return v;
}

/* Parse scheme://host:port[/path] into host, port and path (path defaults to "/"). */
static void parse_url(const char *url, const char *scheme, char *host, size_t hostcap, int *port,
                      char *path, size_t pathcap) {
    size_t sl = strlen(scheme);
    if (strncmp(url, scheme, sl) != 0 || strncmp(url + sl, "://", 3) != 0) {
        fprintf(stderr, "floor: URL %s must start with %s:// (this build is %s)\n", url, scheme,
                TRANSPORT);
        exit(2);
    }
    const char *h = url + sl + 3;
    const char *slash = strchr(h, '/');
    const char *hend = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(hend - h));
    size_t hl = (size_t)((colon ? colon : hend) - h);
    if (hl == 0 || hl >= hostcap) die(2, "bad host in URL");
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = colon ? atoi(colon + 1) : DEFAULT_PORT;
    snprintf(path, pathcap, "%s", slash ? slash : "/");
}

static int tcp_connect(const char *host, int port) {
    struct addrinfo hints = {0}, *res = NULL;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, ports, &hints, &res) != 0 || !res) die(1, "getaddrinfo failed");
    int fd = socket(res->ai_family, res->ai_socktype, 0);
    if (fd < 0) die(1, "socket");
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) die(1, "connect");
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* --- a connection: a TCP socket, and over TLS its SSL session ---------------------------- */

typedef struct {
    int fd;
#ifdef FLOOR_TLS
    SSL *ssl;
#endif
} conn_t;

#ifdef FLOOR_TLS
static SSL_CTX *tls_ctx(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) die(1, "SSL_CTX_new");
    const char *ca = getenv("BITGET_CA_FILE");
    if (ca && *ca) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) die(2, "BITGET_CA_FILE unusable");
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        die(2, "no system CA store");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}
#endif

static conn_t conn_open(const char *host, int port, void *ctx) {
    conn_t c = {0};
    c.fd = tcp_connect(host, port);
#ifdef FLOOR_TLS
    c.ssl = SSL_new((SSL_CTX *)ctx);
    if (!c.ssl) die(1, "SSL_new");
    struct in_addr ip4;
    if (inet_pton(AF_INET, host, &ip4) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl), host) != 1) die(1, "verify ip");
    } else {
        SSL_set_tlsext_host_name(c.ssl, host);
        if (SSL_set1_host(c.ssl, host) != 1) die(1, "verify host");
    }
    SSL_set_fd(c.ssl, c.fd);
    errno = 0;
    if (SSL_connect(c.ssl) != 1) die(1, "TLS handshake failed");
#else
    (void)ctx;
#endif
    return c;
}

static void conn_write_all(conn_t *c, const char *p, size_t n) {
    while (n) {
#ifdef FLOOR_TLS
        int w = SSL_write(c->ssl, p, (int)n);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) continue;
            die(1, "SSL_write");
        }
#else
        ssize_t w = write(c->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die(1, "write");
        }
#endif
        p += w;
        n -= (size_t)w;
    }
}

/* Blocking read: > 0 bytes, 0 closed, < 0 error (errno EAGAIN: SO_RCVTIMEO expired). */
static ssize_t conn_read(conn_t *c, char *buf, size_t cap) {
#ifdef FLOOR_TLS
    for (;;) {
        int r = SSL_read(c->ssl, buf, (int)(cap > 0x7fffffff ? 0x7fffffff : cap));
        if (r > 0) return r;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            /* blocking socket: only after a post-handshake message (session ticket) or a
             * receive timeout; tell them apart by errno */
            if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
            continue;
        }
        if (e == SSL_ERROR_SYSCALL && r == 0 && errno == 0) return 0;
        return -1;
    }
#else
    for (;;) {
        ssize_t r = recv(c->fd, buf, cap, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
#endif
}

/* Busy-polling read, one attempt that never sleeps: > 0 bytes, 0 closed, -1 error, -2 nothing
 * yet. Plain: recv(MSG_DONTWAIT). TLS: SSL_read on the socket made non-blocking. */
static ssize_t conn_read_nowait(conn_t *c, char *buf, size_t cap) {
#ifdef FLOOR_TLS
    int r = SSL_read(c->ssl, buf, (int)(cap > 0x7fffffff ? 0x7fffffff : cap));
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    return -1;
#else
    ssize_t r = recv(c->fd, buf, cap, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -2;
    return r;
#endif
}

static void b64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];
        out[o++] = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}

/* Masked client text frame (RFC 6455 §5.3); payload < 65536. */
static size_t ws_client_frame(int opcode, const char *payload, size_t n, char *out) {
    size_t o = 0;
    unsigned char mask[4];
    uint32_t r = (uint32_t)rand();
    memcpy(mask, &r, 4);
    out[o++] = (char)(0x80 | opcode);
    if (n < 126) {
        out[o++] = (char)(0x80 | n);
    } else {
        out[o++] = (char)(0x80 | 126);
        out[o++] = (char)(n >> 8);
        out[o++] = (char)(n & 0xff);
    }
    memcpy(out + o, mask, 4);
    o += 4;
    for (size_t i = 0; i < n; i++) out[o + i] = (char)(payload[i] ^ mask[i & 3]);
    return o + n;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

/* The listing ticker: a push ("action") whose "instId" is exactly the quoted target and whose
 * "data" array is not empty. Cheap byte checks only; no JSON parse. */
static int is_listing_ticker(const char *p, size_t n, const char *qtarget, size_t qlen) {
    const char *end = p + n;
    if (!memmem(p, n, "\"action\"", 8)) return 0;
    int hit = 0;
    for (const char *s = p; s < end;) {
        const char *k = memmem(s, (size_t)(end - s), "\"instId\"", 8);
        if (!k) break;
        const char *v = skip_ws(k + 8, end);
        if (v < end && *v == ':') {
            v = skip_ws(v + 1, end);
            if ((size_t)(end - v) >= qlen && memcmp(v, qtarget, qlen) == 0) {
                hit = 1;
                break;
            }
        }
        s = k + 8;
    }
    if (!hit) return 0;
    const char *d = memmem(p, n, "\"data\"", 6);
    if (!d) return 0;
    d = skip_ws(d + 6, end);
    if (d >= end || *d != ':') return 0;
    d = skip_ws(d + 1, end);
    if (d >= end || *d != '[') return 0;
    d = skip_ws(d + 1, end);
    return d < end && *d != ']';
}

/* True if the bytes hold `key` : `value` (JSON tokens, any whitespace around the colon). */
static int json_has(const char *p, size_t n, const char *key, const char *value) {
    const char *end = p + n;
    size_t kl = strlen(key), vl = strlen(value);
    for (const char *s = p; s < end;) {
        const char *k = memmem(s, (size_t)(end - s), key, kl);
        if (!k) return 0;
        const char *v = skip_ws(k + kl, end);
        if (v < end && *v == ':') {
            v = skip_ws(v + 1, end);
            if ((size_t)(end - v) >= vl && memcmp(v, value, vl) == 0) return 1;
        }
        s = k + kl;
    }
    return 0;
}

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FLOOR_SLICE_US: ask for the time slice `sniper run` asks for (SCHED_SLICE_US,
 * sniper/live/sched.py): sched_setattr, SCHED_OTHER, nice 0, sched_runtime = the slice (Linux
 * 6.12 and later; older kernels ignore it). Like with like: the woken floor then preempts
 * whatever runs on its CPU exactly when the woken sniper does. Unset or 0: the default. */
static void floor_slice(void) {
    const char *s = getenv("FLOOR_SLICE_US");
    long long us = s && *s ? atoll(s) : 0;
    if (us <= 0) return;
#ifdef SYS_sched_setattr
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } a = {48, 0, 0, 0, 0, (uint64_t)us * 1000, 0, 0};
    if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) perror("floor: sched_setattr");
#else
    fprintf(stderr, "floor: no sched_setattr on this system; FLOOR_SLICE_US ignored\n");
#endif
}

#ifdef FLOOR_AS_LIBRARY
int floor_main(void) {
#else
int main(void) {
#endif
    const char *key = need("BITGET_API_KEY");
    const char *secret = need("BITGET_SECRET_KEY");
    const char *pass = need("BITGET_PASSPHRASE");
    const char *target_raw = need("TARGET_TOKEN");
    const char *amount = need("COIN_AMOUNT");
    const char *rest_url = need("BITGET_REST_URL");
    const char *ws_url = need("BITGET_WS_URL");
    const char *to = getenv("FLOOR_TIMEOUT_S");
    int timeout_s = to && *to ? atoi(to) : 60;
    const char *wait_mode = getenv("FLOOR_WAIT");
    floor_slice();
    if (!wait_mode || !*wait_mode) wait_mode = "block";
    int busy = strcmp(wait_mode, "busy") == 0;
    if (!busy && strcmp(wait_mode, "block") != 0) {
        fprintf(stderr, "floor: FLOOR_WAIT must be block or busy, not %s\n", wait_mode);
        exit(2);
    }

    /* TARGET_TOKEN: accept PAWSUSDT, paws/usdt, PAWS-USDT, PAWS_USDT -> PAWSUSDT. */
    char target[64];
    size_t tl = 0;
    for (const char *c = target_raw; *c && tl < sizeof target - 1; c++) {
        if (*c == '/' || *c == '-' || *c == '_' || *c == ' ') continue;
        target[tl++] = (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
    }
    target[tl] = 0;
    char qtarget[80];
    int qlen = snprintf(qtarget, sizeof qtarget, "\"%s\"", target);

    char rhost[256], rpath[512], whost[256], wpath[512];
    int rport, wport;
    parse_url(rest_url, REST_SCHEME, rhost, sizeof rhost, &rport, rpath, sizeof rpath);
    parse_url(ws_url, WS_SCHEME, whost, sizeof whost, &wport, wpath, sizeof wpath);

    void *ctx = NULL;
#ifdef FLOOR_TLS
    ctx = tls_ctx();
#endif

    /* 1. Order connection, connected (and over TLS, handshaken) now, kept until the listing. */
    conn_t oc = conn_open(rhost, rport, ctx);

    /* 2. Pre-built, pre-signed request. The timestamp is "now"; the exchange accepts 30 s. */
    char body[512];
    long long ts = (long long)now_ms();
    int blen = snprintf(body, sizeof body,
                        "{\"symbol\":\"%s\",\"side\":\"sell\",\"orderType\":\"market\","
                        "\"force\":\"gtc\",\"size\":\"%s\",\"clientOid\":\"floor-%lld-%ld\"}",
                        target, amount, ts, (long)getpid());
    char prehash[1024];
    int plen = snprintf(prehash, sizeof prehash, "%lldPOST" ORDER_PATH "%s", ts, body);
    unsigned char mac[32];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)prehash,
              (size_t)plen, mac, &maclen))
        die(1, "HMAC failed");
    char sig[64];
    b64(mac, maclen, sig);
    char req[4096];
    int reqlen = snprintf(req, sizeof req,
                          "POST " ORDER_PATH " HTTP/1.1\r\n"
                          "Host: %s:%d\r\n"
                          "Connection: keep-alive\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: %d\r\n"
                          "locale: en-US\r\n"
                          "ACCESS-KEY: %s\r\n"
                          "ACCESS-PASSPHRASE: %s\r\n"
                          "ACCESS-TIMESTAMP: %lld\r\n"
                          "ACCESS-SIGN: %s\r\n"
                          "\r\n%s",
                          rhost, rport, blen, key, pass, ts, sig, body);
    if (reqlen <= 0 || reqlen >= (int)sizeof req) die(1, "request too large");

    /* 3. WebSocket handshake by hand, then the subscribe frame. */
    conn_t wc = conn_open(whost, wport, ctx);
    struct timeval tv = {.tv_sec = timeout_s, .tv_usec = 0};
    setsockopt(wc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(oc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    srand((unsigned)(ts ^ getpid()));
    unsigned char nonce[16];
    for (int i = 0; i < 16; i++) nonce[i] = (unsigned char)rand();
    char wskey[32];
    b64(nonce, 16, wskey);
    char hs[1024];
    int hslen = snprintf(hs, sizeof hs,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         wpath, whost, wport, wskey);
    conn_write_all(&wc, hs, (size_t)hslen);

    static char rx[RXBUF];
    size_t have = 0;
    char *hdr_end = NULL;
    while (!hdr_end) {
        ssize_t r = conn_read(&wc, rx + have, RXBUF - 1 - have);
        if (r <= 0) die(r == 0 ? 1 : 3, "WebSocket handshake: no reply");
        have += (size_t)r;
        rx[have] = 0;
        hdr_end = memmem(rx, have, "\r\n\r\n", 4);
    }
    if (strncmp(rx, "HTTP/1.1 101", 12) != 0) die(1, "WebSocket handshake refused");
    size_t consumed = (size_t)(hdr_end + 4 - rx);
    memmove(rx, rx + consumed, have - consumed);
    have -= consumed;

    char sub[512], frame[600];
    int slen = snprintf(sub, sizeof sub,
                        "{\"op\":\"subscribe\",\"args\":[{\"instType\":\"SPOT\","
                        "\"channel\":\"ticker\",\"instId\":\"%s\"}]}",
                        target);
    size_t flen = ws_client_frame(0x1, sub, (size_t)slen, frame);
    conn_write_all(&wc, frame, flen);
#ifdef FLOOR_TLS
    if (busy) { /* SSL_read must return WANT_READ instead of blocking */
        int fl = fcntl(wc.fd, F_GETFL);
        if (fl < 0 || fcntl(wc.fd, F_SETFL, fl | O_NONBLOCK) != 0) die(1, "O_NONBLOCK");
    }
#endif

    /* FLOOR_TICK_US (blocking mode): the blocking read wakes at least this often (a receive
     * timeout), only to pass through the loop's time() call again: floor_warm.c's warm pair
     * runs from there. Without it the thread sleeps until data arrives. */
    const char *tick = getenv("FLOOR_TICK_US");
    int64_t tick_us = !busy && tick && *tick ? atoll(tick) : 0;
    if (tick_us > 0) {
        struct timeval tt = {.tv_sec = tick_us / 1000000, .tv_usec = tick_us % 1000000};
        setsockopt(wc.fd, SOL_SOCKET, SO_RCVTIMEO, &tt, sizeof tt);
    }

    /* 4. Hot loop: read, split frames, fire on the listing ticker. */
    time_t deadline = time(NULL) + timeout_s;
    int64_t recv_ns = mono_ns(), detect_ns = 0, written_ns = 0; /* ns, CLOCK_MONOTONIC */
    for (;;) {
        /* Process every complete frame in rx[0:have]. */
        size_t off = 0;
        for (;;) {
            if (have - off < 2) break;
            const unsigned char *f = (const unsigned char *)rx + off;
            int opcode = f[0] & 0x0f;
            int masked = f[1] & 0x80;
            uint64_t plen64 = f[1] & 0x7f;
            size_t h = 2;
            if (plen64 == 126) {
                if (have - off < 4) break;
                plen64 = (uint64_t)f[2] << 8 | f[3];
                h = 4;
            } else if (plen64 == 127) {
                if (have - off < 10) break;
                plen64 = 0;
                for (int i = 0; i < 8; i++) plen64 = plen64 << 8 | f[2 + i];
                h = 10;
            }
            if (masked) h += 4; /* servers must not mask; tolerate it but do not unmask */
            if (plen64 > RXBUF - 16) die(1, "frame too large");
            if (have - off < h + plen64) break;
            const char *payload = rx + off + h;
            if ((opcode == 0x1 || opcode == 0x0) &&
                is_listing_ticker(payload, (size_t)plen64, qtarget, (size_t)qlen)) {
                detect_ns = recv_ns;
                conn_write_all(&oc, req, (size_t)reqlen);
                written_ns = mono_ns();
                goto fired;
            }
            if (opcode == 0x8) die(1, "WebSocket closed by the exchange");
            if (opcode == 0x9) { /* ping -> pong with the same payload */
                char pong[200];
                if (plen64 <= 125) {
                    size_t pl = ws_client_frame(0xA, payload, (size_t)plen64, pong);
                    conn_write_all(&wc, pong, pl);
                }
            }
            off += h + (size_t)plen64;
        }
        if (off) {
            memmove(rx, rx + off, have - off);
            have -= off;
        }
        ssize_t r;
        if (busy) {
            /* never sleeps: the clock is read only while nothing has arrived */
            while ((r = conn_read_nowait(&wc, rx + have, RXBUF - have)) == -2) {
                if (time(NULL) > deadline) {
                    errno = 0;
                    die(3, "timed out waiting for the listing ticker");
                }
            }
        } else {
            if (time(NULL) > deadline) {
                errno = 0;
                die(3, "timed out waiting for the listing ticker");
            }
            r = conn_read(&wc, rx + have, RXBUF - have);
        }
        recv_ns = mono_ns();
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (tick_us > 0) continue; /* the tick: back through time() */
            die(3, "no WS data");
        }
        if (r <= 0) die(1, "WebSocket connection lost");
        have += (size_t)r;
    }

fired:;
    /* 5. Read the response: headers, then Content-Length bytes of body. */
    static char resp[65536];
    size_t rl = 0;
    char *he = NULL;
    long clen = -1;
    for (;;) {
        ssize_t r = conn_read(&oc, resp + rl, sizeof resp - 1 - rl);
        if (r <= 0) die(r == 0 ? 1 : 3, "order connection lost before the response");
        rl += (size_t)r;
        resp[rl] = 0;
        if (!he && (he = memmem(resp, rl, "\r\n\r\n", 4)) != NULL) {
            char *cl = strcasestr(resp, "\r\ncontent-length:");
            clen = cl && cl < he ? strtol(cl + 17, NULL, 10) : -1;
        }
        if (he && (clen < 0 || rl >= (size_t)(he + 4 - resp) + (size_t)clen)) break;
        if (rl >= sizeof resp - 1) break;
    }
    printf("{\"contestant\":\"floor\",\"transport\":\"%s\",\"wait\":\"%s\",\"detect_ns\":%lld,"
           "\"written_ns\":%lld}\n",
           TRANSPORT, busy ? "busy" : "block", (long long)detect_ns, (long long)written_ns);
    fflush(stdout);
    if (he && json_has(he, (size_t)(resp + rl - he), "\"code\"", "\"00000\"")) return 0;
    errno = 0;
    fprintf(stderr, "floor: order not accepted: %s\n", resp);
    return 1;
}

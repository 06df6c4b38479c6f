/* PAC evaluation: the script runs in Duktape (an embeddable ECMAScript 5.1
 * engine, compiled from Debian's duktape-dev) in a child process with
 * limits; the parent waits with a wall-clock timeout, captures what the
 * child prints and turns every way the child can end into one clear error. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <duktape.h>

#include "consign/buf.h"
#include "consign/pac.h"
#include "pac_js.h"

#define DIAG_MAX     2048    /* bytes of the child's messages kept */
#define DIAG_SHOWN   600     /* bytes of them put into an error message */
#define TIMEOUT_MAX  600000u /* 10 minutes: no sane PAC script needs more */
#define SETUP_FAILED 120     /* exit status of a child that could not set itself up */
#define DROP_FAILED  121     /* ... that could not leave root */
#define NOBODY       65534   /* the uid and gid a child started by root runs as */
#define ANSWER_FD    3       /* the child's end of the answer pipe */

/* What the child writes on its answer pipe: MSG_LOADED once the script has
 * run and defines FindProxyForURL, then one final message. MSG_RESULT is
 * followed by the answer's full length (4 bytes, host order) and its first
 * max_result bytes. */
enum {
    MSG_LOADED = 'L',
    MSG_RESULT = 'R',
    MSG_NOINIT = 'I',    /* the engine could not start */
    MSG_BADSCRIPT = 'S', /* the script did not run to its end */
    MSG_NOFUNC = 'N',    /* it ran, but defines no function FindProxyForURL */
    MSG_FAILED = 'X',    /* FindProxyForURL threw */
};

/* Everything the child needs, prepared before fork. */
struct job {
    const char *script; /* NUL-terminated */
    const struct consign_pac_url *u;
    const char *my_ip;
    size_t max_result;
    unsigned cpu_s;
    unsigned long long as_limit; /* 0: leave RLIMIT_AS alone */
    size_t heap_max;             /* bytes the engine may allocate */
    pid_t parent;
};

/* ---- the child -------------------------------------------------------------- */

static void
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(SETUP_FAILED);
        c += w;
        n -= (size_t)w;
    }
}

static void
send_msg(int msg)
{
    unsigned char b = (unsigned char)msg;
    write_all(ANSWER_FD, &b, 1);
}

/* One bounded line to fd 2, the parent's capture pipe (so is fd 1). */
static void
diag(const char *prefix, const char *msg)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "%s%s\n", prefix, msg);

    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    write_all(2, line, (size_t)n);
}

/* The engine's heap, capped: every block carries its size. */
struct heap {
    size_t used, max;
    int told;
};

static void *
heap_alloc(void *udata, duk_size_t size)
{
    struct heap *h = udata;
    size_t *p;

    if (size > h->max - h->used || size > SIZE_MAX - sizeof(size_t)) {
        if (!h->told++)
            diag("", "out of memory");
        return NULL;
    }
    if (!(p = malloc(sizeof(size_t) + size))) {
        if (!h->told++)
            diag("", "out of memory");
        return NULL;
    }
    *p = size;
    h->used += size;
    return p + 1;
}

static void
heap_free(void *udata, void *ptr)
{
    struct heap *h = udata;
    size_t *p = ptr;

    if (!p)
        return;
    h->used -= p[-1];
    free(p - 1);
}

static void *
heap_realloc(void *udata, void *ptr, duk_size_t size)
{
    struct heap *h = udata;
    size_t *p = ptr, old;

    if (!p)
        return heap_alloc(udata, size);
    if (!size) {
        heap_free(udata, ptr);
        return NULL;
    }
    old = p[-1];
    if (size > old && (size - old > h->max - h->used || size > SIZE_MAX - sizeof(size_t))) {
        if (!h->told++)
            diag("", "out of memory");
        return NULL;
    }
    if (!(p = realloc(p - 1, sizeof(size_t) + size))) {
        if (!h->told++)
            diag("", "out of memory");
        return NULL;
    }
    h->used = h->used - old + size;
    *p = size;
    return p + 1;
}

static void
heap_fatal(void *udata, const char *msg)
{
    (void)udata;
    diag("fatal: ", msg ? msg : "engine error");
    _exit(SETUP_FAILED);
}

static const struct job *the_job; /* the child's, for the natives */

/* shExpMatch: the whole of s against a shell pattern of '*' (any run) and
 * '?' (one character); every other character stands for itself. Linear
 * back-tracking to the last star only. */
static int
glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*pat == '?' || (*pat && *pat != '*' && *pat == *s)) {
            pat++;
            s++;
        } else if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else
            return 0;
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static duk_ret_t
js_glob(duk_context *ctx)
{
    duk_push_boolean(ctx, glob_match(duk_to_string(ctx, 1), duk_to_string(ctx, 0)));
    return 1;
}

static duk_ret_t
js_alert(duk_context *ctx)
{
    diag("alert: ", duk_to_string(ctx, 0));
    return 0;
}

/* The addresses of host: the first IPv4 one, or (ex) all, ';'-separated. */
static duk_ret_t
js_resolve(duk_context *ctx)
{
    const char *host = duk_to_string(ctx, 0);
    int ex = duk_to_boolean(ctx, 1);
    struct addrinfo hints, *res = NULL, *ai;
    char out[1024], addr[INET6_ADDRSTRLEN];
    size_t o = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = ex ? AF_UNSPEC : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    out[0] = '\0';
    if (strlen(host) <= CONSIGN_PAC_HOST_MAX && getaddrinfo(host, NULL, &hints, &res) == 0) {
        for (ai = res; ai; ai = ai->ai_next) {
            const void *a = ai->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            size_t n;
            if (!inet_ntop(ai->ai_family, a, addr, sizeof(addr)))
                continue;
            n = strlen(addr);
            if (strstr(out, addr) || o + n + 2 > sizeof(out))
                continue;
            if (o)
                out[o++] = ';';
            memcpy(out + o, addr, n + 1);
            o += n;
            if (!ex)
                break;
        }
        freeaddrinfo(res);
    }
    duk_push_string(ctx, out);
    return 1;
}

/* myIpAddress: the caller's answer, else the address of the interface that
 * routes outwards (a UDP socket connected nowhere sends nothing), else the
 * host name's, else 127.0.0.1. */
static duk_ret_t
js_myip(duk_context *ctx)
{
    struct sockaddr_in sa, me;
    socklen_t len = sizeof(me);
    char addr[INET_ADDRSTRLEN];
    int fd;

    if (the_job->my_ip) {
        duk_push_string(ctx, the_job->my_ip);
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr); /* TEST-NET-1: never reached */
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0 &&
        inet_ntop(AF_INET, &me.sin_addr, addr, sizeof(addr)) && strcmp(addr, "0.0.0.0") != 0) {
        close(fd);
        duk_push_string(ctx, addr);
        return 1;
    }
    if (fd >= 0)
        close(fd);
    duk_push_string(ctx, "127.0.0.1");
    return 1;
}

/* An error thrown by the script, as "JSERROR: PAC script:LINE:" and the
 * message (the form tidy_diag shortens to "line N: ..."). */
static void
report_error(duk_context *ctx)
{
    char head[64];

    if (duk_is_error(ctx, -1)) {
        duk_get_prop_string(ctx, -1, "lineNumber");
        if (duk_is_number(ctx, -1)) {
            snprintf(head, sizeof(head), "JSERROR: PAC script:%d:", (int)duk_get_int(ctx, -1));
            diag("", head);
        }
        duk_pop(ctx);
    }
    diag("", duk_safe_to_string(ctx, -1));
}

/* Close every descriptor from lowfd up. */
static void
close_from(int lowfd)
{
    struct rlimit rl;
    DIR *d;
    long fd, max;

    if (close_range((unsigned)lowfd, ~0u, 0) == 0)
        return;
    d = opendir("/proc/self/fd"); /* kernels before 5.9 */
    if (d) {
        struct dirent *e;
        int self = dirfd(d);
        while ((e = readdir(d)) != NULL) {
            char *end;
            fd = strtol(e->d_name, &end, 10);
            if (*end == '\0' && fd >= lowfd && fd != self)
                close((int)fd);
        }
        closedir(d);
        return;
    }
    max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur
                                                                             : 65536;
    for (fd = lowfd; fd < max; fd++)
        close((int)fd);
}

/* Lower a limit to want (never above the hard limit we were given). */
static void
limit(int resource, unsigned long long soft, unsigned long long hard)
{
    struct rlimit rl;

    if (getrlimit(resource, &rl) < 0)
        _exit(SETUP_FAILED);
    if (rl.rlim_max != RLIM_INFINITY && hard > rl.rlim_max)
        hard = rl.rlim_max;
    if (soft > hard)
        soft = hard;
    rl.rlim_cur = (rlim_t)soft;
    rl.rlim_max = (rlim_t)hard;
    if (setrlimit(resource, &rl) < 0)
        _exit(SETUP_FAILED);
}

static void __attribute__((noreturn)) child_main(const struct job *j, int ans_fd, int diag_fd)
{
    unsigned char head[5];
    sigset_t none;
    uint32_t n32;
    size_t len;
    int sig, nul;

    /* An old JavaScript engine reads outside text: not as root. */
    if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                           setresuid(NOBODY, NOBODY, NOBODY) < 0))
        _exit(DROP_FAILED);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(SETUP_FAILED);
    /* Never outlive the caller, whatever kills it (set after the uid change,
     * which clears it). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != j->parent)
        _exit(SETUP_FAILED);
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* 0 /dev/null, 1 and 2 the capture pipe, 3 the answer pipe, nothing else. */
    if ((ans_fd = fcntl(ans_fd, F_DUPFD, 10)) < 0 || (diag_fd = fcntl(diag_fd, F_DUPFD, 10)) < 0 ||
        (nul = open("/dev/null", O_RDONLY)) < 0 || dup2(nul, 0) < 0 || dup2(diag_fd, 1) < 0 ||
        dup2(diag_fd, 2) < 0 || dup2(ans_fd, ANSWER_FD) < 0)
        _exit(SETUP_FAILED);
    close_from(ANSWER_FD + 1);

    limit(RLIMIT_CORE, 0, 0);
    limit(RLIMIT_FSIZE, 0, 0);
    limit(RLIMIT_CPU, j->cpu_s, j->cpu_s + 1ULL);
    if (j->as_limit)
        limit(RLIMIT_AS, j->as_limit, j->as_limit);

    {
        static const duk_function_list_entry natives[] = {{"__consign_glob", js_glob, 2},
                                                          {"__consign_alert", js_alert, 1},
                                                          {"__consign_resolve", js_resolve, 2},
                                                          {"__consign_myip", js_myip, 1},
                                                          {NULL, NULL, 0}};
        struct heap h = {0, j->heap_max, 0};
        duk_context *ctx;
        const char *r;

        the_job = j;
        if (!(ctx = duk_create_heap(heap_alloc, heap_realloc, heap_free, &h, heap_fatal))) {
            send_msg(MSG_NOINIT);
            _exit(0);
        }
        duk_push_global_object(ctx);
        duk_put_function_list(ctx, -1, natives);
        duk_pop(ctx);
        if (duk_peval_string(ctx, consign_pac_helpers_js) != 0) {
            report_error(ctx);
            send_msg(MSG_NOINIT);
            _exit(0);
        }
        duk_pop(ctx);
        duk_push_string(ctx, "PAC script");
        if (duk_pcompile_lstring_filename(ctx, 0, j->script, strlen(j->script)) != 0 ||
            duk_pcall(ctx, 0) != 0) {
            report_error(ctx);
            send_msg(MSG_BADSCRIPT);
            _exit(0);
        }
        duk_pop(ctx);
        if (!duk_get_global_string(ctx, "FindProxyForURL") || !duk_is_function(ctx, -1)) {
            send_msg(MSG_NOFUNC);
            _exit(0);
        }
        send_msg(MSG_LOADED);
        duk_push_string(ctx, j->u->url);
        duk_push_string(ctx, j->u->host);
        if (duk_pcall(ctx, 2) != 0) {
            report_error(ctx);
            send_msg(MSG_FAILED);
            _exit(0);
        }
        /* A non-string answer in its string form (refused by the parent). */
        r = duk_is_undefined(ctx, -1) ? "undefined"
            : duk_is_null(ctx, -1)    ? "null"
                                      : duk_safe_to_string(ctx, -1);
        len = strlen(r);
        n32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        head[0] = MSG_RESULT;
        memcpy(head + 1, &n32, 4);
        write_all(ANSWER_FD, head, sizeof(head));
        write_all(ANSWER_FD, r, len < j->max_result ? len : j->max_result);
        _exit(0);
    }
}

/* ---- the parent ------------------------------------------------------------- */

/* The process's address space now (/proc/self/statm), 0 if unknown. */
static unsigned long long
vm_size(void)
{
    char b[128];
    unsigned long long pages = 0;
    ssize_t n;
    long page = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC), i;

    if (fd < 0)
        return 0;
    n = read(fd, b, sizeof(b) - 1);
    close(fd);
    if (n <= 0 || page <= 0)
        return 0;
    for (i = 0; i < n && b[i] >= '0' && b[i] <= '9' && pages < (1ULL << 50); i++)
        pages = pages * 10 + (unsigned long long)(b[i] - '0');
    return pages * (unsigned long long)page;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read both pipes until the child closes them or the deadline passes
 * (*timed_out). Closes each pipe at its end and sets it to -1. The answer
 * pipe may carry at most ans->max bytes; the capture keeps diag->max. */
static int
collect(struct consign_ctx *ctx, int *afd, int *dfd, unsigned timeout_ms, struct consign_buf *ans,
        struct consign_buf *diag, int *timed_out)
{
    long long deadline = now_ms() + timeout_ms;
    char chunk[4096];

    while (*afd >= 0 || *dfd >= 0) {
        struct pollfd p[2];
        int *which[2];
        long long left = deadline - now_ms();
        nfds_t n = 0, i;
        int r;

        if (left <= 0) {
            *timed_out = 1;
            return 0;
        }
        if (*afd >= 0) {
            p[n] = (struct pollfd){.fd = *afd, .events = POLLIN};
            which[n++] = afd;
        }
        if (*dfd >= 0) {
            p[n] = (struct pollfd){.fd = *dfd, .events = POLLIN};
            which[n++] = dfd;
        }
        r = poll(p, n, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return consign_fail_errno(ctx, errno, "PAC: poll");
        for (i = 0; i < n; i++) {
            ssize_t got;
            if (!p[i].revents)
                continue;
            got = read(p[i].fd, chunk, sizeof(chunk));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got < 0)
                return consign_fail_errno(ctx, errno, "PAC: reading from the evaluator");
            if (got == 0) {
                close(*which[i]);
                *which[i] = -1;
            } else if (which[i] == afd) {
                if (consign_buf_append(ctx, ans, chunk, (size_t)got))
                    return consign_fail(ctx, CONSIGN_E_INTERNAL,
                                        "PAC: the evaluator wrote more than it may");
            } else if (diag->len < diag->max) {
                size_t take = diag->max - diag->len;
                consign_buf_append(ctx, diag, chunk, (size_t)got < take ? (size_t)got : take);
            }
        }
    }
    return 0;
}

/* The child's messages as one line for an error: engine noise
 * ("pacparser.c: ..." and "DEBUG:" lines) dropped, "JSERROR: FILE:N:" written
 * "line N:", whitespace collapsed, non-printable bytes as '?'. */
static void
tidy_diag(const struct consign_buf *diag, char *out, size_t n)
{
    const char *p = diag->data ? diag->data : "", *end = p + diag->len;
    size_t o = 0;
    int pass, space = 0;

    out[0] = '\0';
    /* Pass 0 filters; pass 1 (if nothing was left) takes every line. */
    for (pass = 0; pass < 2 && o == 0; pass++) {
        const char *line = p;
        while (line < end && o + 1 < n) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            const char *le = nl ? nl : end, *c = line;
            if (pass == 0 && ((size_t)(le - line) >= 12 && memcmp(line, "pacparser.c:", 12) == 0))
                c = le;
            if (pass == 0 && ((size_t)(le - line) >= 6 && memcmp(line, "DEBUG:", 6) == 0))
                c = le;
            if (c < le && (size_t)(le - c) > 9 && memcmp(c, "JSERROR: ", 9) == 0) {
                /* "JSERROR: PAC script:3:" -> "line 3:" */
                const char *colon = le - 1;
                const char *prev = colon > c ? colon - 1 : c;
                while (prev > c && *prev >= '0' && *prev <= '9')
                    prev--;
                if (*colon == ':' && *prev == ':' && prev + 1 < colon) {
                    int w = snprintf(out + o, n - o, "%sline %.*s:", o ? " " : "",
                                     (int)(colon - prev - 1), prev + 1);
                    o = w > 0 && (size_t)w < n - o ? o + (size_t)w : n - 1;
                    space = 0;
                    c = le;
                }
            }
            for (; c < le && o + 1 < n; c++) {
                unsigned char ch = (unsigned char)*c;
                if (ch == ' ' || ch == '\t' || ch == '\r') {
                    space = o > 0;
                    continue;
                }
                if (space && o + 2 < n)
                    out[o++] = ' ';
                space = 0;
                out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
            }
            space = o > 0;
            line = nl ? nl + 1 : end;
        }
        out[o] = '\0';
    }
}

/* "5 s" or "1500 ms". */
static void
fmt_ms(char *b, size_t n, unsigned ms)
{
    if (ms % 1000 == 0)
        snprintf(b, n, "%u s", ms / 1000);
    else
        snprintf(b, n, "%u ms", ms);
}

static int
mentions_oom(const struct consign_buf *diag)
{
    return diag->data &&
           (strstr(diag->data, "out of memory") || strstr(diag->data, "out-of-memory"));
}

int
consign_pac_find_proxy(struct consign_ctx *ctx, const char *pac, size_t pac_len, const char *url,
                       const struct consign_pac_limits *lim, struct consign_pac_result *out)
{
    struct consign_pac_limits l = {0};
    struct consign_pac_url u;
    struct consign_buf ans, diag;
    struct job j;
    unsigned char addr[16];
    char *script = NULL, said[DIAG_SHOWN + 1], dur[32];
    const unsigned char *a;
    int apipe[2] = {-1, -1}, dpipe[2] = {-1, -1}, rc, st = 0, timed_out = 0, loaded = 0, final = 0;
    size_t idx = 0, complete = 0;
    uint32_t full = 0;
    pid_t pid = -1;

    memset(out, 0, sizeof(*out));
    consign_buf_init(&ans, 0);
    consign_buf_init(&diag, DIAG_MAX);
    if (lim)
        l = *lim;
    if (!l.timeout_ms)
        l.timeout_ms = CONSIGN_PAC_DEFAULT_TIMEOUT_MS;
    if (!l.cpu_s)
        l.cpu_s = (l.timeout_ms + 999) / 1000 + 1;
    if (!l.mem_bytes)
        l.mem_bytes = CONSIGN_PAC_DEFAULT_MEM;
    if (!l.max_script)
        l.max_script = CONSIGN_PAC_DEFAULT_SCRIPT_MAX;
    if (!l.max_result)
        l.max_result = CONSIGN_PAC_DEFAULT_RESULT_MAX;
    if (l.timeout_ms > TIMEOUT_MAX || l.cpu_s > TIMEOUT_MAX / 1000 ||
        l.max_result > CONSIGN_PAC_RESULT_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "PAC: a limit is out of range");
        goto out;
    }
    if (l.my_ip && inet_pton(AF_INET, l.my_ip, addr) != 1 &&
        inet_pton(AF_INET6, l.my_ip, addr) != 1) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "PAC: my IP address is not an IP address");
        goto out;
    }
    consign_buf_init(&ans, 5 + l.max_result + 1);
    if (pac_len > l.max_script) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "PAC: the script is larger than %zu bytes",
                          l.max_script);
        goto out;
    }
    if (memchr(pac, '\0', pac_len)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "PAC: the script contains a NUL byte");
        goto out;
    }
    if ((rc = consign_pac_parse_url(ctx, url, &u))) {
        rc = consign_err_context(ctx, rc, "PAC");
        goto out;
    }
    if (!(script = consign_strndup(ctx, pac, pac_len))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (pipe2(apipe, O_CLOEXEC) < 0 || pipe2(dpipe, O_CLOEXEC) < 0) {
        rc = consign_fail_errno(ctx, errno, "PAC: pipe");
        goto out;
    }
    j.script = script;
    j.u = &u;
    j.my_ip = l.my_ip;
    j.max_result = l.max_result;
    j.cpu_s = l.cpu_s;
    /* RLIMIT_AS counts what the child inherits: give it room on top. */
    j.as_limit = vm_size() + l.mem_bytes;
    j.heap_max = l.mem_bytes;
    j.parent = getpid();
    fflush(NULL); /* nothing buffered is written twice */
    pid = fork();
    if (pid < 0) {
        rc = consign_fail(ctx, CONSIGN_E_EXEC, "PAC: cannot start the evaluator: %s",
                          strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_main(&j, apipe[1], dpipe[1]);
    close(apipe[1]);
    close(dpipe[1]);
    apipe[1] = dpipe[1] = -1;

    rc = collect(ctx, &apipe[0], &dpipe[0], l.timeout_ms, &ans, &diag, &timed_out);
    if (timed_out || rc)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    pid = -1; /* reaped (or never ours to reap: SIGCHLD ignored) */
    if (rc)
        goto out;
    tidy_diag(&diag, said, sizeof(said));
    if (said[0])
        consign_log(ctx, CONSIGN_LOG_DEBUG, "PAC: the script said: %s", said);

    /* What did the child get to say? */
    a = (const unsigned char *)(ans.data ? ans.data : "");
    if (ans.len > 0 && a[0] == MSG_LOADED) {
        loaded = 1;
        idx = 1;
    }
    if (idx < ans.len) {
        final = a[idx];
        if (final != MSG_RESULT) {
            complete = ans.len == idx + 1;
        } else if (ans.len >= idx + 5) {
            memcpy(&full, a + idx + 1, 4);
            complete = ans.len == idx + 5 + (full < l.max_result ? full : l.max_result);
        }
    }
    fmt_ms(dur, sizeof(dur), l.timeout_ms);
    if (!complete) {
        if (mentions_oom(&diag))
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "PAC: the script ran out of memory (%zu MiB)",
                              l.mem_bytes >> 20);
        else if (timed_out)
            rc = consign_fail(ctx, CONSIGN_E_INVALID,
                              loaded ? "PAC: FindProxyForURL did not return within %s"
                                     : "PAC: the script did not finish loading within %s",
                              dur);
        else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU)
            rc = consign_fail(ctx, CONSIGN_E_INVALID,
                              "PAC: the script used more than %u s of CPU time", l.cpu_s);
        else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
            rc = consign_fail(ctx, CONSIGN_E_EXEC, "PAC: evaluation was killed (signal 9)%s%s",
                              said[0] ? ": " : "", said);
        else if (WIFSIGNALED(st))
            rc = consign_fail(ctx, CONSIGN_E_EXEC, "PAC: evaluation crashed (signal %d)%s%s",
                              WTERMSIG(st), said[0] ? ": " : "", said);
        else if (WIFEXITED(st) && WEXITSTATUS(st) == DROP_FAILED)
            rc = consign_fail(ctx, CONSIGN_E_PERM,
                              "PAC: the evaluator could not change to uid and gid %d", NOBODY);
        else if (WIFEXITED(st) && WEXITSTATUS(st) == SETUP_FAILED)
            rc = consign_fail(ctx, CONSIGN_E_EXEC, "PAC: the evaluator could not set itself up");
        else
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL,
                              "PAC: the evaluator ended without an answer%s%s", said[0] ? ": " : "",
                              said);
        goto out;
    }
    switch (final) {
    case MSG_RESULT:
        break;
    case MSG_NOINIT:
        rc = consign_fail(ctx, mentions_oom(&diag) ? CONSIGN_E_NOMEM : CONSIGN_E_EXEC,
                          "PAC: the JavaScript engine could not start%s%s", said[0] ? ": " : "",
                          said);
        goto out;
    case MSG_BADSCRIPT:
    case MSG_FAILED:
        if (mentions_oom(&diag))
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "PAC: the script ran out of memory (%zu MiB)",
                              l.mem_bytes >> 20);
        else if (final == MSG_BADSCRIPT)
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "PAC: the script is invalid: %s",
                              said[0] ? said : "(no detail)");
        else
            rc = consign_fail(ctx, CONSIGN_E_INVALID, "PAC: FindProxyForURL failed: %s",
                              said[0] ? said : "(no detail)");
        goto out;
    case MSG_NOFUNC:
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                          "PAC: the script defines no function FindProxyForURL");
        goto out;
    default:
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "PAC: the evaluator sent message 0x%02x", final);
        goto out;
    }
    if (full > l.max_result) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG,
                          "PAC: FindProxyForURL returned %lu bytes, more than the limit of %zu",
                          (unsigned long)full, l.max_result);
        goto out;
    }
    a += idx + 5;
    if ((full == 9 && memcmp(a, "undefined", 9) == 0) || (full == 4 && memcmp(a, "null", 4) == 0)) {
        rc =
            consign_fail(ctx, CONSIGN_E_INVALID, "PAC: FindProxyForURL returned %.*s, not a string",
                         (int)full, (const char *)a);
        goto out;
    }
    if ((rc = consign_pac_parse_result(ctx, (const char *)a, full, out))) {
        rc = consign_err_context(ctx, rc, "PAC: FindProxyForURL returned garbage");
        goto out;
    }
    if (out->dropped)
        consign_log(ctx, CONSIGN_LOG_DEBUG, "PAC: %zu proxies after the first %d ignored",
                    out->dropped, CONSIGN_PAC_MAX_ENTRIES);
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    for (idx = 0; idx < 2; idx++) {
        if (apipe[idx] >= 0)
            close(apipe[idx]);
        if (dpipe[idx] >= 0)
            close(dpipe[idx]);
    }
    if (rc)
        memset(out, 0, sizeof(*out));
    free(script);
    consign_buf_free(&ans);
    consign_buf_free(&diag);
    return rc;
}

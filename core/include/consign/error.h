/* consign core: the one error type, the context that carries it, and logging.
 *
 * Every library function that can fail takes a `struct consign_ctx *` and
 * returns 0 or a positive `enum consign_code`. The message lives in the
 * context; each layer that passes an error upward may prefix its own context
 * with consign_err_context() ("repo apt: Packages: line 12: ...").
 * Libraries never print: they log through the callback the caller installs.
 */
#ifndef CONSIGN_ERROR_H
#define CONSIGN_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(symbol, exit class, message): exit class 2 marks usage or bad input. */
#define CONSIGN_ERRORS(X)                                                                          \
    X(CONSIGN_E_NOMEM, 1, "out of memory")                                                         \
    X(CONSIGN_E_IO, 1, "input/output error")                                                       \
    X(CONSIGN_E_USAGE, 2, "invalid usage")                                                         \
    X(CONSIGN_E_SYNTAX, 2, "syntax error")                                                         \
    X(CONSIGN_E_INVALID, 2, "invalid value")                                                       \
    X(CONSIGN_E_NOTFOUND, 1, "not found")                                                          \
    X(CONSIGN_E_EXISTS, 1, "already exists")                                                       \
    X(CONSIGN_E_TOOBIG, 2, "too large")                                                            \
    X(CONSIGN_E_UNSAFE_PATH, 2, "unsafe path")                                                     \
    X(CONSIGN_E_PERM, 1, "permission denied")                                                      \
    X(CONSIGN_E_CRYPTO, 1, "cryptographic operation failed")                                       \
    X(CONSIGN_E_KEY, 1, "key unusable")                                                            \
    X(CONSIGN_E_BAD_SIGNATURE, 1, "bad signature")                                                 \
    X(CONSIGN_E_UNTRUSTED, 1, "signed by an untrusted key")                                        \
    X(CONSIGN_E_EXPIRED, 1, "expired")                                                             \
    X(CONSIGN_E_NETWORK, 1, "network error")                                                       \
    X(CONSIGN_E_LOCKED, 1, "locked by another process")                                            \
    X(CONSIGN_E_EXEC, 1, "could not run a program")                                                \
    X(CONSIGN_E_INTERNAL, 1, "internal error")                                                     \
    X(CONSIGN_E_ROLLBACK, 1, "older than the trusted version")                                     \
    X(CONSIGN_E_MISMATCH, 1, "does not match the trusted metadata")                                \
    X(CONSIGN_E_CANCELLED, 1, "cancelled")                                                         \
    X(CONSIGN_E_UNHEALTHY, 1, "the new version failed its health check")

enum consign_code {
    CONSIGN_OK = 0,
#define CONSIGN_X_ENUM(sym, cls, msg) sym,
    CONSIGN_ERRORS(CONSIGN_X_ENUM)
#undef CONSIGN_X_ENUM
        CONSIGN_E__COUNT
};

enum consign_log_level {
    CONSIGN_LOG_ERROR = 0,
    CONSIGN_LOG_WARN = 1,
    CONSIGN_LOG_INFO = 2,
    CONSIGN_LOG_DEBUG = 3,
};

typedef void (*consign_log_fn)(void *user, enum consign_log_level level, const char *msg);

#define CONSIGN_ERR_MAX 2048

/* Caller-owned; usually on the stack. Not shared between threads. */
struct consign_ctx {
    consign_log_fn log_fn;
    void *log_user;
    enum consign_log_level log_level;
    int err_code;
    char err_msg[CONSIGN_ERR_MAX];
};

/* Initialise a context. fn may be NULL (logging discarded). Level defaults to INFO. */
void consign_ctx_init(struct consign_ctx *ctx, consign_log_fn fn, void *user);

/* Record a failure and return code. fmt may be NULL: the code's table message is used. */
int consign_fail(struct consign_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int consign_failv(struct consign_ctx *ctx, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Record a failure from an errno value: the code is derived from errnum
 * (ENOENT -> NOTFOUND, EACCES -> PERM, ...) and ": <strerror>" is appended. */
int consign_fail_errno(struct consign_ctx *ctx, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with "<context>: " and return code unchanged. */
int consign_err_context(struct consign_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void consign_err_clear(struct consign_ctx *ctx);

/* The recorded message (borrowed; never NULL). */
const char *consign_err_msg(const struct consign_ctx *ctx);

/* The table message of a code ("unknown error" for codes out of range). */
const char *consign_strerror(int code);

/* The symbolic name of a code ("CONSIGN_E_IO"). */
const char *consign_strcode(int code);

/* 2 for usage or bad-input classes, 1 for other failures, 0 for CONSIGN_OK. */
int consign_exit_class(int code);

void consign_log(struct consign_ctx *ctx, enum consign_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif

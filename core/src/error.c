/* The one error table and the context's error slot and logger. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "consign/error.h"

static const struct {
    const char *sym;
    int cls;
    const char *msg;
} error_table[] = {[CONSIGN_OK] = {"CONSIGN_OK", 0, "success"},
#define CONSIGN_X_TABLE(sym, cls, msg) [sym] = {#sym, cls, msg},
                   CONSIGN_ERRORS(CONSIGN_X_TABLE)
#undef CONSIGN_X_TABLE
};

void
consign_ctx_init(struct consign_ctx *ctx, consign_log_fn fn, void *user)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_level = CONSIGN_LOG_INFO;
}

const char *
consign_strerror(int code)
{
    if (code < 0 || code >= CONSIGN_E__COUNT)
        return "unknown error";
    return error_table[code].msg;
}

const char *
consign_strcode(int code)
{
    if (code < 0 || code >= CONSIGN_E__COUNT)
        return "CONSIGN_E_UNKNOWN";
    return error_table[code].sym;
}

int
consign_exit_class(int code)
{
    if (code == CONSIGN_OK)
        return 0;
    if (code < 0 || code >= CONSIGN_E__COUNT)
        return 1;
    return error_table[code].cls;
}

int
consign_failv(struct consign_ctx *ctx, int code, const char *fmt, va_list ap)
{
    if (!ctx)
        return code;
    ctx->err_code = code;
    if (!fmt) {
        snprintf(ctx->err_msg, sizeof(ctx->err_msg), "%s", consign_strerror(code));
        return code;
    }
    vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
    return code;
}

int
consign_fail(struct consign_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    consign_failv(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

static int
code_from_errno(int errnum)
{
    switch (errnum) {
    case ENOENT:
    case ENOTDIR:
        return CONSIGN_E_NOTFOUND;
    case ENOMEM:
        return CONSIGN_E_NOMEM;
    case EEXIST:
        return CONSIGN_E_EXISTS;
    case EACCES:
    case EPERM:
    case EROFS:
        return CONSIGN_E_PERM;
    case EFBIG:
    case ENAMETOOLONG:
        return CONSIGN_E_TOOBIG;
    case EWOULDBLOCK:
        return CONSIGN_E_LOCKED;
    default:
        return CONSIGN_E_IO;
    }
}

int
consign_fail_errno(struct consign_ctx *ctx, int errnum, const char *fmt, ...)
{
    int code = code_from_errno(errnum);
    char head[CONSIGN_ERR_MAX];
    va_list ap;

    if (!ctx)
        return code;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    return consign_fail(ctx, code, "%s: %s", head, strerror(errnum));
}

int
consign_err_context(struct consign_ctx *ctx, int code, const char *fmt, ...)
{
    char head[CONSIGN_ERR_MAX];
    char old[CONSIGN_ERR_MAX];
    va_list ap;

    if (!ctx)
        return code;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, ctx->err_msg, sizeof(old));
    if (!old[0])
        snprintf(old, sizeof(old), "%s", consign_strerror(code));
    /* Long chains are cut at CONSIGN_ERR_MAX; the innermost detail is lost first. */
    if (snprintf(ctx->err_msg, sizeof(ctx->err_msg), "%s: %s", head, old) < 0)
        ctx->err_msg[0] = '\0';
    ctx->err_code = code;
    return code;
}

void
consign_err_clear(struct consign_ctx *ctx)
{
    ctx->err_code = 0;
    ctx->err_msg[0] = '\0';
}

const char *
consign_err_msg(const struct consign_ctx *ctx)
{
    if (!ctx->err_msg[0])
        return consign_strerror(ctx->err_code);
    return ctx->err_msg;
}

void
consign_log(struct consign_ctx *ctx, enum consign_log_level level, const char *fmt, ...)
{
    char msg[CONSIGN_ERR_MAX];
    va_list ap;

    if (!ctx || !ctx->log_fn || level > ctx->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, msg);
}

/* The .bin stub: verify, show the EULA, ask, install or upgrade; or
 * --uninstall (docs/sfx-stub.md). The installed tools (NAME-config,
 * NAME-update, NAME-uninstall) are another program, agenttools/, shipped in
 * the payload. The install itself is the install core's (consign/install.h);
 * this file only talks to the user. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/extract.h"
#include "consign/fileio.h"
#include "consign/install.h"
#include "consign/secret.h"
#include "consign/sfx.h"
#include "consign/sfx_install.h"
#include "consign/ui.h"
#include "consign/tar.h"

struct opts {
    int help, info, list, check, noexec, keep, uninstall, purge, accept_eula, quiet, yes;
    const char *target, *root, *token_file, *token, *pac, *host, *port, *user, *pass_file;
    const char *auto_update, *response_file, *save_response, *trust_new_key, *expect_signer;
};

static const char *prog = "installer";
static int quiet;

/* A damaged stub may crash before its own hash check can run: say so
 * plainly instead of dying with a bare "Segmentation fault". Nothing is
 * written before verification, so there is nothing to undo. */
static void
on_crash(int sig)
{
    static const char msg[] = "error: this installer is damaged (it crashed while checking "
                              "itself); nothing was installed. Download it again.\n";
    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(1);
    _exit(1);
}

static void
catch_crashes(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_ONSTACK; /* when the static stub's entry set one up */
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
#ifdef CONSIGN_STUB_EARLY_ENTRY
    alarm(0); /* the start-up watchdog of consign_stub_entry */
#endif
    signal(SIGALRM, SIG_DFL);
}

/* A damaged stub may also loop while it checks itself. Until the check has
 * passed, an alarm ends it with a message: ten seconds plus one per 8 MiB
 * of file, room for a slow disk, far from what a healthy check takes. */
static void
on_hang(int sig)
{
    static const char msg[] = "error: this installer is damaged (it stopped responding while "
                              "checking itself); nothing was installed. Download it again.\n";
    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(1);
    _exit(1);
}

static void
watchdog_arm(int fd)
{
    struct sigaction sa;
    struct stat st;
    unsigned long long secs = 10;

    if (fstat(fd, &st) == 0 && st.st_size > 0)
        secs += (unsigned long long)st.st_size >> 23;
    if (secs > 3600)
        secs = 3600;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_hang;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)secs);
}

/* The check passed: the code that runs from here was verified. */
static void
watchdog_off(void)
{
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}

#ifdef CONSIGN_STUB_EARLY_ENTRY
/* The static stub's entry point (linked with -e consign_stub_entry): before
 * the C library starts, whose start-up code and constructors (nettle's CPU
 * dispatch) a damaged file may have broken, install a crash handler with raw
 * system calls, on an alternate stack (a runaway recursion still reaches
 * it), and an alarm in 10 s for a start-up that loops; then go on to the
 * usual _start with the stack and %rdx untouched. The handler uses neither
 * libc nor TLS: write(2), exit_group(1). main() cancels the alarm and
 * replaces the handler with on_crash, which keeps the alternate stack.
 * x86_64 Linux only. */
__asm__(".pushsection .bss\n"
        ".balign 16\n"
        "consign_early_stack:\n"
        "  .zero 32768\n"
        ".popsection\n"
        ".pushsection .rodata\n"
        "consign_early_msg:\n"
        "  .ascii \"error: this installer is damaged (it crashed while checking itself); \"\n"
        "  .ascii \"nothing was installed. Download it again.\\n\"\n"
        "consign_early_msg_end:\n"
        ".popsection\n"
        ".pushsection .text\n"
        ".globl consign_stub_entry\n"
        ".type consign_stub_entry, @function\n"
        "consign_stub_entry:\n"
        "  mov %rdx, %r12\n"
        "  sub $64, %rsp\n" /* below argc: struct kernel_sigaction, stack_t */
        "  lea consign_early_stack(%rip), %rax\n"
        "  mov %rax, 32(%rsp)\n"    /* ss_sp */
        "  movq $0, 40(%rsp)\n"     /* ss_flags */
        "  movq $32768, 48(%rsp)\n" /* ss_size */
        "  mov $131, %eax\n"        /* sigaltstack(&ss, NULL) */
        "  lea 32(%rsp), %rdi\n"
        "  xor %esi, %esi\n"
        "  syscall\n"
        "  lea consign_early_crash(%rip), %rax\n"
        "  mov %rax, 0(%rsp)\n"                /* sa_handler */
        "  movq $0x0c000000, 8(%rsp)\n"        /* sa_flags: SA_RESTORER | SA_ONSTACK */
        "  mov %rax, 16(%rsp)\n"               /* sa_restorer (never returned to) */
        "  movq $0, 24(%rsp)\n"                /* sa_mask */
        "  .irp sig, 4, 6, 7, 8, 11, 14, 31\n" /* ILL ABRT BUS FPE SEGV ALRM SYS */
        "  mov $13, %eax\n"                    /* rt_sigaction(sig, &act, NULL, 8) */
        "  mov $\\sig, %edi\n"
        "  mov %rsp, %rsi\n"
        "  xor %edx, %edx\n"
        "  mov $8, %r10d\n"
        "  syscall\n"
        "  .endr\n"
        "  add $64, %rsp\n"
        "  mov $37, %eax\n" /* alarm(10) */
        "  mov $10, %edi\n"
        "  syscall\n"
        "  mov %r12, %rdx\n"
        "  xor %r12d, %r12d\n"
        "  jmp _start\n"
        ".size consign_stub_entry, .-consign_stub_entry\n"
        "consign_early_crash:\n"
        "  mov $1, %eax\n" /* write(2, msg, len) */
        "  mov $2, %edi\n"
        "  lea consign_early_msg(%rip), %rsi\n"
        "  mov $(consign_early_msg_end - consign_early_msg), %edx\n"
        "  syscall\n"
        "  mov $231, %eax\n" /* exit_group(1) */
        "  mov $1, %edi\n"
        "  syscall\n"
        "  hlt\n"
        ".popsection\n");
#endif

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void
log_stderr(void *user, enum consign_log_level level, const char *msg)
{
    (void)user;
    if (level > CONSIGN_LOG_WARN && quiet)
        return;
    fprintf(stderr, "%s: %s%s\n", prog,
            level == CONSIGN_LOG_ERROR  ? "error: "
            : level == CONSIGN_LOG_WARN ? "warning: "
                                        : "",
            msg);
}

static int
fail(struct consign_ctx *ctx, int rc, const char *what)
{
    /* A failure whose message was lost still names its class, never "success". */
    fprintf(stderr, "%s: error: %s%s%s\n", prog, what ? what : "", what ? ": " : "",
            ctx->err_code ? consign_err_msg(ctx) : consign_strerror(rc));
    return consign_exit_class(rc) ? consign_exit_class(rc) : 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return 2;
}

static struct consign_ui ui;
static int interactive_in;

/* ---- finding ourselves ---------------------------------------------------- */

static int
open_self(const char *argv0)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

    /* An empty chroot has no /proc: fall back to the path we were run by. */
    if (fd < 0 && argv0 && strchr(argv0, '/'))
        fd = open(argv0, O_RDONLY | O_CLOEXEC);
    return fd;
}

/* ---- option parsing -------------------------------------------------------- */

static int
take(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

static int
parse(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } vals[] = {
#define V(n, f) {n, offsetof(struct opts, f)}
        V("--target", target),
        V("--root", root),
        V("--token-file", token_file),
        V("--token", token),
        V("--proxy-pac-url", pac),
        V("--proxy-host", host),
        V("--proxy-port", port),
        V("--proxy-user", user),
        V("--proxy-password-file", pass_file),
        V("--auto-update", auto_update),
        V("--response-file", response_file),
        V("--save-response", save_response),
        V("--trust-new-key", trust_new_key),
        V("--expect-signer", expect_signer),
#undef V
    };
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
#define F(n, f) {n, offsetof(struct opts, f)}
        F("--help", help),
        F("-h", help),
        F("--info", info),
        F("--list", list),
        F("--check", check),
        F("--noexec", noexec),
        F("--keep", keep),
        F("--uninstall", uninstall),
        F("--purge", purge),
        F("--accept-eula", accept_eula),
        F("--accept", accept_eula),
        F("--quiet", quiet),
        F("-q", quiet),
        F("--yes", yes),
        F("-y", yes),
#undef F
    };
    int i;
    size_t k;

    for (i = 1; i < argc; i++) {
        int done = 0;
        for (k = 0; !done && k < sizeof(flags) / sizeof(flags[0]); k++)
            if (strcmp(argv[i], flags[k].name) == 0) {
                *(int *)((char *)o + flags[k].off) = 1;
                done = 1;
            }
        for (k = 0; !done && k < sizeof(vals) / sizeof(vals[0]); k++) {
            const char *v = NULL;
            int t = take(argc, argv, &i, vals[k].name, &v);
            if (t < 0)
                return usage_error("%s needs a value", vals[k].name);
            if (t > 0) {
                *(const char **)((char *)o + vals[k].off) = v;
                done = 1;
            }
        }
        if (!done)
            return usage_error("unknown argument '%s'", argv[i]);
    }
    return 0;
}

/* ---- installer ---------------------------------------------------------- */

static void
help_install(void)
{
    printf("Usage: %s [OPTIONS]\n"
           "\n"
           "Verifies this installer (SHA-256 and signature over the whole file) before it\n"
           "writes anything, shows the license, asks for the settings and installs the\n"
           "agent under /opt, /etc/opt and /var/opt with its service. Run it as root.\n"
           "\n"
           "Query:\n"
           "  --help                this text\n"
           "  --info                product, version, signer and sizes\n"
           "  --list                the files of the payload\n"
           "  --check               verify only, then exit (0: good)\n"
           "  --target DIR          extract the payload into DIR, do not install\n"
           "  --noexec              extract into ./NAME-VERSION (or --target), do not install\n"
           "  --keep                accepted for makeself compatibility (nothing is ever\n"
           "                        extracted to a temporary directory)\n"
           "Install:\n"
           "  --root DIR            install under DIR instead of / (image builds, tests)\n"
           "  --accept-eula         accept the license without showing it\n"
           "  --token-file FILE     the install token (or NAME_TOKEN in the environment)\n"
           "  --token TOKEN         the install token on the command line (visible to\n"
           "                        other users: prefer --token-file)\n"
           "  --proxy-pac-url URL   proxy auto-configuration URL\n"
           "  --proxy-host HOST, --proxy-port PORT, --proxy-user USER\n"
           "  --proxy-password-file FILE   (or NAME_PROXY_PASSWORD in the environment)\n"
           "  --auto-update yes|no  automatic updates (default yes)\n"
           "  --response-file FILE  answers as key=value lines (see --save-response)\n"
           "  --save-response FILE  write the answers of this run (mode 0600)\n"
           "  --trust-new-key FPR   allow an upgrade signed by this new key\n"
           "  --expect-signer FPR   refuse unless signed by this key\n"
           "  --quiet               errors only; never ask (unattended)\n"
           "Remove:\n"
           "  --uninstall [--purge] remove the agent; --purge also deletes /etc/opt/NAME\n"
           "                        and /var/opt/NAME (settings and logs)\n"
           "\n"
           "Exit status: 0 success, 1 failure (verification, install), 2 usage error.\n",
           prog);
}

static int
list_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    (void)ctx;
    (void)user;
    printf("%c%04o %12llu %s%s%s\n",
           e->type == CONSIGN_TAR_DIR       ? 'd'
           : e->type == CONSIGN_TAR_SYMLINK ? 'l'
           : e->type == CONSIGN_TAR_FILE    ? '-'
                                            : '?',
           e->mode & 07777, e->size, e->path, e->link ? " -> " : "", e->link ? e->link : "");
    return 0;
}

static int
list_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    (void)ctx;
    (void)user;
    (void)p;
    (void)n;
    return 0;
}

static int
list_end(struct consign_ctx *ctx, void *user)
{
    (void)ctx;
    (void)user;
    return 0;
}

static int
feed_reader(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_tar_reader_feed(ctx, user, p, n);
}

static int
feed_extract(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_extract_feed(ctx, user, p, n);
}

static int
do_list(struct consign_ctx *ctx, struct consign_sfx *s)
{
    struct consign_tar_callbacks cb = {list_entry, list_data, list_end};
    struct consign_tar_reader *r = NULL;
    int rc;

    if (!(rc = consign_tar_reader_new(ctx, NULL, &cb, NULL, &r)) &&
        !(rc = consign_sfx_stream(ctx, s, NULL, NULL, feed_reader, r)))
        rc = consign_tar_reader_finish(ctx, r);
    consign_tar_reader_free(r);
    return rc;
}

static int
do_extract(struct consign_ctx *ctx, struct consign_sfx *s, const char *dir)
{
    const struct consign_sfx_header *h = consign_sfx_header_get(s);
    struct consign_extract_opts xo;
    struct consign_extract *x = NULL;
    int rc;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return consign_fail_errno(ctx, errno, "%s", dir);
    memset(&xo, 0, sizeof(xo));
    xo.max_total = h->payload_files;
    xo.max_entries = h->payload_entries;
    if (!(rc = consign_extract_new(ctx, dir, &xo, &x)) &&
        !(rc = consign_sfx_stream(ctx, s, NULL, NULL, feed_extract, x)))
        rc = consign_extract_finish(ctx, x);
    consign_extract_free(x);
    return rc;
}

static int
run_install(struct consign_ctx *ctx, struct opts *o, int fd)
{
    const struct consign_sfx_header *h;
    const struct consign_sfx_info *info;
    struct consign_sfx_install_opts so;
    struct consign_conf answers = {0};
    struct consign_sfx *s = NULL;
    char g[64], *token_var = NULL, *pass_var = NULL, *hint = NULL;
    const char *signer;
    int rc = 0, accept = o->accept_eula;

    /* --check reads and checks everything; the others check the signed
     * trailer, table and info now and each chunk when they read it. */
    if ((rc = consign_sfx_open(ctx, fd, &s)) ||
        (rc = o->check ? consign_sfx_verify(ctx, s) : consign_sfx_verify_meta(ctx, s))) {
        fprintf(stderr,
                "%s: error: this installer failed verification: %s\n"
                "%s: nothing was installed. Download it again from your vendor.\n",
                prog, consign_err_msg(ctx), prog);
        rc = 1;
        goto out;
    }
    watchdog_off();
    h = consign_sfx_header_get(s);
    info = consign_sfx_info_get(s);
    signer = consign_sfx_signer(s);
    consign_fpr_group(signer, g);
    if (o->expect_signer && !consign_fpr_equal(o->expect_signer, signer)) {
        fprintf(stderr, "%s: error: signed by %s, not by the expected key %s; nothing installed\n",
                prog, g, o->expect_signer);
        rc = 1;
        goto out;
    }
    say("Verified %s %s: signed by %s\n", info->name, info->version, g);
    if (o->check)
        goto out;
    if (o->info) {
        printf("Product:    %s\nVersion:    %s\nSummary:    %s\nVendor:     %s\n"
               "Arch:       %s\nSigner:     %s\nSigned at:  %lld\n"
               "Sizes:      stub %llu, payload %llu compressed, %llu unpacked, %llu files' bytes, "
               "%llu entries\n",
               info->name, info->version, info->summary ? info->summary : "",
               info->vendor ? info->vendor : "", info->arch ? info->arch : "", g,
               consign_sfx_signed_at(s), (unsigned long long)h->stub_size,
               (unsigned long long)h->payload_size, (unsigned long long)h->payload_raw,
               (unsigned long long)h->payload_files, (unsigned long long)h->payload_entries);
        goto out;
    }
    if (o->list) {
        if ((rc = do_list(ctx, s)))
            rc = fail(ctx, rc, "list");
        goto out;
    }
    if (o->target || o->noexec) {
        char def[512];
        snprintf(def, sizeof(def), "%s-%s", info->name, info->version);
        if ((rc = do_extract(ctx, s, o->target ? o->target : def)))
            rc = fail(ctx, rc, "extract");
        else
            say("Extracted into %s (not installed).\n", o->target ? o->target : def);
        goto out;
    }
    if (!o->root && geteuid() != 0) {
        fprintf(stderr, "%s: error: run as root to install (or pass --root DIR or --target DIR)\n",
                prog);
        rc = 1;
        goto out;
    }
    if (!(token_var = consign_answers_env_name(info->name, "TOKEN")) ||
        !(pass_var = consign_answers_env_name(info->name, "PROXY_PASSWORD")) ||
        !(hint = consign_asprintf(ctx, "pass --token-file FILE or set %s", token_var))) {
        rc = fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    /* The answers: response file, then options, then the environment. */
    if (o->response_file && (rc = consign_answers_read(ctx, o->response_file, &answers, &accept))) {
        rc = fail(ctx, rc, "response file");
        goto out;
    }
    if (o->token) {
        consign_log(ctx, CONSIGN_LOG_WARN,
                    "--token puts the token where other users can see it (ps); prefer "
                    "--token-file or %s",
                    token_var);
        if ((rc = consign_conf_set(ctx, &answers, "token", o->token)))
            goto bad;
    }
    if ((o->token_file &&
         (rc = consign_answers_from_file(ctx, &answers, "token", o->token_file))) ||
        (!consign_conf_get(&answers, "token") &&
         (rc = consign_answers_from_env(ctx, &answers, "token", token_var))) ||
        (o->pac && (rc = consign_conf_set(ctx, &answers, "proxy_pac_url", o->pac))) ||
        (o->host && (rc = consign_conf_set(ctx, &answers, "proxy_host", o->host))) ||
        (o->port && (rc = consign_conf_set(ctx, &answers, "proxy_port", o->port))) ||
        (o->user && (rc = consign_conf_set(ctx, &answers, "proxy_user", o->user))) ||
        (o->pass_file &&
         (rc = consign_answers_from_file(ctx, &answers, "proxy_password", o->pass_file))) ||
        (!consign_conf_get(&answers, "proxy_password") &&
         (rc = consign_answers_from_env(ctx, &answers, "proxy_password", pass_var))) ||
        (o->auto_update && (rc = consign_conf_set(ctx, &answers, "auto_update", o->auto_update))))
        goto bad;

    memset(&so, 0, sizeof(so));
    so.root = o->root;
    so.interactive = interactive_in && !o->quiet;
    so.accept_eula = accept;
    so.trust_new_key = o->trust_new_key;
    so.save_response = o->save_response;
    so.token_hint = hint;
    so.eula_hint = "pass --accept-eula";
    so.keep_base = 1; /* the base of the next delta update */
    rc = consign_sfx_install(ctx, &ui, s, fd, &so, &answers);
    if (rc == CONSIGN_E_USAGE || rc == CONSIGN_E_CANCELLED || rc == CONSIGN_E_UNTRUSTED) {
        fprintf(stderr, "%s: %s%s\n", prog,
                rc == CONSIGN_E_CANCELLED ? "" : "error: ", consign_err_msg(ctx));
        rc = rc == CONSIGN_E_USAGE ? 2 : 1;
        goto out;
    }
    if (rc)
        goto bad;
    goto out;
bad:
    rc = fail(ctx, rc, "install");
    fprintf(stderr, "%s: the previous state was left as it was.\n", prog);
out:
    consign_conf_free(&answers);
    consign_sfx_free(s);
    free(token_var);
    free(pass_var);
    free(hint);
    return rc;
}

/* ---- installed tools ---------------------------------------------------- */

static int
run_uninstall(struct consign_ctx *ctx, const char *name, const char *root, int purge)
{
    struct consign_installed cur;
    int rc;

    if (!root && geteuid() != 0) {
        fprintf(stderr, "%s: error: run as root to uninstall\n", prog);
        return 1;
    }
    if ((rc = consign_install_query(ctx, root, name, &cur)))
        return fail(ctx, rc, NULL);
    if (!cur.present && !purge) {
        fprintf(stderr, "%s: %s is not installed%s%s\n", prog, name, root ? " under " : "",
                root ? root : "");
        return 1;
    }
    if ((rc = consign_uninstall(ctx, root, name, purge, 0)))
        return fail(ctx, rc, "uninstall");
    say("%s was removed.%s\n", name, purge ? " Its settings and logs were deleted." : "");
    if (!purge)
        say("Settings and logs are kept in /var/opt/%s; remove them with --purge.\n", name);
    return 0;
}

int
main(int argc, char **argv)
{
    struct consign_ctx ctx;
    struct opts o;
    const char *base = argc > 0 && argv[0] ? argv[0] : "installer";
    int rc, fd;

    catch_crashes();
    if (strrchr(base, '/'))
        base = strrchr(base, '/') + 1;
    prog = base;
    interactive_in = isatty(0);
    consign_ctx_init(&ctx, log_stderr, NULL);
    consign_ui_tty(&ui, 0);
    memset(&o, 0, sizeof(o));
    if ((rc = parse(argc, argv, &o)))
        return rc;
    quiet = o.quiet;
    consign_ui_tty(&ui, quiet);
    if (o.help) {
        help_install();
        return 0;
    }
    if (o.auto_update && strcmp(o.auto_update, "yes") != 0 && strcmp(o.auto_update, "no") != 0)
        return usage_error("--auto-update takes yes or no");
    if (o.root && !o.root[0])
        return usage_error("--root needs a directory");
    fd = open_self(argc > 0 ? argv[0] : NULL);
    if (fd < 0) {
        fprintf(stderr, "%s: error: cannot open my own file: %s\n", prog, strerror(errno));
        return 1;
    }
    watchdog_arm(fd);
    if (o.uninstall) {
        struct consign_sfx *s = NULL;
        /* The product name comes from the signed info block. */
        if ((rc = consign_sfx_open(&ctx, fd, &s)) || (rc = consign_sfx_verify_meta(&ctx, s))) {
            rc = fail(&ctx, rc, "verification");
        } else {
            watchdog_off();
            rc = run_uninstall(&ctx, consign_sfx_info_get(s)->name, o.root, o.purge);
        }
        consign_sfx_free(s);
    } else
        rc = run_install(&ctx, &o, fd);
    close(fd);
    return rc;
}

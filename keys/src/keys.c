/* Release keys through GPGME, in a GnuPG home private to the key directory.
 *
 * Every GPGME context is pointed at DIR/gnupg with gpgme_ctx_set_engine_info,
 * so gpg gets --homedir and neither ~/.gnupg nor $GNUPGHOME is used. Each
 * public function that may have started gpg-agent stops it again before it
 * returns. gpgme_error_t values never leave this file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpgme.h>

#include "consign/buf.h"
#include "consign/bytes.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/keys.h"
#include "consign/path.h"
#include "openpgp.h"

extern char **environ;

/* The longest socket gpg-agent 2.2 creates in its socket directory; it exits
 * when this one does not fit (checked against gpg 2.2.40). */
#define AGENT_LONGEST_SOCKET "/S.gpg-agent.browser"

#define GPGME_MIN_VERSION "1.18.0"
#define ACTIVE_MAX        256
#define UINT32_LIMIT      0xffffffffULL
#define KEYGRIP_LEN       40          /* hex digits */
#define READ_CHUNK        (64u << 10) /* bytes read at a time from a sign reader */
#define AGENT_REPLY_MAX   (16u << 10) /* the largest PKSIGN answer taken (RSA-16384 fits) */

static const char gpg_conf[] = "# Written by consign: this GnuPG home belongs to a key directory.\n"
                               "personal-digest-preferences SHA512 SHA384 SHA256\n"
                               "cert-digest-algo SHA512\n"
                               "no-greeting\n";

static const char agent_conf[] = "# Written by consign: passphrases come from consign, never a "
                                 "pinentry.\n"
                                 "allow-loopback-pinentry\n";

/* The paths of one key directory, and the lock held while it is in use. */
struct keyhome {
    char *dir;    /* absolute, symlinks resolved */
    char *home;   /* dir/gnupg */
    char *active; /* dir/active */
    int lock;     /* dir opened and flock()ed, or -1 */
};

/* What the passphrase callback saw, so a failure can be explained. */
struct pass_state {
    const struct consign_secret *pass;
    int missing; /* gpg wanted a passphrase and none was given */
    int bad;     /* gpg rejected the one we gave */
};

/* Blocks SIGPIPE in this thread while gpg runs (a dying gpg must not kill us). */
struct sigpipe_guard {
    sigset_t old;
    int was_pending;
};

static void
home_free(struct keyhome *h)
{
    if (!h)
        return;
    free(h->dir);
    free(h->home);
    free(h->active);
    if (h->lock >= 0)
        close(h->lock);
    memset(h, 0, sizeof(*h));
    h->lock = -1;
}

/* GPGME must be initialised once per process before any context is made. */
static int
gpgme_setup(struct consign_ctx *ctx)
{
    static int done;
    gpgme_error_t err;

    if (done)
        return 0;
    if (!gpgme_check_version(GPGME_MIN_VERSION))
        return consign_fail(ctx, CONSIGN_E_EXEC, "GPGME %s or newer is required (have %s)",
                            GPGME_MIN_VERSION, gpgme_check_version(NULL));
    err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    if (err)
        return consign_fail(ctx, CONSIGN_E_EXEC,
                            "GnuPG (gpg 2.2 or newer) was not found or is too old");
    done = 1;
    return 0;
}

static void
sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

/* Discard a SIGPIPE raised while blocked, then restore the caller's mask. */
static void
sigpipe_restore(struct sigpipe_guard *g)
{
    static const struct timespec zero = {0, 0};
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* gpg puts its sockets in /run/user/UID/gnupg/d.HASH when that base exists
 * and is ours; otherwise in the home directory itself. */
static int
have_run_user_dir(void)
{
    static const char *const bases[] = {"/run", "/var/run"};
    char path[64];
    struct stat st;
    size_t i;

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        snprintf(path, sizeof(path), "%s/user/%u", bases[i], (unsigned)getuid());
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
            return 1;
    }
    return 0;
}

/* gpg-agent cannot start when its socket paths exceed sun_path; say so up front
 * instead of failing later with gpg's "No agent running". dir is absolute. */
static int
check_socket_room(struct consign_ctx *ctx, const char *dir)
{
    size_t room = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - strlen(AGENT_LONGEST_SOCKET) -
                  strlen("/gnupg");

    if (strlen(dir) < room || have_run_user_dir())
        return 0;
    return consign_fail(ctx, CONSIGN_E_INVALID,
                        "%s: key directory path is too long for gpg-agent's sockets (%zu "
                        "characters, at most %zu here); use a shorter key directory path",
                        dir, strlen(dir), room - 1);
}

/* Check a key directory that does not exist yet, so a refused path is not
 * left behind half created. The check after realpath() stays authoritative. */
static int
check_socket_room_early(struct consign_ctx *ctx, const char *keydir)
{
    char cwd[CONSIGN_PATH_MAX], *abs = NULL;
    int rc;

    if (keydir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return check_socket_room(ctx, keydir);
    if (!(abs = consign_asprintf(ctx, "%s/%s", cwd, keydir)))
        return CONSIGN_E_NOMEM;
    rc = check_socket_room(ctx, abs);
    free(abs);
    return rc;
}

static int
write_if_missing(struct consign_ctx *ctx, const char *dir, const char *name, const char *text)
{
    char *path = consign_asprintf(ctx, "%s/%s", dir, name);
    int rc = 0;

    if (!path)
        return CONSIGN_E_NOMEM;
    if (!consign_is_file(path))
        rc = consign_file_write_atomic(ctx, path, text, strlen(text), 0600);
    free(path);
    return rc;
}

/* One consign process at a time per key directory: each stops the directory's
 * gpg-agent when it is done, which would break another one's signing (two
 * packages built in parallel with the same key). Released by home_free. */
static int
home_lock(struct consign_ctx *ctx, struct keyhome *h)
{
    int r;

    /* O_CLOEXEC: the gpg-agent our children start must not inherit the lock. */
    h->lock = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h->lock < 0)
        return consign_fail_errno(ctx, errno, "%s", h->dir);
    while ((r = flock(h->lock, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return consign_fail_errno(ctx, errno, "%s: locking the key directory", h->dir);
    return 0;
}

/* Resolve keydir and check it is a key directory; with create, make it (0700)
 * and its GnuPG home with consign's configuration. */
static int
home_open(struct consign_ctx *ctx, const char *keydir, int create, struct keyhome *h)
{
    char *trimmed = NULL;
    size_t n;
    int rc = 0;

    memset(h, 0, sizeof(*h));
    h->lock = -1;
    if (!keydir || !*keydir)
        return consign_fail(ctx, CONSIGN_E_INVALID, "no key directory given");
    if (!(trimmed = consign_strdup(ctx, keydir)))
        return CONSIGN_E_NOMEM;
    /* A trailing slash would make consign_mkdirs give the last directory 0755. */
    n = strlen(trimmed);
    while (n > 1 && trimmed[n - 1] == '/')
        trimmed[--n] = '\0';
    if (create && !consign_is_dir(trimmed) && (rc = check_socket_room_early(ctx, trimmed)))
        goto out;
    if (create && (rc = consign_mkdirs(ctx, trimmed, 0700)))
        goto out;
    h->dir = realpath(trimmed, NULL);
    if (!h->dir) {
        if (errno == ENOENT)
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: no such key directory", keydir);
        else
            rc = consign_fail_errno(ctx, errno, "%s", keydir);
        goto out;
    }
    if (!consign_is_dir(h->dir)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: not a directory", keydir);
        goto out;
    }
    if ((rc = home_lock(ctx, h)))
        goto out;
    h->home = consign_asprintf(ctx, "%s/gnupg", h->dir);
    h->active = consign_asprintf(ctx, "%s/active", h->dir);
    if (!h->home || !h->active) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (create) {
        if (mkdir(h->home, 0700) < 0 && errno != EEXIST) {
            rc = consign_fail_errno(ctx, errno, "%s", h->home);
            goto out;
        }
        if (!consign_is_dir(h->home)) {
            rc = consign_fail(ctx, CONSIGN_E_EXISTS, "%s: exists and is not a directory", h->home);
            goto out;
        }
        if ((rc = write_if_missing(ctx, h->home, "gpg.conf", gpg_conf)) ||
            (rc = write_if_missing(ctx, h->home, "gpg-agent.conf", agent_conf)))
            goto out;
    } else if (!consign_is_dir(h->home)) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND,
                          "%s: not a key directory (no gnupg/ inside; create one with "
                          "'consign keys generate')",
                          keydir);
        goto out;
    }
out:
    free(trimmed);
    if (rc)
        home_free(h);
    return rc;
}

/* Run "gpgconf --homedir HOME CMD gpg-agent" quietly; 0 when it exits 0,
 * else -1 with the reason in why (for the caller's message or debug log). */
static int
run_gpgconf(const struct keyhome *h, const char *cmd, char *why, size_t whylen)
{
    const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
    char *argv[] = {"gpgconf", "--homedir", h->home, (char *)cmd, "gpg-agent", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, err;

    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (gpgconf && *gpgconf == '/')
        err = posix_spawn(&pid, gpgconf, &fa, NULL, argv, environ);
    else
        err = posix_spawnp(&pid, "gpgconf", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        snprintf(why, whylen, "gpgconf: %s", strerror(err));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "gpgconf %s gpg-agent failed (status %d)", cmd, status);
        return -1;
    }
    return 0;
}

static void agent_stop(struct consign_ctx *ctx, const struct keyhome *h);

/* Hands gpg the passphrase through the loopback pinentry; refuses a retry so a
 * wrong passphrase fails at once instead of looping. */
static gpgme_error_t
pass_cb(void *hook, const char *uid_hint, const char *info, int prev_was_bad, int fd)
{
    struct pass_state *ps = hook;

    (void)uid_hint;
    (void)info;
    if (prev_was_bad) {
        ps->bad = 1;
        return gpgme_error(GPG_ERR_CANCELED);
    }
    if (!ps->pass) {
        ps->missing = 1;
        return gpgme_error(GPG_ERR_CANCELED);
    }
    if (gpgme_io_writen(fd, ps->pass->data, ps->pass->len) < 0 || gpgme_io_writen(fd, "\n", 1) < 0)
        return gpgme_error_from_syserror();
    return 0;
}

/* Translate a GPGME error into a consign code and message about `what`. */
static int
gpg_fail(struct consign_ctx *ctx, gpgme_error_t err, const struct pass_state *ps, const char *what)
{
    char detail[256];

    if (ps && ps->missing)
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "%s: the key is protected by a passphrase and none was given", what);
    if (gpgme_err_code(err) == GPG_ERR_BAD_PASSPHRASE || (ps && ps->bad))
        return consign_fail(ctx, CONSIGN_E_KEY, "%s: wrong passphrase", what);
    if (gpgme_strerror_r(err, detail, sizeof(detail)) != 0)
        snprintf(detail, sizeof(detail), "error %u", (unsigned)gpgme_err_code(err));
    switch (gpgme_err_code(err)) {
    case GPG_ERR_ENOMEM:
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    case GPG_ERR_INV_ENGINE:
    case GPG_ERR_ENOENT:
        return consign_fail(ctx, CONSIGN_E_EXEC, "%s: could not run gpg: %s", what, detail);
    case GPG_ERR_NO_AGENT:
    case GPG_ERR_ASS_CONNECT_FAILED:
        return consign_fail(ctx, CONSIGN_E_EXEC, "%s: gpg-agent could not be started", what);
    case GPG_ERR_NO_PASSPHRASE:
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "%s: the key is protected by a passphrase and none was given", what);
    case GPG_ERR_NO_SECKEY:
    case GPG_ERR_UNUSABLE_SECKEY:
        return consign_fail(ctx, CONSIGN_E_KEY, "%s: the secret key is not available", what);
    case GPG_ERR_KEY_EXPIRED:
    case GPG_ERR_CERT_EXPIRED:
        return consign_fail(ctx, CONSIGN_E_EXPIRED, "%s: the key has expired", what);
    case GPG_ERR_CERT_REVOKED:
        return consign_fail(ctx, CONSIGN_E_KEY, "%s: the key is revoked", what);
    case GPG_ERR_NOT_SUPPORTED:
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "%s: not supported by this GnuPG: %s", what,
                            detail);
    case GPG_ERR_CANCELED:
        return consign_fail(ctx, CONSIGN_E_KEY, "%s: canceled by GnuPG", what);
    default:
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "%s: GnuPG: %s", what, detail);
    }
}

/* A GPGME context that can only ever see the key directory's GnuPG home. */
static int
gpg_new(struct consign_ctx *ctx, const struct keyhome *h, struct pass_state *ps, gpgme_ctx_t *out)
{
    gpgme_ctx_t g = NULL;
    gpgme_error_t err;

    *out = NULL;
    if ((err = gpgme_new(&g)) || (err = gpgme_set_protocol(g, GPGME_PROTOCOL_OpenPGP)) ||
        (err = gpgme_ctx_set_engine_info(g, GPGME_PROTOCOL_OpenPGP, NULL, h->home)) ||
        (err = gpgme_set_pinentry_mode(g, GPGME_PINENTRY_MODE_LOOPBACK))) {
        gpgme_release(g);
        return gpg_fail(ctx, err, NULL, "setting up GnuPG");
    }
    gpgme_set_passphrase_cb(g, pass_cb, ps);
    gpgme_set_offline(g, 1);
    *out = g;
    return 0;
}

static int
to_upper_hex(int c)
{
    return c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c;
}

/* Accept a fingerprint as users paste it: either case, spaces, an "0x" prefix. */
static int
fpr_normalize(struct consign_ctx *ctx, const char *in, char out[CONSIGN_FPR_LEN + 1])
{
    const char *p = in;
    size_t n = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    for (; *p; p++) {
        if (*p == ' ')
            continue;
        if (consign_hexval((unsigned char)*p) < 0 || n == CONSIGN_FPR_LEN)
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "'%s' is not a fingerprint (40 hexadecimal digits)", in);
        out[n++] = (char)to_upper_hex((unsigned char)*p);
    }
    out[n] = '\0';
    if (n != CONSIGN_FPR_LEN)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "'%s' is not a fingerprint (40 hexadecimal digits)", in);
    return 0;
}

/* DIR/active is the one place that says which key signs releases. */
static int
read_active(struct consign_ctx *ctx, const struct keyhome *h, char fpr_out[CONSIGN_FPR_LEN + 1])
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if ((rc = consign_file_read(ctx, h->active, ACTIVE_MAX, &text, &len))) {
        if (rc == CONSIGN_E_NOTFOUND)
            rc = consign_fail(ctx, rc, "%s: no active key (generate one first)", h->dir);
        goto out;
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if ((rc = fpr_normalize(ctx, text, fpr_out)))
        rc = consign_err_context(ctx, rc, "%s", h->active);
out:
    free(text);
    return rc;
}

int
consign_keys_parse_expire(struct consign_ctx *ctx, const char *s, unsigned long long *out)
{
    static const struct {
        char unit;
        unsigned long long seconds;
    } units[] = {
        {'y', 365ULL * 86400}, {'m', 30ULL * 86400}, {'w', 7ULL * 86400}, {'d', 86400}, {'s', 1}};
    char digits[21];
    unsigned long long n, mult = 0;
    size_t len, i;

    if (!s || !*s)
        return consign_fail(ctx, CONSIGN_E_INVALID, "empty expiry (use e.g. 2y, 18m, 30d, never)");
    if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    len = strlen(s);
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (s[len - 1] == units[i].unit)
            mult = units[i].seconds;
    if (!mult || len < 2 || len - 1 >= sizeof(digits))
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "bad expiry '%s' (a number and one of y, m, w, d, s; or never)", s);
    memcpy(digits, s, len - 1);
    digits[len - 1] = '\0';
    if (consign_parse_u64(digits, ULLONG_MAX, &n) != 0)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "bad expiry '%s' (a number and one of y, m, w, d, s; or never)", s);
    /* OpenPGP stores a key's validity period in 32 bits of seconds. */
    if (n > UINT32_LIMIT / mult)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "expiry '%s' is longer than OpenPGP allows (about 136 years)", s);
    *out = n * mult;
    return 0;
}

void
consign_keys_fpr_group(const char *fpr, char out[CONSIGN_FPR_GROUPED_LEN + 1])
{
    size_t n = 0, o = 0;

    for (; fpr && *fpr; fpr++) {
        if (*fpr == ' ')
            continue;
        if (consign_hexval((unsigned char)*fpr) < 0 || n == CONSIGN_FPR_LEN) {
            out[0] = '\0';
            return;
        }
        if (n && n % 4 == 0)
            out[o++] = ' ';
        if (n == 20)
            out[o++] = ' ';
        out[o++] = (char)to_upper_hex((unsigned char)*fpr);
        n++;
    }
    out[n == CONSIGN_FPR_LEN ? o : 0] = '\0';
}

/* Name and email become the user ID "Name <email>"; refuse what would make a
 * malformed or misleading one. */
static int
check_userid(struct consign_ctx *ctx, const struct consign_keygen_opts *o)
{
    const char *p;

    if (!o->name || !*o->name)
        return consign_fail(ctx, CONSIGN_E_INVALID, "the key needs a name");
    if (!o->email || !*o->email)
        return consign_fail(ctx, CONSIGN_E_INVALID, "the key needs an email address");
    for (p = o->name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "name '%s': no '<', '>' or control characters", o->name);
    for (p = o->email; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "email '%s': no spaces, '<', '>' or control characters", o->email);
    p = strchr(o->email, '@');
    if (!p || p == o->email || !p[1] || strchr(p + 1, '@'))
        return consign_fail(ctx, CONSIGN_E_INVALID, "email '%s' is not an address", o->email);
    return 0;
}

static int
check_passphrase(struct consign_ctx *ctx, const struct consign_secret *pass)
{
    if (!pass)
        return 0;
    if (!pass->data || pass->len == 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "the passphrase is empty");
    if (memchr(pass->data, '\n', pass->len) || memchr(pass->data, '\r', pass->len) ||
        strlen(pass->data) != pass->len)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "the passphrase contains a line break or NUL byte");
    return 0;
}

int
consign_keys_generate(struct consign_ctx *ctx, const char *keydir,
                      const struct consign_keygen_opts *opts, int add,
                      char fpr_out[CONSIGN_FPR_LEN + 1])
{
    struct pass_state ps = {.pass = opts->passphrase, .missing = 0, .bad = 0};
    struct keyhome h = {NULL, NULL, NULL, -1};
    struct sigpipe_guard guard;
    gpgme_genkey_result_t res;
    gpgme_ctx_t g = NULL;
    gpgme_error_t err;
    char *userid = NULL, line[CONSIGN_FPR_LEN + 2];
    const char *algo;
    unsigned int flags = GPGME_CREATE_SIGN | GPGME_CREATE_CERT;
    int rc, started = 0;

    sigpipe_block(&guard);
    if ((rc = check_userid(ctx, opts)) || (rc = check_passphrase(ctx, opts->passphrase)))
        goto out;
    switch (opts->algo) {
    case CONSIGN_KEY_RSA4096:
        algo = "rsa4096";
        break;
    case CONSIGN_KEY_ED25519:
        algo = "ed25519";
        break;
    default:
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "unknown key algorithm %d", (int)opts->algo);
        goto out;
    }
    /* gpg 2.2 keeps timestamps in 32 bits: the expiry date must be before 2106. */
    if (opts->expire_seconds > UINT32_LIMIT - (unsigned long long)time(NULL)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "expiry is too far in the future (after 2106)");
        goto out;
    }
    if ((rc = gpgme_setup(ctx)) || (rc = home_open(ctx, keydir, 1, &h)))
        goto out;
    if (!add && access(h.active, F_OK) == 0) {
        rc = consign_fail(ctx, CONSIGN_E_EXISTS,
                          "%s already has an active key; use --add to create another one "
                          "(key rotation)",
                          h.dir);
        goto out;
    }
    if ((rc = check_socket_room(ctx, h.dir)))
        goto out;
    if (!(userid = consign_asprintf(ctx, "%s <%s>", opts->name, opts->email))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!opts->passphrase)
        flags |= GPGME_CREATE_NOPASSWD;
    if (!opts->expire_seconds)
        flags |= GPGME_CREATE_NOEXPIRE;
    /* Rotation usually keeps the user ID; gpg refuses a duplicate without FORCE. */
    if (add)
        flags |= GPGME_CREATE_FORCE;
    if ((rc = gpg_new(ctx, &h, &ps, &g)))
        goto out;
    started = 1;
    consign_log(ctx, CONSIGN_LOG_INFO, "generating a new %s key for %s in %s", algo, userid, h.dir);
    err = gpgme_op_createkey(g, userid, algo, 0, (unsigned long)opts->expire_seconds, NULL, flags);
    if (err) {
        rc = gpg_fail(ctx, err, &ps, "key generation");
        goto out;
    }
    res = gpgme_op_genkey_result(g);
    if (!res || !res->fpr || fpr_normalize(ctx, res->fpr, fpr_out)) {
        rc = consign_fail(ctx, CONSIGN_E_CRYPTO, "key generation: GnuPG returned no fingerprint");
        goto out;
    }
    snprintf(line, sizeof(line), "%s\n", fpr_out);
    if ((rc = consign_file_write_atomic(ctx, h.active, line, strlen(line), 0644)))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO, "active key is now %s", fpr_out);
out:
    gpgme_release(g);
    if (started)
        agent_stop(ctx, &h);
    free(userid);
    home_free(&h);
    sigpipe_restore(&guard);
    return rc;
}

int
consign_keys_active(struct consign_ctx *ctx, const char *keydir, char fpr_out[CONSIGN_FPR_LEN + 1])
{
    struct keyhome h;
    int rc;

    if ((rc = home_open(ctx, keydir, 0, &h)))
        return rc;
    rc = read_active(ctx, &h, fpr_out);
    home_free(&h);
    return rc;
}

/* The key fpr of the home, public (secret 0) or with its secret part. */
static int
find_key(struct consign_ctx *ctx, gpgme_ctx_t g, const struct keyhome *h, const char *fpr,
         int secret, gpgme_key_t *key)
{
    gpgme_error_t err = gpgme_get_key(g, fpr, key, secret);

    if (!err)
        return 0;
    *key = NULL;
    if (gpgme_err_code(err) == GPG_ERR_EOF)
        return consign_fail(ctx, secret ? CONSIGN_E_KEY : CONSIGN_E_NOTFOUND, "%s: no %skey %s",
                            h->dir, secret ? "secret " : "", fpr);
    return gpg_fail(ctx, err, NULL, "looking up the key");
}

/* Copy a GPGME data object's bytes to out and release it. */
static int
data_take(struct consign_ctx *ctx, gpgme_data_t d, struct consign_buf *out)
{
    size_t len = 0;
    char *mem = gpgme_data_release_and_get_mem(d, &len);
    int rc;

    if (!mem && len)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    rc = consign_buf_append(ctx, out, mem ? mem : "", len);
    gpgme_free(mem);
    return rc;
}

int
consign_keys_export(struct consign_ctx *ctx, const char *keydir, const char *fpr,
                    enum consign_key_format format, struct consign_buf *out)
{
    struct keyhome h = {NULL, NULL, NULL, -1};
    struct sigpipe_guard guard;
    char want[CONSIGN_FPR_LEN + 1];
    gpgme_ctx_t g = NULL;
    gpgme_key_t key = NULL;
    gpgme_data_t d = NULL;
    gpgme_error_t err;
    size_t before = out->len;
    int rc, started = 0;

    sigpipe_block(&guard);
    if (format != CONSIGN_KEY_FORMAT_APT && format != CONSIGN_KEY_FORMAT_ASC) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "unknown export format %d", (int)format);
        goto out;
    }
    if ((rc = gpgme_setup(ctx)) || (rc = home_open(ctx, keydir, 0, &h)))
        goto out;
    if ((rc = fpr ? fpr_normalize(ctx, fpr, want) : read_active(ctx, &h, want)))
        goto out;
    if ((rc = check_socket_room(ctx, h.dir)) || (rc = gpg_new(ctx, &h, NULL, &g)))
        goto out;
    started = 1;
    if ((rc = find_key(ctx, g, &h, want, 0, &key)))
        goto out;
    gpgme_set_armor(g, format == CONSIGN_KEY_FORMAT_ASC);
    if ((err = gpgme_data_new(&d))) {
        rc = gpg_fail(ctx, err, NULL, "export");
        goto out;
    }
    /* Minimal: only the latest self-signatures, no third-party certifications;
     * the smallest key apt, rpm and gpg --show-keys all accept. */
    if ((err = gpgme_op_export(g, want, GPGME_EXPORT_MODE_MINIMAL, d))) {
        rc = gpg_fail(ctx, err, NULL, "export");
        goto out;
    }
    rc = data_take(ctx, d, out);
    d = NULL;
    if (!rc && out->len == before)
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "export: GnuPG exported nothing for %s", want);
out:
    gpgme_data_release(d);
    gpgme_key_unref(key);
    gpgme_release(g);
    if (started)
        agent_stop(ctx, &h);
    home_free(&h);
    sigpipe_restore(&guard);
    return rc;
}

void
consign_keys_info_free(struct consign_key_info *list, size_t count)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < count; i++)
        free(list[i].uid);
    free(list);
}

/* Fill one list entry from a GPGME key (its primary key and first user ID). */
static int
info_fill(struct consign_ctx *ctx, gpgme_key_t key, const char *active, struct consign_key_info *ki)
{
    gpgme_subkey_t pk = key->subkeys;
    char *algo;

    memset(ki, 0, sizeof(*ki));
    if (!pk || !pk->fpr)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "GnuPG listed a key without fingerprint");
    if (fpr_normalize(ctx, pk->fpr, ki->fpr))
        return consign_err_context(ctx, CONSIGN_E_CRYPTO, "GnuPG listed an unusual key");
    if (!(ki->uid = consign_strdup(ctx, key->uids && key->uids->uid ? key->uids->uid : "")))
        return CONSIGN_E_NOMEM;
    algo = gpgme_pubkey_algo_string(pk);
    snprintf(ki->algo, sizeof(ki->algo), "%s", algo ? algo : "unknown");
    gpgme_free(algo);
    ki->created = (time_t)pk->timestamp;
    ki->expires = pk->expires > 0 ? (time_t)pk->expires : 0;
    ki->has_secret = key->secret ? 1 : 0;
    ki->active = strcmp(ki->fpr, active) == 0;
    ki->expired = key->expired ? 1 : 0;
    ki->revoked = key->revoked ? 1 : 0;
    return 0;
}

int
consign_keys_list(struct consign_ctx *ctx, const char *keydir, struct consign_key_info **out,
                  size_t *count)
{
    struct keyhome h = {NULL, NULL, NULL, -1};
    struct consign_key_info *list = NULL, *grown;
    struct sigpipe_guard guard;
    char active[CONSIGN_FPR_LEN + 1] = "";
    gpgme_ctx_t g = NULL;
    gpgme_key_t key = NULL;
    gpgme_error_t err;
    size_t n = 0, cap = 0;
    int rc, started = 0, listing = 0;

    *out = NULL;
    *count = 0;
    sigpipe_block(&guard);
    if ((rc = gpgme_setup(ctx)) || (rc = home_open(ctx, keydir, 0, &h)))
        goto out;
    if (access(h.active, F_OK) == 0 && (rc = read_active(ctx, &h, active)))
        goto out;
    if ((rc = check_socket_room(ctx, h.dir)) || (rc = gpg_new(ctx, &h, NULL, &g)))
        goto out;
    started = 1;
    if ((err = gpgme_set_keylist_mode(g,
                                      GPGME_KEYLIST_MODE_LOCAL | GPGME_KEYLIST_MODE_WITH_SECRET)) ||
        (err = gpgme_op_keylist_start(g, NULL, 0))) {
        rc = gpg_fail(ctx, err, NULL, "listing keys");
        goto out;
    }
    listing = 1;
    while (!(err = gpgme_op_keylist_next(g, &key))) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            if (!(grown = consign_reallocarray(ctx, list, cap, sizeof(*list)))) {
                rc = CONSIGN_E_NOMEM;
                goto out;
            }
            list = grown;
        }
        if ((rc = info_fill(ctx, key, active, &list[n]))) {
            free(list[n].uid);
            goto out;
        }
        n++;
        gpgme_key_unref(key);
        key = NULL;
    }
    listing = 0;
    if (gpgme_err_code(err) != GPG_ERR_EOF) {
        rc = gpg_fail(ctx, err, NULL, "listing keys");
        goto out;
    }
    *out = list;
    *count = n;
    list = NULL;
out:
    if (listing)
        gpgme_op_keylist_end(g);
    gpgme_key_unref(key);
    consign_keys_info_free(list, n);
    gpgme_release(g);
    if (started)
        agent_stop(ctx, &h);
    home_free(&h);
    sigpipe_restore(&guard);
    return rc;
}

/* The active key must be able to sign right now; say why not before gpg does. */
static int
check_signing_key(struct consign_ctx *ctx, gpgme_key_t key, const char *fpr)
{
    if (key->revoked)
        return consign_fail(ctx, CONSIGN_E_KEY, "the active key %s is revoked", fpr);
    if (key->expired)
        return consign_fail(ctx, CONSIGN_E_EXPIRED,
                            "the active key %s has expired; generate a new one with --add", fpr);
    if (key->disabled || key->invalid || !key->can_sign)
        return consign_fail(ctx, CONSIGN_E_KEY, "the active key %s cannot sign", fpr);
    return 0;
}

/* The (sub)key that signs, as the packet and gpg-agent need it. */
struct signer {
    unsigned char fpr[CONSIGN__PGP_FPR_LEN];
    char grip[KEYGRIP_LEN + 1];
    int pk_algo; /* CONSIGN__PGP_PK_RSA or CONSIGN__PGP_PK_EDDSA */
    long long created;
    long long expires; /* 0: never */
};

/* The signing key like gpg chooses it: the newest usable signing subkey, or
 * the primary key (consign's own keys have no subkeys). RSA and Ed25519 only:
 * their signatures are deterministic, so a fixed time gives fixed bytes. */
static int
pick_signer(struct consign_ctx *ctx, gpgme_key_t key, const char *fpr, struct signer *out)
{
    gpgme_subkey_t sk, best = NULL;
    char norm[CONSIGN_FPR_LEN + 1];
    size_t i;

    for (sk = key->subkeys; sk; sk = sk->next)
        if (sk->can_sign && sk->secret && !sk->revoked && !sk->expired && !sk->disabled &&
            !sk->invalid && (!best || sk->timestamp > best->timestamp))
            best = sk;
    if (!best)
        return consign_fail(ctx, CONSIGN_E_KEY, "the active key %s has no usable signing key", fpr);
    if (best->pubkey_algo == GPGME_PK_RSA || best->pubkey_algo == GPGME_PK_RSA_S)
        out->pk_algo = CONSIGN__PGP_PK_RSA;
    else if (best->pubkey_algo == GPGME_PK_EDDSA && best->curve &&
             strcasecmp(best->curve, "ed25519") == 0)
        out->pk_algo = CONSIGN__PGP_PK_EDDSA;
    else
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "the active key %s is neither RSA nor Ed25519; consign signs with "
                            "those only",
                            fpr);
    if (!best->fpr || fpr_normalize(ctx, best->fpr, norm) || !best->keygrip ||
        strlen(best->keygrip) != KEYGRIP_LEN)
        return consign_fail(ctx, CONSIGN_E_CRYPTO,
                            "GnuPG listed the key %s without fingerprint or keygrip", fpr);
    for (i = 0; i < KEYGRIP_LEN; i++)
        if (consign_hexval((unsigned char)best->keygrip[i]) < 0)
            return consign_fail(ctx, CONSIGN_E_CRYPTO, "GnuPG listed a malformed keygrip");
    for (i = 0; i < CONSIGN__PGP_FPR_LEN; i++)
        out->fpr[i] =
            (unsigned char)(consign_hexval(norm[2 * i]) << 4 | consign_hexval(norm[2 * i + 1]));
    memcpy(out->grip, best->keygrip, KEYGRIP_LEN + 1);
    out->created = best->timestamp;
    out->expires = best->expires > 0 ? best->expires : 0;
    return 0;
}

/* A time as the messages show it: "2026-11-23 12:31:14 UTC". */
static void
format_utc(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "%lld", t);
}

/* The signature time: the one asked for (now when negative), but never before
 * the key was made, which would make the signature invalid (rpm-sequoia and
 * gpg reject it); a reproducible build's old SOURCE_DATE_EPOCH gets the key's
 * creation time instead. */
static int
sig_time(struct consign_ctx *ctx, const struct signer *sg, long long want, uint32_t *out)
{
    long long t = want < 0 ? (long long)time(NULL) : want;
    char when[32], expiry[32];

    if (t < sg->created)
        t = sg->created;
    if (t > (long long)UINT32_LIMIT)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "signature time %lld is beyond OpenPGP's range (2106)", t);
    if (sg->expires && t >= sg->expires) {
        format_utc(t, when);
        format_utc(sg->expires, expiry);
        return consign_fail(ctx, CONSIGN_E_EXPIRED,
                            "the signature time %s is not before the key's expiry, %s", when,
                            expiry);
    }
    *out = (uint32_t)t;
    return 0;
}

/* A session with the key directory's gpg-agent, spoken directly on its socket
 * (the Assuan line protocol: GPGME's Assuan engine would first probe every
 * GnuPG program's version, several process starts per signing): it makes the
 * private-key operation and nothing else. */
#define ASSUAN_LINE_MAX 1000 /* bytes per line, without the newline (Assuan's limit) */

struct agent {
    struct consign_ctx *ctx;
    int fd;
    struct pass_state ps;
    int asked;                 /* the agent asked for the passphrase */
    int too_long;              /* ... and ours is longer than it takes */
    unsigned long long maxlen; /* INQUIRE_MAXLEN it announced, 0: unknown */
    struct consign_buf reply;  /* the D lines of the last command, unescaped */
    char in[4096];             /* bytes read, not yet split into lines */
    size_t inpos, inlen;
    char line[ASSUAN_LINE_MAX + 2];
};

static int
agent_write(struct consign_ctx *ctx, struct agent *a, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(a->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return consign_fail_errno(ctx, errno, "signing: writing to gpg-agent");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The next line of the agent's answer into a->line (NUL-terminated, no newline). */
static int
agent_line(struct consign_ctx *ctx, struct agent *a, size_t *len)
{
    size_t n = 0;

    for (;;) {
        if (a->inpos == a->inlen) {
            ssize_t r = recv(a->fd, a->in, sizeof(a->in), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return consign_fail_errno(ctx, errno, "signing: reading from gpg-agent");
            if (r == 0)
                return consign_fail(ctx, CONSIGN_E_EXEC,
                                    "signing: gpg-agent closed the connection");
            a->inpos = 0;
            a->inlen = (size_t)r;
        }
        char c = a->in[a->inpos++];
        if (c == '\n')
            break;
        if (n == ASSUAN_LINE_MAX + 1)
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "signing: gpg-agent sent an overlong line");
        a->line[n++] = c;
    }
    a->line[n] = '\0';
    *len = n;
    return 0;
}

/* Send a passphrase inquiry's answer: D lines (%, CR and LF escaped), END. */
static int
agent_send_secret(struct consign_ctx *ctx, struct agent *a, const struct consign_secret *s)
{
    char buf[ASSUAN_LINE_MAX + 2];
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i <= s->len && !rc; i++) {
        if (n && (i == s->len || n + 3 > ASSUAN_LINE_MAX - 1)) {
            buf[n++] = '\n';
            rc = agent_write(ctx, a, buf, n);
            n = 0;
        }
        if (i == s->len || rc)
            break;
        if (!n) {
            buf[n++] = 'D';
            buf[n++] = ' ';
        }
        unsigned char c = (unsigned char)s->data[i];
        if (c == '%' || c == '\r' || c == '\n') {
            snprintf(buf + n, 4, "%%%02X", c);
            n += 3;
        } else {
            buf[n++] = (char)c;
        }
    }
    explicit_bzero(buf, sizeof(buf));
    return rc ? rc : agent_write(ctx, a, "END\n", 4);
}

/* Decode a D line's %XX escapes and keep the bytes. */
static int
agent_keep_data(struct consign_ctx *ctx, struct agent *a, const char *p, size_t n)
{
    char out[ASSUAN_LINE_MAX];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n && 0 <= consign_hexval((unsigned char)p[i + 1]) &&
            0 <= consign_hexval((unsigned char)p[i + 2])) {
            out[k++] = (char)(consign_hexval((unsigned char)p[i + 1]) << 4 |
                              consign_hexval((unsigned char)p[i + 2]));
            i += 2;
        } else {
            out[k++] = p[i];
        }
    }
    return consign_buf_append(ctx, &a->reply, out, k);
}

/* One command; its data lines end up in a->reply. The loopback passphrase
 * inquiry is answered from a->ps, and refused a second time (the first was
 * wrong) so a bad passphrase fails at once. */
static int
agent_cmd(struct consign_ctx *ctx, struct agent *a, const char *cmd)
{
    size_t len;
    int rc;

    consign_buf_reset(&a->reply);
    if ((rc = agent_write(ctx, a, cmd, strlen(cmd))) || (rc = agent_write(ctx, a, "\n", 1)))
        return rc;
    for (;;) {
        if ((rc = agent_line(ctx, a, &len)))
            return rc;
        if (strcmp(a->line, "OK") == 0 || strncmp(a->line, "OK ", 3) == 0)
            return 0;
        if (strncmp(a->line, "ERR ", 4) == 0) {
            unsigned long long code = 0;
            char *sp = strchr(a->line + 4, ' ');
            if (sp)
                *sp = '\0';
            if (consign_parse_u64(a->line + 4, 0xffffffffULL, &code) != 0)
                code = GPG_ERR_GENERAL;
            if (a->too_long)
                return consign_fail(
                    ctx, CONSIGN_E_KEY,
                    "signing: the passphrase is longer than gpg-agent takes (%llu bytes)",
                    a->maxlen);
            return gpg_fail(ctx, (gpgme_error_t)code, &a->ps, "signing");
        }
        if (strncmp(a->line, "D ", 2) == 0) {
            if ((rc = agent_keep_data(ctx, a, a->line + 2, len - 2)))
                return rc;
        } else if (strncmp(a->line, "S INQUIRE_MAXLEN ", 17) == 0) {
            if (consign_parse_u64(a->line + 17, 1u << 20, &a->maxlen))
                a->maxlen = 0;
        } else if (strncmp(a->line, "INQUIRE PASSPHRASE", 18) == 0 &&
                   (a->line[18] == ' ' || a->line[18] == '\0')) {
            if (a->asked++)
                a->ps.bad = 1;
            else if (!a->ps.pass)
                a->ps.missing = 1;
            else if (a->maxlen && a->ps.pass->len > a->maxlen)
                a->too_long = 1;
            if (a->ps.bad || a->ps.missing || a->too_long)
                rc = agent_write(ctx, a, "CAN\n", 4);
            else
                rc = agent_send_secret(ctx, a, a->ps.pass);
            if (rc)
                return rc;
        } else if (strncmp(a->line, "INQUIRE ", 8) == 0) {
            if ((rc = agent_write(ctx, a, "END\n", 4)))
                return rc;
        }
        /* Other status lines and comments carry nothing we need. */
    }
}

/* Connect to the agent's socket and read its greeting; -1 (nothing recorded)
 * when no agent answers there. */
static int
agent_connect(struct agent *a, const char *sock)
{
    struct sockaddr_un sa;
    struct consign_ctx quiet;
    size_t len;

    if (strlen(sock) >= sizeof(sa.sun_path))
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->fd < 0)
        return -1;
    consign_ctx_init(&quiet, NULL, NULL);
    a->inpos = a->inlen = 0;
    if (connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        agent_line(&quiet, a, &len) == 0 && strncmp(a->line, "OK", 2) == 0)
        return 0;
    close(a->fd);
    a->fd = -1;
    return -1;
}

/* Start the key directory's gpg-agent (the way gpg does: it forks into the
 * background once its sockets exist). */
static int
agent_launch(struct consign_ctx *ctx, const struct keyhome *h, const char *agent_bin)
{
    char *argv[] = {"gpg-agent", "--homedir", h->home, "--use-standard-socket", "--daemon", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, err;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (agent_bin && *agent_bin == '/')
        err = posix_spawn(&pid, agent_bin, &fa, NULL, argv, environ);
    else
        err = posix_spawnp(&pid, "gpg-agent", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return consign_fail(ctx, CONSIGN_E_EXEC, "signing: gpg-agent could not be started (%s)",
                            strerror(err));
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return consign_fail(ctx, CONSIGN_E_EXEC,
                            "signing: gpg-agent could not be started (status %d)", status);
    return 0;
}

/* Connect to the key directory's agent, starting it when none answers, and
 * select the key; passphrases come through loopback, never a pinentry.
 * *launched: this call started it. */
static int
agent_open(struct consign_ctx *ctx, const struct keyhome *h, const char *sock,
           const char *agent_bin, const char *grip, struct agent *a, int *launched)
{
    char cmd[sizeof("SIGKEY ") + KEYGRIP_LEN];
    int rc;

    *launched = 0;
    if (agent_connect(a, sock) != 0) {
        if ((rc = agent_launch(ctx, h, agent_bin)))
            return rc;
        *launched = 1;
        if (agent_connect(a, sock) != 0)
            return consign_fail(ctx, CONSIGN_E_EXEC,
                                "signing: gpg-agent could not be started (no answer on %s)", sock);
    }
    if ((rc = agent_cmd(ctx, a, "OPTION pinentry-mode=loopback")))
        return rc;
    snprintf(cmd, sizeof(cmd), "SIGKEY %s", grip);
    return agent_cmd(ctx, a, cmd);
}

/* Wait until no agent answers on sock. An agent told KILLAGENT still accepts
 * and greets for a moment while it shuts down; the next command on the same
 * key directory (the lock is released as soon as we return) would connect to
 * it and lose its session midway ("gpg-agent closed the connection"). */
static void
agent_wait_gone(struct consign_ctx *ctx, struct agent *a, const char *sock)
{
    struct timespec nap = {0, 10 * 1000 * 1000};

    for (int i = 0; i < 500; i++) { /* 5 s */
        if (agent_connect(a, sock) != 0)
            return;
        close(a->fd);
        a->fd = -1;
        nanosleep(&nap, NULL);
    }
    consign_log(ctx, CONSIGN_LOG_DEBUG, "gpg-agent on %s still answers 5 s after KILLAGENT", sock);
}

/* End the session and stop the agent (what "gpgconf --kill gpg-agent" does,
 * without starting two more programs), and wait until it is gone. */
static void
agent_close(struct consign_ctx *ctx, struct agent *a, const char *sock)
{
    if (a->fd < 0)
        return;
    if (agent_cmd(ctx, a, "KILLAGENT") != 0)
        consign_log(ctx, CONSIGN_LOG_DEBUG, "stopping gpg-agent: %s", consign_err_msg(ctx));
    close(a->fd);
    a->fd = -1;
    agent_wait_gone(ctx, a, sock);
}

/* The agent's socket as gpgconf names it for this home. */
static int
agent_socket(struct consign_ctx *ctx, const struct keyhome *h, char **out)
{
    gpgme_ctx_t conf = NULL;
    gpgme_error_t err;
    char *sock = NULL;
    int rc = 0;

    *out = NULL;
    if ((err = gpgme_new(&conf)) || (err = gpgme_set_protocol(conf, GPGME_PROTOCOL_GPGCONF)) ||
        (err = gpgme_ctx_set_engine_info(conf, GPGME_PROTOCOL_GPGCONF, NULL, h->home)) ||
        (err = gpgme_op_conf_dir(conf, "agent-socket", &sock))) {
        rc = gpg_fail(ctx, err, NULL, "signing: finding gpg-agent's socket");
        goto out;
    }
    if (!sock || sock[0] != '/') {
        rc = consign_fail(ctx, CONSIGN_E_EXEC, "signing: gpgconf named no gpg-agent socket");
        goto out;
    }
    if (!(*out = consign_strdup(ctx, sock)))
        rc = CONSIGN_E_NOMEM;
out:
    gpgme_free(sock);
    gpgme_release(conf);
    return rc;
}

/* Stop the key directory's gpg-agent so no daemon outlives the command and
 * no unlocked key stays cached, and wait until it is gone (see
 * agent_wait_gone). Failures only matter for the debug log. */
static void
agent_stop(struct consign_ctx *ctx, const struct keyhome *h)
{
    struct consign_ctx quiet;
    struct agent a;
    char why[128], *sock = NULL;

    if (run_gpgconf(h, "--kill", why, sizeof(why)) != 0)
        consign_log(ctx, CONSIGN_LOG_DEBUG, "%s", why);
    consign_ctx_init(&quiet, NULL, NULL);
    if (agent_socket(&quiet, h, &sock) != 0)
        return;
    memset(&a, 0, sizeof(a));
    a.fd = -1;
    a.ctx = &quiet;
    agent_wait_gone(ctx, &a, sock);
    free(sock);
}

/* --- the signer cache -------------------------------------------------------------
 *
 * What a signing needs to know about the active key (its signing subkey's
 * fingerprint, keygrip, algorithm, creation and expiry) and where its agent
 * listens, kept in DIR/signer.cache so that a signing needs neither GPGME's
 * engine probing nor a key listing (together about 0.1 s, five programs
 * started). The entry is only used while DIR/active names the same key and
 * the GnuPG home's pubring.kbx and trustdb.gpg are the same files, unchanged
 * (device, inode, size, modification time): a revocation, a new expiry or a
 * disabled key changes them, and the next signing lists the key again. */
#define SIGNER_CACHE_MAX 4096

struct signer_cache {
    struct signer sg;
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char agent[CONSIGN_PATH_MAX];
    long long key_expires; /* the primary key's, 0: never */
};

/* The identity of the files the key listing depends on. */
static int
signer_stamp(struct consign_ctx *ctx, const struct keyhome *h, char *out, size_t outlen)
{
    static const char *const files[] = {"pubring.kbx", "trustdb.gpg"};
    size_t n = 0;

    for (size_t i = 0; i < 2; i++) {
        char *path = consign_asprintf(ctx, "%s/%s", h->home, files[i]);
        struct stat sb;
        int ok;
        if (!path)
            return CONSIGN_E_NOMEM;
        ok = stat(path, &sb) == 0;
        free(path);
        if (!ok)
            return -1;
        n += (size_t)snprintf(out + n, outlen - n, "%s%llu:%llu:%lld:%lld.%09ld", i ? " " : "",
                              (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
                              (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                              sb.st_mtim.tv_nsec);
        if (n >= outlen)
            return -1;
    }
    return 0;
}

/* One "key value" line of the cache; the value runs to the end of the line. */
static const char *
cache_value(const char *text, const char *key)
{
    size_t kl = strlen(key);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return p + kl + 1;
    return NULL;
}

static int
cache_copy(const char *v, char *out, size_t outlen)
{
    size_t n = v ? strcspn(v, "\n") : 0;

    if (!v || !n || n >= outlen)
        return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static int
cache_num(const char *v, long long *out)
{
    char num[24];
    unsigned long long u;

    if (cache_copy(v, num, sizeof(num)) || consign_parse_u64(num, UINT32_LIMIT, &u))
        return -1;
    *out = (long long)u;
    return 0;
}

/* 1 with c filled when the cache describes the active key fpr as it is now. */
static int
signer_cache_load(struct consign_ctx *ctx, const struct keyhome *h, const char *fpr,
                  struct signer_cache *c)
{
    struct consign_ctx quiet;
    char *path = NULL, *text = NULL, stamp[256], want[256], hexfpr[2 * CONSIGN__PGP_FPR_LEN + 1];
    long long algo = 0;
    size_t len = 0;
    int hit = 0;

    consign_ctx_init(&quiet, NULL, NULL);
    memset(c, 0, sizeof(*c));
    if (!(path = consign_asprintf(ctx, "%s/signer.cache", h->dir)) ||
        consign_file_read(&quiet, path, SIGNER_CACHE_MAX, &text, &len) != 0 ||
        strlen(text) != len || signer_stamp(ctx, h, stamp, sizeof(stamp)) != 0)
        goto out;
    if (strncmp(text, "consign-signer-cache 1\n", 23) != 0 ||
        cache_copy(cache_value(text, "active"), want, sizeof(want)) || strcmp(want, fpr) != 0 ||
        cache_copy(cache_value(text, "files"), want, sizeof(want)) || strcmp(want, stamp) != 0 ||
        cache_copy(cache_value(text, "home"), want, sizeof(want)) || strcmp(want, h->home) != 0 ||
        cache_copy(cache_value(text, "socket"), c->sock, sizeof(c->sock)) || c->sock[0] != '/' ||
        cache_copy(cache_value(text, "agent"), c->agent, sizeof(c->agent)) ||
        cache_copy(cache_value(text, "grip"), c->sg.grip, sizeof(c->sg.grip)) ||
        strlen(c->sg.grip) != KEYGRIP_LEN ||
        cache_copy(cache_value(text, "fpr"), hexfpr, sizeof(hexfpr)) ||
        strlen(hexfpr) != 2 * CONSIGN__PGP_FPR_LEN || cache_num(cache_value(text, "algo"), &algo) ||
        (algo != CONSIGN__PGP_PK_RSA && algo != CONSIGN__PGP_PK_EDDSA) ||
        cache_num(cache_value(text, "created"), &c->sg.created) ||
        cache_num(cache_value(text, "expires"), &c->sg.expires) ||
        cache_num(cache_value(text, "key-expires"), &c->key_expires))
        goto out;
    for (size_t i = 0; i < KEYGRIP_LEN; i++)
        if (consign_hexval((unsigned char)c->sg.grip[i]) < 0)
            goto out;
    for (size_t i = 0; i < 2 * CONSIGN__PGP_FPR_LEN; i++)
        if (consign_hexval((unsigned char)hexfpr[i]) < 0)
            goto out;
    for (size_t i = 0; i < CONSIGN__PGP_FPR_LEN; i++)
        c->sg.fpr[i] =
            (unsigned char)(consign_hexval(hexfpr[2 * i]) << 4 | consign_hexval(hexfpr[2 * i + 1]));
    c->sg.pk_algo = (int)algo;
    hit = 1;
out:
    if (!hit)
        consign_log(ctx, CONSIGN_LOG_DEBUG, "%s/signer.cache: not usable, listing the key", h->dir);
    free(path);
    free(text);
    return hit;
}

/* Record what a key listing found; a cache that cannot be written only costs time. */
static void
signer_cache_store(struct consign_ctx *ctx, const struct keyhome *h, const char *fpr,
                   const struct signer_cache *c)
{
    struct consign_ctx quiet;
    char stamp[256], hexfpr[2 * CONSIGN__PGP_FPR_LEN + 1], *path = NULL, *text = NULL;

    consign_ctx_init(&quiet, NULL, NULL);
    if (signer_stamp(ctx, h, stamp, sizeof(stamp)) != 0)
        return;
    consign_hex(c->sg.fpr, CONSIGN__PGP_FPR_LEN, hexfpr);
    if ((path = consign_asprintf(ctx, "%s/signer.cache", h->dir)) &&
        (text = consign_asprintf(ctx,
                                 "consign-signer-cache 1\nactive %s\nfiles %s\nhome %s\n"
                                 "socket %s\nagent %s\ngrip %s\nfpr %s\nalgo %d\ncreated %lld\n"
                                 "expires %lld\nkey-expires %lld\n",
                                 fpr, stamp, h->home, c->sock, c->agent[0] ? c->agent : "-",
                                 c->sg.grip, hexfpr, c->sg.pk_algo, c->sg.created, c->sg.expires,
                                 c->key_expires)) &&
        !strpbrk(h->home, "\n") && !strpbrk(c->sock, "\n") && !strpbrk(c->agent, "\n"))
        (void)consign_file_write_atomic(&quiet, path, text, strlen(text), 0600);
    free(path);
    free(text);
}

/* List the active key through GPGME (starting gpg, which may start the
 * agent) and fill c; the cache is written once a signing has succeeded. */
static int
signer_lookup(struct consign_ctx *ctx, const struct keyhome *h, const char *fpr,
              struct signer_cache *c)
{
    gpgme_ctx_t g = NULL;
    gpgme_key_t key = NULL;
    const char *bin;
    char *sock = NULL;
    int rc;

    memset(c, 0, sizeof(*c));
    if ((rc = gpgme_setup(ctx)) || (rc = gpg_new(ctx, h, NULL, &g)))
        goto out;
    if ((rc = find_key(ctx, g, h, fpr, 1, &key)) || (rc = check_signing_key(ctx, key, fpr)) ||
        (rc = pick_signer(ctx, key, fpr, &c->sg)) || (rc = agent_socket(ctx, h, &sock)))
        goto out;
    c->key_expires = key->subkeys && key->subkeys->expires > 0 ? key->subkeys->expires : 0;
    if (strlen(sock) >= sizeof(c->sock)) {
        rc = consign_fail(ctx, CONSIGN_E_EXEC, "signing: gpg-agent's socket path is too long");
        goto out;
    }
    memcpy(c->sock, sock, strlen(sock) + 1);
    bin = gpgme_get_dirinfo("agent-name");
    if (bin && *bin == '/' && strlen(bin) < sizeof(c->agent))
        memcpy(c->agent, bin, strlen(bin) + 1);
out:
    free(sock);
    gpgme_key_unref(key);
    gpgme_release(g);
    return rc;
}

/* Hands the digest to the agent and turns its answer into signature values,
 * which point into a->reply. */
static int
agent_sign(struct consign_ctx *ctx, struct agent *a, int pk_algo,
           const unsigned char digest[CONSIGN_HASH_MAX], struct consign__pgp_mpi mpi[2],
           size_t *nmpi)
{
    char hex[2 * 64 + 1], cmd[sizeof("SETHASH 10 ") + 2 * 64];
    int rc;

    consign_hex(digest, 64, hex);
    snprintf(cmd, sizeof(cmd), "SETHASH %d %s", CONSIGN__PGP_HASH_SHA512, hex);
    if ((rc = agent_cmd(ctx, a, cmd)) || (rc = agent_cmd(ctx, a, "PKSIGN")))
        return rc;
    return consign__pgp_sexp_sig(ctx, a->reply.data, a->reply.len, pk_algo, mpi, nmpi);
}

/* The clearsign sink: canonical text into the digest. */
static int
hash_sink(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_hash_update(ctx, user, p, n);
}

/* Feed the data to the digest, through the cleartext framing when clear is set. */
static int
feed(struct consign_ctx *ctx, struct consign_hash *md, struct consign__pgp_clear *clear,
     const void *p, size_t n)
{
    return clear ? consign__pgp_clear_feed(ctx, clear, p, n) : consign_hash_update(ctx, md, p, n);
}

/* Everything the signature covers: the data (from memory or the reader),
 * then the hashed part and the trailer. */
static int
digest_data(struct consign_ctx *ctx, const struct consign__pgp_sig *sig, const void *data,
            size_t len, consign_sign_read_fn read, void *user, struct consign_buf *out,
            unsigned char digest[CONSIGN_HASH_MAX])
{
    unsigned char hashed[CONSIGN__PGP_HASHED_LEN], trailer[CONSIGN__PGP_TRAILER_LEN];
    struct consign__pgp_clear clear, *cl = NULL;
    struct consign_hash *md = NULL;
    unsigned char *buf = NULL;
    size_t got;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA512, &md)))
        goto out;
    if (sig->type == CONSIGN__PGP_SIG_TEXT) {
        cl = &clear;
        consign__pgp_clear_init(cl, out, hash_sink, md);
        if ((rc = consign__pgp_clear_begin(ctx, cl)))
            goto out;
    }
    if (!read) {
        rc = feed(ctx, md, cl, len ? data : "", len);
    } else if (!(buf = malloc(READ_CHUNK))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    } else {
        do {
            got = 0;
            if ((rc = read(ctx, user, buf, READ_CHUNK, &got)))
                goto out;
            if (got > READ_CHUNK) {
                rc =
                    consign_fail(ctx, CONSIGN_E_INTERNAL, "signing: the reader overran its buffer");
                goto out;
            }
        } while (!(rc = feed(ctx, md, cl, buf, got)) && got);
    }
    if (rc || (cl && (rc = consign__pgp_clear_end(ctx, cl))))
        goto out;
    consign__pgp_sig_hashed(sig, hashed);
    consign__pgp_sig_trailer(trailer);
    if ((rc = consign_hash_update(ctx, md, hashed, sizeof(hashed))) ||
        (rc = consign_hash_update(ctx, md, trailer, sizeof(trailer))) ||
        (rc = consign_hash_final(ctx, md, digest)))
        goto out;
out:
    free(buf);
    consign_hash_free(md);
    return rc;
}

/* Every signature of a batch in one gpg-agent session (starting the agent
 * costs more than a signature): one key lookup (or the signer cache), one
 * connection, one PKSIGN per job. */
int
consign_keys_sign_batch(struct consign_ctx *ctx, const char *keydir,
                        const struct consign_secret *passphrase,
                        const struct consign_sign_job *jobs, size_t njobs)
{
    static const struct consign_sign_opts defaults = {CONSIGN_SIG_DETACHED, 0,
                                                      CONSIGN_SIG_TIME_NOW};
    struct agent ag;
    struct keyhome h = {NULL, NULL, NULL, -1};
    struct sigpipe_guard guard;
    struct consign__pgp_sig sig;
    struct consign__pgp_mpi mpi[2];
    struct consign_buf pkt;
    struct signer_cache sc;
    unsigned char digest[CONSIGN_HASH_MAX];
    char fpr[CONSIGN_FPR_LEN + 1];
    size_t nmpi = 0, done = 0, *before = NULL;
    int rc, started = 0, cached = 0, launched = 0;

    memset(&ag, 0, sizeof(ag));
    ag.fd = -1;
    ag.ctx = ctx;
    ag.ps.pass = passphrase;
    consign_buf_init(&ag.reply, AGENT_REPLY_MAX);
    consign_buf_init(&pkt, AGENT_REPLY_MAX);
    sigpipe_block(&guard);
    if (!(before = consign_calloc(ctx, njobs + 1, sizeof(*before)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < njobs; i++) {
        const struct consign_sign_opts *o = jobs[i].opts ? jobs[i].opts : &defaults;
        before[i] = jobs[i].out->len;
        if (o->mode != CONSIGN_SIG_DETACHED && o->mode != CONSIGN_SIG_CLEARSIGN) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID, "unknown signature mode %d", (int)o->mode);
            goto out;
        }
    }
    if ((rc = check_passphrase(ctx, passphrase)))
        goto out;
    if ((rc = home_open(ctx, keydir, 0, &h)) || (rc = read_active(ctx, &h, fpr)) ||
        (rc = check_socket_room(ctx, h.dir)))
        goto out;
    started = 1;
    cached = signer_cache_load(ctx, &h, fpr, &sc);
    if (!cached && (rc = signer_lookup(ctx, &h, fpr, &sc)))
        goto out;
    if (cached && sc.key_expires && (long long)time(NULL) >= sc.key_expires) {
        rc = consign_fail(ctx, CONSIGN_E_EXPIRED,
                          "the active key %s has expired; generate a new one with --add", fpr);
        goto out;
    }
    /* The agent first: a missing key fails before a large input is read. */
    rc = agent_open(ctx, &h, sc.sock, sc.agent[0] == '/' ? sc.agent : NULL, sc.sg.grip, &ag,
                    &launched);
    if (rc && cached) {
        /* Perhaps the cache is out of date (the agent's socket moved, the
         * secret key is gone): list the key again, which also explains. */
        consign_log(ctx, CONSIGN_LOG_DEBUG, "signing with the cached key facts: %s",
                    consign_err_msg(ctx));
        if (ag.fd >= 0)
            close(ag.fd);
        ag.fd = -1;
        consign_err_clear(ctx);
        cached = 0;
        if ((rc = signer_lookup(ctx, &h, fpr, &sc)) == 0)
            rc = agent_open(ctx, &h, sc.sock, sc.agent[0] == '/' ? sc.agent : NULL, sc.sg.grip, &ag,
                            &launched);
    }
    if (rc)
        goto out;
    for (done = 0; done < njobs; done++) {
        const struct consign_sign_job *j = &jobs[done];
        const struct consign_sign_opts *o = j->opts ? j->opts : &defaults;
        sig.type =
            o->mode == CONSIGN_SIG_CLEARSIGN ? CONSIGN__PGP_SIG_TEXT : CONSIGN__PGP_SIG_BINARY;
        sig.pk_algo = (unsigned char)sc.sg.pk_algo;
        memcpy(sig.fpr, sc.sg.fpr, sizeof(sig.fpr));
        consign_buf_reset(&pkt);
        if ((rc = sig_time(ctx, &sc.sg, o->created, &sig.created)) ||
            (rc = digest_data(ctx, &sig, j->data, j->len, j->read, j->user, j->out, digest)) ||
            (rc = agent_sign(ctx, &ag, sc.sg.pk_algo, digest, mpi, &nmpi)) ||
            (rc = consign__pgp_sig_packet(ctx, &sig, digest, mpi, nmpi, &pkt)))
            goto out;
        if (o->mode == CONSIGN_SIG_CLEARSIGN || o->armor)
            rc = consign__pgp_armor(ctx, pkt.data, pkt.len, j->out);
        else
            rc = consign_buf_append(ctx, j->out, pkt.data, pkt.len);
        if (rc)
            goto out;
    }
    if (!cached)
        signer_cache_store(ctx, &h, fpr, &sc);
out:
    /* On failure every output is left as it was. */
    for (size_t i = 0; rc && before && i < njobs; i++)
        if (jobs[i].out->data) {
            jobs[i].out->len = before[i];
            jobs[i].out->data[before[i]] = '\0';
        }
    free(before);
    /* No agent outlives the command: stopped through the session when there
     * is one, else (the listing may have started it) through gpgconf. */
    if (ag.fd >= 0) {
        struct consign_ctx quiet;
        consign_ctx_init(&quiet, NULL, NULL);
        agent_close(&quiet, &ag, sc.sock);
    } else if (started && (!cached || launched)) {
        agent_stop(ctx, &h);
    }
    consign_buf_free(&ag.reply);
    consign_buf_free(&pkt);
    home_free(&h);
    sigpipe_restore(&guard);
    return rc;
}

int
consign_keys_sign_ext(struct consign_ctx *ctx, const char *keydir,
                      const struct consign_secret *passphrase, const struct consign_sign_opts *opts,
                      const void *data, size_t len, consign_sign_read_fn read, void *user,
                      struct consign_buf *out)
{
    struct consign_sign_job job = {opts, data, len, read, user, out};

    return consign_keys_sign_batch(ctx, keydir, passphrase, &job, 1);
}

int
consign_keys_sign(struct consign_ctx *ctx, const char *keydir,
                  const struct consign_secret *passphrase, enum consign_sig_mode mode, int armor,
                  const void *data, size_t len, struct consign_buf *out)
{
    struct consign_sign_opts o = {mode, armor, CONSIGN_SIG_TIME_NOW};

    return consign_keys_sign_ext(ctx, keydir, passphrase, &o, data, len, NULL, NULL, out);
}

int
consign_keys_sign_stream(struct consign_ctx *ctx, const char *keydir,
                         const struct consign_secret *passphrase, int armor,
                         consign_sign_read_fn read, void *user, struct consign_buf *out)
{
    struct consign_sign_opts o = {CONSIGN_SIG_DETACHED, armor, CONSIGN_SIG_TIME_NOW};

    return consign_keys_sign_ext(ctx, keydir, passphrase, &o, NULL, 0, read, user, out);
}

int
consign_keys_sig_time_env(struct consign_ctx *ctx, long long *created)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    unsigned long long v;

    *created = CONSIGN_SIG_TIME_NOW;
    if (!sde || !*sde)
        return 0;
    if (consign_parse_u64(sde, UINT32_LIMIT, &v) != 0)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "SOURCE_DATE_EPOCH: expected seconds since 1970 (before 2106), got "
                            "'%.40s'",
                            sde);
    *created = (long long)v;
    return 0;
}

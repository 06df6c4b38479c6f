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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpgme.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/path.h"

extern char **environ;

/* The longest socket gpg-agent 2.2 creates in its socket directory; it exits
 * when this one does not fit (checked against gpg 2.2.40). */
#define AGENT_LONGEST_SOCKET "/S.gpg-agent.browser"

#define GPGME_MIN_VERSION "1.18.0"
#define ACTIVE_MAX        256
#define UINT32_LIMIT      0xffffffffULL

static const char gpg_conf[] = "# Written by consign: this GnuPG home belongs to a key directory.\n"
                               "personal-digest-preferences SHA512 SHA384 SHA256\n"
                               "cert-digest-algo SHA512\n"
                               "no-greeting\n";

static const char agent_conf[] = "# Written by consign: passphrases come from consign, never a "
                                 "pinentry.\n"
                                 "allow-loopback-pinentry\n";

/* The paths of one key directory. */
struct keyhome {
    char *dir;    /* absolute, symlinks resolved */
    char *home;   /* dir/gnupg */
    char *active; /* dir/active */
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
    memset(h, 0, sizeof(*h));
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

/* Resolve keydir and check it is a key directory; with create, make it (0700)
 * and its GnuPG home with consign's configuration. */
static int
home_open(struct consign_ctx *ctx, const char *keydir, int create, struct keyhome *h)
{
    char *trimmed = NULL;
    size_t n;
    int rc = 0;

    memset(h, 0, sizeof(*h));
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

/* Stop the key directory's gpg-agent so no daemon outlives the command and
 * no unlocked key stays cached. Failures only matter for the debug log. */
static void
agent_stop(struct consign_ctx *ctx, const struct keyhome *h)
{
    const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
    char *argv[] = {"gpgconf", "--homedir", h->home, "--kill", "gpg-agent", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, err;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (gpgconf && *gpgconf == '/')
        err = posix_spawn(&pid, gpgconf, &fa, NULL, argv, environ);
    else
        err = posix_spawnp(&pid, "gpgconf", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        consign_log(ctx, CONSIGN_LOG_DEBUG, "gpgconf --kill gpg-agent: %s", strerror(err));
        return;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        consign_log(ctx, CONSIGN_LOG_DEBUG, "gpgconf --kill gpg-agent failed (status %d)", status);
}

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
        return consign_fail(ctx, CONSIGN_E_EXEC, "%s: gpg-agent could not be started", what);
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
is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
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
        if (!is_hex((unsigned char)*p) || n == CONSIGN_FPR_LEN)
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
        if (!is_hex((unsigned char)*fpr) || n == CONSIGN_FPR_LEN) {
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
    struct keyhome h = {NULL, NULL, NULL};
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
    struct keyhome h = {NULL, NULL, NULL};
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
    struct keyhome h = {NULL, NULL, NULL};
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

/* gpg picks the digest from gpg.conf; make sure the signature really is what
 * we promise (SHA-512, by the active key). */
static int
check_sign_result(struct consign_ctx *ctx, gpgme_ctx_t g, const char *fpr)
{
    gpgme_sign_result_t r = gpgme_op_sign_result(g);
    char got[CONSIGN_FPR_LEN + 1];
    const char *name;

    if (!r || r->invalid_signers || !r->signatures || r->signatures->next)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "signing: GnuPG did not make one signature");
    if (r->signatures->hash_algo != GPGME_MD_SHA512) {
        name = gpgme_hash_algo_name(r->signatures->hash_algo);
        return consign_fail(ctx, CONSIGN_E_CRYPTO,
                            "signing: GnuPG used %s instead of SHA512 (check gnupg/gpg.conf)",
                            name ? name : "an unknown digest");
    }
    if (!r->signatures->fpr || fpr_normalize(ctx, r->signatures->fpr, got) || strcmp(got, fpr) != 0)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "signing: GnuPG signed with another key");
    return 0;
}

/* Where the data to sign comes from: memory, or a caller's reader. */
struct sign_src {
    struct consign_ctx *ctx;
    consign_sign_read_fn read;
    void *user;
    int rc; /* the reader's failure, already recorded in ctx */
};

/* GPGME's read callback around a consign_sign_read_fn. */
static ssize_t
src_read(void *handle, void *buf, size_t size)
{
    struct sign_src *s = handle;
    size_t got = 0;

    if (!s->rc && (s->rc = s->read(s->ctx, s->user, buf, size, &got)) == 0 && got <= size)
        return (ssize_t)got;
    if (!s->rc)
        s->rc = consign_fail(s->ctx, CONSIGN_E_INTERNAL, "signing: the reader overran its buffer");
    errno = EIO;
    return -1;
}

/* Sign what in (memory) or src (a reader) holds with the active key. */
static int
sign_any(struct consign_ctx *ctx, const char *keydir, const struct consign_secret *passphrase,
         enum consign_sig_mode mode, int armor, const void *data, size_t len, struct sign_src *src,
         struct consign_buf *out)
{
    struct gpgme_data_cbs cbs = {src_read, NULL, NULL, NULL};
    struct pass_state ps = {.pass = passphrase, .missing = 0, .bad = 0};
    struct keyhome h = {NULL, NULL, NULL};
    struct sigpipe_guard guard;
    char fpr[CONSIGN_FPR_LEN + 1];
    gpgme_ctx_t g = NULL;
    gpgme_key_t key = NULL;
    gpgme_data_t in = NULL, sig = NULL;
    gpgme_error_t err;
    int rc, started = 0;

    sigpipe_block(&guard);
    if (mode != CONSIGN_SIG_DETACHED && mode != CONSIGN_SIG_CLEARSIGN) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "unknown signature mode %d", (int)mode);
        goto out;
    }
    if ((rc = check_passphrase(ctx, passphrase)))
        goto out;
    if ((rc = gpgme_setup(ctx)) || (rc = home_open(ctx, keydir, 0, &h)) ||
        (rc = read_active(ctx, &h, fpr)))
        goto out;
    if ((rc = check_socket_room(ctx, h.dir)) || (rc = gpg_new(ctx, &h, &ps, &g)))
        goto out;
    started = 1;
    if ((rc = find_key(ctx, g, &h, fpr, 1, &key)) || (rc = check_signing_key(ctx, key, fpr)))
        goto out;
    if ((err = gpgme_signers_add(g, key))) {
        rc = gpg_fail(ctx, err, NULL, "signing");
        goto out;
    }
    gpgme_set_armor(g, mode == CONSIGN_SIG_CLEARSIGN || armor);
    if (src)
        err = gpgme_data_new_from_cbs(&in, &cbs, src);
    else
        err = gpgme_data_new_from_mem(&in, len ? data : "", len, 0);
    if (err || (err = gpgme_data_new(&sig))) {
        rc = gpg_fail(ctx, err, NULL, "signing");
        goto out;
    }
    err = gpgme_op_sign(
        g, in, sig, mode == CONSIGN_SIG_CLEARSIGN ? GPGME_SIG_MODE_CLEAR : GPGME_SIG_MODE_DETACH);
    if (src && src->rc) {
        rc = src->rc;
        goto out;
    }
    if (err) {
        rc = gpg_fail(ctx, err, &ps, "signing");
        goto out;
    }
    if ((rc = check_sign_result(ctx, g, fpr)))
        goto out;
    rc = data_take(ctx, sig, out);
    sig = NULL;
out:
    gpgme_data_release(in);
    gpgme_data_release(sig);
    gpgme_key_unref(key);
    gpgme_release(g);
    if (started)
        agent_stop(ctx, &h);
    home_free(&h);
    sigpipe_restore(&guard);
    return rc;
}

int
consign_keys_sign(struct consign_ctx *ctx, const char *keydir,
                  const struct consign_secret *passphrase, enum consign_sig_mode mode, int armor,
                  const void *data, size_t len, struct consign_buf *out)
{
    return sign_any(ctx, keydir, passphrase, mode, armor, data, len, NULL, out);
}

int
consign_keys_sign_stream(struct consign_ctx *ctx, const char *keydir,
                         const struct consign_secret *passphrase, int armor,
                         consign_sign_read_fn read, void *user, struct consign_buf *out)
{
    struct sign_src src = {ctx, read, user, 0};

    return sign_any(ctx, keydir, passphrase, CONSIGN_SIG_DETACHED, armor, NULL, 0, &src, out);
}

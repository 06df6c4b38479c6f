/* consign keys generate|export|fingerprint|list|sign: release signing keys
 * (tuf-rotate lives in cmd_update.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/keys.h"
#include "consign/secret.h"

#include "cli.h"

#define KEY_EXPORT_MAX (16u << 20)
#define SIGNATURE_MAX  (64u << 20)

/* Long-only options get values outside the character range. */
enum {
    OPT_KEYDIR = 256,
    OPT_NAME,
    OPT_EMAIL,
    OPT_ALGO,
    OPT_EXPIRE,
    OPT_PASS_FILE,
    OPT_PASS_ENV,
    OPT_ADD,
    OPT_FORMAT,
    OPT_FPR,
    OPT_OUT,
    OPT_RAW,
    OPT_CLEARSIGN,
    OPT_DETACH,
    OPT_ARMOR,
};

static const char keys_help[] =
    "Usage: consign keys COMMAND [OPTIONS]\n"
    "\n"
    "Create and use the release signing keys kept in a key directory. Each key\n"
    "directory has its own GnuPG home; ~/.gnupg and $GNUPGHOME are never used.\n"
    "\n"
    "Commands:\n"
    "  generate      create a signing key and make it the active key\n"
    "  export        write a public key for apt (binary) or rpm and .asc (armored)\n"
    "  fingerprint   print the active key's fingerprint\n"
    "  list          list every key of the key directory\n"
    "  sign          sign a file with the active key\n"
    "  tuf-rotate    replace a TUF role's keys (see 'consign update')\n"
    "\n"
    "Run 'consign keys COMMAND --help' for the options of a command.\n";

static const char generate_help[] =
    "Usage: consign keys generate --keydir DIR --name NAME --email ADDR\n"
    "                             [--algo rsa4096|ed25519] [--expire WHEN]\n"
    "                             [--passphrase-file FILE | --passphrase-env VAR] [--add]\n"
    "\n"
    "Create a signing key in DIR (created with mode 0700 if missing), make it the\n"
    "active key and print its fingerprint.\n"
    "\n"
    "      --keydir DIR           the key directory\n"
    "      --name NAME            the key owner, e.g. \"Example Corp Release Signing\"\n"
    "      --email ADDR           the owner's address\n"
    "      --algo ALGO            rsa4096 (default; old rpm needs it) or ed25519\n"
    "      --expire WHEN          validity: Ny, Nm, Nw, Nd, Ns (years of 365 days,\n"
    "                             months of 30), or never; default 2y\n"
    "      --passphrase-file FILE protect the key with the first line of FILE\n"
    "      --passphrase-env VAR   protect the key with the value of $VAR\n"
    "      --add                  add a key to a directory that has one (rotation);\n"
    "                             the new key becomes the active one\n"
    "  -h, --help                 this help\n"
    "\n"
    "Without a passphrase the key is stored unprotected: keep DIR private.\n";

static const char export_help[] =
    "Usage: consign keys export --keydir DIR --format apt|asc [--fpr FPR] [--out FILE]\n"
    "\n"
    "Write a public key: the active key, or the one named by --fpr.\n"
    "\n"
    "      --keydir DIR   the key directory\n"
    "      --format FMT   apt: binary OpenPGP key for apt's Signed-By (.gpg);\n"
    "                     asc: ASCII-armored key for rpm --import, RPM-GPG-KEY, .asc\n"
    "      --fpr FPR      export this key instead of the active one\n"
    "      --out FILE     write FILE (mode 0644) instead of standard output\n"
    "  -h, --help         this help\n";

static const char fingerprint_help[] =
    "Usage: consign keys fingerprint --keydir DIR [--raw]\n"
    "\n"
    "Print the active key's fingerprint in groups of four, as install guides show it.\n"
    "\n"
    "      --keydir DIR   the key directory\n"
    "      --raw          print the 40 hexadecimal digits without spaces\n"
    "  -h, --help         this help\n";

static const char list_help[] =
    "Usage: consign keys list --keydir DIR\n"
    "\n"
    "List every key of the key directory: fingerprint, user ID, algorithm,\n"
    "creation and expiry dates (UTC) and flags (active, secret, expired, revoked).\n"
    "\n"
    "      --keydir DIR   the key directory\n"
    "  -h, --help         this help\n";

static const char sign_help[] =
    "Usage: consign keys sign --keydir DIR [--detach-sign | --clearsign] [--armor]\n"
    "                         [--passphrase-file FILE | --passphrase-env VAR] [--out FILE] FILE\n"
    "\n"
    "Sign FILE with the active key (SHA-512), e.g. SHA256SUMS into SHA256SUMS.asc.\n"
    "\n"
    "      --keydir DIR           the key directory\n"
    "      --detach-sign          a detached signature (default)\n"
    "      --clearsign            the text of FILE wrapped in a clear signature\n"
    "      --armor                ASCII-armor a detached signature\n"
    "      --passphrase-file FILE the key's passphrase is the first line of FILE\n"
    "      --passphrase-env VAR   the key's passphrase is the value of $VAR\n"
    "      --out FILE             write FILE (mode 0644) instead of standard output\n"
    "  -h, --help                 this help\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, is the signature's time (or the key's creation\n"
    "time, if later): the same key, time and FILE give the same signature.\n";

/* The options every subcommand may take; each one accepts a subset. */
struct keys_args {
    const char *keydir, *name, *email, *algo, *expire;
    const char *pass_file, *pass_env;
    const char *format, *fpr, *out;
    int add, raw, clearsign, detach, armor;
    const char *file; /* sign's operand */
};

static const struct option all_opts[] = {
    {"keydir", required_argument, NULL, OPT_KEYDIR},
    {"name", required_argument, NULL, OPT_NAME},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"algo", required_argument, NULL, OPT_ALGO},
    {"expire", required_argument, NULL, OPT_EXPIRE},
    {"passphrase-file", required_argument, NULL, OPT_PASS_FILE},
    {"passphrase-env", required_argument, NULL, OPT_PASS_ENV},
    {"add", no_argument, NULL, OPT_ADD},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"fpr", required_argument, NULL, OPT_FPR},
    {"out", required_argument, NULL, OPT_OUT},
    {"raw", no_argument, NULL, OPT_RAW},
    {"clearsign", no_argument, NULL, OPT_CLEARSIGN},
    {"detach-sign", no_argument, NULL, OPT_DETACH},
    {"armor", no_argument, NULL, OPT_ARMOR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *
opt_name(int id)
{
    size_t i;

    for (i = 0; all_opts[i].name; i++)
        if (all_opts[i].val == id)
            return all_opts[i].name;
    return "?";
}

/* Parse argv with getopt_long, accepting only the options listed in allowed
 * (0-terminated) so each subcommand reports the others as unknown. Returns 0,
 * -1 after printing help, or the usage exit code. */
static int
parse_args(struct cli *cli, int argc, char **argv, const int *allowed, const char *help,
           int want_file, struct keys_args *a)
{
    const char *bad;
    int c, i, ok;

    memset(a, 0, sizeof(*a));
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", all_opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        bad = optind > 1 && optind <= argc ? argv[optind - 1] : "?";
        if (c == ':')
            return cli_usage(cli, "option '%s' needs a value", bad);
        if (c == '?')
            return cli_usage(cli, "unknown option '%s'", bad);
        for (i = 0, ok = 0; allowed[i]; i++)
            ok |= allowed[i] == c;
        if (!ok)
            return cli_usage(cli, "unknown option '--%s'", opt_name(c));
        switch (c) {
        case OPT_KEYDIR:
            a->keydir = optarg;
            break;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_EMAIL:
            a->email = optarg;
            break;
        case OPT_ALGO:
            a->algo = optarg;
            break;
        case OPT_EXPIRE:
            a->expire = optarg;
            break;
        case OPT_PASS_FILE:
            a->pass_file = optarg;
            break;
        case OPT_PASS_ENV:
            a->pass_env = optarg;
            break;
        case OPT_ADD:
            a->add = 1;
            break;
        case OPT_FORMAT:
            a->format = optarg;
            break;
        case OPT_FPR:
            a->fpr = optarg;
            break;
        case OPT_OUT:
            a->out = optarg;
            break;
        case OPT_RAW:
            a->raw = 1;
            break;
        case OPT_CLEARSIGN:
            a->clearsign = 1;
            break;
        case OPT_DETACH:
            a->detach = 1;
            break;
        case OPT_ARMOR:
            a->armor = 1;
            break;
        default:
            return cli_usage(cli, "unknown option");
        }
    }
    if (want_file) {
        if (optind != argc - 1)
            return cli_usage(cli, "expected one file to sign");
        a->file = argv[optind];
    } else if (optind != argc) {
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    }
    if (!a->keydir)
        return cli_usage(cli, "--keydir is required");
    if (a->pass_file && a->pass_env)
        return cli_usage(cli, "--passphrase-file and --passphrase-env exclude each other");
    return 0;
}

/* Read the passphrase the options name, if any; *out stays NULL without one. */
static int
load_passphrase(struct cli *cli, const struct keys_args *a, struct consign_secret **out)
{
    int rc = 0;

    *out = NULL;
    if (a->pass_file)
        rc = consign_secret_from_file(&cli->ctx, a->pass_file, out);
    else if (a->pass_env)
        rc = consign_secret_from_env(&cli->ctx, a->pass_env, out);
    if (rc)
        consign_err_context(&cli->ctx, rc, "passphrase");
    return rc;
}

static int
run_generate(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR,    OPT_NAME,     OPT_EMAIL, OPT_ALGO, OPT_EXPIRE,
                                  OPT_PASS_FILE, OPT_PASS_ENV, OPT_ADD,   0};
    struct consign_keygen_opts opts;
    struct consign_secret *pass = NULL;
    struct keys_args a;
    char fpr[CONSIGN_FPR_LEN + 1], grouped[CONSIGN_FPR_GROUPED_LEN + 1];
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, generate_help, 0, &a)))
        return rc < 0 ? 0 : rc;
    if (!a.name)
        return cli_usage(cli, "--name is required");
    if (!a.email)
        return cli_usage(cli, "--email is required");
    memset(&opts, 0, sizeof(opts));
    opts.name = a.name;
    opts.email = a.email;
    if (!a.algo || strcmp(a.algo, "rsa4096") == 0)
        opts.algo = CONSIGN_KEY_RSA4096;
    else if (strcmp(a.algo, "ed25519") == 0)
        opts.algo = CONSIGN_KEY_ED25519;
    else
        return cli_usage(cli, "--algo must be rsa4096 or ed25519, not '%s'", a.algo);
    if ((rc = consign_keys_parse_expire(&cli->ctx, a.expire ? a.expire : "2y",
                                        &opts.expire_seconds)))
        return cli_fail(cli, rc);
    if ((rc = load_passphrase(cli, &a, &pass)))
        return cli_fail(cli, rc);
    opts.passphrase = pass;
    rc = consign_keys_generate(&cli->ctx, a.keydir, &opts, a.add, fpr);
    if (rc) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    consign_keys_fpr_group(fpr, grouped);
    printf("%s\n", grouped);
out:
    consign_secret_free(pass);
    return rc;
}

static int
run_export(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR, OPT_FORMAT, OPT_FPR, OPT_OUT, 0};
    enum consign_key_format format;
    struct consign_buf out;
    struct keys_args a;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, export_help, 0, &a)))
        return rc < 0 ? 0 : rc;
    if (!a.format)
        return cli_usage(cli, "--format is required (apt or asc)");
    if (strcmp(a.format, "apt") == 0)
        format = CONSIGN_KEY_FORMAT_APT;
    else if (strcmp(a.format, "asc") == 0)
        format = CONSIGN_KEY_FORMAT_ASC;
    else
        return cli_usage(cli, "--format must be apt or asc, not '%s'", a.format);
    if (format == CONSIGN_KEY_FORMAT_APT && (!a.out || strcmp(a.out, "-") == 0) &&
        isatty(STDOUT_FILENO))
        return cli_usage(cli, "refusing to write a binary key to a terminal; use --out");
    consign_buf_init(&out, KEY_EXPORT_MAX);
    if ((rc = consign_keys_export(&cli->ctx, a.keydir, a.fpr, format, &out)))
        rc = cli_fail(cli, rc);
    else
        rc = cli_write_output(cli, a.out, out.data, out.len, 0644);
    consign_buf_free(&out);
    return rc;
}

static int
run_fingerprint(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR, OPT_RAW, 0};
    char fpr[CONSIGN_FPR_LEN + 1], grouped[CONSIGN_FPR_GROUPED_LEN + 1];
    struct keys_args a;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, fingerprint_help, 0, &a)))
        return rc < 0 ? 0 : rc;
    if ((rc = consign_keys_active(&cli->ctx, a.keydir, fpr)))
        return cli_fail(cli, rc);
    consign_keys_fpr_group(fpr, grouped);
    printf("%s\n", a.raw ? fpr : grouped);
    return 0;
}

/* "2025-11-23 12:00:00 UTC", or "never" for 0. */
static void
format_time(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, size, "%s", t ? "?" : "never");
}

static int
run_list(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR, 0};
    char grouped[CONSIGN_FPR_GROUPED_LEN + 1], created[64], expires[64];
    struct consign_key_info *keys = NULL;
    struct keys_args a;
    size_t n = 0, i;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, list_help, 0, &a)))
        return rc < 0 ? 0 : rc;
    if ((rc = consign_keys_list(&cli->ctx, a.keydir, &keys, &n)))
        return cli_fail(cli, rc);
    for (i = 0; i < n; i++) {
        const struct consign_key_info *k = &keys[i];
        consign_keys_fpr_group(k->fpr, grouped);
        format_time(k->created, created, sizeof(created));
        format_time(k->expires, expires, sizeof(expires));
        printf("%sfingerprint: %s\nuid: %s\nalgo: %s\ncreated: %s\nexpires: %s\n"
               "flags:%s%s%s%s%s\n",
               i ? "\n" : "", grouped, k->uid, k->algo, created, expires,
               k->active ? " active" : "", k->has_secret ? " secret" : "",
               k->expired ? " expired" : "", k->revoked ? " revoked" : "",
               k->active || k->has_secret || k->expired || k->revoked ? "" : " -");
    }
    if (fflush(stdout) != 0) {
        consign_fail(&cli->ctx, CONSIGN_E_IO, "standard output: write failed");
        rc = cli_fail(cli, CONSIGN_E_IO);
    }
    consign_keys_info_free(keys, n);
    return rc;
}

/* Map FILE read-only: sign's input may be large and is never copied. */
static int
map_file(struct cli *cli, const char *path, void **data, size_t *len)
{
    struct stat st;
    int fd, rc = 0;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = consign_fail_errno(&cli->ctx, errno, "%s", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = consign_fail(&cli->ctx, CONSIGN_E_INVALID, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size == 0)
        goto out;
    *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (*data == MAP_FAILED) {
        *data = NULL;
        rc = consign_fail_errno(&cli->ctx, errno, "%s", path);
        goto out;
    }
    *len = (size_t)st.st_size;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int
run_sign(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR,    OPT_CLEARSIGN, OPT_DETACH, OPT_ARMOR,
                                  OPT_PASS_FILE, OPT_PASS_ENV,  OPT_OUT,    0};
    struct consign_secret *pass = NULL;
    struct consign_sign_opts opts = {CONSIGN_SIG_DETACHED, 0, CONSIGN_SIG_TIME_NOW};
    struct consign_buf sig;
    struct keys_args a;
    void *data = NULL;
    size_t len = 0;
    int rc;

    consign_buf_init(&sig, SIGNATURE_MAX);
    if ((rc = parse_args(cli, argc, argv, allowed, sign_help, 1, &a)))
        return rc < 0 ? 0 : rc;
    if (a.clearsign && a.detach)
        return cli_usage(cli, "--clearsign and --detach-sign exclude each other");
    if (!a.clearsign && !a.armor && (!a.out || strcmp(a.out, "-") == 0) && isatty(STDOUT_FILENO))
        return cli_usage(cli, "refusing to write a binary signature to a terminal; use --armor "
                              "or --out");
    opts.mode = a.clearsign ? CONSIGN_SIG_CLEARSIGN : CONSIGN_SIG_DETACHED;
    opts.armor = a.armor;
    if ((rc = consign_keys_sig_time_env(&cli->ctx, &opts.created)) ||
        (rc = load_passphrase(cli, &a, &pass)) || (rc = map_file(cli, a.file, &data, &len)) ||
        (rc = consign_keys_sign_ext(&cli->ctx, a.keydir, pass, &opts, data, len, NULL, NULL,
                                    &sig))) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    rc = cli_write_output(cli, a.out, sig.data, sig.len, 0644);
out:
    if (data)
        munmap(data, len);
    consign_secret_free(pass);
    consign_buf_free(&sig);
    return rc;
}

static const struct cli_cmd keys_cmds[] = {
    {"generate", "create a signing key", run_generate},
    {"export", "write a public key", run_export},
    {"fingerprint", "print the active fingerprint", run_fingerprint},
    {"list", "list keys", run_list},
    {"sign", "sign a file", run_sign},
    {"tuf-rotate", "replace a TUF role's keys", cmd_keys_tuf_rotate},
};

int
cmd_keys(struct cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, keys_cmds, sizeof(keys_cmds) / sizeof(keys_cmds[0]), argc, argv,
                        keys_help);
}

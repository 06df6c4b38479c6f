/* consign-launch: the on-target launcher, installed as /opt/NAME/bin/NAME-launch.
 *
 * It reads the launch file consign wrote at packaging time
 * (/opt/NAME/lib/consign/launch.conf, found next to this executable) and the
 * customer's options file (one runtime option per line), builds the command
 * line and execs it, so the service manager's signals reach the runtime
 * itself. Statically linked: it must run on any glibc the customer has.
 * Reference: docs/launcher.md. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/path.h"

#define LAUNCH_FILE_MAX  (64 * 1024)
#define LAUNCH_ARGS_MAX  256
#define OPTIONS_FILE_MAX (64 * 1024)
#define OPTION_LINE_MAX  4096
#define OPTIONS_MAX      256
#define EXTRA_ARGS_MAX   256
#define ARG_LEN_MAX      (64 * 1024)   /* one argument after {root} expansion */
#define ARGV_BYTES_MAX   (1024 * 1024) /* the whole command line, well under ARG_MAX */

#define LAUNCH_FILE_REL "lib/consign/launch.conf"
#define ROOT_TOKEN      "{root}"
#define OPTIONS_TOKEN   "{options}"

struct launch_opts {
    const char *root; /* NULL: not given, use $CONSIGN_ROOT */
    const char *launch_file;
    char **extra; /* arguments after "--", appended to the command */
    size_t nextra;
    int print;
};

/* The launch file, cut into lines in place; the pointers point into data. */
struct launch {
    char *data;
    const char *name;
    const char *options_file; /* NULL or "": no options file */
    const char *args[LAUNCH_ARGS_MAX];
    size_t nargs;
    int has_options_slot;
};

struct options {
    char *data;
    const char *v[OPTIONS_MAX];
    size_t n;
};

#define HELP_TEXT                                                                                  \
    "Usage: %s [--root DIR] [--launch-file FILE] [--print] [-- ARG...]\n"                          \
    "\n"                                                                                           \
    "Start the agent: read the launch file and the options file, build the command\n"              \
    "line and replace this process with it. A service manager runs it without\n"                   \
    "arguments.\n"                                                                                 \
    "\n"                                                                                           \
    "      --root DIR          install root prefix (default: $CONSIGN_ROOT, empty for\n"           \
    "                          the real system)\n"                                                 \
    "      --launch-file FILE  the launch file (default: ../lib/consign/launch.conf\n"             \
    "                          relative to this executable)\n"                                     \
    "      --print             print the command line, one argument per line; do not run it\n"     \
    "      --version           print the launcher's version\n"                                     \
    "  -h, --help              show this help\n"                                                   \
    "  -- ARG...               append ARGs to the command line\n"                                  \
    "\n"                                                                                           \
    "Exit status: the program's own once started; 2 for a usage error or a bad launch\n"           \
    "or options file; 1 for other failures.\n"

/* Errors name the program as it was installed (NAME-launch), not consign-launch. */
static const char *
prog_name(const char *argv0)
{
    const char *slash;

    if (!argv0 || !argv0[0])
        return "consign-launch";
    slash = strrchr(argv0, '/');
    return slash && slash[1] ? slash + 1 : argv0;
}

/* Hand-rolled rather than getopt: "--" must end the options, never permute. */
static int
parse_cli(struct consign_ctx *ctx, int argc, char **argv, struct launch_opts *o, int *help,
          int *version)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            o->extra = argv + i + 1;
            o->nextra = (size_t)(argc - i - 1);
            if (o->nextra > EXTRA_ARGS_MAX)
                return consign_fail(ctx, CONSIGN_E_USAGE, "more than %d arguments after '--'",
                                    EXTRA_ARGS_MAX);
            return 0;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = 1;
        } else if (strcmp(a, "--version") == 0) {
            *version = 1;
        } else if (strcmp(a, "--print") == 0) {
            o->print = 1;
        } else if (strcmp(a, "--root") == 0 || strcmp(a, "--launch-file") == 0) {
            if (i + 1 >= argc)
                return consign_fail(ctx, CONSIGN_E_USAGE, "option '%s' needs a value (see --help)",
                                    a);
            if (strcmp(a, "--root") == 0)
                o->root = argv[++i];
            else
                o->launch_file = argv[++i];
        } else if (strncmp(a, "--root=", 7) == 0) {
            o->root = a + 7;
        } else if (strncmp(a, "--launch-file=", 14) == 0) {
            o->launch_file = a + 14;
        } else if (a[0] == '-') {
            return consign_fail(ctx, CONSIGN_E_USAGE, "unknown option '%.200s' (see --help)", a);
        } else {
            return consign_fail(ctx, CONSIGN_E_USAGE,
                                "unexpected argument '%.200s' (put program arguments after '--')",
                                a);
        }
    }
    if (o->launch_file && !o->launch_file[0])
        return consign_fail(ctx, CONSIGN_E_USAGE, "--launch-file is empty");
    return 0;
}

/* An absolute, normalised root ("" for the real system), so the child sees the
 * same paths whatever its working directory. */
static int
resolve_root(struct consign_ctx *ctx, const char *given, char **out)
{
    char *real = NULL;
    int rc = 0;

    *out = NULL;
    if (!given || !given[0]) {
        *out = consign_strdup(ctx, "");
        return *out ? 0 : CONSIGN_E_NOMEM;
    }
    if (given[0] != '/') {
        real = realpath(given, NULL);
        if (!real) {
            rc = consign_fail_errno(ctx, errno, "root %.200s", given);
            goto out;
        }
        given = real;
    }
    if ((rc = consign_path_normalize_abs(ctx, given, out))) {
        consign_err_context(ctx, rc, "root");
        goto out;
    }
    if (strcmp(*out, "/") == 0)
        (*out)[0] = '\0';
out:
    free(real);
    return rc;
}

/* /proc/self/exe names the real binary even when started through a symlink;
 * argv[0] is the fallback where /proc is not mounted. */
static int
default_launch_file(struct consign_ctx *ctx, const char *argv0, char **out)
{
    char exe[CONSIGN_PATH_MAX];
    char *bindir = NULL, *prefix = NULL;
    const char *self;
    ssize_t n;
    int rc = 0;

    *out = NULL;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0 && (size_t)n < sizeof(exe) - 1) {
        exe[n] = '\0';
        self = exe;
    } else if (argv0 && argv0[0] == '/') {
        self = argv0;
    } else {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND,
                          "cannot locate my own executable (is /proc mounted?); use --launch-file");
        goto out;
    }
    if (!(bindir = consign_path_dirname_dup(ctx, self)) ||
        !(prefix = consign_path_dirname_dup(ctx, bindir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    *out = consign_asprintf(ctx, "%s/%s", strcmp(prefix, "/") == 0 ? "" : prefix, LAUNCH_FILE_REL);
    if (!*out)
        rc = CONSIGN_E_NOMEM;
out:
    free(bindir);
    free(prefix);
    return rc;
}

/* The launcher usually runs as root: a file any user may rewrite would let
 * them choose what root runs. */
static int
check_not_world_writable(struct consign_ctx *ctx, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return consign_fail_errno(ctx, errno, "%s", path);
    if (st.st_mode & S_IWOTH)
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                            "%s: writable by every user; refusing to use it", path);
    return 0;
}

/* Cut the next line out of buf (NUL-terminated at len) in place; NULL at the end. */
static char *
next_line(char *buf, size_t len, size_t *pos, size_t *linelen)
{
    char *start, *nl;

    if (*pos >= len)
        return NULL;
    start = buf + *pos;
    nl = memchr(start, '\n', len - *pos);
    *linelen = nl ? (size_t)(nl - start) : len - *pos;
    *pos += *linelen + (nl ? 1 : 0);
    start[*linelen] = '\0';
    return start;
}

/* Refuse NULs and control characters (tab aside): they are never meant, and a
 * NUL would silently cut an argument short. A CRLF line ending is accepted. */
static int
check_line(struct consign_ctx *ctx, const char *file, size_t lineno, char *line, size_t *len)
{
    size_t i;

    if (*len && line[*len - 1] == '\r')
        line[--*len] = '\0';
    for (i = 0; i < *len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\0')
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: contains a NUL byte", file,
                                lineno);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "%s: line %zu: contains control character 0x%02x", file, lineno, c);
    }
    return 0;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trim spaces and tabs in place; returns the new start. */
static char *
trim(char *s, size_t len)
{
    while (len && is_blank(s[len - 1]))
        s[--len] = '\0';
    while (is_blank(*s))
        s++;
    return s;
}

/* One line of the launch file; strict, since only consign writes it. */
static int
parse_launch_line(struct consign_ctx *ctx, const char *file, size_t lineno, char *line,
                  struct launch *l)
{
    char *eq, *key, *value;

    line = trim(line, strlen(line));
    if (!line[0] || line[0] == '#')
        return 0;
    eq = strchr(line, '=');
    if (!eq)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: expected key=value", file,
                            lineno);
    *eq = '\0';
    key = trim(line, (size_t)(eq - line));
    value = eq + 1;
    if (strcmp(key, "arg") == 0) {
        /* Kept verbatim: spaces inside an argument may matter. */
        if (l->nargs >= LAUNCH_ARGS_MAX)
            return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: line %zu: more than %d args", file,
                                lineno, LAUNCH_ARGS_MAX);
        if (l->nargs == 0 && (!value[0] || strcmp(value, OPTIONS_TOKEN) == 0))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s: line %zu: the first arg must name the program", file, lineno);
        if (strcmp(value, OPTIONS_TOKEN) == 0) {
            if (l->has_options_slot)
                return consign_fail(ctx, CONSIGN_E_INVALID,
                                    "%s: line %zu: " OPTIONS_TOKEN " appears more than once", file,
                                    lineno);
            l->has_options_slot = 1;
        }
        l->args[l->nargs++] = value;
        return 0;
    }
    value = trim(value, strlen(value));
    if (strcmp(key, "name") == 0) {
        if (l->name)
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: duplicate key 'name'", file,
                                lineno);
        if (!value[0])
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: line %zu: empty name", file, lineno);
        l->name = value;
        return 0;
    }
    if (strcmp(key, "options_file") == 0) {
        if (l->options_file)
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: duplicate key 'options_file'",
                                file, lineno);
        if (value[0] && value[0] != '/')
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s: line %zu: options_file must be an absolute path", file,
                                lineno);
        l->options_file = value;
        return 0;
    }
    return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: unknown key '%.64s'", file, lineno,
                        key);
}

/* Every line is checked before use: the file decides what runs as root. */
static int
load_launch(struct consign_ctx *ctx, const char *file, struct launch *l)
{
    size_t len = 0, pos = 0, linelen, lineno = 0;
    char *line;
    int rc;

    if ((rc = consign_file_read(ctx, file, LAUNCH_FILE_MAX, &l->data, &len)))
        return rc;
    if ((rc = check_not_world_writable(ctx, file)))
        return rc;
    while ((line = next_line(l->data, len, &pos, &linelen))) {
        lineno++;
        if ((rc = check_line(ctx, file, lineno, line, &linelen)) ||
            (rc = parse_launch_line(ctx, file, lineno, line, l)))
            return rc;
    }
    if (!l->name)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: no name", file);
    if (l->nargs == 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: no arg (the command to run)", file);
    return 0;
}

/* -Dx="" must reach the runtime as -Dx= (a shell would have removed the
 * quotes), and a line wholly in quotes is taken as the quoted text. */
static char *
unquote(char *s)
{
    size_t n = strlen(s);
    char *eq, *v;

    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        return s + 1;
    }
    eq = strchr(s, '=');
    if (!eq)
        return s;
    v = eq + 1;
    n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
    }
    return s;
}

/* A missing options file means no options: the customer may delete it. */
static int
load_options(struct consign_ctx *ctx, const char *file, struct options *o)
{
    size_t len = 0, pos = 0, linelen, lineno = 0;
    char *line;
    int rc;

    rc = consign_file_read(ctx, file, OPTIONS_FILE_MAX, &o->data, &len);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        return 0;
    }
    if (rc || (rc = check_not_world_writable(ctx, file)))
        return rc;
    while ((line = next_line(o->data, len, &pos, &linelen))) {
        lineno++;
        if (linelen > OPTION_LINE_MAX)
            return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: line %zu: longer than %d bytes", file,
                                lineno, OPTION_LINE_MAX);
        if ((rc = check_line(ctx, file, lineno, line, &linelen)))
            return rc;
        line = trim(line, linelen);
        if (!line[0] || line[0] == '#' || line[0] == ';')
            continue;
        line = unquote(line);
        if (!line[0])
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: line %zu: empty option", file, lineno);
        if (o->n >= OPTIONS_MAX)
            return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: line %zu: more than %d options", file,
                                lineno, OPTIONS_MAX);
        o->v[o->n++] = line;
    }
    return 0;
}

/* Replace every {root} in arg; the result is capped, as a root may be long. */
static int
expand_root(struct consign_ctx *ctx, const char *root, const char *arg, char **out)
{
    struct consign_buf b;
    const char *p = arg, *hit;
    int rc = 0;

    *out = NULL;
    consign_buf_init(&b, ARG_LEN_MAX);
    while ((hit = strstr(p, ROOT_TOKEN))) {
        if ((rc = consign_buf_append(ctx, &b, p, (size_t)(hit - p))) ||
            (rc = consign_buf_puts(ctx, &b, root)))
            goto out;
        p = hit + strlen(ROOT_TOKEN);
    }
    if ((rc = consign_buf_puts(ctx, &b, p)))
        goto out;
    *out = consign_buf_steal(&b, NULL);
out:
    if (rc == CONSIGN_E_TOOBIG)
        rc = consign_fail(ctx, rc, "argument longer than %d bytes after expanding " ROOT_TOKEN,
                          ARG_LEN_MAX);
    consign_buf_free(&b);
    return rc;
}

static void
free_argv(char **argv)
{
    size_t i;

    if (!argv)
        return;
    for (i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Append a copy of s to the NULL-terminated argv (sized by the caller). */
static int
push(struct consign_ctx *ctx, char **argv, size_t *n, const char *s)
{
    if (!(argv[*n] = consign_strdup(ctx, s)))
        return CONSIGN_E_NOMEM;
    (*n)++;
    return 0;
}

static int
push_all(struct consign_ctx *ctx, char **argv, size_t *n, const char *const *v, size_t count)
{
    size_t i;
    int rc;

    for (i = 0; i < count; i++)
        if ((rc = push(ctx, argv, n, v[i])))
            return rc;
    return 0;
}

/* The final command: program (root-prefixed when absolute), the options at
 * {options} or right after the program, the other args with {root} expanded,
 * then the arguments given after "--". */
static int
build_argv(struct consign_ctx *ctx, const struct launch *l, const struct options *o,
           const struct launch_opts *lo, const char *root, char ***out)
{
    size_t total = l->nargs + o->n + lo->nextra, n = 0, i, bytes = 0;
    char **argv = NULL, *s = NULL;
    int rc = 0;

    *out = NULL;
    if (!(argv = consign_calloc(ctx, total + 1, sizeof(*argv)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < l->nargs; i++) {
        if (strcmp(l->args[i], OPTIONS_TOKEN) == 0) {
            if ((rc = push_all(ctx, argv, &n, o->v, o->n)))
                goto out;
            continue;
        }
        if ((rc = expand_root(ctx, root, l->args[i], &s)))
            goto out;
        if (i == 0 && l->args[0][0] == '/') {
            argv[n] = NULL;
            if ((rc = consign_path_in_root(ctx, root, s, &argv[n]))) {
                consign_err_context(ctx, rc, "program");
                goto out;
            }
            n++;
        } else {
            argv[n++] = s;
            s = NULL;
        }
        free(s);
        s = NULL;
        if (i == 0 && !l->has_options_slot && (rc = push_all(ctx, argv, &n, o->v, o->n)))
            goto out;
    }
    if ((rc = push_all(ctx, argv, &n, (const char *const *)lo->extra, lo->nextra)))
        goto out;
    for (i = 0; i < n; i++) {
        bytes += strlen(argv[i]) + 1;
        if (bytes > ARGV_BYTES_MAX) {
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "command line longer than %d bytes",
                              ARGV_BYTES_MAX);
            goto out;
        }
    }
    *out = argv;
    argv = NULL;
out:
    free(s);
    free_argv(argv);
    return rc;
}

static int
print_argv(struct consign_ctx *ctx, char **argv)
{
    size_t i;

    for (i = 0; argv[i]; i++)
        if (fputs(argv[i], stdout) == EOF || putchar('\n') == EOF)
            break;
    if (ferror(stdout) || fflush(stdout) != 0)
        return consign_fail(ctx, CONSIGN_E_IO, "standard output: write failed");
    return 0;
}

/* The child learns the root the same way the launcher did; an explicit empty
 * root must not leave a stale one in the environment. */
static int
export_root(struct consign_ctx *ctx, const char *root)
{
    int r = root[0] ? setenv("CONSIGN_ROOT", root, 1) : unsetenv("CONSIGN_ROOT");
    if (r < 0)
        return consign_fail_errno(ctx, errno, "CONSIGN_ROOT");
    return 0;
}

int
main(int argc, char **argv)
{
    struct launch_opts lo = {0};
    struct launch l = {0};
    struct options o = {0};
    struct consign_ctx ctx;
    const char *prog = prog_name(argc > 0 ? argv[0] : NULL);
    char *root = NULL, *launch_file = NULL, *options_file = NULL, **cmd = NULL;
    int rc, help = 0, version = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    if ((rc = parse_cli(&ctx, argc, argv, &lo, &help, &version)))
        goto out;
    if (help) {
        printf(HELP_TEXT, prog);
        goto out;
    }
    if (version) {
        printf("%s (consign) %s\n", prog, CONSIGN_VERSION);
        goto out;
    }
    if ((rc = resolve_root(&ctx, lo.root ? lo.root : getenv("CONSIGN_ROOT"), &root)))
        goto out;
    if (lo.launch_file) {
        if (!(launch_file = consign_strdup(&ctx, lo.launch_file))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
    } else if ((rc = default_launch_file(&ctx, argc > 0 ? argv[0] : NULL, &launch_file))) {
        goto out;
    }
    if ((rc = load_launch(&ctx, launch_file, &l)))
        goto out;
    if (l.options_file && l.options_file[0]) {
        if ((rc = consign_path_in_root(&ctx, root, l.options_file, &options_file))) {
            consign_err_context(&ctx, rc, "%s: options_file", launch_file);
            goto out;
        }
        if ((rc = load_options(&ctx, options_file, &o)))
            goto out;
    }
    if ((rc = build_argv(&ctx, &l, &o, &lo, root, &cmd)))
        goto out;
    if (lo.print) {
        rc = print_argv(&ctx, cmd);
        goto out;
    }
    if ((rc = export_root(&ctx, root)))
        goto out;
    execv(cmd[0], cmd);
    rc = consign_fail_errno(&ctx, errno, "cannot run %s", cmd[0]);
out:
    if (rc)
        fprintf(stderr, "%s: %s\n", prog, consign_err_msg(&ctx));
    free_argv(cmd);
    free(o.data);
    free(l.data);
    free(options_file);
    free(launch_file);
    free(root);
    return consign_exit_class(rc);
}

/* The installed agent's tools: one static program, several names.
 *
 *   /opt/NAME/NAME-config      show or change the settings (docs/agent-tools.md)
 *   /opt/NAME/NAME-update      check for, apply and roll back updates
 *   /opt/NAME/NAME-uninstall   remove the agent (also /opt/NAME/uninstall)
 *
 * The work is the libraries' (consign/install.h, consign/ui.h,
 * consign/updater.h); this file reads the command line and talks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/install.h"
#include "consign/ui.h"
#ifndef CONSIGN_TOOLS_CONFIG_ONLY
#include "consign/updater.h"
#endif

static const char *prog = "agent-tool";
static const char *self_argv0;
static int quiet;
static FILE *logfile;
static struct consign_ui ui;

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

/* Warnings and errors on stderr; everything in the update log when open. */
static void
on_log(void *user, enum consign_log_level level, const char *msg)
{
    (void)user;
    if (logfile) {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(logfile, "%s %s %s\n", ts,
                level == CONSIGN_LOG_ERROR  ? "ERROR"
                : level == CONSIGN_LOG_WARN ? "WARN"
                                            : "INFO",
                msg);
        fflush(logfile);
    }
    if (level > CONSIGN_LOG_WARN)
        return;
    fprintf(stderr, "%s: %s%s\n", prog, level == CONSIGN_LOG_ERROR ? "error: " : "warning: ", msg);
}

static int
fail(struct consign_ctx *ctx, int rc, const char *what)
{
    const char *msg = ctx->err_code ? consign_err_msg(ctx) : consign_strerror(rc);

    fprintf(stderr, "%s: error: %s%s%s\n", prog, what ? what : "", what ? ": " : "", msg);
    if (logfile)
        fprintf(logfile, "ERROR %s%s%s\n", what ? what : "", what ? ": " : "", msg);
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

/* The install root of an installed tool: the part of its path before
 * /opt/NAME/ (empty on a real install). */
static int self_path(char *out, size_t cap);

static char *
root_of_self(const char *name)
{
    char exe[PATH_MAX], pat[CONSIGN_NAME_MAX + 32], *at;

    if (self_path(exe, sizeof(exe)) < 0)
        return strdup("");
    snprintf(pat, sizeof(pat), "/opt/%s/", name);
    if (!(at = strstr(exe, pat)))
        return strdup("");
    *at = '\0';
    return strdup(exe);
}

static int
is_root_needed(const char *root)
{
    if (!root && geteuid() != 0) {
        fprintf(stderr, "%s: error: run as root (sudo)\n", prog);
        return 1;
    }
    return 0;
}

#ifndef CONSIGN_TOOLS_CONFIG_ONLY
/* Append-only log under /var/opt/NAME/logs, 0640, never a secret in it. */
static void
open_log(const char *root, const char *name, const char *file)
{
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof(path), "%s/var/opt/%s/logs/%s", root ? root : "", name, file);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd >= 0 && !(logfile = fdopen(fd, "a")))
        close(fd);
}
#endif

/* ---- NAME-config ---------------------------------------------------------- */

static int
run_systemctl(const char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A package install is configured after its install (the maintainer
 * scripts cannot ask): the first time the token is set, the service is
 * enabled and started. */
static void
first_start(const char *name)
{
    struct stat st;
    char initd[CONSIGN_NAME_MAX + 32];

    if (lstat("/run/systemd/system", &st) == 0) {
        const char *en[] = {"systemctl", "enable", "--now", name, NULL};
        if (run_systemctl(en) == 0)
            say("%s is enabled and started (systemctl status %s).\n", name, name);
        else
            fprintf(stderr, "%s: warning: could not start %s; see systemctl status %s\n", prog,
                    name, name);
        return;
    }
    snprintf(initd, sizeof(initd), "/etc/init.d/%s", name);
    if (access(initd, X_OK) == 0) {
        const char *start[] = {initd, "start", NULL};
        if (run_systemctl(start) != 0)
            fprintf(stderr, "%s: warning: %s start failed\n", prog, initd);
    }
}

static int
run_config(struct consign_ctx *ctx, const char *name, const char *root, int argc, char **argv)
{
    struct consign_conf c = {0};
    struct consign_installed cur;
    char *confdir = NULL;
    int rc = 0, i, changed = 0, had_token;

    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        printf("Usage: %s [--root DIR] show | set KEY=VALUE... | unset KEY... | interactive\n"
               "Keys: token, proxy_pac_url, proxy_host, proxy_port, proxy_user, proxy_password,\n"
               "auto_update (yes|no), channel, server_url.\n",
               prog);
        return argc < 1 ? 2 : 0;
    }
    if (!(confdir = consign_asprintf(ctx, "%s/var/opt/%s/conf", root ? root : "", name)) ||
        (rc = consign_conf_load(ctx, confdir, &c))) {
        rc = fail(ctx, rc ? rc : CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    had_token = consign_conf_get(&c, "token") != NULL;
    if (strcmp(argv[0], "show") == 0) {
        size_t k;
        for (k = 0; k < c.n; k++)
            printf("%s=%s\n", c.items[k].key,
                   consign_conf_is_secret(c.items[k].key) ? "********" : c.items[k].value);
    } else if (strcmp(argv[0], "set") == 0 || strcmp(argv[0], "unset") == 0) {
        int set = argv[0][0] == 's';
        if (argc < 2) {
            rc = usage_error("%s needs at least one %s", argv[0], set ? "KEY=VALUE" : "KEY");
            goto out;
        }
        for (i = 1; i < argc; i++) {
            char *eq = set ? strchr(argv[i], '=') : NULL;
            if (set && !eq) {
                rc = usage_error("'%s' is not KEY=VALUE", argv[i]);
                goto out;
            }
            if (eq)
                *eq = '\0';
            if ((rc = consign_conf_set(ctx, &c, argv[i], eq ? eq + 1 : NULL))) {
                rc = fail(ctx, rc, NULL);
                goto out;
            }
        }
        changed = 1;
    } else if (strcmp(argv[0], "interactive") == 0) {
        struct consign_conf answers = {0};
        size_t k;
        if ((rc = consign_answers_prompt(ctx, &ui, 0, 1, 1, &c, &answers)) == 0)
            for (k = 0; !rc && k < answers.n; k++)
                rc = consign_conf_set(ctx, &c, answers.items[k].key, answers.items[k].value);
        consign_conf_free(&answers);
        if (rc) {
            rc = fail(ctx, rc, NULL);
            goto out;
        }
        changed = 1;
    } else {
        rc = usage_error("unknown command '%s'", argv[0]);
        goto out;
    }
    if (changed) {
        if ((rc = is_root_needed(root)))
            goto out;
        /* A package install gets its id on first configuration. */
        if ((rc = consign_conf_ensure_id(ctx, &c)) || (rc = consign_conf_save(ctx, confdir, &c))) {
            rc = fail(ctx, rc, NULL);
            goto out;
        }
        if (consign_install_query(ctx, root, name, &cur) == 0 && (!root || !root[0])) {
            if (cur.foreign && !had_token && consign_conf_get(&c, "token")) {
                first_start(name);
                goto out;
            }
            consign_install_service_apply(ctx, root, name);
        }
        say("Saved. Restart the service to apply: systemctl restart %s\n", name);
    }
out:
    consign_conf_free(&c);
    free(confdir);
    return rc;
}

/* ---- NAME-uninstall --------------------------------------------------------- */

static int
run_uninstall(struct consign_ctx *ctx, const char *name, const char *root, int argc, char **argv)
{
    struct consign_installed cur;
    int purge = 0, i, rc;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--purge") == 0)
            purge = 1;
        else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
            ;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: %s [--root DIR] [--purge] [--quiet]\n"
                   "Removes %s; its settings and logs in /var/opt/%s stay unless --purge.\n",
                   prog, name, name);
            return 0;
        } else
            return usage_error("unknown argument '%s'", argv[i]);
    }
    if ((rc = is_root_needed(root)))
        return rc;
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

/* ---- NAME-update ------------------------------------------------------------ */
#ifndef CONSIGN_TOOLS_CONFIG_ONLY

static int
update_usage(int rc)
{
    printf("Usage: %s [--root DIR] [OPTIONS] check | apply | status | rollback\n"
           "  check                 is a newer version available for this agent?\n"
           "  apply                 install it, keep it if healthy, else switch back\n"
           "  status                installed version, last check, failures\n"
           "  rollback              go back to the version before the last update\n"
           "  schedule              check periodically, for systems without systemd\n"
           "Options:\n"
           "  --auto                a scheduled run: nothing at all when auto_update=no\n"
           "  --now                 apply even when this agent's rollout turn has not come\n"
           "  --no-delta            download the full release, not a patch\n"
           "  --ca-bundle FILE      also trust the CAs in FILE for the repository\n"
           "  --probation SECONDS   how long the new version has to report healthy\n"
           "  --first-check SECONDS schedule: the first round after this (default 1020)\n"
           "  --restart-command CMD how to restart the agent without a service manager\n"
           "  -q, --quiet           print nothing but errors\n",
           prog);
    return rc;
}

/* Where systemd does not run (SysV): the init script starts this loop
 * beside the agent. The timer's schedule: 17 minutes after the start,
 * then every 433 minutes (coprime with a day's 1,440) plus up to 30 of
 * random delay; each round is an --auto apply (nothing at all when
 * auto_update=no). */
static int
run_schedule(struct consign_ctx *ctx, struct consign_updater_opts *o, long long first)
{
    unsigned long long wait_s = first >= 0 ? (unsigned long long)first : 17 * 60;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    o->automatic = 1;
    for (;;) {
        struct consign_update_result res;
        int rc;
        consign_log(ctx, CONSIGN_LOG_INFO, "schedule: next check in %llu s", wait_s);
        while (wait_s > 0)
            wait_s = sleep((unsigned)(wait_s > 3600 ? 3600 : wait_s)) +
                     (wait_s > 3600 ? wait_s - 3600 : 0);
        if ((rc = consign_updater_apply(ctx, o, &res)))
            consign_log(ctx, CONSIGN_LOG_WARN, "schedule: %s", consign_err_msg(ctx));
        consign_err_clear(ctx);
        wait_s = 433 * 60 + (unsigned long long)(rand_r(&seed) % (30 * 60));
    }
    return 0;
}

static int
run_update(struct consign_ctx *ctx, const char *name, const char *root, int argc, char **argv)
{
    struct consign_updater_opts o;
    struct consign_update_result res;
    const char *cmd = NULL;
    long long first_check = -1;
    int i, rc;

    memset(&o, 0, sizeof(o));
    o.root = root;
    o.name = name;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return update_usage(0);
        if (strcmp(a, "--auto") == 0)
            o.automatic = 1;
        else if (strcmp(a, "--now") == 0)
            o.ignore_rollout = 1;
        else if (strcmp(a, "--no-delta") == 0)
            o.no_delta = 1;
        else if (strcmp(a, "--first-check") == 0) {
            unsigned long long v;
            if (i + 1 >= argc || consign_parse_u64(argv[++i], 86400, &v) < 0)
                return usage_error("--first-check takes 0 to 86400 seconds");
            first_check = (long long)v;
        }
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            quiet = 1;
        else if (strcmp(a, "--ca-bundle") == 0 || strcmp(a, "--restart-command") == 0 ||
                 strcmp(a, "--probation") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            if (a[2] == 'c')
                o.ca_bundle = argv[++i];
            else if (a[2] == 'r')
                o.restart_command = argv[++i];
            else {
                unsigned long long v;
                if (consign_parse_u64(argv[++i], 86400, &v) < 0 || v == 0)
                    return usage_error("--probation takes 1 to 86400 seconds");
                o.probation = (unsigned long)v;
            }
        } else if (a[0] == '-')
            return usage_error("unknown option '%s'", a);
        else if (cmd)
            return usage_error("one command at a time ('%s' after '%s')", a, cmd);
        else
            cmd = a;
    }
    if (!cmd)
        return update_usage(2);
    if (strcmp(cmd, "status") == 0) {
        struct consign_buf b;
        consign_buf_init(&b, 1 << 16);
        rc = consign_updater_status(ctx, &o, &b);
        if (!rc)
            fwrite(b.data, 1, b.len, stdout);
        consign_buf_free(&b);
        return rc ? fail(ctx, rc, NULL) : 0;
    }
    if (strcmp(cmd, "check") != 0 && strcmp(cmd, "apply") != 0 && strcmp(cmd, "rollback") != 0 &&
        strcmp(cmd, "schedule") != 0)
        return usage_error("unknown command '%s'", cmd);
    if ((rc = is_root_needed(root)))
        return rc;
    open_log(root, name, "update.log");
    if (strcmp(cmd, "schedule") == 0)
        return run_schedule(ctx, &o, first_check);
    if (strcmp(cmd, "rollback") == 0) {
        if ((rc = consign_updater_rollback(ctx, &o)))
            return fail(ctx, rc, "rollback");
        say("Rolled back; the version left is skipped until a newer one appears.\n");
        return 0;
    }
    rc =
        cmd[0] == 'c' ? consign_updater_check(ctx, &o, &res) : consign_updater_apply(ctx, &o, &res);
    if (rc)
        return fail(ctx, rc, cmd[0] == 'c' ? "check" : "update");
    switch (res.verdict) {
    case CONSIGN_UPDATE_DISABLED:
        say("Auto-update is off: nothing was checked.\n");
        break;
    case CONSIGN_UPDATE_UP_TO_DATE:
        say("%s %s is up to date.\n", name, res.installed);
        break;
    case CONSIGN_UPDATE_AVAILABLE:
        say("%s %s is available (installed: %s).\n", name, res.latest, res.installed);
        break;
    case CONSIGN_UPDATE_NOT_YET:
        say("%s %s is being rolled out to %d%% of agents; this one (bucket %u) is not yet among "
            "them.\n",
            name, res.latest, res.rollout, res.bucket);
        break;
    case CONSIGN_UPDATE_SKIPPED:
        say("%s %s failed here before and is skipped until a newer version appears.\n", name,
            res.latest);
        break;
    case CONSIGN_UPDATE_TOO_OLD:
        say("%s %s cannot be reached directly from %s.\n", name, res.latest, res.installed);
        break;
    case CONSIGN_UPDATE_APPLIED:
        say("%s updated from %s to %s (%s: %llu bytes fetched).\n", name, res.installed, res.latest,
            res.delta ? "delta" : "full download", res.fetched);
        break;
    case CONSIGN_UPDATE_DEFERRED:
        say("The update server asked to come back later; no request was made.\n");
        break;
    }
    return 0;
}

#endif /* CONSIGN_TOOLS_CONFIG_ONLY */

/* ---- main ------------------------------------------------------------------ */

static int
ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), m = strlen(suffix);

    if (n <= m || strcmp(s + n - m, suffix) != 0)
        return 0;
    *stem = n - m;
    return 1;
}

/* Where this program is: /proc/self/exe, else (no /proc in a bare chroot)
 * argv[0] when it is a path. */
static int
self_path(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);

    if (n > 0) {
        out[n] = '\0';
        return 0;
    }
    if (self_argv0 && self_argv0[0] == '/' && strlen(self_argv0) < cap) {
        memcpy(out, self_argv0, strlen(self_argv0) + 1);
        return 0;
    }
    return -1;
}

/* /opt/NAME/uninstall has no name in it: take it from the directory. */
static int
name_from_dir(char *name, size_t cap)
{
    char exe[PATH_MAX], *p, *e;

    if (self_path(exe, sizeof(exe)) < 0)
        return -1;
    if (!(p = strstr(exe, "/opt/")))
        return -1;
    p += 5;
    if (!(e = strchr(p, '/')) || (size_t)(e - p) >= cap)
        return -1;
    memcpy(name, p, (size_t)(e - p));
    name[e - p] = '\0';
    return 0;
}

int
main(int argc, char **argv)
{
    enum { CONFIG, UPDATE, UNINSTALL } mode;
    struct consign_ctx ctx;
    const char *base = argc > 0 && argv[0] ? argv[0] : "agent-tool";
    const char *root = getenv("CONSIGN_ROOT");
    char name[CONSIGN_NAME_MAX + 1], *self_root = NULL;
    size_t stem = 0;
    int first = 1, rc;

    self_argv0 = argc > 0 ? argv[0] : NULL;
    if (strrchr(base, '/'))
        base = strrchr(base, '/') + 1;
    prog = base;
    consign_ctx_init(&ctx, on_log, NULL);
    consign_ui_tty(&ui, 0);
    if (ends_with(base, "-config", &stem))
        mode = CONFIG;
    else if (ends_with(base, "-update", &stem))
        mode = UPDATE;
    else if (ends_with(base, "-uninstall", &stem))
        mode = UNINSTALL;
    else if (strcmp(base, "uninstall") == 0)
        mode = UNINSTALL;
    else {
        fprintf(stderr, "%s: run me as NAME-config, NAME-update or NAME-uninstall\n", prog);
        return 2;
    }
    if (stem) {
        if (stem > CONSIGN_NAME_MAX)
            return usage_error("cannot tell the product from my name");
        memcpy(name, base, stem);
        name[stem] = '\0';
    } else if (name_from_dir(name, sizeof(name)) < 0)
        return usage_error("cannot tell the product from my path");
    if (!consign_install_name_ok(name))
        return usage_error("cannot tell the product from my name");
    /* --root first, then the command. */
    while (first < argc && strncmp(argv[first], "--root", 6) == 0) {
        if (argv[first][6] == '=')
            root = argv[first] + 7;
        else if (argv[first][6] == '\0' && first + 1 < argc)
            root = argv[++first];
        else
            return usage_error("--root needs a value");
        first++;
    }
    if (!root || !root[0]) {
        self_root = root_of_self(name);
        root = self_root && self_root[0] ? self_root : NULL;
    }
    if (mode == CONFIG)
        rc = run_config(&ctx, name, root, argc - first, argv + first);
#ifndef CONSIGN_TOOLS_CONFIG_ONLY
    else if (mode == UPDATE)
        rc = run_update(&ctx, name, root, argc - first, argv + first);
#endif
    else if (mode == UNINSTALL)
        rc = run_uninstall(&ctx, name, root, argc - first, argv + first);
    else
        rc = usage_error("this build has NAME-config only: packages update with apt-get or yum");
    if (logfile)
        fclose(logfile);
    free(self_root);
    return rc;
}

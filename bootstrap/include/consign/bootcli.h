/* The bootstrap downloader's command line, libc only (a static program).
 *
 *   sudo ./NAME-bootstrap /i /q PROPERTY_TOKEN=... PROPERTY_USE_PROXY=1 \
 *        PROPERTY_PROXY_HOST=proxy.corp PROPERTY_PROXY_PORT=3128
 *   sudo ./NAME-bootstrap --install --quiet --token-file /root/token
 *
 * Three styles mix on one line: msiexec switches ("/i", "-I", "/l*v FILE";
 * case-insensitive, '/' or '-'), PROPERTY=VALUE pairs (names
 * case-insensitive) and GNU long options ("--log FILE", "--log=FILE"). The
 * accepted line, the property table and the rules are in
 * docs/internals/bootstrap-cli.md.
 *
 * Error messages name the offending argument and never quote a value: a
 * token or a password typed in the wrong place must not reach a log. */
#ifndef CONSIGN_BOOTCLI_H
#define CONSIGN_BOOTCLI_H

#include "consign/error.h"
#include "consign/secret.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes, msiexec's. */
#define CONSIGN_BOOTCLI_EXIT_OK        0
#define CONSIGN_BOOTCLI_EXIT_CANCELLED 1602 /* the user said no */
#define CONSIGN_BOOTCLI_EXIT_FATAL     1603 /* anything else that failed */
#define CONSIGN_BOOTCLI_EXIT_BUSY      1618 /* another install holds the lock */
#define CONSIGN_BOOTCLI_EXIT_BADCMD    1639 /* invalid command line */

/* Longest value accepted (the install core's settings limit). */
#define CONSIGN_BOOTCLI_VALUE_MAX 2048

/* The environment variables read when the command line gives no secret. */
#define CONSIGN_BOOTCLI_ENV_TOKEN          "CONSIGN_TOKEN"
#define CONSIGN_BOOTCLI_ENV_PROXY_PASSWORD "CONSIGN_PROXY_PASSWORD"

enum consign_bootcli_action {
    CONSIGN_BOOTCLI_INSTALL = 0, /* /i, --install, or no action given */
    CONSIGN_BOOTCLI_UNINSTALL,   /* /x, --uninstall */
    CONSIGN_BOOTCLI_HELP,        /* /?, /h, --help: print usage, exit 0 */
    CONSIGN_BOOTCLI_VERSION,     /* --version: print the version, exit 0 */
};

/* The parsed command line. Strings are borrowed from argv (or environ); the
 * secrets are owned and wiped by consign_bootcli_free(). */
struct consign_bootcli {
    enum consign_bootcli_action action;
    int quiet;             /* /q, /qn, /quiet, --quiet: never ask, errors only */
    int purge;             /* --purge (uninstall only) */
    const char *log;       /* /l FILE, /l*v FILE, --log FILE; NULL: none */
    int log_verbose;       /* the /l modifiers held v or x */
    int log_append;        /* the /l modifiers held + */
    const char *root;      /* --root DIR; NULL: the real system */
    const char *ca_bundle; /* --ca-bundle FILE; NULL: the built-in trust */

    int auto_update;       /* 1 unless PROPERTY_AUTOUPDATE= (empty or 0), --auto-update no */
    int auto_update_given; /* it was on the command line */
    int use_proxy;         /* a proxy is configured (PAC URL or host) */
    int use_proxy_given;   /* PROPERTY_USE_PROXY or a --proxy-* option was given */
    const char *proxy_pac_url;
    const char *proxy_host;
    unsigned proxy_port;    /* 0 without proxy_host */
    char proxy_port_str[6]; /* the same, as the settings file writes it; "" when 0 */
    const char *proxy_user;

    struct consign_secret *token;          /* NULL: none given (install may prompt) */
    struct consign_secret *proxy_password; /* NULL: none given */
    const char *token_from;     /* "PROPERTY_TOKEN", "--token", "--token-file", "CONSIGN_TOKEN" */
    int secret_on_command_line; /* a secret was read from argv (now blanked there) */
};

/* Parse argv[1..argc-1]. environ_or_null: "NAME=value" strings, NULL-ended,
 * searched for CONSIGN_TOKEN and CONSIGN_PROXY_PASSWORD when the command
 * line gives neither (NULL: no environment). out is reset first and must be
 * released with consign_bootcli_free() whatever the result.
 *
 * Secret values found in argv are copied into out and then overwritten with
 * NUL bytes in argv, so /proc/PID/cmdline stops showing them.
 *
 * Returns an exit code: 0, CONSIGN_BOOTCLI_EXIT_BADCMD (1639) for any
 * mistake on the command line, including a token file that cannot be read
 * or is open to group or others, or CONSIGN_BOOTCLI_EXIT_FATAL (1603) when
 * out of memory. The one-line message is in ctx. Warnings (a secret on the
 * command line) go to ctx's log. */
int consign_bootcli_parse(struct consign_ctx *ctx, int argc, char **argv,
                          const char *const *environ_or_null, struct consign_bootcli *out);

/* The options text for --help (no "Usage:" line: the program prints its own
 * name first). */
const char *consign_bootcli_usage(void);

/* One setting for the install core (consign_conf_set): key as in
 * agent.conf/secrets.conf; value NULL means "remove it" (the proxy settings
 * of an earlier install when PROPERTY_USE_PROXY is given empty). Settings
 * not given on the command line are left out, so an upgrade keeps them. */
struct consign_bootcli_setting {
    const char *key;
    const char *value;
};
#define CONSIGN_BOOTCLI_SETTINGS_MAX 7
/* Fills out (borrowed pointers into b) and returns how many. */
size_t consign_bootcli_settings(const struct consign_bootcli *b,
                                struct consign_bootcli_setting out[CONSIGN_BOOTCLI_SETTINGS_MAX]);

/* Wipes and frees the secrets; b may be reused. Accepts NULL. */
void consign_bootcli_free(struct consign_bootcli *b);

#ifdef __cplusplus
}
#endif
#endif

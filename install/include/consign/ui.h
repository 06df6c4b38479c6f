/* consign ui: how the on-target programs talk to the person installing.
 *
 * The install flow (consign/sfx_install.h) and the settings questions below
 * never print: they ask, page and report through a struct consign_ui the
 * front end passes. consign_ui_tty() gives the terminal implementation that
 * the .bin stub, NAME-config and the bootstrap share (an own pager, no echo
 * for secrets); tests can pass their own. */
#ifndef CONSIGN_UI_H
#define CONSIGN_UI_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/install.h"

struct consign_ui {
    /* One line of input without its newline, or NULL at the end of input.
     * secret: no echo. The buffer is the ui's, valid until the next call;
     * the caller wipes a secret answer after use. NULL ask: never asks. */
    char *(*ask)(void *user, const char *prompt, int secret);
    /* Show a long text (the license), a page at a time on a terminal. */
    void (*page)(void *user, const char *text, size_t len);
    /* A message for the person installing (progress, where things live).
     * NULL: say nothing. */
    void (*say)(void *user, const char *msg);
    void *user;
};

/* The terminal: stdin and stdout. quiet: say nothing (errors go through
 * the context, not here). */
void consign_ui_tty(struct consign_ui *ui, int quiet);

/* printf-style say (bounded to 4 KiB a message). */
void consign_ui_sayf(const struct consign_ui *ui, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ask until yes or no; an empty answer or the end of input gives def. */
int consign_ui_yes_no(const struct consign_ui *ui, const char *prompt, int def);

/* ---- the settings of an install ----------------------------------------- */

/* Ask for what c does not hold yet: the install token (no echo; required
 * or optional; Enter keeps cur's), the proxy when want_proxy (none, a PAC
 * URL, or host, port, user and password), and auto-update when want_auto
 * (default yes). Invalid answers are asked again. */
int consign_answers_prompt(struct consign_ctx *ctx, const struct consign_ui *ui, int token_required,
                           int want_proxy, int want_auto, const struct consign_conf *cur,
                           struct consign_conf *c);

/* A response file: key=value lines with the settings keys and accept_eula
 * (bounded, 64 KiB). *accept is set from accept_eula. */
int consign_answers_read(struct consign_ctx *ctx, const char *path, struct consign_conf *c,
                         int *accept);
/* Write the answers (secrets included) as a response file, mode 0600. */
int consign_answers_save(struct consign_ctx *ctx, const char *path, const struct consign_conf *c);
/* Set key from the first line of a secret file (0600, not a link). */
int consign_answers_from_file(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                              const char *path);
/* Set key from the environment variable var when it is set. */
int consign_answers_from_env(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                             const char *var);
/* "NAME_SUFFIX" in upper case with - . + as _ (example-agent, TOKEN:
 * EXAMPLE_AGENT_TOKEN). Caller frees. */
char *consign_answers_env_name(const char *name, const char *suffix);

#endif

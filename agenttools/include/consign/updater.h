/* consign updater: an installed agent updates itself (NAME-update).
 *
 * For installs made by the .bin or the bootstrap (package installs update
 * through apt and yum). Trust comes from two places: the TUF repository
 * named in /opt/NAME/lib/consign/update.conf, whose root.json sits beside
 * it and whose refreshed metadata lives in /var/opt/NAME/update/metadata
 * (shared with the bootstrap), and the .bin's own OpenPGP signature by a key
 * the install trusts (conf/trusted-keys, or a signer update.conf names).
 *
 * An update: refresh the metadata, pick the newest release of the channel,
 * decide (newer? failed before? too old for it? this agent's rollout
 * bucket included?), download and check it, install it beside the running
 * version through the install core (one `current` switch), then keep it on
 * probation: the product's health check must answer 2xx within the
 * probation time, or the updater switches back to the previous version by
 * itself, records why and skips that version until a newer one appears. A
 * kill at any moment leaves the old or the new version running; a kill
 * during probation is settled by the next run.
 *
 * State: /var/opt/NAME/update/state (key=value, written atomically). The
 * library never prints; it logs through the context. */
#ifndef CONSIGN_UPDATER_H
#define CONSIGN_UPDATER_H

#include "consign/buf.h"
#include "consign/error.h"

struct consign_updater_opts {
    const char *root;      /* NULL: the real system */
    const char *name;      /* the product */
    const char *ca_bundle; /* an extra CA bundle for the repository, or NULL */
    /* How to restart the agent after a switch when no service manager is
     * used (a sandbox root, a container): run by /bin/sh -c. NULL: the
     * service manager on the real system, nothing in a sandbox. */
    const char *restart_command;
    /* The timer's run: nothing at all when auto_update=no, and no request
     * before the time a server's Retry-After (429/503) named. */
    int automatic;
    int ignore_rollout;      /* an explicit `apply --now`: this agent's bucket does not matter */
    unsigned long probation; /* seconds; 0: update.conf's (the product's) */
    int no_delta;            /* always download the full release */
    long long now;           /* 0: time(NULL) */
};

enum consign_update_verdict {
    CONSIGN_UPDATE_DISABLED,   /* automatic and auto_update=no: nothing was checked */
    CONSIGN_UPDATE_UP_TO_DATE, /* nothing newer */
    CONSIGN_UPDATE_AVAILABLE,  /* newer, and for this agent */
    CONSIGN_UPDATE_NOT_YET,    /* newer, but this agent's bucket is outside the rollout */
    CONSIGN_UPDATE_SKIPPED,    /* the newest failed here before */
    CONSIGN_UPDATE_TOO_OLD,    /* the newest needs a newer installed version (min_version) */
    CONSIGN_UPDATE_APPLIED,    /* installed and healthy */
    CONSIGN_UPDATE_DEFERRED,   /* automatic, and the server's Retry-After has not passed */
};

struct consign_update_result {
    enum consign_update_verdict verdict;
    char installed[128]; /* the version before */
    char latest[128];    /* the newest the repository lists ("" when not checked) */
    int rollout;         /* its rollout percentage */
    unsigned bucket;     /* this agent's bucket, 0..99 */
    unsigned long long fetched; /* APPLIED: bytes of the patch or of the full release */
    int delta;                  /* APPLIED through a patch */
};

/* Check only: refresh the metadata and decide; nothing is installed. */
int consign_updater_check(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                          struct consign_update_result *out);
/* Check, and install when AVAILABLE; then probation. CONSIGN_E_UNHEALTHY when
 * the new version failed its health check and the previous one runs again. */
int consign_updater_apply(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                          struct consign_update_result *out);
/* Switch back to the version before the last update and skip the one left. */
int consign_updater_rollback(struct consign_ctx *ctx, const struct consign_updater_opts *o);
/* The state in words, a line per fact (appended to out). */
int consign_updater_status(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                           struct consign_buf *out);

/* This agent's place in a staged rollout: a stable bucket 0..99 from the
 * SHA-256 of "NAME:AGENT_ID", so each agent keeps its place across releases
 * and the share included grows with the percentage. */
unsigned consign_updater_bucket(const char *name, const char *agent_id);
int consign_updater_in_rollout(const char *name, const char *agent_id, int percent);

const char *consign_update_verdict_name(enum consign_update_verdict v);

#endif

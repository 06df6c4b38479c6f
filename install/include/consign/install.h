/* consign install core: installs, upgrades and removes an agent on a target.
 *
 * One library for every route that installs without a package manager: the
 * self-extracting .bin, the bootstrap downloader and the auto-updater. The
 * layout under an install root ROOT ("" or "/" for the real system):
 *
 *   ROOT/opt/NAME/versions/V/      one directory per installed version
 *   ROOT/opt/NAME/current          -> versions/V, switched by one rename
 *   ROOT/opt/NAME/{bin,lib,jre,…}  -> current/… (created once, stable paths)
 *   ROOT/opt/NAME/NAME-config      -> current/bin/NAME-config
 *   ROOT/opt/NAME/NAME-update      -> current/bin/NAME-update
 *   ROOT/opt/NAME/NAME-uninstall   -> current/bin/NAME-uninstall (and ROOT/opt/NAME/uninstall)
 *   ROOT/etc/opt/NAME/…            configuration, kept across upgrades
 *   ROOT/var/opt/NAME/conf/        agent.conf (0640), secrets.conf (0600)
 *   ROOT/var/opt/NAME/logs/        the agent's logs
 *   ROOT/var/opt/NAME/conf/trusted-keys   fingerprints allowed to sign upgrades
 *   ROOT/var/opt/NAME/update/      the updater's TUF metadata, downloads, state
 *
 * An install or upgrade extracts the payload (a tar stream) into a staging
 * directory beside the versions, fsyncs it, renames it into versions/V and
 * switches `current` last: a kill at any moment leaves the previous version
 * runnable. The library never prints; it logs through the context. */
#ifndef CONSIGN_INSTALL_H
#define CONSIGN_INSTALL_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_NAME_MAX    64
#define CONSIGN_VERSION_MAX 128

/* --- settings: ROOT/var/opt/NAME/conf/{agent,secrets}.conf --------------- */

struct consign_conf_item {
    char *key;
    char *value;
};

/* Key/value settings as the agent reads them ("key=value" lines). */
struct consign_conf {
    struct consign_conf_item *items;
    size_t n, cap;
};

/* Is this key kept in secrets.conf (0600) and masked when shown? */
int consign_conf_is_secret(const char *key);
/* Is this a key consign knows (token, proxy_*, auto_update, channel, …)? */
int consign_conf_is_known(const char *key);
/* Check a value for its key: port range, URL syntax, yes/no, no newlines. */
int consign_conf_validate(struct consign_ctx *ctx, const char *key, const char *value);
/* The value or NULL (borrowed). */
const char *consign_conf_get(const struct consign_conf *c, const char *key);
/* Set (value not NULL, validated) or remove (value NULL) a key. */
int consign_conf_set(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                     const char *value);
/* In settings given to consign_install_commit: key is to be removed from
 * the installed settings (stored as an empty value, which commit reads as
 * "remove"). */
int consign_conf_set_removal(struct consign_ctx *ctx, struct consign_conf *c, const char *key);
/* Read both files of confdir (missing files are empty); bounded (64 KiB). */
int consign_conf_load(struct consign_ctx *ctx, const char *confdir, struct consign_conf *out);
/* Write both files atomically, each created with its final mode. */
int consign_conf_save(struct consign_ctx *ctx, const char *confdir, const struct consign_conf *c);
/* Give c a random agent_id (128 bits, hex) unless it has one: each
 * install's identity, e.g. its place in a staged rollout. */
int consign_conf_ensure_id(struct consign_ctx *ctx, struct consign_conf *c);
/* Wipes secret values, frees everything; the struct may be reused. Accepts NULL. */
void consign_conf_free(struct consign_conf *c);

/* --- install, upgrade, uninstall ----------------------------------------- */

struct consign_install_opts {
    const char *root;               /* "" or NULL: the real system */
    const char *name;               /* product name: [a-z0-9][a-z0-9.+-]* */
    const char *version;            /* "1.0.0-1": the directory under versions/ */
    const char *signer_fpr;         /* 40 hex: recorded as trusted after install; may be NULL */
    int no_service;                 /* do not touch the service manager (forced under a root) */
    unsigned long long max_bytes;   /* payload limit (sum of file sizes); 0: no limit */
    unsigned long long max_entries; /* payload limit (entries); 0: no limit */
    int no_wait; /* another install holds the lock: CONSIGN_E_LOCKED instead of waiting */
};

struct consign_install;

/* What is installed under root now. */
struct consign_installed {
    int present;                       /* a consign-managed install exists */
    int foreign;                       /* /opt/NAME exists but is not ours (a package install) */
    char version[CONSIGN_VERSION_MAX]; /* the version `current` points to */
};
int consign_install_query(struct consign_ctx *ctx, const char *root, const char *name,
                          struct consign_installed *out);

/* Is fpr (40 hex) in ROOT/var/opt/NAME/conf/trusted-keys? 1 yes, 0 no. */
int consign_install_trusts(struct consign_ctx *ctx, const char *root, const char *name,
                           const char *fpr);

/* Take the install lock, clean stale staging directories, make a new one.
 * Refuses a foreign install (one made by dpkg or rpm). */
int consign_install_begin(struct consign_ctx *ctx, const struct consign_install_opts *o,
                          struct consign_install **out);
/* Bytes of the payload tar stream, in any chunking. Paths allowed in the
 * payload: opt/NAME/…, etc/opt/NAME/…, lib/systemd/system/NAME.service,
 * etc/init.d/NAME. Anything else is refused. */
int consign_install_feed(struct consign_ctx *ctx, struct consign_install *in, const void *p,
                         size_t n);
/* Add one more file to the new version, under opt/NAME/ (rel is relative to
 * it, e.g. "bin/NAME-installer"), read from fd at offset off for len bytes. */
int consign_install_add_file(struct consign_ctx *ctx, struct consign_install *in, const char *rel,
                             unsigned mode, int fd, unsigned long long off, unsigned long long len);
/* An anonymous file (already unlinked) on the staging file system, for
 * bytes to keep until consign_install_add_file copies them (the .bin's stub,
 * which comes before the payload). The caller closes it. */
int consign_install_tmpfile(struct consign_ctx *ctx, struct consign_install *in, int *fd);
/* Add a symlink under opt/NAME/ in the new version. */
int consign_install_add_symlink(struct consign_ctx *ctx, struct consign_install *in,
                                const char *rel, const char *target);
/* Finish: check the payload ended well, fsync, move the version in place,
 * keep existing configuration, merge settings (NULL: keep what is there) into
 * conf, switch `current`, install the service files, (re)start the service
 * unless no_service, drop versions older than the previous one. */
int consign_install_commit(struct consign_ctx *ctx, struct consign_install *in,
                           const struct consign_conf *settings);
/* Abort when not committed (the staging directory is removed, and so are
 * the directories a first install made, so the root is as it was), unlock,
 * free. */
void consign_install_free(struct consign_install *in);

/* Point `current` at versions/VERSION (already installed: the one before
 * an update, kept for this) with one rename, under the install lock, then
 * restart the service unless no_service or root is a sandbox. The
 * updater's rollback. */
int consign_install_switch(struct consign_ctx *ctx, const char *root, const char *name,
                           const char *version, int no_service);
/* Restart the service (the real system only; nothing in a sandbox). */
void consign_install_restart(struct consign_ctx *ctx, const char *root, const char *name);
/* Enable or disable the updater's timer as the auto_update setting says
 * (systemd on the real system only; nothing otherwise). */
void consign_install_service_apply(struct consign_ctx *ctx, const char *root, const char *name);

/* Stop and disable the service, remove /opt/NAME and the service files; with
 * purge also /etc/opt/NAME and /var/opt/NAME. no_service as above. */
int consign_uninstall(struct consign_ctx *ctx, const char *root, const char *name, int purge,
                      int no_service);

/* A product name as the layout accepts it. */
int consign_install_name_ok(const char *name);

#endif

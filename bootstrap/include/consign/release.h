/* consign release: find and fetch a product's newest release from a TUF
 * repository (docs/consign-update.md), for the bootstrap downloader and the
 * auto-updater.
 *
 * The repository lists each release as the target
 * NAME/VERSION/linux-ARCH/FILE with the custom fields version, channel,
 * rollout and min_version. A release client refreshes the trusted metadata
 * (the TUF client workflow over consign_net, metadata persisted in
 * metadata_dir), picks the newest version for one name, channel and
 * architecture, and downloads it to a file: Range resume, retries, the next
 * mirror when one fails or serves bytes that do not match the signed length
 * and hashes. */
#ifndef CONSIGN_RELEASE_H
#define CONSIGN_RELEASE_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/install.h"
#include "consign/net.h"
#include "consign/tuf.h"

/* The architecture this program was built for, as targets name it
 * ("amd64", "arm64"). */
const char *consign_release_host_arch(void);

struct consign_release_opts {
    /* Trusted metadata. When it holds no root.json yet, root_json (the
     * embedded trust anchor) is written there first. */
    const char *metadata_dir;
    const char *root_json;
    size_t root_json_len;
    const char *const *urls; /* TUF repository base URLs: URL/metadata/, URL/targets/ */
    size_t n_urls;
    struct consign_net *net; /* borrowed */
    const char *name, *channel, *arch;
    long long now; /* the update's fixed start time; 0: time(NULL) */
};

struct consign_release {
    const struct consign_tuf_target *target; /* borrowed from the client */
    char *version;
    char *min_version; /* NULL when not listed */
    int rollout;       /* 0..100; 100 when not listed */
};

struct consign_release_client;

int consign_release_client_new(struct consign_ctx *ctx, const struct consign_release_opts *o,
                               struct consign_release_client **out);
void consign_release_client_free(struct consign_release_client *c);

/* Refresh the metadata and pick the newest release of the options' name,
 * channel and architecture (Debian version order). CONSIGN_E_NOTFOUND when
 * the repository lists none. out is valid until the client is freed;
 * release it with consign_release_clear. */
int consign_release_latest(struct consign_ctx *ctx, struct consign_release_client *c,
                           struct consign_release *out);
void consign_release_clear(struct consign_release *r);

/* Download r's file to dest (through dest.part, resumed when present),
 * checked against the signed length and hashes before dest appears. */
int consign_release_download(struct consign_ctx *ctx, struct consign_release_client *c,
                             const struct consign_release *r, const char *dest,
                             void (*progress)(void *user, unsigned long long done,
                                              unsigned long long total),
                             void *progress_user);

/* A delta to a release (consign/delta.h): a target NAME/V/linux-ARCH/FILE
 * whose custom fields hold a "patch" object. The strings are copies; target
 * is borrowed from the client. */
struct consign_release_patch {
    const struct consign_tuf_target *target;
    char from_version[128], from_sha256[65], sha256[65], install_version[128], signer[41];
    unsigned long long from_length, length;
};
/* After consign_release_latest: the patch to r from the base whose payload
 * tar has this SHA-256 (64 lower-case hex), or CONSIGN_E_NOTFOUND. Download
 * it with consign_release_download on a struct consign_release whose target
 * is out->target. Patch targets are never picked as a release. */
int consign_release_find_patch(struct consign_ctx *ctx, struct consign_release_client *c,
                               const struct consign_release *r, const char *from_sha256,
                               struct consign_release_patch *out);

/* The network handle for a product's repository, from the settings an
 * install keeps (consign/install.h keys): proxy_pac_url (the PAC file is
 * fetched, evaluated for the first URL, and its first PROXY or DIRECT
 * used), else proxy_host/proxy_port, with proxy_user/proxy_password for
 * either; else the environment's https_proxy unless no_proxy is set. */
struct consign_release_net {
    const char *ca_bundle;   /* an extra CA bundle for the repository, or NULL */
    const char *const *urls; /* the repository URLs (http:// allowed only if listed) */
    size_t n_urls;
    const char *pin; /* the servers' public key pin, or NULL */
    int no_proxy;    /* no proxy at all, whatever the environment says */
};
int consign_release_net_new(struct consign_ctx *ctx, const struct consign_release_net *o,
                            const struct consign_conf *settings, struct consign_net **out);

/* Only one install, bootstrap or update of a product at a time: an
 * exclusive flock on UPDIR/.lock (UPDIR = /var/opt/NAME/update), made
 * 0755/0600 if missing. CONSIGN_E_LOCKED when it is still held after
 * wait_s seconds. */
int consign_release_lock(struct consign_ctx *ctx, const char *updir, unsigned wait_s,
                         int *fd_out);

#endif

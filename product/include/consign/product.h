/* consign product: the declarative product file (YAML) that describes an
 * agent, its bundled runtime, its service and its settings.
 *
 * Parsing is bounded (1 MiB, nesting depth 32, no aliases) and every error
 * names file, line and field: "product.yaml:12: service.restart: expected one
 * of always, on-failure, no". The reference is docs/product-file.md. */
#ifndef CONSIGN_PRODUCT_H
#define CONSIGN_PRODUCT_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_PRODUCT_FORMAT    1
#define CONSIGN_PRODUCT_MAX_BYTES (1024 * 1024)

enum consign_arch {
    CONSIGN_ARCH_AMD64, /* rpm: x86_64 */
    CONSIGN_ARCH_ARM64, /* rpm: aarch64 */
    CONSIGN_ARCH_ALL,   /* rpm: noarch */
};

enum consign_restart {
    CONSIGN_RESTART_ON_FAILURE,
    CONSIGN_RESTART_ALWAYS,
    CONSIGN_RESTART_NO,
};

enum consign_token_policy {
    CONSIGN_TOKEN_REQUIRED,
    CONSIGN_TOKEN_OPTIONAL,
    CONSIGN_TOKEN_NONE,
};

/* One entry of a package's file list: a file or a directory tree. */
struct consign_file_spec {
    char *src;   /* as resolved: ${VAR} expanded, relative to the product file's directory */
    char *dst;   /* absolute, normalised path on the target */
    int mode;    /* permission bits, or -1 to keep the source's */
    int config;  /* a configuration file the customer may edit (conffile, %config(noreplace)) */
    size_t line; /* where it was declared */
};

struct consign_package_spec {
    char *name;    /* package name */
    char *summary; /* one line */
    struct consign_file_spec *files;
    size_t nfiles;
};

struct consign_product {
    char *path;    /* the product file as given */
    char *basedir; /* its directory: relative paths resolve against it */

    char *name;
    char *version;
    char *release;
    unsigned long epoch;
    int has_epoch;
    char *summary;
    char *description;
    char *vendor;
    char *maintainer;
    char *homepage;
    char *license;
    char *eula; /* resolved path, or NULL */
    char *section;
    char *group;
    enum consign_arch arch;

    struct consign_package_spec agent;   /* package `name` */
    struct consign_package_spec runtime; /* its own package, `runtime.package` */

    struct {
        char *name; /* systemd unit / init script name */
        char **exec;
        size_t nexec;
        char *user;
        char *group;
        enum consign_restart restart;
        unsigned long restart_sec;
        unsigned long stop_timeout_sec;
        char *options_file; /* runtime options, one per line */
        char *description;
        /* Health check an updated version must pass while on probation:
         * an http:// URL on the loopback answering 2xx, or NULL (then the
         * service manager's "running" is the check). */
        char *health_url;
        unsigned long probation_sec; /* how long a new version has to pass it */
    } service;

    struct {
        enum consign_token_policy token;
        int proxy;
        int auto_update;
    } settings;

    struct {
        char **urls; /* first is primary, the rest mirrors */
        size_t nurls;
        char *channel;
    } dist;
};

/* Lookup for ${VAR} in src paths: return the value or NULL. */
typedef const char *(*consign_product_var_fn)(void *user, const char *name);

/* Parse a product file already in memory. name is used in messages.
 * vars may be NULL: ${VAR} is then looked up in the environment. */
int consign_product_parse(struct consign_ctx *ctx, const char *name, const char *data, size_t len,
                          consign_product_var_fn vars, void *vars_user,
                          struct consign_product **out);

/* Read (at most CONSIGN_PRODUCT_MAX_BYTES) and parse a product file. */
int consign_product_load(struct consign_ctx *ctx, const char *path, consign_product_var_fn vars,
                         void *vars_user, struct consign_product **out);

/* Check that every src and the EULA exist with the right type. */
int consign_product_check_files(struct consign_ctx *ctx, const struct consign_product *p);

void consign_product_free(struct consign_product *p);

/* The launch file the on-target launcher reads (docs/launcher.md), written
 * to /opt/NAME/lib/consign/launch.conf by packages and installers. Appends to out. */
struct consign_buf;
int consign_product_launch_conf(struct consign_ctx *ctx, const struct consign_product *p,
                                struct consign_buf *out);

/* Lay the product out under root as an install would, without a service:
 * every file entry, the launch file, the launcher (copied from launcher_path)
 * as /opt/NAME/bin/NAME-launch, and /var/opt/NAME/{conf,logs} (0750). */
int consign_product_stage(struct consign_ctx *ctx, const struct consign_product *p,
                          const char *root, const char *launcher_path);

const char *consign_arch_deb(enum consign_arch a);
const char *consign_arch_rpm(enum consign_arch a);
const char *consign_restart_name(enum consign_restart r);
const char *consign_token_policy_name(enum consign_token_policy t);

#endif

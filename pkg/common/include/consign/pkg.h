/* consign pkg: the package model shared by the .deb and .rpm writers.
 *
 * From a product, consign_pkg_new() builds one package (the agent's or the
 * runtime's): its metadata, a sorted list of entries (directories, files,
 * symlinks) with modes, sizes, clamped mtimes and digests, the generated files
 * (launch file, launcher, systemd unit, SysV init script, docs), and the
 * maintainer scripts. The writers only serialise this model, so both formats
 * carry the same files and behave the same. */
#ifndef CONSIGN_PKG_H
#define CONSIGN_PKG_H

#include <stddef.h>
#include <time.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/product.h"

enum consign_pkg_format {
    CONSIGN_PKG_DEB,
    CONSIGN_PKG_RPM,
};

enum consign_pkg_kind {
    CONSIGN_PKG_AGENT,
    CONSIGN_PKG_RUNTIME,
};

enum consign_pkg_compress {
    CONSIGN_COMPRESS_XZ,   /* default: dpkg of every supported release, RHEL 7's rpm */
    CONSIGN_COMPRESS_ZSTD, /* dpkg >= 1.21.18, rpm >= 4.14 */
};

enum consign_pkg_entry_type {
    CONSIGN_PKG_DIR,
    CONSIGN_PKG_FILE,
    CONSIGN_PKG_SYMLINK,
};

struct consign_pkg_entry {
    char *path; /* absolute target path, normalised ("/opt/x/lib/agent.jar") */
    enum consign_pkg_entry_type type;
    unsigned mode;            /* permission bits only (07777) */
    unsigned long long size;  /* FILE: bytes; SYMLINK: length of link */
    time_t mtime;             /* clamped to SOURCE_DATE_EPOCH when set */
    char *src;                /* FILE: file on the build host, or NULL when data is set */
    unsigned char *data;      /* FILE: generated content (owned) */
    char *link;               /* SYMLINK: target */
    int config;               /* conffile / %config(noreplace) */
    int owned;                /* DIR: this package owns it (rpm lists only owned dirs) */
    unsigned char md5[16];    /* FILE: filled by consign_pkg_digest */
    unsigned char sha256[32]; /* FILE: filled by consign_pkg_digest */
};

struct consign_pkg_script {
    const char *name; /* deb: "postinst", "prerm", "postrm"; rpm: "post", "preun", "postun" */
    char *text;       /* complete POSIX sh script ("#!/bin/sh" first for deb; body for rpm) */
};

struct consign_pkg_opts {
    enum consign_pkg_format format;
    enum consign_pkg_kind kind;
    enum consign_pkg_compress compress;
    const char *launcher_path; /* agent only: the static launcher to ship as NAME-launch */
    /* agent only: the static agent tool: for a .bin consign-target, shipped
     * as /opt/NAME/bin/consign-target with bin/NAME-config, NAME-update and
     * NAME-uninstall; for a package consign-config (NAME-config only),
     * shipped as bin/consign-config with bin/NAME-config and
     * /opt/NAME/NAME-config. NULL: none. */
    const char *tool_path;
    int installer; /* the payload of a .bin, not a .deb or .rpm */
    /* installer only: the updater's configuration and TUF root
     * (/opt/NAME/lib/consign/update.conf, root.json) and its systemd timer;
     * NULL: an install that does not update itself. */
    const char *update_conf;
    size_t update_conf_len;
    const char *update_root;
    size_t update_root_len;
};

struct consign_pkg {
    const struct consign_product *product; /* borrowed; must outlive the package */
    struct consign_pkg_opts opts;

    const char *name;    /* borrowed from product: agent or runtime package name */
    const char *summary; /* borrowed */
    char *evr;           /* "[E:]V-R" as dpkg writes it; rpm uses the parts */
    const char *arch;    /* deb or rpm architecture name, by format */
    char *depends_name;  /* agent: the runtime package, NULL otherwise */
    time_t build_time;   /* SOURCE_DATE_EPOCH, else now */
    int reproducible;    /* SOURCE_DATE_EPOCH was set */

    struct consign_pkg_entry *entries; /* sorted by path (bytewise) */
    size_t nentries;
    unsigned long long installed_size; /* bytes of files and symlinks */

    struct consign_pkg_script *scripts;
    size_t nscripts;
};

/* Build the model of one package. Reads SOURCE_DATE_EPOCH from the environment.
 * Refuses two entries with the same path, non-regular non-directory sources,
 * and paths outside what the package may own (see docs/packages.md). */
int consign_pkg_new(struct consign_ctx *ctx, const struct consign_product *product,
                    const struct consign_pkg_opts *opts, struct consign_pkg **out);
void consign_pkg_free(struct consign_pkg *pkg);

/* MD5 and SHA-256 of every file, one streaming read per file. */
int consign_pkg_digest(struct consign_ctx *ctx, struct consign_pkg *pkg);

/* Stream one FILE entry's bytes (from src or data) to fn. */
int consign_pkg_entry_stream(struct consign_ctx *ctx, const struct consign_pkg_entry *e,
                             consign_block_fn fn, void *user);

/* The script called name, or NULL. */
const struct consign_pkg_script *consign_pkg_script_get(const struct consign_pkg *pkg,
                                                        const char *name);

/* Write a finished package atomically: data goes to a temporary file in dir,
 * which is renamed to dir/filename only when complete. On failure nothing is
 * left in dir. writer fills the temporary fd. */
typedef consign_file_writer_fn consign_pkg_writer_fn;
int consign_pkg_write_file(struct consign_ctx *ctx, const char *dir, const char *filename,
                           consign_pkg_writer_fn writer, void *user);

/* Conventional file names: NAME_[E%3A]V-R_ARCH.deb (dpkg writes the epoch's ':'
 * as %3A in pool names; we leave the epoch out as dpkg-deb does), and
 * NAME-V-R.ARCH.rpm. Owned by the caller. */
char *consign_pkg_filename(struct consign_ctx *ctx, const struct consign_pkg *pkg);

#endif

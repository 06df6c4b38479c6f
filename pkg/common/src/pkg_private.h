/* Private to pkg/common: the generated texts (service files, scripts, docs). */
#ifndef CONSIGN_PKG_PRIVATE_H
#define CONSIGN_PKG_PRIVATE_H

#include "consign/pkg.h"

/* Paths of the generated files, by format. */
const char *consign__pkg_unit_dir(enum consign_pkg_format f);
const char *consign__pkg_initd_dir(enum consign_pkg_format f);

int consign__pkg_unit_text(struct consign_ctx *ctx, const struct consign_product *p,
                           struct consign_buf *out);
int consign__pkg_update_unit_text(struct consign_ctx *ctx, const struct consign_product *p,
                                  struct consign_buf *out);
int consign__pkg_update_timer_text(struct consign_ctx *ctx, const struct consign_product *p,
                                   struct consign_buf *out);
int consign__pkg_logrotate_text(struct consign_ctx *ctx, const struct consign_product *p,
                                struct consign_buf *out);
int consign__pkg_initscript_text(struct consign_ctx *ctx, const struct consign_product *p,
                                 struct consign_buf *out);
/* Fills pkg->scripts for the agent package (the runtime has none). */
int consign__pkg_make_scripts(struct consign_ctx *ctx, struct consign_pkg *pkg);
int consign__pkg_copyright_text(struct consign_ctx *ctx, const struct consign_pkg *pkg,
                                struct consign_buf *out);
int consign__pkg_changelog_text(struct consign_ctx *ctx, const struct consign_pkg *pkg,
                                struct consign_buf *out);
int consign__pkg_lintian_overrides(struct consign_ctx *ctx, const struct consign_pkg *pkg,
                                   struct consign_buf *out);
/* gzip -9n of data (no name, no timestamp): deterministic. */
int consign__pkg_gzip(struct consign_ctx *ctx, const void *data, size_t len,
                      struct consign_buf *out);

#endif

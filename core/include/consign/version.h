/* Version order, libc only: the repositories sort packages with it, the
 * bootstrap and the updater pick the newest release with it. */
#ifndef CONSIGN_VERSION_H
#define CONSIGN_VERSION_H

/* Debian version order (deb-version(7)): <0, 0, >0. */
int consign_deb_vercmp(const char *a, const char *b);
/* Is v a well-formed Debian version ([epoch:]upstream[-revision])? */
int consign_deb_version_ok(const char *v);

#endif

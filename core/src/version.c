/* Debian version ordering (deb-version(7)): epoch numerically, then the
 * upstream version and the revision, each compared in alternating runs of
 * non-digits (letters before other characters, '~' before everything, even
 * the end) and digits (numerically). Written from the manual page. */
#include <ctype.h>
#include <string.h>

#include "consign/version.h"

static int
order(int c)
{
    if (isdigit(c))
        return 0;
    if (isalpha(c))
        return c;
    if (c == '~')
        return -1;
    if (c)
        return c + 256;
    return 0;
}

/* Compare two version fragments of lengths la and lb. */
static int
frag_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    size_t i = 0, j = 0;

    while (i < la || j < lb) {
        int diff = 0;
        while ((i < la && !isdigit((unsigned char)a[i])) ||
               (j < lb && !isdigit((unsigned char)b[j]))) {
            int ca = i < la ? order((unsigned char)a[i]) : 0;
            int cb = j < lb ? order((unsigned char)b[j]) : 0;
            if (ca != cb)
                return ca < cb ? -1 : 1;
            i++;
            j++;
        }
        while (i < la && a[i] == '0')
            i++;
        while (j < lb && b[j] == '0')
            j++;
        while (i < la && isdigit((unsigned char)a[i]) && j < lb && isdigit((unsigned char)b[j])) {
            if (!diff)
                diff = a[i] - b[j];
            i++;
            j++;
        }
        if (i < la && isdigit((unsigned char)a[i]))
            return 1;
        if (j < lb && isdigit((unsigned char)b[j]))
            return -1;
        if (diff)
            return diff < 0 ? -1 : 1;
    }
    return 0;
}

struct dver {
    unsigned long long epoch;
    const char *up;
    size_t uplen;
    const char *rev;
    size_t revlen;
};

static void
split(const char *v, struct dver *d)
{
    const char *colon = strchr(v, ':'), *dash;

    d->epoch = 0;
    if (colon) {
        for (const char *p = v; p < colon; p++) {
            if (!isdigit((unsigned char)*p) || d->epoch > 100000000ULL)
                break;
            d->epoch = d->epoch * 10 + (unsigned)(*p - '0');
        }
        v = colon + 1;
    }
    dash = strrchr(v, '-');
    d->up = v;
    if (dash) {
        d->uplen = (size_t)(dash - v);
        d->rev = dash + 1;
        d->revlen = strlen(dash + 1);
    } else {
        d->uplen = strlen(v);
        d->rev = "";
        d->revlen = 0;
    }
}

int
consign_deb_vercmp(const char *a, const char *b)
{
    struct dver x, y;
    int c;

    split(a, &x);
    split(b, &y);
    if (x.epoch != y.epoch)
        return x.epoch < y.epoch ? -1 : 1;
    if ((c = frag_cmp(x.up, x.uplen, y.up, y.uplen)))
        return c;
    return frag_cmp(x.rev, x.revlen, y.rev, y.revlen);
}

int
consign_deb_version_ok(const char *v)
{
    const char *colon = strchr(v, ':'), *p;

    if (!v[0])
        return 0;
    if (colon) {
        if (colon == v)
            return 0;
        for (p = v; p < colon; p++)
            if (!isdigit((unsigned char)*p))
                return 0;
        v = colon + 1;
    }
    if (!isdigit((unsigned char)v[0]))
        return 0;
    for (p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".+~-:", *p))
            return 0;
    return 1;
}

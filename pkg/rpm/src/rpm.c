/* consign rpm: lead, signature header, main header and payload of a v4 rpm.
 *
 * The payload is written first (the main header holds its digest), then the
 * main header, then the signature header over both; the file is assembled
 * from the three and the payload's temporary file. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/hash.h"
#include "consign/keys.h"
#include "consign/rpm.h"
#include "rpm_header.h"
#include "rpm_private.h"

/* Signature header tags (rpm's include/rpm/rpmtag.h). */
enum {
    SIG_DSA = 267, /* header-only signature, non-RSA keys */
    SIG_RSA = 268, /* header-only signature, RSA keys */
    SIG_SHA1 = 269,
    SIG_SHA256 = 273,
    SIG_SIZE = 1000, /* header + payload */
    SIG_PGP = 1002,  /* header+payload signature, RSA keys */
    SIG_MD5 = 1004,  /* header + payload */
    SIG_PAYLOADSIZE = 1007,
};

/* Main header tags. */
enum {
    TAG_I18NTABLE = 100,
    TAG_NAME = 1000,
    TAG_VERSION = 1001,
    TAG_RELEASE = 1002,
    TAG_EPOCH = 1003,
    TAG_SUMMARY = 1004,
    TAG_DESCRIPTION = 1005,
    TAG_BUILDTIME = 1006,
    TAG_BUILDHOST = 1007,
    TAG_SIZE = 1009,
    TAG_VENDOR = 1011,
    TAG_LICENSE = 1014,
    TAG_PACKAGER = 1015,
    TAG_GROUP = 1016,
    TAG_URL = 1020,
    TAG_OS = 1021,
    TAG_ARCH = 1022,
    TAG_FILESIZES = 1028,
    TAG_FILEMODES = 1030,
    TAG_FILERDEVS = 1033,
    TAG_FILEMTIMES = 1034,
    TAG_FILEDIGESTS = 1035,
    TAG_FILELINKTOS = 1036,
    TAG_FILEFLAGS = 1037,
    TAG_FILEUSERNAME = 1039,
    TAG_FILEGROUPNAME = 1040,
    TAG_SOURCERPM = 1044,
    TAG_FILEVERIFYFLAGS = 1045,
    TAG_PROVIDENAME = 1047,
    TAG_REQUIREFLAGS = 1048,
    TAG_REQUIRENAME = 1049,
    TAG_REQUIREVERSION = 1050,
    TAG_CHANGELOGTIME = 1080,
    TAG_CHANGELOGNAME = 1081,
    TAG_CHANGELOGTEXT = 1082,
    TAG_FILEDEVICES = 1095,
    TAG_FILEINODES = 1096,
    TAG_FILELANGS = 1097,
    TAG_PROVIDEFLAGS = 1112,
    TAG_PROVIDEVERSION = 1113,
    TAG_DIRINDEXES = 1116,
    TAG_BASENAMES = 1117,
    TAG_DIRNAMES = 1118,
    TAG_PAYLOADFORMAT = 1124,
    TAG_PAYLOADCOMPRESSOR = 1125,
    TAG_PAYLOADFLAGS = 1126,
    TAG_FILEDIGESTALGO = 5011,
    TAG_PAYLOADDIGEST = 5092,
    TAG_PAYLOADDIGESTALGO = 5093,
};

/* Dependency flags (rpm's rpmds.h). */
#define SENSE_EQUAL         (1u << 3)
#define SENSE_LESS          (1u << 1)
#define SENSE_INTERP        (1u << 8)
#define SENSE_SCRIPT_PRE    (1u << 9)
#define SENSE_SCRIPT_POST   (1u << 10)
#define SENSE_SCRIPT_PREUN  (1u << 11)
#define SENSE_SCRIPT_POSTUN (1u << 12)
#define SENSE_RPMLIB        (1u << 24)
#define SENSE_CONFIG        (1u << 28)

#define FILE_CONFIG     (1u << 0)
#define FILE_NOREPLACE  (1u << 4)
#define HASHALGO_SHA256 8
#define DIR_SIZE        4096 /* what rpmbuild records for a directory */
#define LEAD_SIZE       96
#define MAX_REQS        16
#define SIG_MAX         (64u << 10)

/* One scriptlet slot: the model's script name and its tags. */
static const struct {
    const char *name;
    uint32_t tag, prog_tag, sense;
} scriptlets[] = {
    {"pre", 1023, 1085, SENSE_SCRIPT_PRE},
    {"post", 1024, 1086, SENSE_SCRIPT_POST},
    {"preun", 1025, 1087, SENSE_SCRIPT_PREUN},
    {"postun", 1026, 1088, SENSE_SCRIPT_POSTUN},
};

struct dep {
    const char *name;
    uint32_t flags;
    const char *version;
};

/* Everything one package's file is made of. */
struct rpm_file {
    struct consign_pkg *pkg;
    struct consign__rpm_payload payload;
    struct consign_buf header; /* the main header */
    struct consign_buf sig;    /* the signature header, padded to 8 bytes */
    unsigned char lead[LEAD_SIZE];
};

/* A directory part of a path ("/opt/x/"), for DIRNAMES. */
struct dirslice {
    const char *p;
    size_t n;
};

static int
cmp_dirslice(const void *a, const void *b)
{
    const struct dirslice *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int
cmp_dep(const void *a, const void *b)
{
    const struct dep *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->version, y->version);
}

static const char *
isa_suffix(const char *arch)
{
    if (strcmp(arch, "x86_64") == 0)
        return "(x86-64)";
    if (strcmp(arch, "aarch64") == 0)
        return "(aarch-64)";
    return NULL;
}

/* rpm's arch numbers from rpmrc, used only by the lead (and file(1)). */
static unsigned
lead_archnum(const char *arch)
{
    return strcmp(arch, "aarch64") == 0 ? 19 : 1;
}

static int
put_str(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag, const char *s)
{
    return consign__rpm_hdr_string(ctx, h, tag, s);
}

/* DIRNAMES, DIRINDEXES and BASENAMES: the compressed file list. */
static int
put_names(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg)
{
    struct consign__rpm_array dn, di, bn;
    struct dirslice *dirs = NULL, key;
    size_t i, n = 0, ndirs = 0;
    char *name = NULL;
    int rc = 0;

    consign__rpm_array_init(&dn, CONSIGN_RPM_STRING_ARRAY);
    consign__rpm_array_init(&di, CONSIGN_RPM_INT32);
    consign__rpm_array_init(&bn, CONSIGN_RPM_STRING_ARRAY);
    if (!(dirs = consign_calloc(ctx, pkg->nentries ? pkg->nentries : 1, sizeof(*dirs)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < pkg->nentries; i++) {
        const char *p = pkg->entries[i].path;
        if (!consign__rpm_listed(&pkg->entries[i]))
            continue;
        dirs[n].p = p;
        dirs[n].n = (size_t)(strrchr(p, '/') - p) + 1;
        n++;
    }
    qsort(dirs, n, sizeof(*dirs), cmp_dirslice);
    for (i = 0; i < n; i++)
        if (ndirs == 0 || cmp_dirslice(&dirs[ndirs - 1], &dirs[i]) != 0)
            dirs[ndirs++] = dirs[i];
    for (i = 0; i < ndirs; i++) {
        free(name);
        if (!(name = consign_strndup(ctx, dirs[i].p, dirs[i].n)) ||
            (rc = consign__rpm_array_str(ctx, &dn, name))) {
            rc = rc ? rc : CONSIGN_E_NOMEM;
            goto out;
        }
    }
    for (i = 0; i < pkg->nentries; i++) {
        const char *p = pkg->entries[i].path;
        const struct dirslice *found;
        if (!consign__rpm_listed(&pkg->entries[i]))
            continue;
        key.p = p;
        key.n = (size_t)(strrchr(p, '/') - p) + 1;
        found = bsearch(&key, dirs, ndirs, sizeof(*dirs), cmp_dirslice);
        if ((rc = consign__rpm_array_u32(ctx, &di, (uint32_t)(found - dirs))) ||
            (rc = consign__rpm_array_str(ctx, &bn, p + key.n)))
            goto out;
    }
    if ((rc = consign__rpm_hdr_array(ctx, h, TAG_DIRINDEXES, &di)) ||
        (rc = consign__rpm_hdr_array(ctx, h, TAG_BASENAMES, &bn)) ||
        (rc = consign__rpm_hdr_array(ctx, h, TAG_DIRNAMES, &dn)))
        goto out;
out:
    consign__rpm_array_free(&dn);
    consign__rpm_array_free(&di);
    consign__rpm_array_free(&bn);
    free(dirs);
    free(name);
    return rc;
}

/* The per-file arrays, one value per listed entry in the package's order. */
static int
put_files(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg,
          unsigned long long *total)
{
    enum {
        SIZES,
        MODES,
        RDEVS,
        MTIMES,
        DIGESTS,
        LINKTOS,
        FLAGS,
        USERS,
        GROUPS,
        VERIFY,
        DEVICES,
        INODES,
        LANGS,
        NARRAYS
    };
    static const struct {
        uint32_t tag;
        enum consign__rpm_type type;
    } arrays[NARRAYS] = {
        {TAG_FILESIZES, CONSIGN_RPM_INT32},
        {TAG_FILEMODES, CONSIGN_RPM_INT16},
        {TAG_FILERDEVS, CONSIGN_RPM_INT16},
        {TAG_FILEMTIMES, CONSIGN_RPM_INT32},
        {TAG_FILEDIGESTS, CONSIGN_RPM_STRING_ARRAY},
        {TAG_FILELINKTOS, CONSIGN_RPM_STRING_ARRAY},
        {TAG_FILEFLAGS, CONSIGN_RPM_INT32},
        {TAG_FILEUSERNAME, CONSIGN_RPM_STRING_ARRAY},
        {TAG_FILEGROUPNAME, CONSIGN_RPM_STRING_ARRAY},
        {TAG_FILEVERIFYFLAGS, CONSIGN_RPM_INT32},
        {TAG_FILEDEVICES, CONSIGN_RPM_INT32},
        {TAG_FILEINODES, CONSIGN_RPM_INT32},
        {TAG_FILELANGS, CONSIGN_RPM_STRING_ARRAY},
    };
    struct consign__rpm_array a[NARRAYS];
    char hex[2 * 32 + 1];
    uint32_t ino = 0;
    size_t i, k;
    int rc = 0;

    *total = 0;
    for (k = 0; k < NARRAYS; k++)
        consign__rpm_array_init(&a[k], arrays[k].type);
    for (i = 0; i < pkg->nentries; i++) {
        const struct consign_pkg_entry *e = &pkg->entries[i];
        unsigned long long size = e->type == CONSIGN_PKG_DIR ? DIR_SIZE : e->size;
        unsigned type = e->type == CONSIGN_PKG_DIR    ? 0040000
                        : e->type == CONSIGN_PKG_FILE ? 0100000
                                                      : 0120000;
        if (!consign__rpm_listed(e))
            continue;
        /* Larger files need LONGFILESIZES and a 64-bit cpio: not written. */
        if (size > UINT32_MAX) {
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: files of 4 GiB or more are not supported",
                              e->path);
            goto out;
        }
        *total += size;
        hex[0] = '\0';
        if (e->type == CONSIGN_PKG_FILE)
            consign_hex(e->sha256, 32, hex);
        if ((rc = consign__rpm_array_u32(ctx, &a[SIZES], (uint32_t)size)) ||
            (rc = consign__rpm_array_u16(ctx, &a[MODES], (uint16_t)(type | (e->mode & 07777)))) ||
            (rc = consign__rpm_array_u16(ctx, &a[RDEVS], 0)) ||
            (rc = consign__rpm_array_u32(ctx, &a[MTIMES],
                                         e->mtime <= 0           ? 0
                                         : e->mtime > UINT32_MAX ? UINT32_MAX
                                                                 : (uint32_t)e->mtime)) ||
            (rc = consign__rpm_array_str(ctx, &a[DIGESTS], hex)) ||
            (rc = consign__rpm_array_str(ctx, &a[LINKTOS],
                                         e->type == CONSIGN_PKG_SYMLINK ? e->link : "")) ||
            (rc = consign__rpm_array_u32(ctx, &a[FLAGS],
                                         e->config ? FILE_CONFIG | FILE_NOREPLACE : 0)) ||
            (rc = consign__rpm_array_str(ctx, &a[USERS], "root")) ||
            (rc = consign__rpm_array_str(ctx, &a[GROUPS], "root")) ||
            (rc = consign__rpm_array_u32(ctx, &a[VERIFY], UINT32_MAX)) ||
            (rc = consign__rpm_array_u32(ctx, &a[DEVICES], 1)) ||
            (rc = consign__rpm_array_u32(ctx, &a[INODES], ++ino)) ||
            (rc = consign__rpm_array_str(ctx, &a[LANGS], "")))
            goto out;
    }
    if (*total > UINT32_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: 4 GiB or more of files are not supported",
                          pkg->name);
        goto out;
    }
    for (k = 0; k < NARRAYS; k++)
        if ((rc = consign__rpm_hdr_array(ctx, h, arrays[k].tag, &a[k])))
            goto out;
    rc = put_names(ctx, h, pkg);
out:
    for (k = 0; k < NARRAYS; k++)
        consign__rpm_array_free(&a[k]);
    return rc;
}

static int
put_deps(struct consign_ctx *ctx, struct consign__rpm_hdr *h, struct dep *d, size_t n,
         uint32_t name_tag, uint32_t flags_tag, uint32_t version_tag)
{
    struct consign__rpm_array names, flags, versions;
    size_t i;
    int rc = 0;

    consign__rpm_array_init(&names, CONSIGN_RPM_STRING_ARRAY);
    consign__rpm_array_init(&flags, CONSIGN_RPM_INT32);
    consign__rpm_array_init(&versions, CONSIGN_RPM_STRING_ARRAY);
    qsort(d, n, sizeof(*d), cmp_dep);
    for (i = 0; i < n; i++)
        if ((rc = consign__rpm_array_str(ctx, &names, d[i].name)) ||
            (rc = consign__rpm_array_u32(ctx, &flags, d[i].flags)) ||
            (rc = consign__rpm_array_str(ctx, &versions, d[i].version)))
            goto out;
    if ((rc = consign__rpm_hdr_array(ctx, h, name_tag, &names)) ||
        (rc = consign__rpm_hdr_array(ctx, h, flags_tag, &flags)) ||
        (rc = consign__rpm_hdr_array(ctx, h, version_tag, &versions)))
        goto out;
out:
    consign__rpm_array_free(&names);
    consign__rpm_array_free(&flags);
    consign__rpm_array_free(&versions);
    return rc;
}

/* Provides as rpmbuild writes them: NAME = EVR, NAME(isa) = EVR and, with
 * configuration files, config(NAME) = EVR. */
static int
put_provides(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg)
{
    const char *isa = isa_suffix(pkg->arch);
    char *isa_name = NULL, *config_name = NULL;
    struct dep d[3];
    size_t i, n = 0;
    int has_config = 0, rc;

    for (i = 0; i < pkg->nentries; i++)
        has_config |= pkg->entries[i].type == CONSIGN_PKG_FILE && pkg->entries[i].config;
    d[n++] = (struct dep){pkg->name, SENSE_EQUAL, pkg->evr};
    if (isa) {
        if (!(isa_name = consign_asprintf(ctx, "%s%s", pkg->name, isa))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        d[n++] = (struct dep){isa_name, SENSE_EQUAL, pkg->evr};
    }
    if (has_config) {
        if (!(config_name = consign_asprintf(ctx, "config(%s)", pkg->name))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        d[n++] = (struct dep){config_name, SENSE_EQUAL | SENSE_CONFIG, pkg->evr};
    }
    rc = put_deps(ctx, h, d, n, TAG_PROVIDENAME, TAG_PROVIDEFLAGS, TAG_PROVIDEVERSION);
out:
    free(isa_name);
    free(config_name);
    return rc;
}

/* Requires: the runtime at exactly our EVR, /bin/sh for the scriptlets, and
 * the rpmlib() features this file uses, as rpmbuild adds them. */
static int
put_requires(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg)
{
    const uint32_t lib = SENSE_RPMLIB | SENSE_LESS | SENSE_EQUAL;
    struct dep d[MAX_REQS];
    uint32_t sh = 0;
    size_t i, n = 0;

    for (i = 0; i < sizeof(scriptlets) / sizeof(scriptlets[0]); i++)
        if (consign_pkg_script_get(pkg, scriptlets[i].name))
            sh |= SENSE_INTERP | scriptlets[i].sense;
    if (sh)
        d[n++] = (struct dep){"/bin/sh", sh, ""};
    if (pkg->depends_name)
        d[n++] = (struct dep){pkg->depends_name, SENSE_EQUAL, pkg->evr};
    d[n++] = (struct dep){"rpmlib(CompressedFileNames)", lib, "3.0.4-1"};
    d[n++] = (struct dep){"rpmlib(FileDigests)", lib, "4.6.0-1"};
    d[n++] = (struct dep){"rpmlib(PayloadFilesHavePrefix)", lib, "4.0-1"};
    if (pkg->opts.compress == CONSIGN_COMPRESS_ZSTD)
        d[n++] = (struct dep){"rpmlib(PayloadIsZstd)", lib, "5.4.18-1"};
    else
        d[n++] = (struct dep){"rpmlib(PayloadIsXz)", lib, "5.2-1"};
    return put_deps(ctx, h, d, n, TAG_REQUIRENAME, TAG_REQUIREFLAGS, TAG_REQUIREVERSION);
}

static int
put_scripts(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg)
{
    size_t i;
    int rc;

    for (i = 0; i < pkg->nscripts; i++) {
        size_t k;
        for (k = 0; k < sizeof(scriptlets) / sizeof(scriptlets[0]); k++)
            if (strcmp(pkg->scripts[i].name, scriptlets[k].name) == 0)
                break;
        if (k == sizeof(scriptlets) / sizeof(scriptlets[0]))
            return consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm: no scriptlet called '%s'",
                                pkg->scripts[i].name);
        if ((rc = put_str(ctx, h, scriptlets[k].tag, pkg->scripts[i].text)) ||
            (rc = put_str(ctx, h, scriptlets[k].prog_tag, "/bin/sh")))
            return rc;
    }
    return 0;
}

/* One changelog entry for this release, as rpm -q --changelog shows it:
 * dated the build day, by the maintainer, naming the version. */
static int
put_changelog(struct consign_ctx *ctx, struct consign__rpm_hdr *h, const struct consign_pkg *pkg)
{
    const struct consign_product *p = pkg->product;
    struct consign__rpm_array t, n, x;
    char *name = NULL, *text = NULL;
    int rc;

    consign__rpm_array_init(&t, CONSIGN_RPM_INT32);
    consign__rpm_array_init(&n, CONSIGN_RPM_STRING_ARRAY);
    consign__rpm_array_init(&x, CONSIGN_RPM_STRING_ARRAY);
    if (!(name = consign_asprintf(ctx, "%s - %s", p->maintainer ? p->maintainer : pkg->name,
                                  pkg->evr)) ||
        !(text = consign_asprintf(ctx, "- Release %s, packaged by consign.", pkg->evr))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign__rpm_array_u32(ctx, &t,
                                     (uint32_t)(pkg->build_time - pkg->build_time % 86400))) ||
        (rc = consign__rpm_array_str(ctx, &n, name)) ||
        (rc = consign__rpm_array_str(ctx, &x, text)) ||
        (rc = consign__rpm_hdr_array(ctx, h, TAG_CHANGELOGTIME, &t)) ||
        (rc = consign__rpm_hdr_array(ctx, h, TAG_CHANGELOGNAME, &n)) ||
        (rc = consign__rpm_hdr_array(ctx, h, TAG_CHANGELOGTEXT, &x)))
        goto out;
out:
    consign__rpm_array_free(&t);
    consign__rpm_array_free(&n);
    consign__rpm_array_free(&x);
    free(name);
    free(text);
    return rc;
}

/* The description without the trailing newlines a YAML block scalar keeps. */
static char *
description(struct consign_ctx *ctx, const struct consign_pkg *pkg)
{
    const char *d = pkg->product->description;
    size_t n;

    if (!d || !*d)
        d = pkg->summary ? pkg->summary : pkg->name;
    n = strlen(d);
    while (n && (d[n - 1] == '\n' || d[n - 1] == ' '))
        n--;
    return consign_strndup(ctx, d, n);
}

static int
build_header(struct consign_ctx *ctx, struct rpm_file *f)
{
    const struct consign_pkg *pkg = f->pkg;
    const struct consign_product *p = pkg->product;
    struct consign__rpm_hdr h;
    struct consign__rpm_array one;
    char host[256] = "consign", *desc = NULL, *srpm = NULL;
    unsigned long long total = 0;
    int rc;

    consign__rpm_hdr_init(&h);
    consign__rpm_array_init(&one, CONSIGN_RPM_STRING_ARRAY);
    if (!pkg->reproducible && (gethostname(host, sizeof(host)) < 0 || !host[0]))
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    if (pkg->build_time < 0 || (unsigned long long)pkg->build_time > UINT32_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "build time out of rpm's range");
        goto out;
    }
    if (!(desc = description(ctx, pkg)) ||
        !(srpm = consign_asprintf(ctx, "%s-%s-%s.src.rpm", p->name, p->version, p->release))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign__rpm_array_str(ctx, &one, "C")) ||
        (rc = consign__rpm_hdr_array(ctx, &h, TAG_I18NTABLE, &one)) ||
        (rc = put_str(ctx, &h, TAG_NAME, pkg->name)) ||
        (rc = put_str(ctx, &h, TAG_VERSION, p->version)) ||
        (rc = put_str(ctx, &h, TAG_RELEASE, p->release)) ||
        (p->has_epoch && (rc = consign__rpm_hdr_u32(ctx, &h, TAG_EPOCH, (uint32_t)p->epoch))) ||
        (rc = consign__rpm_hdr_i18n(ctx, &h, TAG_SUMMARY, pkg->summary ? pkg->summary : "")) ||
        (rc = consign__rpm_hdr_i18n(ctx, &h, TAG_DESCRIPTION, desc)) ||
        (rc = consign__rpm_hdr_u32(ctx, &h, TAG_BUILDTIME, (uint32_t)pkg->build_time)) ||
        (rc = put_str(ctx, &h, TAG_BUILDHOST, host)) ||
        (p->vendor && (rc = put_str(ctx, &h, TAG_VENDOR, p->vendor))) ||
        (rc = put_str(ctx, &h, TAG_LICENSE, p->license ? p->license : "Proprietary")) ||
        (p->maintainer && (rc = put_str(ctx, &h, TAG_PACKAGER, p->maintainer))) ||
        (rc = consign__rpm_hdr_i18n(ctx, &h, TAG_GROUP, p->group ? p->group : "Unspecified")) ||
        (p->homepage && (rc = put_str(ctx, &h, TAG_URL, p->homepage))) ||
        (rc = put_str(ctx, &h, TAG_OS, "linux")) || (rc = put_str(ctx, &h, TAG_ARCH, pkg->arch)) ||
        (rc = put_scripts(ctx, &h, pkg)) || (rc = put_files(ctx, &h, pkg, &total)) ||
        (rc = consign__rpm_hdr_u32(ctx, &h, TAG_SIZE, (uint32_t)total)) ||
        (rc = put_str(ctx, &h, TAG_SOURCERPM, srpm)) || (rc = put_changelog(ctx, &h, pkg)) ||
        (rc = put_provides(ctx, &h, pkg)) || (rc = put_requires(ctx, &h, pkg)) ||
        (rc = put_str(ctx, &h, TAG_PAYLOADFORMAT, "cpio")) ||
        (rc = put_str(ctx, &h, TAG_PAYLOADCOMPRESSOR, f->payload.compressor)) ||
        (rc = put_str(ctx, &h, TAG_PAYLOADFLAGS, f->payload.flags)) ||
        (rc = consign__rpm_hdr_u32(ctx, &h, TAG_FILEDIGESTALGO, HASHALGO_SHA256)) ||
        (rc = consign__rpm_array_str(ctx, &one, f->payload.sha256)) ||
        (rc = consign__rpm_hdr_array(ctx, &h, TAG_PAYLOADDIGEST, &one)) ||
        (rc = consign__rpm_hdr_u32(ctx, &h, TAG_PAYLOADDIGESTALGO, HASHALGO_SHA256)))
        goto out;
    rc = consign__rpm_hdr_write(ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &f->header);
out:
    consign__rpm_hdr_free(&h);
    consign__rpm_array_free(&one);
    free(desc);
    free(srpm);
    return rc;
}

/* Reads the main header, then the payload from its temporary file. */
struct hp_reader {
    const struct rpm_file *f;
    size_t hoff;
    unsigned long long poff;
};

static int
hp_read(struct consign_ctx *ctx, void *user, void *buf, size_t n, size_t *got)
{
    struct hp_reader *r = user;
    const struct consign_buf *hdr = &r->f->header;
    unsigned long long left = r->f->payload.len - r->poff;
    ssize_t k;

    *got = 0;
    if (r->hoff < hdr->len) {
        *got = hdr->len - r->hoff < n ? hdr->len - r->hoff : n;
        memcpy(buf, hdr->data + r->hoff, *got);
        r->hoff += *got;
        return 0;
    }
    if (!left)
        return 0;
    do
        k = pread(r->f->payload.fd, buf, left < n ? (size_t)left : n, (off_t)r->poff);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return consign_fail_errno(ctx, errno, "reading the rpm payload back");
    if (k == 0)
        return consign_fail(ctx, CONSIGN_E_IO, "rpm payload: temporary file shrank");
    r->poff += (unsigned long long)k;
    *got = (size_t)k;
    return 0;
}

static int
md5_header_payload(struct consign_ctx *ctx, const struct rpm_file *f, unsigned char md5[16])
{
    struct hp_reader r = {f, 0, 0};
    struct consign_hash *h = NULL;
    unsigned char buf[65536], d[CONSIGN_HASH_MAX];
    size_t got;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_MD5, &h)))
        return rc;
    do {
        if ((rc = hp_read(ctx, &r, buf, sizeof(buf), &got)) ||
            (rc = consign_hash_update(ctx, h, buf, got)))
            goto out;
    } while (got);
    if ((rc = consign_hash_final(ctx, h, d)))
        goto out;
    memcpy(md5, d, 16);
out:
    consign_hash_free(h);
    return rc;
}

/* The public-key algorithm of one binary OpenPGP v4 signature packet
 * (RFC 4880 4.2 and 5.2.3): old or new packet format, tag 2. */
static int
sig_pubkey_algo(struct consign_ctx *ctx, const unsigned char *p, size_t n, int *algo)
{
    size_t hl;
    int tag;

    if (n < 2 || !(p[0] & 0x80))
        goto bad;
    if (p[0] & 0x40) {
        tag = p[0] & 0x3f;
        hl = p[1] < 192 ? 2 : p[1] < 224 ? 3 : p[1] == 255 ? 6 : 0;
    } else {
        static const size_t old_len[4] = {2, 3, 5, 0};
        tag = (p[0] >> 2) & 0x0f;
        hl = old_len[p[0] & 3];
    }
    if (tag != 2 || hl == 0 || n < hl + 4 || p[hl] != 4)
        goto bad;
    *algo = p[hl + 2];
    return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_CRYPTO,
                        "signing: GnuPG did not return one binary "
                        "OpenPGP v4 signature");
}

/* Which signature tags carry a signature: RSA keys go in RSA (header) and
 * PGP (header+payload), the others (DSA, ECDSA, EdDSA) in DSA, as rpmsign
 * does. */
static int
sig_tags(struct consign_ctx *ctx, const struct consign_buf *sig, uint32_t *hdr_tag,
         uint32_t *full_tag)
{
    int algo = 0, rc;

    if ((rc = sig_pubkey_algo(ctx, (const unsigned char *)sig->data, sig->len, &algo)))
        return rc;
    switch (algo) {
    case 1: /* RSA */
        *hdr_tag = SIG_RSA;
        *full_tag = SIG_PGP;
        return 0;
    case 17: /* DSA */
    case 19: /* ECDSA */
    case 22: /* EdDSA */
        *hdr_tag = SIG_DSA;
        *full_tag = 0;
        return 0;
    default:
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "signing: rpm cannot verify OpenPGP public-key algorithm %d", algo);
    }
}

/* A header-only signature over the main header and, for RSA keys, the legacy
 * header+payload one that rpm before 4.14 (RHEL 7) needs to vouch for the
 * payload. Every rpm that can verify other algorithms checks the payload
 * through the header's payload digest, so rpmsign adds no legacy signature
 * for them, and neither do we. */
static int
sign_package(struct consign_ctx *ctx, const struct rpm_file *f, const struct consign_rpm_sign *s,
             struct consign__rpm_hdr *sigh)
{
    /* With SOURCE_DATE_EPOCH the signatures carry it as their time (raised to
     * the key's creation time), so a signed package is reproducible too. */
    struct consign_sign_opts o = {CONSIGN_SIG_DETACHED, 0,
                                  f->pkg->reproducible ? (long long)f->pkg->build_time
                                                       : CONSIGN_SIG_TIME_NOW};
    struct hp_reader r = {f, 0, 0};
    struct consign_buf hsig, fsig;
    uint32_t htag = 0, ftag = 0;
    int rc;

    consign_buf_init(&hsig, SIG_MAX);
    consign_buf_init(&fsig, SIG_MAX);
    if ((rc = consign_keys_sign_ext(ctx, s->keydir, s->passphrase, &o, f->header.data,
                                    f->header.len, NULL, NULL, &hsig)) ||
        (rc = sig_tags(ctx, &hsig, &htag, &ftag)) ||
        (rc = consign__rpm_hdr_bin(ctx, sigh, htag, hsig.data, hsig.len)))
        goto out;
    if (htag != SIG_RSA) {
        consign_log(ctx, CONSIGN_LOG_WARN,
                    "%s: signed with a non-RSA key: rpm before 4.16 (RHEL 7, 8) cannot "
                    "verify it, nor rpm 4.16 and 4.17 built with libgcrypt (Debian 11)",
                    f->pkg->name);
        goto out;
    }
    if ((rc = consign_keys_sign_ext(ctx, s->keydir, s->passphrase, &o, NULL, 0, hp_read, &r,
                                    &fsig)) ||
        (rc = sig_tags(ctx, &fsig, &htag, &ftag)) ||
        (rc = consign__rpm_hdr_bin(ctx, sigh, ftag, fsig.data, fsig.len)))
        goto out;
out:
    consign_buf_free(&hsig);
    consign_buf_free(&fsig);
    return rc;
}

static int
build_signature(struct consign_ctx *ctx, struct rpm_file *f, const struct consign_rpm_sign *s)
{
    static const char zeros[8] = {0};
    struct consign__rpm_hdr sigh;
    unsigned char d[CONSIGN_HASH_MAX], md5[16];
    char sha1[2 * 20 + 1], sha256[2 * 32 + 1];
    unsigned long long total = f->header.len + f->payload.len;
    int rc;

    consign__rpm_hdr_init(&sigh);
    /* Beyond 4 GiB rpm wants LONGSIZE and LONGARCHIVESIZE: not written. */
    if (total > UINT32_MAX || f->payload.cpio_len > UINT32_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: packages of 4 GiB or more are not supported",
                          f->pkg->name);
        goto out;
    }
    if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA1, f->header.data, f->header.len, d)))
        goto out;
    consign_hex(d, 20, sha1);
    if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, f->header.data, f->header.len, d)))
        goto out;
    consign_hex(d, 32, sha256);
    if ((rc = md5_header_payload(ctx, f, md5)) ||
        (rc = consign__rpm_hdr_string(ctx, &sigh, SIG_SHA1, sha1)) ||
        (rc = consign__rpm_hdr_string(ctx, &sigh, SIG_SHA256, sha256)) ||
        (rc = consign__rpm_hdr_u32(ctx, &sigh, SIG_SIZE, (uint32_t)total)) ||
        (rc = consign__rpm_hdr_bin(ctx, &sigh, SIG_MD5, md5, sizeof(md5))) ||
        (rc = consign__rpm_hdr_u32(ctx, &sigh, SIG_PAYLOADSIZE, (uint32_t)f->payload.cpio_len)))
        goto out;
    if (s && s->keydir && (rc = sign_package(ctx, f, s, &sigh)))
        goto out;
    if ((rc = consign__rpm_hdr_write(ctx, &sigh, CONSIGN_RPM_REGION_SIGNATURES, &f->sig)) ||
        (rc = consign_buf_append(ctx, &f->sig, zeros, (8 - f->sig.len % 8) % 8)))
        goto out;
out:
    consign__rpm_hdr_free(&sigh);
    return rc;
}

/* The 96-byte lead: only its magic and version still matter to rpm. */
static void
build_lead(struct rpm_file *f)
{
    const struct consign_pkg *pkg = f->pkg;
    unsigned char *l = f->lead;
    unsigned arch = lead_archnum(pkg->arch);

    memset(l, 0, LEAD_SIZE);
    l[0] = 0xed;
    l[1] = 0xab;
    l[2] = 0xee;
    l[3] = 0xdb;
    l[4] = 3; /* major */
    l[5] = 0; /* minor */
    /* type 0: binary (bytes 6-7) */
    l[8] = (unsigned char)(arch >> 8);
    l[9] = (unsigned char)arch;
    snprintf((char *)l + 10, 66, "%s-%s-%s", pkg->name, pkg->product->version,
             pkg->product->release);
    l[76] = 0;
    l[77] = 1; /* os: Linux */
    l[78] = 0;
    l[79] = 5; /* signature type: a header-style signature */
}

static int
write_rpm(struct consign_ctx *ctx, int fd, void *user)
{
    const struct rpm_file *f = user;
    struct hp_reader r = {f, f->header.len, 0};
    unsigned char buf[65536];
    size_t got;
    int rc;

    if ((rc = consign_write_all(ctx, fd, f->lead, LEAD_SIZE, "writing the rpm")) ||
        (rc = consign_write_all(ctx, fd, f->sig.data, f->sig.len, "writing the rpm")) ||
        (rc = consign_write_all(ctx, fd, f->header.data, f->header.len, "writing the rpm")))
        return rc;
    do {
        if ((rc = hp_read(ctx, &r, buf, sizeof(buf), &got)) ||
            (rc = consign_write_all(ctx, fd, buf, got, "writing the rpm")))
            return rc;
    } while (got);
    return 0;
}

int
consign_rpm_write(struct consign_ctx *ctx, struct consign_pkg *pkg,
                  const struct consign_rpm_sign *sign, const char *dir, char **out_path)
{
    struct rpm_file f;
    char *name = NULL;
    int rc;

    if (out_path)
        *out_path = NULL;
    memset(&f, 0, sizeof(f));
    f.pkg = pkg;
    f.payload.fd = -1;
    consign_buf_init(&f.header, CONSIGN_RPM_HDR_MAX_DATA + (64u << 10));
    consign_buf_init(&f.sig, SIG_MAX + (8u << 10));
    if (pkg->opts.format != CONSIGN_PKG_RPM) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "%s: not an rpm package model", pkg->name);
        goto out;
    }
    if (!(name = consign_pkg_filename(ctx, pkg))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign__rpm_payload_write(ctx, pkg, dir, &f.payload)) ||
        (rc = build_header(ctx, &f)) || (rc = build_signature(ctx, &f, sign)))
        goto out;
    build_lead(&f);
    /* The path first: once the file is in place, nothing may fail. */
    if (out_path && !(*out_path = consign_asprintf(ctx, "%s/%s", dir, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_pkg_write_file(ctx, dir, name, write_rpm, &f)))
        goto out;
out:
    if (rc && out_path) {
        free(*out_path);
        *out_path = NULL;
    }
    if (rc)
        consign_err_context(ctx, rc, "%s", name ? name : pkg->name);
    if (f.payload.fd >= 0)
        close(f.payload.fd);
    consign_buf_free(&f.header);
    consign_buf_free(&f.sig);
    free(name);
    return rc;
}

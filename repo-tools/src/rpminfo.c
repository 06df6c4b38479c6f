/* consign repo: a binary .rpm's header, size and SHA-256, and its YUM
 * metadata as createrepo_c writes it. The file is streamed once: every block
 * is hashed and pushed to a parser that keeps the two headers (capped) and
 * skips the payload. The headers are then checked the way rpm 4.18's
 * hdrblobInit and hdrblobImport check them, the fields createrepo_c reads
 * are taken out the way its cr_package_from_header takes them (which lists
 * to read, which dependencies to drop), and the XML is written as libxml2
 * 2.9's xmlNodeDump writes the trees it builds. See rpminfo.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consign/buf.h"
#include "consign/bytes.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/rpminfo.h"

/* --- the header format ----------------------------------------------------------- */

/* Data types (rpmtag.h); rpm 4.18 refuses 0 (NULL) and anything above 9. */
enum {
    T_NULL,
    T_CHAR,
    T_INT8,
    T_INT16,
    T_INT32,
    T_INT64,
    T_STRING,
    T_BIN,
    T_STRING_ARRAY,
    T_I18NSTRING,
};
#define T_MAX T_I18NSTRING

static const int type_size[] = {0, 1, 1, 2, 4, 8, -1, 1, -1, -1};
static const char *const type_name[] = {"NULL",  "CHAR",   "INT8", "INT16",        "INT32",
                                        "INT64", "STRING", "BIN",  "STRING_ARRAY", "I18NSTRING"};

/* Region tags and the signature header's tags. */
#define TAG_IMAGE      61
#define TAG_SIGNATURES 62
#define TAG_IMMUTABLE  63
#define TAG_I18NTABLE  100
#define SIG_SIZE       1000
#define SIG_LONGSIZE   270

/* Main header tags. */
#define TAG_ARCHIVESIZE     1046
#define TAG_LONGARCHIVESIZE 271
#define TAG_NAME            1000
#define TAG_VERSION         1001
#define TAG_RELEASE         1002
#define TAG_EPOCH           1003
#define TAG_SUMMARY         1004
#define TAG_DESCRIPTION     1005
#define TAG_BUILDTIME       1006
#define TAG_BUILDHOST       1007
#define TAG_SIZE            1009
#define TAG_VENDOR          1011
#define TAG_LICENSE         1014
#define TAG_PACKAGER        1015
#define TAG_GROUP           1016
#define TAG_URL             1020
#define TAG_ARCH            1022
#define TAG_OLDFILENAMES    1027
#define TAG_FILEMODES       1030
#define TAG_FILEFLAGS       1037
#define TAG_SOURCERPM       1044
#define TAG_CHANGELOGTIME   1080
#define TAG_CHANGELOGNAME   1081
#define TAG_CHANGELOGTEXT   1082
#define TAG_SOURCEPACKAGE   1106
#define TAG_DIRINDEXES      1116
#define TAG_BASENAMES       1117
#define TAG_DIRNAMES        1118
#define TAG_LONGSIZE        5009

/* Dependency flags and file flags (rpmds.h, rpmfiles.h). */
#define SENSE_PREREQ      (1u << 6)
#define SENSE_SCRIPT_PRE  (1u << 9)
#define SENSE_SCRIPT_POST (1u << 10)
#define SENSE_MISSINGOK   (1u << 19)
#define SENSE_STRONG      (1u << 27)
#define FILE_GHOST        (1u << 6)

/* rpm's limits (header.c): index entries and data store of each header. */
#define RPM_SIG_TAGS_MAX   32u
#define RPM_SIG_DATA_MAX   (64u << 20)
#define RPM_HDR_TAGS_MAX   0xffffu
#define RPM_HDR_DATA_MAX   0x0fffffffu
#define RPM_ARRAY_MAX      0xfffffu
#define RPM_REGION_TRAILER 16u

/* rpm 4.18's tag table (tagtbl.c, which gentagtbl.sh makes from the type
 * comments of rpmtag.h): the type of every tag it declares one for. rpm
 * refuses a main header whose known tags have other types (string types may
 * stand for one another). Sorted by tag. */
static const struct {
    uint32_t tag;
    unsigned type;
} known_types[] = {
    {100, T_STRING_ARRAY},  {257, T_INT32},         {259, T_BIN},           {261, T_BIN},
    {262, T_BIN},           {266, T_STRING_ARRAY},  {267, T_BIN},           {268, T_BIN},
    {269, T_STRING},        {270, T_INT64},         {271, T_INT64},         {273, T_STRING},
    {276, T_STRING_ARRAY},  {277, T_INT32},         {1000, T_STRING},       {1001, T_STRING},
    {1002, T_STRING},       {1003, T_INT32},        {1004, T_I18NSTRING},   {1005, T_I18NSTRING},
    {1006, T_INT32},        {1007, T_STRING},       {1008, T_INT32},        {1009, T_INT32},
    {1010, T_STRING},       {1011, T_STRING},       {1012, T_BIN},          {1013, T_BIN},
    {1014, T_STRING},       {1015, T_STRING},       {1016, T_I18NSTRING},   {1018, T_STRING_ARRAY},
    {1019, T_STRING_ARRAY}, {1020, T_STRING},       {1021, T_STRING},       {1022, T_STRING},
    {1023, T_STRING},       {1024, T_STRING},       {1025, T_STRING},       {1026, T_STRING},
    {1027, T_STRING_ARRAY}, {1028, T_INT32},        {1029, T_CHAR},         {1030, T_INT16},
    {1033, T_INT16},        {1034, T_INT32},        {1035, T_STRING_ARRAY}, {1036, T_STRING_ARRAY},
    {1037, T_INT32},        {1039, T_STRING_ARRAY}, {1040, T_STRING_ARRAY}, {1043, T_BIN},
    {1044, T_STRING},       {1045, T_INT32},        {1046, T_INT32},        {1047, T_STRING_ARRAY},
    {1048, T_INT32},        {1049, T_STRING_ARRAY}, {1050, T_STRING_ARRAY}, {1051, T_INT32},
    {1052, T_INT32},        {1053, T_INT32},        {1054, T_STRING_ARRAY}, {1055, T_STRING_ARRAY},
    {1059, T_STRING_ARRAY}, {1060, T_STRING_ARRAY}, {1061, T_STRING_ARRAY}, {1062, T_STRING_ARRAY},
    {1064, T_STRING},       {1065, T_STRING_ARRAY}, {1066, T_STRING_ARRAY}, {1067, T_STRING_ARRAY},
    {1068, T_INT32},        {1069, T_INT32},        {1079, T_STRING},       {1080, T_INT32},
    {1081, T_STRING_ARRAY}, {1082, T_STRING_ARRAY}, {1085, T_STRING_ARRAY}, {1086, T_STRING_ARRAY},
    {1087, T_STRING_ARRAY}, {1088, T_STRING_ARRAY}, {1089, T_STRING_ARRAY}, {1090, T_STRING_ARRAY},
    {1091, T_STRING_ARRAY}, {1092, T_STRING_ARRAY}, {1094, T_STRING},       {1095, T_INT32},
    {1096, T_INT32},        {1097, T_STRING_ARRAY}, {1098, T_STRING_ARRAY}, {1099, T_STRING_ARRAY},
    {1106, T_INT32},        {1112, T_INT32},        {1113, T_STRING_ARRAY}, {1114, T_INT32},
    {1115, T_STRING_ARRAY}, {1116, T_INT32},        {1117, T_STRING_ARRAY}, {1118, T_STRING_ARRAY},
    {1119, T_INT32},        {1120, T_STRING_ARRAY}, {1121, T_STRING_ARRAY}, {1122, T_STRING},
    {1123, T_STRING},       {1124, T_STRING},       {1125, T_STRING},       {1126, T_STRING},
    {1127, T_INT32},        {1128, T_INT32},        {1129, T_INT32},        {1132, T_STRING},
    {1133, T_STRING_ARRAY}, {1134, T_INT32},        {1135, T_STRING_ARRAY}, {1140, T_INT32},
    {1141, T_INT32},        {1142, T_STRING_ARRAY}, {1143, T_INT32},        {1144, T_INT32},
    {1145, T_INT32},        {1146, T_BIN},          {1147, T_STRING_ARRAY}, {1148, T_STRING_ARRAY},
    {1149, T_STRING_ARRAY}, {1150, T_STRING_ARRAY}, {1151, T_STRING},       {1152, T_STRING},
    {1153, T_STRING_ARRAY}, {1154, T_STRING_ARRAY}, {1155, T_STRING},       {1156, T_STRING_ARRAY},
    {1157, T_STRING_ARRAY}, {1158, T_INT32},        {1159, T_STRING_ARRAY}, {1160, T_STRING_ARRAY},
    {1161, T_INT32},        {1195, T_INT32},        {1196, T_STRING},       {5000, T_STRING_ARRAY},
    {5001, T_STRING_ARRAY}, {5002, T_STRING_ARRAY}, {5005, T_STRING_ARRAY}, {5006, T_STRING_ARRAY},
    {5007, T_STRING_ARRAY}, {5008, T_INT64},        {5009, T_INT64},        {5010, T_STRING_ARRAY},
    {5011, T_INT32},        {5012, T_STRING},       {5013, T_STRING},       {5014, T_STRING},
    {5015, T_STRING},       {5016, T_STRING},       {5017, T_INT32},        {5018, T_INT32},
    {5019, T_INT32},        {5020, T_INT32},        {5021, T_INT32},        {5022, T_INT32},
    {5023, T_INT32},        {5024, T_INT32},        {5025, T_INT32},        {5026, T_INT32},
    {5027, T_INT32},        {5030, T_STRING_ARRAY}, {5031, T_STRING_ARRAY}, {5032, T_INT32},
    {5033, T_INT32},        {5034, T_STRING},       {5035, T_STRING_ARRAY}, {5036, T_STRING_ARRAY},
    {5037, T_INT32},        {5040, T_STRING_ARRAY}, {5041, T_STRING_ARRAY}, {5042, T_STRING_ARRAY},
    {5043, T_STRING_ARRAY}, {5044, T_STRING_ARRAY}, {5045, T_INT32},        {5046, T_STRING_ARRAY},
    {5047, T_STRING_ARRAY}, {5048, T_INT32},        {5049, T_STRING_ARRAY}, {5050, T_STRING_ARRAY},
    {5051, T_INT32},        {5052, T_STRING_ARRAY}, {5053, T_STRING_ARRAY}, {5054, T_INT32},
    {5055, T_STRING_ARRAY}, {5056, T_STRING_ARRAY}, {5057, T_INT32},        {5058, T_STRING_ARRAY},
    {5059, T_STRING_ARRAY}, {5060, T_STRING_ARRAY}, {5061, T_STRING_ARRAY}, {5062, T_STRING},
    {5066, T_STRING_ARRAY}, {5067, T_STRING_ARRAY}, {5068, T_INT32},        {5069, T_STRING_ARRAY},
    {5070, T_INT32},        {5071, T_STRING_ARRAY}, {5072, T_INT32},        {5076, T_STRING_ARRAY},
    {5077, T_STRING_ARRAY}, {5078, T_INT32},        {5079, T_STRING_ARRAY}, {5080, T_INT32},
    {5081, T_STRING_ARRAY}, {5082, T_INT32},        {5084, T_INT32},        {5085, T_INT32},
    {5086, T_STRING_ARRAY}, {5087, T_STRING_ARRAY}, {5088, T_STRING_ARRAY}, {5089, T_STRING_ARRAY},
    {5090, T_STRING_ARRAY}, {5091, T_INT32},        {5092, T_STRING_ARRAY}, {5093, T_INT32},
    {5096, T_STRING},       {5097, T_STRING_ARRAY}, {5098, T_STRING},       {5099, T_STRING},
    {5100, T_STRING},       {5101, T_STRING},
};

/* rpm's headerMergeLegacySigs: signature tags copied into the main header
 * (stag there, xtag here). A quirk tag may be in either header, the others
 * only in the signature header; one of an unexpected type or count makes
 * rpm refuse the package. */
static const struct {
    uint32_t stag, xtag, count;
    int quirk;
    unsigned type;
} merged_sigs[] = {
    {1000, 257, 1, 0, T_INT32}, /* SIZE */
    {1002, 259, 0, 0, T_BIN},   /* PGP */
    {1004, 261, 16, 0, T_BIN},  /* MD5 */
    {1005, 262, 0, 0, T_BIN},   /* GPG */
    {1007, TAG_ARCHIVESIZE, 1, 1, T_INT32},
    {274, 5090, 0, 1, T_STRING_ARRAY}, /* FILESIGNATURES */
    {275, 5091, 1, 1, T_INT32},        /* FILESIGNATURELENGTH */
    {276, 276, 0, 0, T_STRING_ARRAY},  /* VERITYSIGNATURES */
    {277, 277, 1, 0, T_INT32},         /* VERITYSIGNATUREALGO */
    {269, 269, 1, 0, T_STRING},        /* SHA1 */
    {273, 273, 1, 0, T_STRING},        /* SHA256 */
    {267, 267, 0, 0, T_BIN},           /* DSA */
    {268, 268, 0, 0, T_BIN},           /* RSA */
    {270, 270, 1, 0, T_INT64},         /* LONGSIZE */
    {TAG_LONGARCHIVESIZE, TAG_LONGARCHIVESIZE, 1, 0, T_INT64},
};

/* Dependency lists as createrepo_c keeps them, in primary.xml's order... */
enum {
    D_PROVIDES,
    D_CONFLICTS,
    D_OBSOLETES,
    D_REQUIRES,
    D_SUGGESTS,
    D_ENHANCES,
    D_RECOMMENDS,
    D_SUPPLEMENTS,
    NDEP
};

static const char *const dep_element[NDEP] = {
    "rpm:provides", "rpm:conflicts", "rpm:obsoletes",  "rpm:requires",
    "rpm:suggests", "rpm:enhances",  "rpm:recommends", "rpm:supplements",
};
static const int primary_order[NDEP] = {D_PROVIDES, D_REQUIRES, D_CONFLICTS,  D_OBSOLETES,
                                        D_SUGGESTS, D_ENHANCES, D_RECOMMENDS, D_SUPPLEMENTS};

/* ... and the header's lists, in the order it reads them (the last two are
 * the obsolete weak dependencies, read because Debian builds createrepo_c
 * with ENABLE_LEGACY_WEAKDEPS). */
enum { S_OLDSUGGESTS = NDEP, S_OLDENHANCES, NSRC };

static const struct {
    uint32_t name, flags, version;
    const char *label;
} dep_tags[NSRC] = {
    {1047, 1112, 1113, "PROVIDE"},     {1054, 1053, 1055, "CONFLICT"},
    {1090, 1114, 1115, "OBSOLETE"},    {1049, 1048, 1050, "REQUIRE"},
    {5049, 5051, 5050, "SUGGEST"},     {5055, 5057, 5056, "ENHANCE"},
    {5046, 5048, 5047, "RECOMMEND"},   {5052, 5054, 5053, "SUPPLEMENT"},
    {1156, 1158, 1157, "OLDSUGGESTS"}, {1159, 1161, 1160, "OLDENHANCES"},
};

/* --- what is kept ------------------------------------------------------------------ */

struct dep {
    const char *name;
    const char *flags; /* "EQ", "LT", ... or NULL */
    const char *ver;   /* the whole version as the header has it */
    /* createrepo_c's split of ver (cr_str_to_evr): pieces of it, or "0" */
    const char *e, *v, *r;
    size_t elen, vlen, rlen;
    int pre;
};

struct deplist {
    struct dep *v;
    size_t n, cap;
};

enum { F_FILE, F_DIR, F_GHOST };

struct file {
    char *path; /* directory name and base name */
    int type;
};

struct change {
    const char *author; /* trailing blanks cut: alen bytes */
    size_t alen;
    const char *text;
    uint32_t time;
};

struct consign_rpm_info {
    char *blob; /* the main header; the strings below point into it */
    const char *name, *version, *release, *arch;
    const char *summary, *description, *packager, *url, *license, *vendor, *group, *buildhost,
        *sourcerpm;
    unsigned long long epoch;
    int has_epoch;
    char epoch_str[24];
    unsigned long long buildtime, installed, archive;
    unsigned long long size, header_start, header_end;
    char sha256[2 * 32 + 1];
    struct file *files;
    size_t nfiles;
    struct deplist deps[NDEP];
    struct change *changes;
    size_t nchanges;
};

/* Record a failure about the file: "<path>: <message>". */
static int bad(struct consign_ctx *ctx, const char *path, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad(struct consign_ctx *ctx, const char *path, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    consign_failv(ctx, code, fmt, ap);
    va_end(ap);
    return consign_err_context(ctx, code, "%s", path);
}

static uint16_t
get_be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t
get_be64(const unsigned char *p)
{
    return (uint64_t)consign_get_be32(p) << 32 | consign_get_be32(p + 4);
}

/* --- streaming: lead, headers, payload ------------------------------------------------ */

enum stage {
    ST_LEAD,
    ST_SIG_INTRO,
    ST_SIG_BODY,
    ST_SIG_PAD,
    ST_HDR_INTRO,
    ST_HDR_BODY,
    ST_PAYLOAD
};

static const char *const stage_name[] = {
    "the lead",   "the signature header", "the signature header", "the signature header's padding",
    "the header", "the header",           "the payload",
};

static const unsigned char lead_magic[4] = {0xed, 0xab, 0xee, 0xdb};
static const unsigned char header_magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};

struct reader {
    const char *path;
    struct consign_hash *sha;
    unsigned long long fsize, off;
    enum stage stage;
    unsigned char small[96]; /* the lead or a header's first 16 bytes */
    size_t have, want;
    size_t left;            /* bytes of the current header body */
    struct consign_buf sig; /* signature header: index and data store */
    struct consign_buf hdr; /* main header: magic, counts, index and data store */
    uint32_t sig_il, sig_dl, hdr_il, hdr_dl;
    unsigned long long header_start;
};

static int
check_lead(struct consign_ctx *ctx, struct reader *rd)
{
    const unsigned char *l = rd->small;
    int rc = 0;

    if (memcmp(l, lead_magic, 4) != 0) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "not an rpm: no lead magic ED AB EE DB");
        goto out;
    }
    if (l[4] < 3 || l[4] > 4) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "lead: unsupported format version %u", l[4]);
        goto out;
    }
    if (get_be16(l + 78) != 5) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "lead: signature type %u, not 5",
                 get_be16(l + 78));
        goto out;
    }
out:
    return rc;
}

/* A header's magic and counts are in rd->small: check them against rpm's
 * limits, our cap and what the file has left. */
static int
check_intro(struct consign_ctx *ctx, struct reader *rd, const char *what, uint32_t il_max,
            uint32_t dl_max, size_t cap, uint32_t *il, uint32_t *dl)
{
    unsigned long long size;
    int rc = 0;

    if (memcmp(rd->small, header_magic, 8) != 0) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "%s: bad magic at byte %llu", what, rd->off - 16);
        goto out;
    }
    *il = consign_get_be32(rd->small + 8);
    *dl = consign_get_be32(rd->small + 12);
    if (*il < 1 || *il > il_max) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "%s: %u index entries (1 to %u allowed)", what,
                 *il, il_max);
        goto out;
    }
    if (*dl > dl_max) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX, "%s: data store of %u bytes (%u allowed)", what,
                 *dl, dl_max);
        goto out;
    }
    size = 16ull * *il + *dl;
    if (size > cap) {
        rc = bad(ctx, rd->path, CONSIGN_E_TOOBIG, "%s: %llu bytes, more than %zu", what, size, cap);
        goto out;
    }
    if (size > rd->fsize - rd->off) {
        rc = bad(ctx, rd->path, CONSIGN_E_SYNTAX,
                 "%s: claims %llu bytes at byte %llu, the file has %llu left", what, size, rd->off,
                 rd->fsize - rd->off);
        goto out;
    }
    rd->left = (size_t)size;
out:
    return rc;
}

/* A fixed-size piece (rd->small) is complete. */
static int
piece_done(struct consign_ctx *ctx, struct reader *rd)
{
    int rc = 0;

    rd->have = 0;
    switch (rd->stage) {
    case ST_LEAD:
        if ((rc = check_lead(ctx, rd)))
            goto out;
        rd->stage = ST_SIG_INTRO;
        rd->want = 16;
        break;
    case ST_SIG_INTRO:
        if ((rc = check_intro(ctx, rd, "signature header", RPM_SIG_TAGS_MAX, RPM_SIG_DATA_MAX,
                              CONSIGN_RPM_SIGNATURE_MAX, &rd->sig_il, &rd->sig_dl)))
            goto out;
        rd->stage = ST_SIG_BODY;
        break;
    case ST_SIG_PAD:
        rd->stage = ST_HDR_INTRO;
        rd->want = 16;
        break;
    case ST_HDR_INTRO:
        rd->header_start = rd->off - 16;
        if ((rc = check_intro(ctx, rd, "header", RPM_HDR_TAGS_MAX, RPM_HDR_DATA_MAX,
                              CONSIGN_RPM_HEADER_MAX, &rd->hdr_il, &rd->hdr_dl)))
            goto out;
        if ((rc = consign_buf_append(ctx, &rd->hdr, rd->small, 16)))
            goto out;
        rd->stage = ST_HDR_BODY;
        break;
    default:
        break;
    }
out:
    return rc;
}

/* A header body is complete. */
static void
body_done(struct reader *rd)
{
    size_t pad;

    if (rd->stage == ST_SIG_BODY) {
        /* The signature header is padded to a multiple of 8 bytes. */
        pad = (8 - (16 + rd->sig.len) % 8) % 8;
        rd->stage = pad ? ST_SIG_PAD : ST_HDR_INTRO;
        rd->want = pad ? pad : 16;
    } else {
        rd->stage = ST_PAYLOAD;
    }
}

/* consign_block_fn: hash the block, then parse it. */
static int
on_block(struct consign_ctx *ctx, void *user, const void *data, size_t n)
{
    struct reader *rd = user;
    const unsigned char *p = data;
    struct consign_buf *b;
    size_t take;
    int rc = 0;

    if ((rc = consign_hash_update(ctx, rd->sha, p, n)))
        goto out;
    while (n > 0) {
        if (rd->stage == ST_PAYLOAD) {
            rd->off += n;
            break;
        }
        if (rd->stage == ST_SIG_BODY || rd->stage == ST_HDR_BODY) {
            b = rd->stage == ST_SIG_BODY ? &rd->sig : &rd->hdr;
            take = rd->left < n ? rd->left : n;
            if ((rc = consign_buf_append(ctx, b, p, take)))
                goto out;
            rd->left -= take;
        } else {
            take = rd->want - rd->have < n ? rd->want - rd->have : n;
            memcpy(rd->small + rd->have, p, take);
            rd->have += take;
        }
        rd->off += take;
        p += take;
        n -= take;
        if (rd->stage == ST_SIG_BODY || rd->stage == ST_HDR_BODY) {
            if (rd->left == 0)
                body_done(rd);
        } else if (rd->have == rd->want && (rc = piece_done(ctx, rd))) {
            goto out;
        }
    }
out:
    return rc;
}

/* --- checking a header ------------------------------------------------------------------ */

struct ent {
    uint32_t tag, type, off, count;
};

struct hdr {
    const char *what; /* "signature header" or "header" */
    const unsigned char *pe, *ds;
    uint32_t il, dl;
    struct ent *ents; /* all but the region tag, sorted by tag */
    size_t n;
};

static void
read_ent(const unsigned char *p, struct ent *e)
{
    e->tag = consign_get_be32(p);
    e->type = consign_get_be32(p + 4);
    e->off = consign_get_be32(p + 8);
    e->count = consign_get_be32(p + 12);
}

static int
is_string_type(unsigned t)
{
    return t == T_STRING || t == T_STRING_ARRAY || t == T_I18NSTRING;
}

/* rpm's type for a tag read here, else T_NULL. */
static unsigned
known_type(uint32_t tag)
{
    size_t lo = 0, hi = sizeof(known_types) / sizeof(known_types[0]), mid;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (known_types[mid].tag == tag)
            return known_types[mid].type;
        if (known_types[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return T_NULL;
}

/* Bytes of an entry's data, or -1 when it runs past the data store (or a
 * STRING has a count other than 1). */
static long long
data_length(const struct hdr *h, const struct ent *e)
{
    const unsigned char *start = h->ds + e->off, *p = start, *end = h->ds + h->dl, *z;
    unsigned long long n;
    uint32_t c = e->count;

    if (type_size[e->type] >= 0) {
        n = (unsigned long long)type_size[e->type] * c;
        return n > (unsigned long long)(end - p) ? -1 : (long long)n;
    }
    if (e->type == T_STRING && c != 1)
        return -1;
    for (; c > 0; c--) {
        if (p >= end || !(z = memchr(p, '\0', (size_t)(end - p))))
            return -1;
        p = z + 1;
    }
    return p - start;
}

/* Padding rpm puts before data of type t at offset off. */
static unsigned
align_diff(unsigned t, unsigned long long off)
{
    unsigned s = type_size[t] > 1 ? (unsigned)type_size[t] : 1;
    return (unsigned)((s - off % s) % s);
}

static int
ent_cmp(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* hdrblobVerifyRegion, hdrblobVerifyInfo and hdrblobImport's size check:
 * the region tag and its trailer, every entry against the data store, the
 * store exactly filled. Then the entries are sorted for lookups (a tag
 * appearing twice is refused). The main header must have an immutable
 * region covering it all; the signature header may have none. */
static int
verify_header(struct consign_ctx *ctx, const char *path, struct hdr *h, int is_main)
{
    uint32_t region = is_main ? TAG_IMMUTABLE : TAG_SIGNATURES, first = 0, rdl = 0, i;
    unsigned long long end = 0, packed = 0, ril;
    long long len, neg;
    struct ent e, t;
    unsigned want;
    int rc = 0, has_region = 0;

    read_ent(h->pe, &e);
    if (e.tag == region) {
        if (e.type != T_BIN || e.count != RPM_REGION_TRAILER) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: region tag: type %u, count %u", h->what,
                     e.type, e.count);
            goto out;
        }
        if (e.off > h->dl || h->dl - e.off < RPM_REGION_TRAILER) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: region tag: offset %u out of range", h->what,
                     e.off);
            goto out;
        }
        read_ent(h->ds + e.off, &t);
        if (!is_main && t.tag == TAG_IMAGE) /* old packages */
            t.tag = TAG_SIGNATURES;
        if (t.tag != region || t.type != T_BIN || t.count != RPM_REGION_TRAILER) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: region trailer: tag %u, type %u, count %u",
                     h->what, t.tag, t.type, t.count);
            goto out;
        }
        neg = -(long long)(int32_t)t.off;
        ril = neg > 0 ? (unsigned long long)neg / 16 : 0;
        if (neg <= 0 || neg % 16 != 0 || ril > h->il) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: region trailer: size out of range", h->what);
            goto out;
        }
        rdl = e.off + RPM_REGION_TRAILER;
        if (is_main && (ril != h->il || rdl != h->dl)) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                     "%s: the immutable region does not cover the header", h->what);
            goto out;
        }
        has_region = 1;
        first = 1;
    } else if (is_main) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "header: no immutable region (an RPM v3 package?)");
        goto out;
    }
    if (!(h->ents = consign_calloc(ctx, h->il, sizeof(*h->ents)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = first; i < h->il; i++) {
        read_ent(h->pe + 16 * (size_t)i, &e);
        if ((int32_t)e.tag < TAG_I18NTABLE) { /* rpm's tags are signed */
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: reserved tag %d", h->what, i,
                     (int32_t)e.tag);
            goto out;
        }
        if (e.type < T_CHAR || e.type > T_MAX) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: tag %u: bad type %u", h->what, i,
                     e.tag, e.type);
            goto out;
        }
        if (e.count < 1 || e.count > h->dl || (e.type != T_BIN && e.count > RPM_ARRAY_MAX)) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: tag %u: count %u out of range",
                     h->what, i, e.tag, e.count);
            goto out;
        }
        if (e.off >= h->dl) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: offset out of range", h->what, i);
            goto out;
        }
        if (type_size[e.type] > 1 && e.off % (unsigned)type_size[e.type] != 0) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: tag %u: misaligned %s data",
                     h->what, i, e.tag, type_name[e.type]);
            goto out;
        }
        want = is_main ? known_type(e.tag) : T_NULL;
        if (want != T_NULL && want != e.type && !(is_string_type(want) && is_string_type(e.type))) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: tag %u is %s, not %s", h->what, i,
                     e.tag, type_name[e.type], type_name[want]);
            goto out;
        }
        if (e.off < end) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                     "%s: entry %u: tag %u: data overlaps the previous entry's", h->what, i, e.tag);
            goto out;
        }
        if ((len = data_length(h, &e)) <= 0) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: entry %u: tag %u: %s", h->what, i, e.tag,
                     is_string_type(e.type) ? "string not terminated in the data store"
                                            : "data out of range");
            goto out;
        }
        if (has_region && e.off + (unsigned long long)len > rdl - RPM_REGION_TRAILER &&
            e.off < rdl) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                     "%s: entry %u: tag %u: data overlaps the region trailer", h->what, i, e.tag);
            goto out;
        }
        end = e.off + (unsigned long long)len;
        packed += align_diff(e.type, packed) + (unsigned long long)len;
        h->ents[h->n++] = e;
    }
    if (packed + (has_region ? RPM_REGION_TRAILER : 0) != h->dl) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                 "%s: data store of %u bytes, the entries account for %llu", h->what, h->dl,
                 packed + (has_region ? RPM_REGION_TRAILER : 0));
        goto out;
    }
    qsort(h->ents, h->n, sizeof(*h->ents), ent_cmp);
    for (size_t k = 1; k < h->n; k++) {
        if (h->ents[k].tag == h->ents[k - 1].tag) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "%s: tag %u appears twice", h->what,
                     h->ents[k].tag);
            goto out;
        }
    }
out:
    return rc;
}

/* --- reading a checked header ----------------------------------------------------------- */

static const struct ent *
find(const struct hdr *h, uint32_t tag)
{
    struct ent key = {.tag = tag};
    return h->n ? bsearch(&key, h->ents, h->n, sizeof(*h->ents), ent_cmp) : NULL;
}

/* Value i of a numeric entry (i < count). */
static uint64_t
num_at(const struct hdr *h, const struct ent *e, size_t i)
{
    const unsigned char *p = h->ds + e->off;

    switch (e->type) {
    case T_CHAR:
    case T_INT8:
        return p[i];
    case T_INT16:
        return get_be16(p + 2 * i);
    case T_INT32:
        return consign_get_be32(p + 4 * i);
    case T_INT64:
        return get_be64(p + 8 * i);
    default:
        return 0;
    }
}

/* rpm's headerGetString: a STRING, the first (untranslated) string of an
 * I18NSTRING, a STRING_ARRAY of one; else NULL. */
static const char *
get_string(const struct hdr *h, uint32_t tag)
{
    const struct ent *e = find(h, tag);

    if (e && (e->type == T_STRING || e->type == T_I18NSTRING ||
              (e->type == T_STRING_ARRAY && e->count == 1)))
        return (const char *)h->ds + e->off;
    return NULL;
}

/* The strings of a list tag as rpm's headerGet gives them (an I18NSTRING
 * gives its first string only). *v is NULL and *n 0 when the tag is absent. */
static int
get_strings(struct consign_ctx *ctx, const struct hdr *h, uint32_t tag, const char ***v, size_t *n)
{
    const struct ent *e = find(h, tag);
    const char *p;
    int rc = 0;

    *v = NULL;
    *n = 0;
    if (!e || !is_string_type(e->type))
        goto out;
    *n = e->type == T_I18NSTRING ? 1 : e->count;
    if (!(*v = consign_calloc(ctx, *n, sizeof(**v)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    p = (const char *)h->ds + e->off;
    for (size_t i = 0; i < *n; i++) {
        (*v)[i] = p;
        p += strlen(p) + 1;
    }
out:
    return rc;
}

/* --- text checks ---------------------------------------------------------------------------- */

/* libxml2's xmlCheckUTF8 on s[0..n), s[n] taken as the terminating NUL:
 * lead bytes and continuation bytes only, no decoding. */
static int
loose_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;

    while (i < n) {
        if (s[i] < 0x80)
            need = 0;
        else if ((s[i] & 0xe0) == 0xc0)
            need = 1;
        else if ((s[i] & 0xf0) == 0xe0)
            need = 2;
        else if ((s[i] & 0xf8) == 0xf0)
            need = 3;
        else
            return 0;
        for (k = 1; k <= need; k++)
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* Decode the sequence at s[0..n) (n >= 1): its length, the code point in
 * *cp; 0 when it is not shortest-form UTF-8 of a character XML allows. */
static size_t
utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len, k;
    uint32_t c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, c = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
        return 0;
    *cp = c;
    return len;
}

static int
strict_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, len;
    uint32_t cp;

    while (i < n) {
        if (!(len = utf8_char(s + i, n - i, &cp)))
            return 0;
        i += len;
    }
    return 1;
}

enum { CHECK_CTRL = 1, CHECK_UTF8 = 2, CHECK_ALL = 3 };

/* Text createrepo_c writes: a control character other than tab, newline and
 * carriage return makes it refuse the package, and text that passes
 * libxml2's loose UTF-8 test is written as it is, so it must be valid. Text
 * that fails the test is taken as Latin-1 (put_escaped), which is fine. */
static int check_text(struct consign_ctx *ctx, const char *path, int what, const char *s, size_t n,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
check_text(struct consign_ctx *ctx, const char *path, int what, const char *s, size_t n,
           const char *fmt, ...)
{
    const unsigned char *u = (const unsigned char *)s;
    char label[256];
    va_list ap;
    int rc = 0;

    if (!s)
        goto out;
    for (size_t i = 0; (what & CHECK_CTRL) && i < n; i++) {
        if (u[i] < 32 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r') {
            va_start(ap, fmt);
            vsnprintf(label, sizeof(label), fmt, ap);
            va_end(ap);
            rc = bad(ctx, path, CONSIGN_E_INVALID, "header: %s: control character 0x%02x", label,
                     u[i]);
            goto out;
        }
    }
    if ((what & CHECK_UTF8) && loose_utf8(u, n) && !strict_utf8(u, n)) {
        va_start(ap, fmt);
        vsnprintf(label, sizeof(label), fmt, ap);
        va_end(ap);
        rc = bad(ctx, path, CONSIGN_E_INVALID, "header: %s: invalid UTF-8", label);
        goto out;
    }
out:
    return rc;
}

/* NAME, VERSION, RELEASE and ARCH: printable ASCII without blanks. */
static int
check_word(struct consign_ctx *ctx, const char *path, const char *tag, const char *s)
{
    int rc = 0;

    if (!s || !s[0]) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "header: no %s", tag);
        goto out;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p > '~') {
            rc = bad(ctx, path, CONSIGN_E_INVALID,
                     "header: %s: byte 0x%02x (only printable ASCII without blanks)", tag, *p);
            goto out;
        }
    }
out:
    return rc;
}

/* --- the fields ------------------------------------------------------------------------------ */

/* headerMergeLegacySigs' checks, and the archive size createrepo_c then
 * reads (LONGARCHIVESIZE, else ARCHIVESIZE, from either header). */
static int
merge_sigs(struct consign_ctx *ctx, const char *path, const struct hdr *sig, const struct hdr *h,
           struct consign_rpm_info *info)
{
    const size_t n = sizeof(merged_sigs) / sizeof(merged_sigs[0]);
    const struct ent *e, *arch32 = NULL, *arch64 = NULL;
    const struct hdr *h32 = h;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (!find(h, merged_sigs[i].xtag))
            continue;
        if (merged_sigs[i].quirk && !find(sig, merged_sigs[i].stag))
            continue;
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "header: signature tag %u in the main header",
                 merged_sigs[i].xtag);
        goto out;
    }
    arch32 = find(h, TAG_ARCHIVESIZE);
    for (size_t i = 0; i < n; i++) {
        if (!(e = find(sig, merged_sigs[i].stag)))
            continue;
        if (e->type != merged_sigs[i].type || e->count > (16u << 20) ||
            (merged_sigs[i].count && e->count != merged_sigs[i].count)) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "signature header: tag %u: %u values of type %s",
                     e->tag, e->count, type_name[e->type]);
            goto out;
        }
        if (merged_sigs[i].xtag == TAG_ARCHIVESIZE) {
            arch32 = e;
            h32 = sig;
        } else if (merged_sigs[i].xtag == TAG_LONGARCHIVESIZE) {
            arch64 = e;
        }
    }
    if (arch64)
        info->archive = num_at(sig, arch64, 0);
    else if (arch32)
        info->archive = num_at(h32, arch32, 0);
out:
    return rc;
}

static int
read_fields(struct consign_ctx *ctx, const char *path, const struct hdr *h,
            struct consign_rpm_info *info)
{
    const struct ent *e;
    const char *dn;
    int rc = 0;

    /* Source packages: SOURCEPACKAGE, or rpm's guess when neither it nor
     * SOURCERPM is there (one empty directory name). */
    e = find(h, TAG_SOURCEPACKAGE);
    if (e && e->count == 1 && num_at(h, e, 0) != 0) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "a source package");
        goto out;
    }
    info->sourcerpm = get_string(h, TAG_SOURCERPM);
    if (!e && !find(h, TAG_SOURCERPM)) {
        e = find(h, TAG_DIRNAMES);
        dn = e && e->type == T_STRING_ARRAY && e->count == 1 ? (const char *)h->ds + e->off : NULL;
        if (dn && !dn[0]) {
            rc = bad(ctx, path, CONSIGN_E_INVALID, "a source package (no SOURCERPM)");
            goto out;
        }
        info->sourcerpm = "(none)";
    }
    if (find(h, TAG_OLDFILENAMES)) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "header: old-style file list (an RPM v3 package?)");
        goto out;
    }

    info->name = get_string(h, TAG_NAME);
    info->version = get_string(h, TAG_VERSION);
    info->release = get_string(h, TAG_RELEASE);
    info->arch = get_string(h, TAG_ARCH);
    if ((rc = check_word(ctx, path, "NAME", info->name)) ||
        (rc = check_word(ctx, path, "VERSION", info->version)) ||
        (rc = check_word(ctx, path, "RELEASE", info->release)) ||
        (rc = check_word(ctx, path, "ARCH", info->arch)))
        goto out;
    if ((e = find(h, TAG_EPOCH))) {
        if (e->count != 1) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "header: EPOCH has %u values", e->count);
            goto out;
        }
        info->epoch = num_at(h, e, 0);
        info->has_epoch = 1;
    }
    snprintf(info->epoch_str, sizeof(info->epoch_str), "%llu", info->epoch);

    info->summary = get_string(h, TAG_SUMMARY);
    info->description = get_string(h, TAG_DESCRIPTION);
    info->packager = get_string(h, TAG_PACKAGER);
    info->url = get_string(h, TAG_URL);
    info->license = get_string(h, TAG_LICENSE);
    info->vendor = get_string(h, TAG_VENDOR);
    info->group = get_string(h, TAG_GROUP);
    info->buildhost = get_string(h, TAG_BUILDHOST);
    {
        const struct {
            const char *s, *tag;
        } text[] = {
            {info->summary, "SUMMARY"},     {info->description, "DESCRIPTION"},
            {info->packager, "PACKAGER"},   {info->url, "URL"},
            {info->license, "LICENSE"},     {info->vendor, "VENDOR"},
            {info->group, "GROUP"},         {info->buildhost, "BUILDHOST"},
            {info->sourcerpm, "SOURCERPM"},
        };
        for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
            if (text[i].s && (rc = check_text(ctx, path, CHECK_ALL, text[i].s, strlen(text[i].s),
                                              "%s", text[i].tag)))
                goto out;
    }

    if ((e = find(h, TAG_BUILDTIME)))
        info->buildtime = num_at(h, e, 0);
    /* LONGSIZE, else SIZE (rpm's 64-bit extension tag). */
    if ((e = find(h, TAG_LONGSIZE)) || (e = find(h, TAG_SIZE)))
        info->installed = num_at(h, e, 0);
out:
    return rc;
}

/* The file list: BASENAMES with DIRINDEXES into DIRNAMES, FILEFLAGS and
 * FILEMODES, all as long (createrepo_c silently lists no file at all when
 * they disagree; that is refused here). */
static int
read_files(struct consign_ctx *ctx, const char *path, const struct hdr *h,
           struct consign_rpm_info *info)
{
    const char **base = NULL, **dirs = NULL;
    const struct ent *di, *fl, *mo;
    size_t n = 0, nd = 0, i;
    uint32_t x, mode;
    int rc = 0;

    if ((rc = get_strings(ctx, h, TAG_BASENAMES, &base, &n)) || !base)
        goto out;
    if ((rc = get_strings(ctx, h, TAG_DIRNAMES, &dirs, &nd)))
        goto out;
    di = find(h, TAG_DIRINDEXES);
    fl = find(h, TAG_FILEFLAGS);
    mo = find(h, TAG_FILEMODES);
    if (!di || !fl || !mo || nd < 1 || nd > n || di->count != n || fl->count != n ||
        mo->count != n) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                 "header: file list: %zu BASENAMES, %zu DIRNAMES, %u DIRINDEXES, %u FILEFLAGS, "
                 "%u FILEMODES",
                 n, nd, di ? di->count : 0, fl ? fl->count : 0, mo ? mo->count : 0);
        goto out;
    }
    if (!(info->files = consign_calloc(ctx, n, sizeof(*info->files)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((x = (uint32_t)num_at(h, di, i)) >= nd) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "header: file %zu: directory index %u of %zu", i,
                     x, nd);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        x = (uint32_t)num_at(h, di, i);
        if ((rc = check_text(ctx, path, CHECK_CTRL, dirs[x], strlen(dirs[x]), "file %zu", i)) ||
            (rc = check_text(ctx, path, CHECK_CTRL, base[i], strlen(base[i]), "file %zu", i)))
            goto out;
        if (!(info->files[i].path = consign_asprintf(ctx, "%s%s", dirs[x], base[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        info->nfiles = i + 1;
        if ((rc = check_text(ctx, path, CHECK_UTF8, info->files[i].path,
                             strlen(info->files[i].path), "file %zu", i)))
            goto out;
        mode = (uint32_t)num_at(h, mo, i);
        if ((mode & 0170000) == 0040000)
            info->files[i].type = F_DIR;
        else if (num_at(h, fl, i) & FILE_GHOST)
            info->files[i].type = F_GHOST;
        else
            info->files[i].type = F_FILE;
    }
out:
    free(base);
    free(dirs);
    return rc;
}

/* --- dependencies ------------------------------------------------------------------------------
 */

/* createrepo_c's cr_flag_to_str. */
static const char *
flag_str(uint32_t flags)
{
    switch (flags & 0xf) {
    case 2:
        return "LT";
    case 4:
        return "GT";
    case 8:
        return "EQ";
    case 10:
        return "LE";
    case 12:
        return "GE";
    default:
        return NULL;
    }
}

static int
c_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int
c_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
c_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Would strtol(s, &end, 10) stop exactly at e? */
static int
strtol_whole(const char *s, const char *e)
{
    const char *p = s;

    if (s == e)
        return 1;
    while (p < e && c_space((unsigned char)*p))
        p++;
    if (p < e && (*p == '+' || *p == '-'))
        p++;
    if (p == e || !c_digit((unsigned char)*p))
        return 0; /* no number: strtol leaves end at s */
    while (p < e && c_digit((unsigned char)*p))
        p++;
    return p == e;
}

/* createrepo_c's cr_str_to_evr on d->ver: [EPOCH:]VERSION[-RELEASE], the
 * epoch "0" when absent or empty. -1 when the epoch is not a number. */
static int
split_evr(struct dep *d)
{
    const char *s = d->ver, *colon, *rest, *dash;

    d->e = d->v = d->r = NULL;
    d->elen = d->vlen = d->rlen = 0;
    if (!s[0])
        return 0;
    rest = s;
    d->e = "0";
    d->elen = 1;
    if ((colon = strchr(s, ':'))) {
        if (!strtol_whole(s, colon))
            return -1;
        if (colon > s) {
            d->e = s;
            d->elen = (size_t)(colon - s);
        }
        rest = colon + 1;
    }
    d->v = rest;
    if ((dash = strchr(rest, '-'))) {
        d->vlen = (size_t)(dash - rest);
        if (dash[1]) {
            d->r = dash + 1;
            d->rlen = strlen(dash + 1);
        }
    } else {
        d->vlen = strlen(rest);
    }
    return 0;
}

static int
is_primary(const char *p)
{
    return strncmp(p, "/etc/", 5) == 0 || strcmp(p, "/usr/lib/sendmail") == 0 ||
           strstr(p, "bin/") != NULL;
}

static int vercmp_n(const char *a, size_t na, const char *b, size_t nb);

/* createrepo_c keeps one requirement on libc.so.6: the one whose first
 * parenthesised part has the highest version ("libc.so.6(GLIBC_2.14)(64bit)"
 * over "libc.so.6(GLIBC_2.3)(64bit)" and "libc.so.6()(64bit)"). Does b
 * replace a? */
static int
libc_higher(const char *a, const char *b)
{
    const char *x = strchr(a, '('), *y = strchr(b, '('), *xe, *ye;

    if (!x && !y)
        return 0;
    if (!x || !y)
        return !x;
    xe = strchr(x, ')');
    ye = strchr(y, ')');
    if (!xe || !ye)
        return !xe && ye;
    x++;
    y++;
    if (x == xe || y == ye)
        return x == xe && y != ye;
    while (*x && !c_digit((unsigned char)*x))
        x++;
    while (*y && !c_digit((unsigned char)*y))
        y++;
    if (x > xe || y > ye)
        return x > xe && y <= ye;
    return vercmp_n(x, (size_t)(xe - x), y, (size_t)(ye - y)) < 0;
}

/* An open-addressing set of indexes (into some array) with caller-supplied
 * hashing and equality. */
struct iset {
    size_t *slot; /* index + 1; 0 is empty */
    size_t mask;
};

static int
iset_init(struct consign_ctx *ctx, struct iset *s, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap <<= 1;
    s->mask = cap - 1;
    s->slot = consign_calloc(ctx, cap, sizeof(*s->slot));
    return s->slot ? 0 : CONSIGN_E_NOMEM;
}

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME  1099511628211ull

static uint64_t
fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

/* name, flags and version run together: createrepo_c's key for provides. */
struct nfv {
    const char *p[3];
};

static int
nfv_eq(const struct nfv *a, const struct nfv *b)
{
    const char *x = a->p[0], *y = b->p[0];
    int i = 0, j = 0;

    for (;;) {
        while (!*x && i < 2)
            x = a->p[++i];
        while (!*y && j < 2)
            y = b->p[++j];
        if (!*x || !*y)
            return !*x && !*y;
        if (*x++ != *y++)
            return 0;
    }
}

static struct nfv
dep_nfv(const struct dep *d)
{
    struct nfv k = {{d->name, d->flags ? d->flags : "", d->ver}};
    return k;
}

/* The slot for the provide equal to k (or the empty slot where it goes). */
static size_t *
provided_slot(const struct iset *s, const struct deplist *prov, const struct nfv *k)
{
    size_t i = fnv(fnv(fnv(FNV_OFFSET, k->p[0]), k->p[1]), k->p[2]) & s->mask;
    struct nfv o;

    while (s->slot[i]) {
        o = dep_nfv(&prov->v[s->slot[i] - 1]);
        if (nfv_eq(&o, k))
            break;
        i = (i + 1) & s->mask;
    }
    return &s->slot[i];
}

/* The slot for the requirement named name (or the empty slot). */
static size_t *
required_slot(const struct iset *s, const struct deplist *req, const char *name)
{
    size_t i = fnv(FNV_OFFSET, name) & s->mask;

    while (s->slot[i] && strcmp(req->v[s->slot[i] - 1].name, name) != 0)
        i = (i + 1) & s->mask;
    return &s->slot[i];
}

/* The slot for the file at path (or the empty slot). */
static size_t *
file_slot(const struct iset *s, const struct consign_rpm_info *info, const char *path)
{
    size_t i = fnv(FNV_OFFSET, path) & s->mask;

    while (s->slot[i] && strcmp(info->files[s->slot[i] - 1].path, path) != 0)
        i = (i + 1) & s->mask;
    return &s->slot[i];
}

static int
push_dep(struct consign_ctx *ctx, struct deplist *l, const struct dep *d)
{
    struct dep *nv;
    int rc = 0;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        if (!(nv = consign_reallocarray(ctx, l->v, l->cap, sizeof(*nv)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        l->v = nv;
    }
    l->v[l->n++] = *d;
out:
    return rc;
}

/* One dependency createrepo_c keeps: no control characters, UTF-8 pieces. */
static int
check_dep(struct consign_ctx *ctx, const char *path, const char *label, size_t i,
          const struct dep *d)
{
    int rc = 0;

    if ((rc = check_text(ctx, path, CHECK_ALL, d->name, strlen(d->name), "%sNAME %zu", label, i)) ||
        (rc = check_text(ctx, path, CHECK_CTRL, d->ver, strlen(d->ver), "%sVERSION %zu", label,
                         i)) ||
        (rc = check_text(ctx, path, CHECK_UTF8, d->e, d->elen, "%sVERSION %zu", label, i)) ||
        (rc = check_text(ctx, path, CHECK_UTF8, d->v, d->vlen, "%sVERSION %zu", label, i)) ||
        (rc = check_text(ctx, path, CHECK_UTF8, d->r, d->rlen, "%sVERSION %zu", label, i)))
        goto out;
out:
    return rc;
}

/* cr_package_from_header's dependency loop: each list in turn; requires
 * lose rpmlib() features, the package's own primary files, what it
 * provides (same name, flags and version) and repeats, gain pre="1" for
 * Requires(pre), Requires(post) and PreReq, and keep only the highest
 * libc.so.6 (put last); MISSINGOK requires become recommends, old-style
 * suggests and enhances become suggests/recommends and
 * enhances/supplements; a version whose epoch is not a number drops the
 * dependency. */
static int
read_deps(struct consign_ctx *ctx, const char *path, const struct hdr *h,
          struct consign_rpm_info *info)
{
    const char **names = NULL, **vers = NULL;
    const struct ent *fe;
    struct iset files = {0}, provided = {0}, required = {0};
    struct deplist *list;
    struct dep d, libc = {0};
    struct nfv key;
    size_t n, nv, i, *slot, libc_i = 0;
    uint32_t flags;
    int k, rc = 0, have_libc = 0;

    if ((rc = iset_init(ctx, &files, info->nfiles)))
        goto out;
    for (i = 0; i < info->nfiles; i++)
        *file_slot(&files, info, info->files[i].path) = i + 1;
    for (k = 0; k < NSRC; k++) {
        free(names);
        free(vers);
        names = vers = NULL;
        if ((rc = get_strings(ctx, h, dep_tags[k].name, &names, &n)) ||
            (rc = get_strings(ctx, h, dep_tags[k].version, &vers, &nv)))
            goto out;
        fe = find(h, dep_tags[k].flags);
        if (!names || !vers || !fe)
            continue;
        if (nv != n || fe->count != n) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "header: %zu %sNAME, %u %sFLAGS, %zu %sVERSION",
                     n, dep_tags[k].label, fe->count, dep_tags[k].label, nv, dep_tags[k].label);
            goto out;
        }
        if (k == D_PROVIDES && (rc = iset_init(ctx, &provided, n)))
            goto out;
        if (k == D_REQUIRES && (rc = iset_init(ctx, &required, n)))
            goto out;
        for (i = 0; i < n; i++) {
            memset(&d, 0, sizeof(d));
            d.name = names[i];
            d.ver = vers[i];
            flags = (uint32_t)num_at(h, fe, i);
            d.flags = flag_str(flags);
            if (k == D_REQUIRES) {
                if (strncmp(d.name, "rpmlib(", 7) == 0)
                    continue;
                if (d.name[0] == '/' && *file_slot(&files, info, d.name) && is_primary(d.name))
                    continue;
                key = dep_nfv(&d);
                if (provided.slot && *provided_slot(&provided, &info->deps[D_PROVIDES], &key))
                    continue;
                d.pre = (flags & (SENSE_PREREQ | SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST)) != 0;
                if ((slot = required_slot(&required, &info->deps[D_REQUIRES], d.name)) && *slot) {
                    const struct dep *o = &info->deps[D_REQUIRES].v[*slot - 1];
                    if (((!o->flags && !d.flags) ||
                         (o->flags && d.flags && strcmp(o->flags, d.flags) == 0)) &&
                        strcmp(o->ver, d.ver) == 0 && o->pre == d.pre)
                        continue;
                }
            }
            if (split_evr(&d))
                continue;
            list = &info->deps[k < NDEP ? k : k == S_OLDSUGGESTS ? D_SUGGESTS : D_ENHANCES];
            if (k == D_REQUIRES && (flags & SENSE_MISSINGOK)) {
                d.pre = 0;
                list = &info->deps[D_RECOMMENDS];
            } else if (k == S_OLDSUGGESTS && (flags & SENSE_STRONG)) {
                list = &info->deps[D_RECOMMENDS];
            } else if (k == S_OLDENHANCES && (flags & SENSE_STRONG)) {
                list = &info->deps[D_SUPPLEMENTS];
            } else if (k == D_REQUIRES && strncmp(d.name, "libc.so.6", 9) == 0) {
                if (!have_libc || libc_higher(libc.name, d.name)) {
                    libc = d;
                    libc_i = i;
                }
                have_libc = 1;
                continue;
            }
            if ((rc = check_dep(ctx, path, dep_tags[k].label, i, &d)) ||
                (rc = push_dep(ctx, list, &d)))
                goto out;
            if (k == D_PROVIDES) {
                key = dep_nfv(&d);
                slot = provided_slot(&provided, list, &key);
                if (!*slot)
                    *slot = list->n;
            } else if (list == &info->deps[D_REQUIRES]) {
                *required_slot(&required, list, d.name) = list->n;
            }
        }
        if (k == D_REQUIRES && have_libc &&
            ((rc = check_dep(ctx, path, "REQUIRE", libc_i, &libc)) ||
             (rc = push_dep(ctx, &info->deps[D_REQUIRES], &libc))))
            goto out;
    }
out:
    free(names);
    free(vers);
    free(files.slot);
    free(provided.slot);
    free(required.slot);
    return rc;
}

/* The changelog, newest first as the header has it; only the entries
 * other.xml shows are checked. */
static int
read_changelog(struct consign_ctx *ctx, const char *path, const struct hdr *h,
               struct consign_rpm_info *info)
{
    const char **names = NULL, **texts = NULL;
    const struct ent *te = find(h, TAG_CHANGELOGTIME);
    struct change *c;
    size_t n = 0, nt = 0, i;
    int rc = 0;

    if ((rc = get_strings(ctx, h, TAG_CHANGELOGNAME, &names, &n)) ||
        (rc = get_strings(ctx, h, TAG_CHANGELOGTEXT, &texts, &nt)))
        goto out;
    if (!te || !names || !texts)
        goto out;
    if (nt != n || te->count != n) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                 "header: changelog: %u CHANGELOGTIME, %zu CHANGELOGNAME, %zu CHANGELOGTEXT",
                 te->count, n, nt);
        goto out;
    }
    if (!(info->changes = consign_calloc(ctx, n, sizeof(*info->changes)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    info->nchanges = n;
    for (i = 0; i < n; i++) {
        c = &info->changes[i];
        c->author = names[i];
        c->text = texts[i];
        c->time = (uint32_t)num_at(h, te, i);
        /* createrepo_c cuts trailing blanks, but never the first byte. */
        c->alen = strlen(c->author);
        while (c->alen > 1 && c->author[c->alen - 1] == ' ')
            c->alen--;
        if (i < CONSIGN_RPM_CHANGELOG_LIMIT &&
            ((rc = check_text(ctx, path, CHECK_ALL, c->author, c->alen, "CHANGELOGNAME %zu", i)) ||
             (rc = check_text(ctx, path, CHECK_ALL, c->text, strlen(c->text), "CHANGELOGTEXT %zu",
                              i))))
            goto out;
    }
out:
    free(names);
    free(texts);
    return rc;
}

/* The size of header and payload the signature header records, when it
 * does, must be what the file has after the lead and signature header. */
static int
check_size(struct consign_ctx *ctx, const char *path, const struct hdr *sig,
           unsigned long long have)
{
    const struct ent *e;
    unsigned long long want;
    int rc = 0;

    if ((e = find(sig, SIG_LONGSIZE)) && e->type == T_INT64 && e->count == 1)
        want = num_at(sig, e, 0);
    else if ((e = find(sig, SIG_SIZE)) && e->type == T_INT32 && e->count == 1)
        want = num_at(sig, e, 0);
    else
        goto out;
    if (want != have) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX,
                 "signature header: header and payload are %llu bytes, the file has %llu "
                 "(truncated?)",
                 want, have);
        goto out;
    }
out:
    return rc;
}

/* --- public: reading ------------------------------------------------------------------------ */

void
consign_rpm_info_free(struct consign_rpm_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->nfiles; i++)
        free(info->files[i].path);
    free(info->files);
    for (int k = 0; k < NDEP; k++)
        free(info->deps[k].v);
    free(info->changes);
    free(info->blob);
    free(info);
}

int
consign_rpm_info_read(struct consign_ctx *ctx, const char *path, struct consign_rpm_info **out)
{
    struct consign_rpm_info *info = NULL;
    struct reader rd;
    struct hdr sig, hdr;
    unsigned char md[CONSIGN_HASH_MAX];
    struct stat st;
    int rc = 0;

    *out = NULL;
    memset(&rd, 0, sizeof(rd));
    memset(&sig, 0, sizeof(sig));
    memset(&hdr, 0, sizeof(hdr));
    consign_buf_init(&rd.sig, CONSIGN_RPM_SIGNATURE_MAX);
    consign_buf_init(&rd.hdr, 16 + (size_t)CONSIGN_RPM_HEADER_MAX);
    rd.path = path;
    rd.stage = ST_LEAD;
    rd.want = 96;
    if (stat(path, &st) != 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "not a regular file");
        goto out;
    }
    rd.fsize = (unsigned long long)st.st_size;
    if (!(info = consign_calloc(ctx, 1, sizeof(*info)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &rd.sha)) ||
        (rc = consign_file_stream(ctx, path, on_block, &rd, &info->size)))
        goto out;
    if (info->size != rd.fsize) {
        rc = bad(ctx, path, CONSIGN_E_IO, "changed while it was read");
        goto out;
    }
    if (rd.stage != ST_PAYLOAD) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "truncated (%llu bytes, ends inside %s)", info->size,
                 stage_name[rd.stage]);
        goto out;
    }
    if ((rc = consign_hash_final(ctx, rd.sha, md)))
        goto out;
    consign_hex(md, 32, info->sha256);

    sig.what = "signature header";
    sig.il = rd.sig_il;
    sig.dl = rd.sig_dl;
    sig.pe = (const unsigned char *)rd.sig.data;
    sig.ds = sig.pe + 16 * (size_t)sig.il;
    if ((rc = verify_header(ctx, path, &sig, 0)))
        goto out;
    info->header_start = rd.header_start;
    info->header_end = rd.header_start + rd.hdr.len;
    if ((rc = check_size(ctx, path, &sig, info->size - info->header_start)))
        goto out;
    info->blob = consign_buf_steal(&rd.hdr, NULL);
    hdr.what = "header";
    hdr.il = rd.hdr_il;
    hdr.dl = rd.hdr_dl;
    hdr.pe = (const unsigned char *)info->blob + 16;
    hdr.ds = hdr.pe + 16 * (size_t)hdr.il;
    if ((rc = verify_header(ctx, path, &hdr, 1)) ||
        (rc = merge_sigs(ctx, path, &sig, &hdr, info)) ||
        (rc = read_fields(ctx, path, &hdr, info)) || (rc = read_files(ctx, path, &hdr, info)) ||
        (rc = read_deps(ctx, path, &hdr, info)) || (rc = read_changelog(ctx, path, &hdr, info)))
        goto out;
    *out = info;
    info = NULL;
out:
    consign_hash_free(rd.sha);
    consign_buf_free(&rd.sig);
    consign_buf_free(&rd.hdr);
    free(sig.ents);
    free(hdr.ents);
    consign_rpm_info_free(info);
    return rc;
}

const char *
consign_rpm_info_name(const struct consign_rpm_info *info)
{
    return info->name;
}

const char *
consign_rpm_info_version(const struct consign_rpm_info *info)
{
    return info->version;
}

const char *
consign_rpm_info_release(const struct consign_rpm_info *info)
{
    return info->release;
}

const char *
consign_rpm_info_arch(const struct consign_rpm_info *info)
{
    return info->arch;
}

unsigned long long
consign_rpm_info_epoch(const struct consign_rpm_info *info, int *present)
{
    if (present)
        *present = info->has_epoch;
    return info->epoch;
}

unsigned long long
consign_rpm_info_size(const struct consign_rpm_info *info)
{
    return info->size;
}

const char *
consign_rpm_info_sha256(const struct consign_rpm_info *info)
{
    return info->sha256;
}

unsigned long long
consign_rpm_info_header_start(const struct consign_rpm_info *info)
{
    return info->header_start;
}

unsigned long long
consign_rpm_info_header_end(const struct consign_rpm_info *info)
{
    return info->header_end;
}

/* --- version order ------------------------------------------------------------------------ */

static int
vercmp_n(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0, j = 0, si, sj, la, lb;
    int num, c, ta, tb;

    if (na == nb && memcmp(a, b, na) == 0)
        return 0;
    for (;;) {
        while (i < na && !c_alpha((unsigned char)a[i]) && !c_digit((unsigned char)a[i]) &&
               a[i] != '~' && a[i] != '^')
            i++;
        while (j < nb && !c_alpha((unsigned char)b[j]) && !c_digit((unsigned char)b[j]) &&
               b[j] != '~' && b[j] != '^')
            j++;
        /* "~" sorts before anything, the end included. */
        ta = i < na && a[i] == '~';
        tb = j < nb && b[j] == '~';
        if (ta || tb) {
            if (!ta || !tb)
                return ta ? -1 : 1;
            i++, j++;
            continue;
        }
        /* "^" sorts after the end, before anything else. */
        ta = i < na && a[i] == '^';
        tb = j < nb && b[j] == '^';
        if (ta || tb) {
            if (i == na)
                return -1;
            if (j == nb)
                return 1;
            if (!ta || !tb)
                return ta ? -1 : 1;
            i++, j++;
            continue;
        }
        if (i == na || j == nb)
            break;
        si = i;
        sj = j;
        num = c_digit((unsigned char)a[i]);
        if (num) {
            while (i < na && c_digit((unsigned char)a[i]))
                i++;
            while (j < nb && c_digit((unsigned char)b[j]))
                j++;
        } else {
            while (i < na && c_alpha((unsigned char)a[i]))
                i++;
            while (j < nb && c_alpha((unsigned char)b[j]))
                j++;
        }
        /* A number beats letters. */
        if (j == sj)
            return num ? 1 : -1;
        if (num) {
            while (si < i && a[si] == '0')
                si++;
            while (sj < j && b[sj] == '0')
                sj++;
            if (i - si != j - sj)
                return i - si > j - sj ? 1 : -1;
        }
        la = i - si;
        lb = j - sj;
        c = memcmp(a + si, b + sj, la < lb ? la : lb);
        if (c)
            return c < 0 ? -1 : 1;
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    if (i == na && j == nb)
        return 0;
    return i == na ? -1 : 1;
}

int
consign_rpm_vercmp(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    return vercmp_n(a, strlen(a), b, strlen(b));
}

int
consign_rpm_evr_cmp(unsigned long long epoch_a, const char *ver_a, const char *rel_a,
                    unsigned long long epoch_b, const char *ver_b, const char *rel_b)
{
    int rc;

    if (epoch_a != epoch_b)
        return epoch_a < epoch_b ? -1 : 1;
    if ((rc = consign_rpm_vercmp(ver_a, ver_b)) != 0)
        return rc;
    if (!rel_a || !rel_b)
        return 0;
    return consign_rpm_vercmp(rel_a, rel_b);
}

/* --- XML ------------------------------------------------------------------------------------- */

/* createrepo_c's cr_latin1_to_utf8: control characters but tab, newline and
 * carriage return dropped, and 0x80-0xBF (C1 controls: cp1252 misread). */
static size_t
latin1_to_utf8(const unsigned char *s, size_t n, unsigned char *o)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80) {
            if (s[i] >= 32 || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
                o[k++] = s[i];
        } else if (s[i] >= 0xc0) {
            o[k++] = 0xc3;
            o[k++] = (unsigned char)((s[i] & 0x3f) + 0x80);
        }
    }
    return k;
}

/* Escape as libxml2 2.9 serialises (xmlNodeDump, no document, UTF-8): in
 * text & < > and CR; in attributes also " TAB LF, and every non-ASCII
 * character as a hexadecimal character reference. */
static int
escape(struct consign_ctx *ctx, struct consign_buf *out, const unsigned char *s, size_t n, int attr)
{
    size_t i, run = 0, len;
    const char *rep;
    char ref[16];
    uint32_t cp;
    int rc = 0;

    for (i = 0; i < n; i += len) {
        len = 1;
        rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        case '"':
            rep = attr ? "&quot;" : NULL;
            break;
        case '\n':
            rep = attr ? "&#10;" : NULL;
            break;
        case '\t':
            rep = attr ? "&#9;" : NULL;
            break;
        default:
            if (attr && s[i] >= 0x80) {
                if (!(len = utf8_char(s + i, n - i, &cp))) {
                    len = 1; /* not reached: the text was checked */
                    cp = s[i];
                }
                snprintf(ref, sizeof(ref), "&#x%X;", cp);
                rep = ref;
            }
            break;
        }
        if (!rep) {
            run += len;
            continue;
        }
        if ((run && (rc = consign_buf_append(ctx, out, s + i - run, run))) ||
            (rc = consign_buf_puts(ctx, out, rep)))
            goto out;
        run = 0;
    }
    if (run)
        rc = consign_buf_append(ctx, out, s + n - run, run);
out:
    return rc;
}

/* Text or an attribute value as createrepo_c's cr_xmlNewTextChild and
 * cr_xmlNewProp give it to libxml2: NULL as empty, anything that is not
 * UTF-8 converted from Latin-1. */
static int
put_escaped(struct consign_ctx *ctx, struct consign_buf *out, const char *s, size_t n, int attr)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    unsigned char *tmp = NULL;
    int rc = 0;

    if (!s)
        n = 0;
    if (loose_utf8(u, n)) {
        rc = escape(ctx, out, u, n, attr);
        goto out;
    }
    if (!(tmp = consign_calloc(ctx, 2 * n + 1, 1))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    rc = escape(ctx, out, tmp, latin1_to_utf8(u, n, tmp), attr);
out:
    free(tmp);
    return rc;
}

static int
put_str(struct consign_ctx *ctx, struct consign_buf *out, const char *s, int attr)
{
    return put_escaped(ctx, out, s, s ? strlen(s) : 0, attr);
}

/* <indent><name>text</name>\n */
static int
text_element(struct consign_ctx *ctx, struct consign_buf *out, const char *indent, const char *name,
             const char *text)
{
    int rc;

    if ((rc = consign_buf_printf(ctx, out, "%s<%s>", indent, name)) ||
        (rc = put_str(ctx, out, text, 0)))
        goto out;
    rc = consign_buf_printf(ctx, out, "</%s>\n", name);
out:
    return rc;
}

/* name="value" with a leading blank. */
static int
attribute(struct consign_ctx *ctx, struct consign_buf *out, const char *name, const char *s,
          size_t n)
{
    int rc;

    if ((rc = consign_buf_printf(ctx, out, " %s=\"", name)) ||
        (rc = put_escaped(ctx, out, s, n, 1)))
        goto out;
    rc = consign_buf_puts(ctx, out, "\"");
out:
    return rc;
}

static int
version_element(struct consign_ctx *ctx, struct consign_buf *out,
                const struct consign_rpm_info *info)
{
    int rc;

    if ((rc = consign_buf_puts(ctx, out, "  <version")) ||
        (rc = attribute(ctx, out, "epoch", info->epoch_str, strlen(info->epoch_str))) ||
        (rc = attribute(ctx, out, "ver", info->version, strlen(info->version))) ||
        (rc = attribute(ctx, out, "rel", info->release, strlen(info->release))))
        goto out;
    rc = consign_buf_puts(ctx, out, "/>\n");
out:
    return rc;
}

/* <package pkgid=... name=... arch=...> of filelists.xml and other.xml. */
static int
package_start(struct consign_ctx *ctx, struct consign_buf *out, const struct consign_rpm_info *info)
{
    int rc;

    if ((rc = consign_buf_puts(ctx, out, "<package")) ||
        (rc = attribute(ctx, out, "pkgid", info->sha256, strlen(info->sha256))) ||
        (rc = attribute(ctx, out, "name", info->name, strlen(info->name))) ||
        (rc = attribute(ctx, out, "arch", info->arch, strlen(info->arch))) ||
        (rc = consign_buf_puts(ctx, out, ">\n")))
        goto out;
    rc = version_element(ctx, out, info);
out:
    return rc;
}

static int
file_elements(struct consign_ctx *ctx, struct consign_buf *out, const struct consign_rpm_info *info,
              const char *indent, int primary)
{
    static const char *const type_attr[] = {"", " type=\"dir\"", " type=\"ghost\""};
    const struct file *f;
    int rc = 0;

    for (size_t i = 0; i < info->nfiles; i++) {
        f = &info->files[i];
        if (primary && !is_primary(f->path))
            continue;
        if ((rc = consign_buf_printf(ctx, out, "%s<file%s>", indent, type_attr[f->type])) ||
            (rc = put_str(ctx, out, f->path, 0)) || (rc = consign_buf_puts(ctx, out, "</file>\n")))
            goto out;
    }
out:
    return rc;
}

static int
dep_elements(struct consign_ctx *ctx, struct consign_buf *out, const struct consign_rpm_info *info,
             int k)
{
    const struct deplist *l = &info->deps[k];
    const struct dep *d;
    size_t named = 0;
    int rc = 0;

    if (!l->n)
        goto out;
    for (size_t i = 0; i < l->n; i++)
        named += l->v[i].name[0] != '\0';
    if (!named) { /* every entry skipped: an empty element */
        rc = consign_buf_printf(ctx, out, "    <%s/>\n", dep_element[k]);
        goto out;
    }
    if ((rc = consign_buf_printf(ctx, out, "    <%s>\n", dep_element[k])))
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        d = &l->v[i];
        if (!d->name[0])
            continue;
        if ((rc = consign_buf_puts(ctx, out, "      <rpm:entry")) ||
            (rc = attribute(ctx, out, "name", d->name, strlen(d->name))))
            goto out;
        if (d->flags && ((rc = attribute(ctx, out, "flags", d->flags, strlen(d->flags))) ||
                         (d->elen && (rc = attribute(ctx, out, "epoch", d->e, d->elen))) ||
                         (d->vlen && (rc = attribute(ctx, out, "ver", d->v, d->vlen))) ||
                         (d->rlen && (rc = attribute(ctx, out, "rel", d->r, d->rlen)))))
            goto out;
        if (k == D_REQUIRES && d->pre && (rc = consign_buf_puts(ctx, out, " pre=\"1\"")))
            goto out;
        if ((rc = consign_buf_puts(ctx, out, "/>\n")))
            goto out;
    }
    rc = consign_buf_printf(ctx, out, "    </%s>\n", dep_element[k]);
out:
    return rc;
}

/* A writer failed: drop what it appended. */
static void
rollback(struct consign_buf *out, size_t len)
{
    out->len = len;
    if (out->data)
        out->data[len] = '\0';
}

/* Text createrepo_c would refuse, or could not write as valid XML. */
static int
check_href(struct consign_ctx *ctx, const char *href)
{
    const unsigned char *u = (const unsigned char *)href;
    size_t n = strlen(href);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (u[i] < 32 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r') {
            rc = consign_fail(ctx, CONSIGN_E_INVALID, "location href: control character 0x%02x",
                              u[i]);
            goto out;
        }
    }
    if (loose_utf8(u, n) && !strict_utf8(u, n))
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "location href: invalid UTF-8");
out:
    return rc;
}

int
consign_rpm_info_primary_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                             const char *location_href, long long file_mtime,
                             struct consign_buf *out)
{
    size_t start = out->len;
    int rc = 0;

    if (!location_href || !location_href[0]) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "location href: empty");
        goto out;
    }
    if ((rc = check_href(ctx, location_href)))
        goto out;
    if ((rc = consign_buf_puts(ctx, out, "<package type=\"rpm\">\n")) ||
        (rc = text_element(ctx, out, "  ", "name", info->name)) ||
        (rc = text_element(ctx, out, "  ", "arch", info->arch)) ||
        (rc = version_element(ctx, out, info)) ||
        (rc = consign_buf_printf(ctx, out,
                                 "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n",
                                 info->sha256)) ||
        (rc = text_element(ctx, out, "  ", "summary", info->summary)) ||
        (rc = text_element(ctx, out, "  ", "description", info->description)) ||
        (rc = text_element(ctx, out, "  ", "packager", info->packager)) ||
        (rc = text_element(ctx, out, "  ", "url", info->url)) ||
        (rc = consign_buf_printf(ctx, out, "  <time file=\"%lld\" build=\"%lld\"/>\n", file_mtime,
                                 (long long)info->buildtime)) ||
        (rc = consign_buf_printf(
             ctx, out, "  <size package=\"%lld\" installed=\"%lld\" archive=\"%lld\"/>\n",
             (long long)info->size, (long long)info->installed, (long long)info->archive)) ||
        (rc = consign_buf_puts(ctx, out, "  <location")) ||
        (rc = attribute(ctx, out, "href", location_href, strlen(location_href))) ||
        (rc = consign_buf_puts(ctx, out, "/>\n  <format>\n")) ||
        (rc = text_element(ctx, out, "    ", "rpm:license", info->license)) ||
        (rc = text_element(ctx, out, "    ", "rpm:vendor", info->vendor)) ||
        (rc = text_element(ctx, out, "    ", "rpm:group", info->group)) ||
        (rc = text_element(ctx, out, "    ", "rpm:buildhost", info->buildhost)) ||
        (rc = text_element(ctx, out, "    ", "rpm:sourcerpm", info->sourcerpm)) ||
        (rc = consign_buf_printf(ctx, out, "    <rpm:header-range start=\"%llu\" end=\"%llu\"/>\n",
                                 info->header_start, info->header_end)))
        goto out;
    for (int i = 0; i < NDEP; i++)
        if ((rc = dep_elements(ctx, out, info, primary_order[i])))
            goto out;
    if ((rc = file_elements(ctx, out, info, "    ", 1)))
        goto out;
    rc = consign_buf_puts(ctx, out, "  </format>\n</package>\n");
out:
    if (rc)
        rollback(out, start);
    return rc;
}

int
consign_rpm_info_filelists_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                               struct consign_buf *out)
{
    size_t start = out->len;
    int rc;

    if ((rc = package_start(ctx, out, info)) || (rc = file_elements(ctx, out, info, "  ", 0)))
        goto out;
    rc = consign_buf_puts(ctx, out, "</package>\n");
out:
    if (rc)
        rollback(out, start);
    return rc;
}

/* cr_package_from_header's changelog: the first CONSIGN_RPM_CHANGELOG_LIMIT
 * entries (the newest), written oldest first; when an entry has the time of
 * the one before it (newer, in the header), that one and the run of equal
 * times before it move up by a second each. The arithmetic on the run is
 * createrepo_c's (a 32-bit int). */
int
consign_rpm_info_other_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                           struct consign_buf *out)
{
    long long date[CONSIGN_RPM_CHANGELOG_LIMIT], last = 0;
    size_t m =
        info->nchanges < CONSIGN_RPM_CHANGELOG_LIMIT ? info->nchanges : CONSIGN_RPM_CHANGELOG_LIMIT;
    const struct change *c;
    size_t start = out->len;
    int32_t run;
    int rc = 0;

    for (size_t i = 0; i < m; i++) {
        date[i] = info->changes[i].time;
        if (last == date[i]) {
            run = (int32_t)info->changes[i].time;
            for (size_t j = i; j-- > 0 && date[j] == run;) {
                date[j]++;
                run = (int32_t)(uint32_t)((uint32_t)run + 1u);
            }
        } else {
            last = date[i];
        }
    }
    if ((rc = package_start(ctx, out, info)))
        goto out;
    for (size_t i = m; i-- > 0;) {
        c = &info->changes[i];
        if ((rc = consign_buf_puts(ctx, out, "  <changelog")) ||
            (rc = attribute(ctx, out, "author", c->author, c->alen)) ||
            (rc = consign_buf_printf(ctx, out, " date=\"%lld\">", date[i])) ||
            (rc = put_str(ctx, out, c->text, 0)) ||
            (rc = consign_buf_puts(ctx, out, "</changelog>\n")))
            goto out;
    }
    rc = consign_buf_puts(ctx, out, "</package>\n");
out:
    if (rc)
        rollback(out, start);
    return rc;
}

/* --- the documents -------------------------------------------------------------------------- */

int
consign_rpm_md_header(struct consign_ctx *ctx, enum consign_rpm_md kind, size_t npackages,
                      struct consign_buf *out)
{
    static const char *const root[] = {"metadata", "filelists", "otherdata"};
    static const char *const ns[] = {"common", "filelists", "other"};

    if ((unsigned)kind > CONSIGN_RPM_OTHER)
        return consign_fail(ctx, CONSIGN_E_USAGE, "rpm metadata: unknown kind %d", (int)kind);
    return consign_buf_printf(
        ctx, out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s "
        "xmlns=\"http://linux.duke.edu/metadata/%s\"%s "
        "packages=\"%zu\">\n",
        root[kind], ns[kind],
        kind == CONSIGN_RPM_PRIMARY ? " xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"" : "",
        npackages);
}

const char *
consign_rpm_md_footer(enum consign_rpm_md kind)
{
    switch (kind) {
    case CONSIGN_RPM_PRIMARY:
        return "</metadata>";
    case CONSIGN_RPM_FILELISTS:
        return "</filelists>";
    case CONSIGN_RPM_OTHER:
        return "</otherdata>";
    }
    return "";
}

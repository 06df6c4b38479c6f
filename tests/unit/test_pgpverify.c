/* OpenPGP verification (consign_pgpverify) against the real gpg: keys made at
 * test time in a throwaway key directory (its gnupg/ is the GnuPG home),
 * signatures by gpg and by consign's own writer, tampering, truncation and
 * gpgv's agreement. Then packets crafted here with Nettle's Ed25519 signer
 * for what gpg 2.2 cannot make: algorithm 27, critical, missing or foreign
 * subpackets, odd framing and armor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include <nettle/eddsa.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "consign/buf.h"
#include "consign/bytes.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/pgpverify.h"

#include "../../keys/src/openpgp.h"

#define FPR   CONSIGN_PGP_FPR_LEN
#define HEX   (2 * CONSIGN_PGP_FPR_LEN + 1)
#define GPG   "gpg --homedir '%s' --batch --no-tty --quiet --yes "
#define QUIET " 2>>'%s/gpg.log' >/dev/null"

static char dir[64];  /* the key directory */
static char home[96]; /* dir/gnupg, the GnuPG home */
static long long t0;  /* before the keys were made */
static unsigned char data[1000];

/* A key gpg made: its primary fingerprint, the signing subkey's if it has
 * one, and "gpg --export" of it. */
struct tkey {
    const char *uid;
    const char *algo;
    const char *subalgo; /* NULL: no subkey */
    char fpr[HEX], sub[HEX];
    unsigned char bfpr[FPR], bsub[FPR];
    char *ring;
    size_t ringlen;
};

static struct tkey k_rsa = {.uid = "R <r@x>", .algo = "rsa2048", .subalgo = NULL};
static struct tkey k_rsa4k = {.uid = "R4 <r4@x>", .algo = "rsa4096", .subalgo = NULL};
static struct tkey k_ed = {.uid = "E <e@x>", .algo = "ed25519", .subalgo = NULL};
static struct tkey k_sub = {.uid = "S <s@x>", .algo = "ed25519", .subalgo = "rsa2048"};
static struct tkey k_weak = {.uid = "W <w@x>", .algo = "rsa1024", .subalgo = NULL};
static struct tkey *const keys[] = {&k_rsa, &k_rsa4k, &k_ed, &k_sub, &k_weak};

/* Run a shell command; its exit status, or -1. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static char *
slurp(const char *path, size_t *len)
{
    struct consign_ctx ctx;
    char *buf = NULL;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_file_read(&ctx, path, 1u << 20, &buf, len), 0);
    return buf;
}

static void
spill(const char *path, const void *p, size_t n)
{
    struct consign_ctx ctx;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_file_write_atomic(&ctx, path, p, n, 0600), 0);
}

static void
unhex(const char *hex, unsigned char *out, size_t n)
{
    size_t i;
    unsigned v;

    for (i = 0; i < n; i++) {
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
}

/* A v4 fingerprint, computed here independently of the library. */
static void
body_fpr(const unsigned char *body, size_t n, unsigned char fpr[FPR])
{
    struct sha1_ctx h;
    unsigned char hdr[3] = {0x99, (unsigned char)(n >> 8), (unsigned char)n};

    sha1_init(&h);
    sha1_update(&h, 3, hdr);
    sha1_update(&h, n, body);
    sha1_digest(&h, FPR, fpr);
}

/* Where the key packet whose fingerprint is fpr ends in a keyring. */
static size_t
key_end(const unsigned char *r, size_t n, const unsigned char fpr[FPR])
{
    unsigned char got[FPR];
    size_t p = 0, hl, len, i;
    unsigned tag;

    while (p < n) {
        if (r[p] & 0x40) {
            tag = r[p] & 0x3f;
            if (r[p + 1] < 192) {
                len = r[p + 1];
                hl = 2;
            } else if (r[p + 1] < 224) {
                len = ((size_t)(r[p + 1] - 192) << 8) + r[p + 2] + 192;
                hl = 3;
            } else {
                len = consign_get_be32(r + p + 2);
                hl = 6;
            }
        } else {
            tag = r[p] >> 2 & 15;
            hl = 1 + ((size_t)1 << (r[p] & 3));
            for (len = 0, i = 1; i < hl; i++)
                len = len << 8 | r[p + i];
        }
        if (tag == 6 || tag == 14) {
            body_fpr(r + p + hl, len, got);
            if (memcmp(got, fpr, FPR) == 0)
                return p + hl + len;
        }
        p += hl + len;
    }
    fail_msg("key not in the keyring");
    return 0;
}

/* The primary and (first) subkey fingerprints gpg lists for k. */
static int
list_fprs(struct tkey *k, int want_sub)
{
    char cmd[512], line[512], *f;
    FILE *p;
    int n = 0, i;

    snprintf(cmd, sizeof(cmd),
             "gpg --homedir '%s' --batch --with-colons --with-subkey-fingerprint "
             "--list-keys '%s' 2>/dev/null",
             home, k->uid);
    if (!(p = popen(cmd, "r")))
        return -1;
    while (fgets(line, sizeof(line), p)) {
        if (strncmp(line, "fpr:", 4) != 0 || n >= 2)
            continue;
        for (f = line, i = 0; i < 9 && f; i++)
            f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
        if (!f || strlen(f) < 40)
            continue;
        memcpy(n ? k->sub : k->fpr, f, 40);
        n++;
    }
    pclose(p);
    if (n < (want_sub ? 2 : 1))
        return -1;
    unhex(k->fpr, k->bfpr, FPR);
    if (want_sub)
        unhex(k->sub, k->bsub, FPR);
    return 0;
}

static int
make_key(struct tkey *k)
{
    char path[256];
    struct consign_ctx ctx;

    if (sh(GPG "--passphrase '' --quick-gen-key '%s' %s sign never" QUIET, home, k->uid, k->algo,
           dir) != 0 ||
        list_fprs(k, 0) != 0)
        return -1;
    if (k->subalgo && (sh(GPG "--passphrase '' --quick-add-key %s %s sign never" QUIET, home,
                          k->fpr, k->subalgo, dir) != 0 ||
                       list_fprs(k, 1) != 0))
        return -1;
    snprintf(path, sizeof(path), "%s/%s.pub", dir, k->fpr);
    if (sh(GPG "--export %s > '%s' 2>>'%s/gpg.log'", home, k->fpr, path, dir) != 0)
        return -1;
    consign_ctx_init(&ctx, NULL, NULL);
    return consign_file_read(&ctx, path, 1u << 20, &k->ring, &k->ringlen) ? -1 : 0;
}

static int
setup(void **state)
{
    size_t i;
    char path[128];
    struct consign_ctx ctx;

    (void)state;
    t0 = (long long)time(NULL);
    snprintf(dir, sizeof(dir), "/tmp/consign-pgpv.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(home, sizeof(home), "%s/gnupg", dir);
    if (mkdir(home, 0700) != 0)
        return -1;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 131 + (i >> 3));
    snprintf(path, sizeof(path), "%s/data", dir);
    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_file_write_atomic(&ctx, path, data, sizeof(data), 0600))
        return -1;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (make_key(keys[i]) != 0) {
            fprintf(stderr, "could not make a %s key with gpg (see %s/gpg.log)\n", keys[i]->algo,
                    dir);
            return -1;
        }
    return 0;
}

static int
teardown(void **state)
{
    size_t i;

    (void)state;
    sh("gpgconf --homedir '%s' --kill gpg-agent >/dev/null 2>&1", home);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        free(keys[i]->ring);
    return sh("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

/* gpg's detached signature of data by the (sub)key fpr, with extra options. */
static char *
gpg_sign(const char *fpr, const char *opts, size_t *len)
{
    static int seq;
    char out[128];

    snprintf(out, sizeof(out), "%s/sig%d", dir, seq++);
    assert_int_equal(sh(GPG "--local-user '%s!' --detach-sign %s -o '%s' '%s/data' 2>>'%s/gpg.log'",
                        home, fpr, opts, out, dir, dir),
                     0);
    return slurp(out, len);
}

/* Find the key (sub: the subkey) of k, or fail the test. */
static struct consign_pgp_key *
find(const struct tkey *k, int sub)
{
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    unsigned char got[FPR];

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_pgp_keyring_find(&ctx, k->ring, k->ringlen, sub ? k->bsub : k->bfpr, &key))
        fail_msg("%s", consign_err_msg(&ctx));
    consign_pgp_key_fpr(key, got);
    assert_memory_equal(got, sub ? k->bsub : k->bfpr, FPR);
    return key;
}

/* Verify and check the error protocol: a failure is recorded with a message. */
static int
check(const struct consign_pgp_key *key, const void *sig, size_t n, const void *d, size_t dn,
      struct consign_pgp_sig_info *info, char *msg, size_t msglen)
{
    struct consign_ctx ctx;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_pgp_verify(&ctx, key, sig, n, d, dn, info);
    if (rc) {
        assert_int_equal(ctx.err_code, rc);
        assert_true(strlen(consign_err_msg(&ctx)) > 5);
    }
    if (msg)
        snprintf(msg, msglen, "%s", consign_err_msg(&ctx));
    return rc;
}

static int
check_k(const struct tkey *k, int sub, const void *sig, size_t n, const void *d, size_t dn,
        char *msg, size_t msglen)
{
    struct consign_pgp_key *key = find(k, sub);
    int rc = check(key, sig, n, d, dn, NULL, msg, msglen);

    consign_pgp_key_free(key);
    return rc;
}

/* Hands out the data a few bytes at a time; fails once when told to. */
struct chunks {
    const unsigned char *p;
    size_t n, step;
    int fail;
};

static int
chunk_read(struct consign_ctx *ctx, void *user, void *buf, size_t n, size_t *got)
{
    struct chunks *c = user;
    size_t k = c->n < c->step ? c->n : c->step;

    if (c->fail)
        return consign_fail(ctx, CONSIGN_E_IO, "reader failed on purpose");
    if (k > n)
        k = n;
    memcpy(buf, c->p, k);
    c->p += k;
    c->n -= k;
    *got = k;
    return 0;
}

static void
test_find(void **state)
{
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    unsigned char got[FPR];
    char hex[HEX], msg[CONSIGN_ERR_MAX], path[256];
    struct consign_buf both;
    char *asc;
    size_t n;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    /* Fingerprints agree with gpg's; NULL finds the primary key. */
    key = find(&k_rsa, 0);
    assert_int_equal(consign_pgp_key_algo(key), CONSIGN_PGP_PK_RSA);
    assert_int_equal(consign_pgp_key_bits(key), 2048);
    consign_pgp_key_free(key);
    key = find(&k_rsa4k, 0);
    assert_int_equal(consign_pgp_key_bits(key), 4096);
    consign_pgp_key_free(key);
    key = find(&k_ed, 0);
    assert_int_equal(consign_pgp_key_algo(key), CONSIGN_PGP_PK_EDDSA);
    assert_int_equal(consign_pgp_key_bits(key), 256);
    consign_pgp_fpr_hex(k_ed.bfpr, hex);
    assert_string_equal(hex, k_ed.fpr);
    consign_pgp_key_free(key);
    key = find(&k_sub, 1);
    assert_int_equal(consign_pgp_key_algo(key), CONSIGN_PGP_PK_RSA);
    consign_pgp_key_free(key);
    assert_int_equal(consign_pgp_keyring_find(&ctx, k_sub.ring, k_sub.ringlen, NULL, &key), 0);
    consign_pgp_key_fpr(key, got);
    assert_memory_equal(got, k_sub.bfpr, FPR);
    consign_pgp_key_free(key);

    /* Another key's fingerprint: not found, and named. */
    key = (struct consign_pgp_key *)&ctx; /* must be reset to NULL */
    assert_int_equal(consign_pgp_keyring_find(&ctx, k_ed.ring, k_ed.ringlen, k_rsa.bfpr, &key),
                     CONSIGN_E_NOTFOUND);
    assert_null(key);
    assert_non_null(strstr(consign_err_msg(&ctx), k_rsa.fpr));

    /* Several keys in one ring. */
    consign_buf_init(&both, 1u << 20);
    assert_int_equal(consign_buf_append(&ctx, &both, k_rsa.ring, k_rsa.ringlen), 0);
    assert_int_equal(consign_buf_append(&ctx, &both, k_sub.ring, k_sub.ringlen), 0);
    assert_int_equal(consign_pgp_keyring_find(&ctx, both.data, both.len, k_sub.bsub, &key), 0);
    consign_pgp_key_free(key);
    assert_int_equal(consign_pgp_keyring_find(&ctx, both.data, both.len, k_rsa.bfpr, &key), 0);
    consign_pgp_key_free(key);
    consign_buf_free(&both);

    /* An armored export. */
    snprintf(path, sizeof(path), "%s/ed.asc", dir);
    assert_int_equal(sh(GPG "--armor --export %s > '%s'", home, k_ed.fpr, path), 0);
    asc = slurp(path, &n);
    assert_int_equal(consign_pgp_keyring_find(&ctx, asc, n, k_ed.bfpr, &key), 0);
    consign_pgp_key_free(key);
    free(asc);

    /* gpg still makes RSA-1024 keys; we refuse them. */
    assert_int_equal(consign_pgp_keyring_find(&ctx, k_weak.ring, k_weak.ringlen, NULL, &key),
                     CONSIGN_E_KEY);
    snprintf(msg, sizeof(msg), "%s", consign_err_msg(&ctx));
    assert_non_null(strstr(msg, "1024"));
    assert_non_null(strstr(msg, k_weak.fpr));

    assert_int_equal(consign_pgp_keyring_find(&ctx, "", 0, NULL, &key), CONSIGN_E_SYNTAX);
    assert_int_equal(consign_pgp_keyring_find(&ctx, NULL, 5, NULL, &key), CONSIGN_E_SYNTAX);
    consign_pgp_key_free(NULL);
}

/* One gpg signature case: who signs, how, and what the info must say. */
struct gcase {
    const struct tkey *k;
    int sub;
    const char *opts;
    int hash;
};

static void
test_gpg_good(void **state)
{
    static const struct gcase cases[] = {
        {&k_rsa, 0, "--digest-algo SHA512", CONSIGN_PGP_HASH_SHA512},
        {&k_rsa, 0, "--digest-algo SHA512 --armor", CONSIGN_PGP_HASH_SHA512},
        {&k_rsa, 0, "--digest-algo SHA256", CONSIGN_PGP_HASH_SHA256},
        {&k_rsa, 0, "--digest-algo SHA384", CONSIGN_PGP_HASH_SHA384},
        {&k_rsa4k, 0, "--digest-algo SHA512", CONSIGN_PGP_HASH_SHA512},
        {&k_ed, 0, "--digest-algo SHA512", CONSIGN_PGP_HASH_SHA512},
        {&k_ed, 0, "--digest-algo SHA512 --armor", CONSIGN_PGP_HASH_SHA512},
        {&k_ed, 0, "--digest-algo SHA256", CONSIGN_PGP_HASH_SHA256},
        {&k_ed, 0, "--digest-algo SHA384 --armor", CONSIGN_PGP_HASH_SHA384},
        {&k_sub, 1, "--digest-algo SHA512", CONSIGN_PGP_HASH_SHA512},
        /* A notation gpg does not mark critical is skipped. */
        {&k_ed, 0, "--digest-algo SHA512 --sig-notation plain@example.com=1",
         CONSIGN_PGP_HASH_SHA512},
    };
    struct consign_pgp_sig_info info;
    struct consign_pgp_key *key;
    struct consign_ctx ctx;
    struct chunks ch;
    size_t i, n;
    char *sig;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct gcase *c = &cases[i];
        sig = gpg_sign(c->sub ? c->k->sub : c->k->fpr, c->opts, &n);
        key = find(c->k, c->sub);
        memset(&info, 0xa5, sizeof(info));
        assert_int_equal(check(key, sig, n, data, sizeof(data), &info, NULL, 0), 0);
        assert_int_equal(info.hash_algo, c->hash);
        assert_int_equal(info.pk_algo, consign_pgp_key_algo(key));
        assert_memory_equal(info.issuer_fpr, c->sub ? c->k->bsub : c->k->bfpr, FPR);
        assert_true(info.created >= t0 && info.created <= (long long)time(NULL));
        /* Streamed in odd pieces, the same; a failing reader's error comes back. */
        consign_ctx_init(&ctx, NULL, NULL);
        ch = (struct chunks){data, sizeof(data), 7, 0};
        assert_int_equal(consign_pgp_verify_stream(&ctx, key, sig, n, chunk_read, &ch, NULL), 0);
        ch = (struct chunks){data, sizeof(data), 7, 1};
        assert_int_equal(consign_pgp_verify_stream(&ctx, key, sig, n, chunk_read, &ch, NULL),
                         CONSIGN_E_IO);
        assert_non_null(strstr(consign_err_msg(&ctx), "on purpose"));
        consign_pgp_key_free(key);
        free(sig);
    }
}

/* consign's own writer, with the active key switched between gpg's keys. */
static void
writer_case(const struct tkey *k, int armor)
{
    struct consign_sign_opts opts = {CONSIGN_SIG_DETACHED, armor, 0};
    struct consign_pgp_sig_info info;
    struct consign_pgp_key *key;
    struct consign_ctx ctx;
    struct consign_buf out;
    char path[128], active[64];
    int rc, rc2;

    opts.created = (long long)time(NULL);
    snprintf(path, sizeof(path), "%s/active", dir);
    snprintf(active, sizeof(active), "%s\n", k->fpr);
    spill(path, active, strlen(active));
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 20);
    if (consign_keys_sign_ext(&ctx, dir, NULL, &opts, data, sizeof(data), NULL, NULL, &out))
        fail_msg("%s", consign_err_msg(&ctx));
    /* consign signs with the newest signing (sub)key, the primary one when
     * both were made in the same second: one of them verifies, the other is
     * another key. */
    key = find(k, 0);
    rc = check(key, out.data, out.len, data, sizeof(data), &info, NULL, 0);
    consign_pgp_key_free(key);
    if (k->subalgo) {
        key = find(k, 1);
        rc2 = check(key, out.data, out.len, data, sizeof(data), rc ? &info : NULL, NULL, 0);
        consign_pgp_key_free(key);
        assert_true(rc == CONSIGN_E_UNTRUSTED || rc2 == CONSIGN_E_UNTRUSTED);
        rc = rc ? rc2 : rc;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(info.created, opts.created);
    assert_int_equal(info.hash_algo, CONSIGN_PGP_HASH_SHA512);
    consign_buf_free(&out);
}

static void
test_consign_writer(void **state)
{
    (void)state;
    writer_case(&k_rsa, 0);
    writer_case(&k_rsa, 1);
    writer_case(&k_ed, 0);
    writer_case(&k_ed, 1);
    writer_case(&k_sub, 0);
}

/* Where the parts of a binary v4 signature packet are. */
struct layout {
    size_t hl;         /* header */
    size_t hashed_end; /* end of the hashed subpackets */
    size_t unhashed_end;
    size_t created;    /* the creation time's value */
    size_t issuer_fpr; /* the issuer fingerprint's 20 bytes */
    size_t keyid;      /* the unhashed issuer key ID */
};

static void
layout(const unsigned char *s, size_t n, struct layout *l)
{
    size_t p, end, len;

    memset(l, 0, sizeof(*l));
    assert_true(n > 10 && (s[0] & 0xc0) == 0x80);
    l->hl = 1 + ((size_t)1 << (s[0] & 3));
    p = l->hl + 4;
    len = (size_t)s[p] << 8 | s[p + 1];
    p += 2;
    l->hashed_end = p + len;
    for (end = l->hashed_end; p < end; p += len) {
        len = s[p++];
        assert_true(len < 192);
        if ((s[p] & 0x7f) == 2)
            l->created = p + 1;
        if ((s[p] & 0x7f) == 33)
            l->issuer_fpr = p + 2;
    }
    len = (size_t)s[p] << 8 | s[p + 1];
    p += 2;
    l->unhashed_end = p + len;
    for (end = l->unhashed_end; p < end; p += len) {
        len = s[p++];
        if ((s[p] & 0x7f) == 16)
            l->keyid = p + 1;
    }
    assert_true(l->created && l->issuer_fpr && l->keyid && l->unhashed_end + 2 < n);
}

static void
tamper(const struct tkey *k)
{
    unsigned char *sig, *ring, *d;
    struct consign_pgp_key *key, *other = NULL;
    struct consign_ctx ctx;
    struct layout l;
    size_t n, i;
    int rc;

    sig = (unsigned char *)gpg_sign(k->fpr, "--digest-algo SHA512", &n);
    layout(sig, n, &l);
    key = find(k, 0);
    d = malloc(sizeof(data));
    memcpy(d, data, sizeof(data));
    assert_int_equal(check(key, sig, n, d, sizeof(data), NULL, NULL, 0), 0);
    /* The data. */
    d[500] ^= 1;
    assert_int_equal(check(key, sig, n, d, sizeof(data), NULL, NULL, 0), CONSIGN_E_BAD_SIGNATURE);
    assert_int_equal(check(key, sig, n, d, sizeof(data) - 1, NULL, NULL, 0),
                     CONSIGN_E_BAD_SIGNATURE);
    free(d);
    /* The hashed creation time, the left 16 bits, the last byte of the values. */
    sig[l.created + 3] ^= 1;
    assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0),
                     CONSIGN_E_BAD_SIGNATURE);
    sig[l.created + 3] ^= 1;
    sig[l.unhashed_end] ^= 0x80;
    assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0),
                     CONSIGN_E_BAD_SIGNATURE);
    sig[l.unhashed_end] ^= 0x80;
    sig[n - 1] ^= 1;
    assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0),
                     CONSIGN_E_BAD_SIGNATURE);
    sig[n - 1] ^= 1;
    /* The issuer, hashed or not. */
    sig[l.issuer_fpr + 5] ^= 1;
    assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0), CONSIGN_E_UNTRUSTED);
    sig[l.issuer_fpr + 5] ^= 1;
    sig[l.keyid] ^= 1;
    assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0), CONSIGN_E_UNTRUSTED);
    sig[l.keyid] ^= 1;
    /* Every byte: no crash; any change outside the unhashed area is refused
     * (the values' MPI bit counts aside: a count larger than the value is
     * tolerated, as gpg does, and is not hashed). */
    for (i = 0; i < n; i++) {
        sig[i] ^= 0x41;
        rc = check(key, sig, n, data, sizeof(data), NULL, NULL, 0);
        if (i < l.hashed_end || (i >= l.unhashed_end && i < l.unhashed_end + 2) || i >= n - 16)
            assert_int_not_equal(rc, 0);
        sig[i] ^= 0x41;
    }
    /* The key: a changed key has another fingerprint, so it is not the one
     * asked for, and the signature names the original. */
    ring = malloc(k->ringlen);
    memcpy(ring, k->ring, k->ringlen);
    ring[k->ringlen > 400 ? 200 : 30] ^= 1;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, k->ringlen, k->bfpr, &other),
                     CONSIGN_E_NOTFOUND);
    rc = consign_pgp_keyring_find(&ctx, ring, k->ringlen, NULL, &other);
    if (rc == 0)
        assert_int_equal(check(other, sig, n, data, sizeof(data), NULL, NULL, 0),
                         CONSIGN_E_UNTRUSTED);
    else
        assert_true(rc == CONSIGN_E_KEY || rc == CONSIGN_E_SYNTAX);
    consign_pgp_key_free(other);
    free(ring);
    consign_pgp_key_free(key);
    free(sig);
}

static void
test_tamper(void **state)
{
    (void)state;
    tamper(&k_rsa);
    tamper(&k_ed);
}

static void
test_untrusted(void **state)
{
    char msg[CONSIGN_ERR_MAX], *sig;
    size_t n;

    (void)state;
    /* Made by the Ed25519 key, checked against the RSA one: both named. */
    sig = gpg_sign(k_ed.fpr, "", &n);
    assert_int_equal(check_k(&k_rsa, 0, sig, n, data, sizeof(data), msg, sizeof(msg)),
                     CONSIGN_E_UNTRUSTED);
    assert_non_null(strstr(msg, k_ed.fpr));
    assert_non_null(strstr(msg, k_rsa.fpr));
    free(sig);
    /* A subkey's signature is not its primary key's. */
    sig = gpg_sign(k_sub.sub, "", &n);
    assert_int_equal(check_k(&k_sub, 0, sig, n, data, sizeof(data), msg, sizeof(msg)),
                     CONSIGN_E_UNTRUSTED);
    assert_non_null(strstr(msg, k_sub.sub));
    assert_int_equal(check_k(&k_sub, 1, sig, n, data, sizeof(data), NULL, 0), 0);
    free(sig);
}

/* Every proper prefix of sig is refused (armor: but for the last line end);
 * so is a byte more. */
static void
truncations(const struct tkey *k, const char *opts)
{
    struct consign_pgp_key *key = find(k, 0);
    size_t n, i, whole;
    char *sig = gpg_sign(k->fpr, opts, &n), *longer;

    for (whole = n; whole && sig[0] == '-' && sig[whole - 1] == '\n'; whole--)
        ;
    for (i = 0; i <= n; i++)
        assert_int_equal(check(key, sig, i, data, sizeof(data), NULL, NULL, 0) == 0, i >= whole);
    longer = malloc(n + 1);
    memcpy(longer, sig, n);
    longer[n] = 'x';
    assert_int_equal(check(key, longer, n + 1, data, sizeof(data), NULL, NULL, 0),
                     CONSIGN_E_SYNTAX);
    free(longer);
    free(sig);
    consign_pgp_key_free(key);
}

/* Every prefix of a keyring: refused until the key sought is whole; from
 * there on the key is found (what follows it is not looked at) and works. */
static void
ring_truncations(const struct tkey *k, int sub)
{
    const unsigned char *fpr = sub ? k->bsub : k->bfpr;
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    size_t n, i, end = key_end((const unsigned char *)k->ring, k->ringlen, fpr);
    char *sig = gpg_sign(sub ? k->sub : k->fpr, "", &n);
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    for (i = 0; i < k->ringlen; i++) {
        rc = consign_pgp_keyring_find(&ctx, k->ring, i, fpr, &key);
        if (i >= end) {
            assert_int_equal(rc, 0);
            assert_int_equal(check(key, sig, n, data, sizeof(data), NULL, NULL, 0), 0);
            consign_pgp_key_free(key);
            key = NULL;
        } else {
            assert_true(rc == CONSIGN_E_SYNTAX || rc == CONSIGN_E_NOTFOUND);
            assert_null(key);
        }
    }
    free(sig);
}

static void
test_truncated(void **state)
{
    (void)state;
    truncations(&k_rsa, "");
    truncations(&k_rsa, "--armor");
    truncations(&k_ed, "");
    truncations(&k_ed, "--armor");
    ring_truncations(&k_rsa, 0);
    ring_truncations(&k_ed, 0);
    ring_truncations(&k_sub, 1);
}

static void
test_refused(void **state)
{
    char msg[CONSIGN_ERR_MAX], *sig;
    size_t n;

    (void)state;
    /* SHA-1 is too weak. */
    sig = gpg_sign(k_rsa.fpr, "--digest-algo SHA1", &n);
    assert_int_equal(check_k(&k_rsa, 0, sig, n, data, sizeof(data), msg, sizeof(msg)),
                     CONSIGN_E_KEY);
    assert_non_null(strstr(msg, "SHA-1"));
    free(sig);
    /* A critical notation we do not know. */
    sig = gpg_sign(k_ed.fpr, "--sig-notation '!crit@example.com=1'", &n);
    assert_int_equal(check_k(&k_ed, 0, sig, n, data, sizeof(data), msg, sizeof(msg)),
                     CONSIGN_E_BAD_SIGNATURE);
    assert_non_null(strstr(msg, "critical subpacket 20"));
    free(sig);
    /* A text-mode signature is not of a binary document. */
    sig = gpg_sign(k_ed.fpr, "--textmode", &n);
    assert_int_equal(check_k(&k_ed, 0, sig, n, data, sizeof(data), msg, sizeof(msg)),
                     CONSIGN_E_SYNTAX);
    free(sig);
}

/* gpgv, what customers' apt and scripts use, agrees with us. */
static void
test_gpgv(void **state)
{
    char ring[128], sigf[128], dataf[128], *sig;
    unsigned char bad[sizeof(data)];
    size_t n;

    (void)state;
    snprintf(ring, sizeof(ring), "%s/ring.gpg", dir);
    snprintf(sigf, sizeof(sigf), "%s/gpgv.sig", dir);
    snprintf(dataf, sizeof(dataf), "%s/data", dir);
    spill(ring, k_rsa.ring, k_rsa.ringlen);
    sig = gpg_sign(k_rsa.fpr, "--digest-algo SHA256", &n);
    spill(sigf, sig, n);
    assert_int_equal(
        sh("gpgv --homedir '%s' --keyring '%s' '%s' '%s'" QUIET, home, ring, sigf, dataf, dir), 0);
    assert_int_equal(check_k(&k_rsa, 0, sig, n, data, sizeof(data), NULL, 0), 0);
    /* And both refuse changed data. */
    memcpy(bad, data, sizeof(bad));
    bad[0] ^= 1;
    snprintf(dataf, sizeof(dataf), "%s/bad", dir);
    spill(dataf, bad, sizeof(bad));
    assert_int_not_equal(
        sh("gpgv --homedir '%s' --keyring '%s' '%s' '%s'" QUIET, home, ring, sigf, dataf, dir), 0);
    assert_int_equal(check_k(&k_rsa, 0, sig, n, bad, sizeof(bad), NULL, 0),
                     CONSIGN_E_BAD_SIGNATURE);
    free(sig);
}

/* ---- crafted packets, signed with a fixed Ed25519 key through Nettle ---- */

static const unsigned char ed_priv[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const unsigned char oid_ed25519[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01};

#define CREATED 1700000000u

/* A new-format packet. */
static size_t
packet(unsigned char *out, unsigned tag, const unsigned char *body, size_t n)
{
    size_t o = 0;

    out[o++] = (unsigned char)(0xc0 | tag);
    if (n < 192) {
        out[o++] = (unsigned char)n;
    } else {
        assert_true(n < 8384);
        out[o++] = (unsigned char)(((n - 192) >> 8) + 192);
        out[o++] = (unsigned char)(n - 192);
    }
    memcpy(out + o, body, n);
    return o + n;
}

/* A v4 key packet body for the fixed key: algorithm 27 (the raw point) or
 * 22 (curve OID, then the point as an MPI in native form), or oid/point as given. */
static size_t
key_body(unsigned char *out, int algo, const unsigned char *oid, size_t oidlen, int prefix)
{
    unsigned char pub[32];
    size_t o = 0;

    ed25519_sha512_public_key(pub, ed_priv);
    out[o++] = 4;
    consign_put_be32(out + o, CREATED - 100);
    o += 4;
    out[o++] = (unsigned char)algo;
    if (algo == CONSIGN_PGP_PK_ED25519) {
        memcpy(out + o, pub, 32);
        return o + 32;
    }
    out[o++] = (unsigned char)oidlen;
    memcpy(out + o, oid, oidlen);
    o += oidlen;
    out[o++] = 0x01;
    out[o++] = 0x07; /* 263 bits */
    out[o++] = (unsigned char)prefix;
    memcpy(out + o, pub, 32);
    return o + 32;
}

/* What goes into a crafted signature. */
struct craft {
    int version, type, pk, hash;
    unsigned char hashed[200];
    size_t hashed_len;
    unsigned char unhashed[200];
    size_t unhashed_len;
    int pad_r; /* write r with a leading zero byte and a count to match */
};

static void
sub_add(unsigned char *area, size_t *len, unsigned type, const void *p, size_t n)
{
    area[(*len)++] = (unsigned char)(n + 1);
    area[(*len)++] = (unsigned char)type;
    memcpy(area + *len, p, n);
    *len += n;
}

static void
sub_fpr(unsigned char *area, size_t *len, unsigned type, const unsigned char fpr[FPR])
{
    unsigned char v[1 + FPR] = {4};

    memcpy(v + 1, fpr, FPR);
    sub_add(area, len, type, v, sizeof(v));
}

static void
sub_time(unsigned char *area, size_t *len, unsigned type, uint32_t t)
{
    unsigned char v[4];

    consign_put_be32(v, t);
    sub_add(area, len, type, v, 4);
}

/* What gpg writes: issuer fingerprint and time hashed, key ID unhashed. */
static void
craft_init(struct craft *c, int pk, const unsigned char fpr[FPR])
{
    memset(c, 0, sizeof(*c));
    c->version = 4;
    c->pk = pk;
    c->hash = CONSIGN_PGP_HASH_SHA512;
    sub_fpr(c->hashed, &c->hashed_len, 33, fpr);
    sub_time(c->hashed, &c->hashed_len, 2, CREATED);
    sub_add(c->unhashed, &c->unhashed_len, 16, fpr + FPR - 8, 8);
}

static size_t
put_mpi(unsigned char *out, const unsigned char *v, size_t n, int pad)
{
    size_t bits, o = 0;
    unsigned char top;

    while (n && !*v) {
        v++;
        n--;
    }
    bits = n ? (n - 1) * 8 : 0;
    for (top = n ? v[0] : 0; top; top >>= 1)
        bits++;
    if (pad)
        bits = (n + 1) * 8;
    consign_put_be16(out, (uint16_t)bits);
    o = 2;
    if (pad)
        out[o++] = 0;
    memcpy(out + o, v, n);
    return o + n;
}

/* The signature packet body for c over d, signed with the fixed key. */
static size_t
craft_body(const struct craft *c, const void *d, size_t dn, unsigned char *out)
{
    unsigned char pub[32], digest[64], edsig[64], trailer[6];
    struct sha512_ctx h512;
    struct sha256_ctx h256;
    size_t o = 0, hashed_end, dlen;

    ed25519_sha512_public_key(pub, ed_priv);
    out[o++] = (unsigned char)c->version;
    out[o++] = (unsigned char)c->type;
    out[o++] = (unsigned char)c->pk;
    out[o++] = (unsigned char)c->hash;
    consign_put_be16(out + o, (uint16_t)c->hashed_len);
    o += 2;
    memcpy(out + o, c->hashed, c->hashed_len);
    o += c->hashed_len;
    hashed_end = o;
    trailer[0] = 4;
    trailer[1] = 0xff;
    consign_put_be32(trailer + 2, (uint32_t)hashed_end);
    if (c->hash == CONSIGN_PGP_HASH_SHA256) {
        sha256_init(&h256);
        sha256_update(&h256, dn, d);
        sha256_update(&h256, hashed_end, out);
        sha256_update(&h256, 6, trailer);
        sha256_digest(&h256, 32, digest);
        dlen = 32;
    } else {
        if (c->hash == CONSIGN_PGP_HASH_SHA384)
            sha384_init(&h512);
        else
            sha512_init(&h512);
        sha512_update(&h512, dn, d);
        sha512_update(&h512, hashed_end, out);
        sha512_update(&h512, 6, trailer);
        dlen = c->hash == CONSIGN_PGP_HASH_SHA384 ? 48 : 64;
        if (c->hash == CONSIGN_PGP_HASH_SHA384)
            sha384_digest(&h512, 48, digest);
        else
            sha512_digest(&h512, 64, digest);
    }
    ed25519_sha512_sign(pub, ed_priv, dlen, digest, edsig);
    consign_put_be16(out + o, (uint16_t)c->unhashed_len);
    o += 2;
    memcpy(out + o, c->unhashed, c->unhashed_len);
    o += c->unhashed_len;
    out[o++] = digest[0];
    out[o++] = digest[1];
    if (c->pk == CONSIGN_PGP_PK_ED25519) {
        memcpy(out + o, edsig, 64);
        return o + 64;
    }
    o += put_mpi(out + o, edsig, 32, c->pad_r);
    o += put_mpi(out + o, edsig + 32, 32, 0);
    return o;
}

/* The whole signature packet (new format). */
static size_t
craft_sig(const struct craft *c, unsigned char *out)
{
    unsigned char body[600];
    size_t n = craft_body(c, data, sizeof(data), body);

    return packet(out, 2, body, n);
}

/* A keyring of the fixed key as algorithm algo (22 or 27), and its fingerprint. */
static size_t
craft_ring(unsigned char *out, int algo, unsigned char fpr[FPR])
{
    unsigned char body[100];
    size_t n = key_body(body, algo, oid_ed25519, sizeof(oid_ed25519), 0x40), o;

    body_fpr(body, n, fpr);
    o = packet(out, 6, body, n);
    o += packet(out + o, 13, (const unsigned char *)"C <c@x>", 7);
    return o;
}

static int
craft_check(const unsigned char *ring, size_t rn, const void *sig, size_t sn, char *msg,
            size_t msglen)
{
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_pgp_keyring_find(&ctx, ring, rn, NULL, &key))
        fail_msg("%s", consign_err_msg(&ctx));
    rc = check(key, sig, sn, data, sizeof(data), NULL, msg, msglen);
    consign_pgp_key_free(key);
    return rc;
}

static void
crafted_algo(int algo)
{
    unsigned char ring[300], fpr[FPR], got[FPR], sig[700], other[FPR], v5[33] = {5};
    char msg[CONSIGN_ERR_MAX];
    struct consign_pgp_sig_info info;
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    struct craft c;
    size_t rn = craft_ring(ring, algo, fpr), n;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, rn, fpr, &key), 0);
    consign_pgp_key_fpr(key, got);
    assert_memory_equal(got, fpr, FPR);
    assert_int_equal(consign_pgp_key_algo(key), algo);
    craft_init(&c, algo, fpr);
    n = craft_sig(&c, sig);
    assert_int_equal(check(key, sig, n, data, sizeof(data), &info, NULL, 0), 0);
    assert_int_equal(info.created, CREATED);
    assert_int_equal(info.pk_algo, algo);
    consign_pgp_key_free(key);

#define EXPECT(rc_)                                                                                \
    do {                                                                                           \
        n = craft_sig(&c, sig);                                                                    \
        assert_int_equal(craft_check(ring, rn, sig, n, msg, sizeof(msg)), rc_);                    \
    } while (0)

    /* SHA-256 and SHA-384 too. */
    craft_init(&c, algo, fpr);
    c.hash = CONSIGN_PGP_HASH_SHA256;
    EXPECT(0);
    c.hash = CONSIGN_PGP_HASH_SHA384;
    EXPECT(0);
    /* Unknown subpackets: skipped, unless critical and hashed. */
    craft_init(&c, algo, fpr);
    sub_add(c.hashed, &c.hashed_len, 40, "x", 1);
    sub_add(c.unhashed, &c.unhashed_len, 0x80 | 41, "x", 1);
    EXPECT(0);
    sub_add(c.hashed, &c.hashed_len, 0x80 | 42, "x", 1);
    EXPECT(CONSIGN_E_BAD_SIGNATURE);
    assert_non_null(strstr(msg, "critical subpacket 42"));
    /* Known ones may be critical. */
    craft_init(&c, algo, fpr);
    c.hashed_len = 0;
    sub_fpr(c.hashed, &c.hashed_len, 0x80 | 33, fpr);
    sub_time(c.hashed, &c.hashed_len, 0x80 | 2, CREATED);
    sub_time(c.hashed, &c.hashed_len, 0x80 | 3, 0); /* never expires */
    EXPECT(0);
    /* A signature expiry that has passed; one in the future. */
    craft_init(&c, algo, fpr);
    sub_time(c.hashed, &c.hashed_len, 3, 10);
    EXPECT(CONSIGN_E_EXPIRED);
    craft_init(&c, algo, fpr);
    sub_time(c.hashed, &c.hashed_len, 3, 0xffffffffu - CREATED);
    EXPECT(0);
    /* Issuers: none; the key ID alone; another key ID; a v5 fingerprint. */
    craft_init(&c, algo, fpr);
    c.hashed_len = 0;
    c.unhashed_len = 0;
    sub_time(c.hashed, &c.hashed_len, 2, CREATED);
    EXPECT(CONSIGN_E_UNTRUSTED);
    assert_non_null(strstr(msg, "no issuer"));
    sub_add(c.unhashed, &c.unhashed_len, 16, fpr + FPR - 8, 8);
    EXPECT(0);
    memcpy(other, fpr, FPR);
    other[FPR - 1] ^= 1;
    craft_init(&c, algo, fpr);
    sub_add(c.unhashed, &c.unhashed_len, 16, other + FPR - 8, 8);
    EXPECT(CONSIGN_E_UNTRUSTED);
    assert_non_null(strstr(msg, "key ID"));
    craft_init(&c, algo, fpr);
    sub_add(c.hashed, &c.hashed_len, 33, v5, sizeof(v5));
    EXPECT(CONSIGN_E_UNTRUSTED);
    assert_non_null(strstr(msg, "version 5"));
    craft_init(&c, algo, other);
    EXPECT(CONSIGN_E_UNTRUSTED);
    /* Not a binary-document v4 signature; weak or unknown hashes. */
    craft_init(&c, algo, fpr);
    c.type = 1;
    EXPECT(CONSIGN_E_SYNTAX);
    craft_init(&c, algo, fpr);
    c.version = 3;
    EXPECT(CONSIGN_E_SYNTAX);
    c.version = 5;
    EXPECT(CONSIGN_E_SYNTAX);
    craft_init(&c, algo, fpr);
    c.hash = 1;
    EXPECT(CONSIGN_E_KEY);
    assert_non_null(strstr(msg, "MD5"));
    c.hash = 2;
    EXPECT(CONSIGN_E_KEY);
    c.hash = 11;
    EXPECT(CONSIGN_E_KEY);
    c.hash = 99;
    EXPECT(CONSIGN_E_KEY);
    /* Another public-key algorithm than the key's. */
    craft_init(&c, algo, fpr);
    c.pk = algo == CONSIGN_PGP_PK_EDDSA ? CONSIGN_PGP_PK_ED25519 : CONSIGN_PGP_PK_EDDSA;
    EXPECT(CONSIGN_E_BAD_SIGNATURE);
    c.pk = CONSIGN_PGP_PK_RSA;
    EXPECT(CONSIGN_E_BAD_SIGNATURE);
    /* The creation time: missing, twice, of the wrong size. */
    craft_init(&c, algo, fpr);
    c.hashed_len = 0;
    sub_fpr(c.hashed, &c.hashed_len, 33, fpr);
    EXPECT(CONSIGN_E_SYNTAX);
    sub_time(c.unhashed, &c.unhashed_len, 2, CREATED); /* unhashed does not count */
    EXPECT(CONSIGN_E_SYNTAX);
    craft_init(&c, algo, fpr);
    sub_time(c.hashed, &c.hashed_len, 2, CREATED);
    EXPECT(CONSIGN_E_SYNTAX);
    craft_init(&c, algo, fpr);
    sub_add(c.hashed, &c.hashed_len, 2, "abc", 3);
    EXPECT(CONSIGN_E_SYNTAX);
    /* A subpacket of length 0, and one with a 5-byte length running past the area. */
    craft_init(&c, algo, fpr);
    c.hashed[c.hashed_len++] = 0;
    EXPECT(CONSIGN_E_SYNTAX);
    craft_init(&c, algo, fpr);
    memcpy(c.unhashed + c.unhashed_len, "\xff\x7f\xff\xff\xff\x10", 6);
    c.unhashed_len += 6;
    EXPECT(CONSIGN_E_SYNTAX);
    if (algo == CONSIGN_PGP_PK_EDDSA) {
        /* r with a leading zero byte (a count larger than the value) passes. */
        craft_init(&c, algo, fpr);
        c.pad_r = 1;
        EXPECT(0);
    }
#undef EXPECT
}

static void
test_crafted(void **state)
{
    (void)state;
    crafted_algo(CONSIGN_PGP_PK_ED25519);
    crafted_algo(CONSIGN_PGP_PK_EDDSA);
}

/* Packet framing of the signature: old and new headers, what is refused. */
static void
test_framing(void **state)
{
    unsigned char ring[300], fpr[FPR], sig[700], body[600], buf[800];
    size_t rn = craft_ring(ring, CONSIGN_PGP_PK_EDDSA, fpr), n, bn;
    struct craft c;

    (void)state;
    craft_init(&c, CONSIGN_PGP_PK_EDDSA, fpr);
    bn = craft_body(&c, data, sizeof(data), body);
    /* New format (craft_sig), old format with 1, 2 and 4 length bytes. */
    n = craft_sig(&c, sig);
    assert_int_equal(craft_check(ring, rn, sig, n, NULL, 0), 0);
    buf[0] = 0x88;
    buf[1] = (unsigned char)bn;
    memcpy(buf + 2, body, bn);
    assert_int_equal(craft_check(ring, rn, buf, bn + 2, NULL, 0), 0);
    buf[0] = 0x89;
    consign_put_be16(buf + 1, (uint16_t)bn);
    memcpy(buf + 3, body, bn);
    assert_int_equal(craft_check(ring, rn, buf, bn + 3, NULL, 0), 0);
    buf[0] = 0x8a;
    consign_put_be32(buf + 1, (uint32_t)bn);
    memcpy(buf + 5, body, bn);
    assert_int_equal(craft_check(ring, rn, buf, bn + 5, NULL, 0), 0);
    /* New format with a 5-byte length. */
    buf[0] = 0xc2;
    buf[1] = 0xff;
    consign_put_be32(buf + 2, (uint32_t)bn);
    memcpy(buf + 6, body, bn);
    assert_int_equal(craft_check(ring, rn, buf, bn + 6, NULL, 0), 0);
    /* Indeterminate (old) and partial (new) lengths; a huge length. */
    buf[0] = 0x8b;
    memcpy(buf + 1, body, bn);
    assert_int_equal(craft_check(ring, rn, buf, bn + 1, NULL, 0), CONSIGN_E_SYNTAX);
    buf[0] = 0xc2;
    buf[1] = 0xe1; /* a partial body of 2 bytes */
    assert_int_equal(craft_check(ring, rn, buf, bn + 2, NULL, 0), CONSIGN_E_SYNTAX);
    buf[0] = 0x8a;
    consign_put_be32(buf + 1, 0xffffffffu);
    assert_int_equal(craft_check(ring, rn, buf, bn + 5, NULL, 0), CONSIGN_E_SYNTAX);
    /* Not a signature packet; no packet at all; two signatures. */
    assert_int_equal(craft_check(ring, rn, ring, rn, NULL, 0), CONSIGN_E_SYNTAX);
    assert_int_equal(craft_check(ring, rn, "hello", 5, NULL, 0), CONSIGN_E_SYNTAX);
    assert_int_equal(craft_check(ring, rn, "\xc0\x00", 2, NULL, 0), CONSIGN_E_SYNTAX);
    memcpy(buf, sig, n);
    memcpy(buf + n, sig, n);
    assert_int_equal(craft_check(ring, rn, buf, 2 * n, NULL, 0), CONSIGN_E_SYNTAX);
    assert_int_equal(craft_check(ring, rn, NULL, 0, NULL, 0), CONSIGN_E_SYNTAX);
}

/* Armor the crafted signature, then edit the text: (from, to) replaced once. */
static int
armor_case(const unsigned char *ring, size_t rn, const unsigned char *sig, size_t n,
           const char *from, const char *to)
{
    struct consign_ctx ctx;
    struct consign_buf a, b;
    char *at;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1u << 16);
    consign_buf_init(&b, 1u << 16);
    assert_int_equal(consign__pgp_armor(&ctx, sig, n, &a), 0);
    at = from ? strstr(a.data, from) : NULL;
    assert_true(!from || at);
    if (at) {
        assert_int_equal(consign_buf_append(&ctx, &b, a.data, (size_t)(at - a.data)), 0);
        assert_int_equal(consign_buf_puts(&ctx, &b, to), 0);
        assert_int_equal(consign_buf_puts(&ctx, &b, at + strlen(from)), 0);
    } else {
        assert_int_equal(consign_buf_puts(&ctx, &b, a.data), 0);
    }
    rc = craft_check(ring, rn, b.data, b.len, NULL, 0);
    consign_buf_free(&a);
    consign_buf_free(&b);
    return rc;
}

static void
test_armor(void **state)
{
    unsigned char ring[300], fpr[FPR], sig[700];
    size_t rn = craft_ring(ring, CONSIGN_PGP_PK_EDDSA, fpr), n, i;
    struct consign_ctx ctx;
    struct consign_buf a;
    struct craft c;
    char *p;

    (void)state;
    craft_init(&c, CONSIGN_PGP_PK_EDDSA, fpr);
    n = craft_sig(&c, sig);
    assert_int_equal(armor_case(ring, rn, sig, n, NULL, NULL), 0);
    /* Header lines, leading blank lines, CR LF line ends, trailing blank space. */
    assert_int_equal(armor_case(ring, rn, sig, n, "-----\n\n", "-----\nVersion: x\nComment: y\n\n"),
                     0);
    assert_int_equal(armor_case(ring, rn, sig, n, "-----BEGIN", "\n \n-----BEGIN"), 0);
    assert_int_equal(armor_case(ring, rn, sig, n, "\n=", "\r\n="), 0);
    assert_int_equal(armor_case(ring, rn, sig, n, "SIGNATURE-----\n\n", "SIGNATURE-----\r\n\r\n"),
                     0);
    assert_int_equal(armor_case(ring, rn, sig, n, "-----END PGP SIGNATURE-----\n",
                                "-----END PGP SIGNATURE-----  \n\n"),
                     0);
    /* Refused: a wrong checksum, a missing empty line, another label, text
     * after the end, a character outside base64, padding in the middle. */
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1u << 16);
    assert_int_equal(consign__pgp_armor(&ctx, sig, n, &a), 0);
    p = strstr(a.data, "\n=") + 2;
    p[0] = p[0] == 'A' ? 'B' : 'A';
    assert_int_equal(craft_check(ring, rn, a.data, a.len, NULL, 0), CONSIGN_E_SYNTAX);
    /* Drop the CRC line: accepted. */
    memmove(p - 1, p + 5, strlen(p + 5) + 1);
    a.len = strlen(a.data);
    assert_int_equal(craft_check(ring, rn, a.data, a.len, NULL, 0), 0);
    /* Every prefix of the armored text is refused, but for the last line end. */
    for (i = 0; i < a.len; i++)
        assert_int_equal(craft_check(ring, rn, a.data, i, NULL, 0) == 0, i == a.len - 1);
    consign_buf_free(&a);
    assert_int_equal(armor_case(ring, rn, sig, n, "-----\n\n", "-----\n"), CONSIGN_E_SYNTAX);
    assert_int_equal(armor_case(ring, rn, sig, n, "PGP SIGNATURE-----\n\n", "PGP MESSAGE-----\n\n"),
                     CONSIGN_E_SYNTAX);
    assert_int_equal(armor_case(ring, rn, sig, n, "-----END PGP SIGNATURE-----\n",
                                "-----END PGP SIGNATURE-----\nmore\n"),
                     CONSIGN_E_SYNTAX);
    assert_int_equal(armor_case(ring, rn, sig, n, "-----END PGP SIGNATURE-----\n",
                                "-----END PGP MESSAGE-----\n"),
                     CONSIGN_E_SYNTAX);
    assert_int_equal(armor_case(ring, rn, sig, n, "\n\n", "\n\n*"), CONSIGN_E_SYNTAX);
    assert_int_equal(armor_case(ring, rn, sig, n, "\n\n", "\n\nAA==\n"), CONSIGN_E_SYNTAX);
}

/* Keyrings crafted to be refused, or with what must be skipped. */
static void
test_crafted_ring(void **state)
{
    static const unsigned char oid_ed448[] = {0x2b, 0x65, 0x71};
    unsigned char ring[600], body[100], fpr[FPR], got[FPR], none[FPR] = {0};
    struct consign_pgp_key *key = NULL;
    struct consign_ctx ctx;
    struct consign_buf a;
    size_t n, bn, o;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    /* A v3 key first (skipped), then the v4 key: NULL finds the v4 one. */
    o = packet(ring, 6, (const unsigned char *)"\x03\x00\x00\x00\x00\x00\x00\x01", 8);
    bn = key_body(body, CONSIGN_PGP_PK_ED25519, NULL, 0, 0);
    body_fpr(body, bn, fpr);
    o += packet(ring + o, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, o, NULL, &key), 0);
    consign_pgp_key_fpr(key, got);
    assert_memory_equal(got, fpr, FPR);
    consign_pgp_key_free(key);
    /* Not starting with a key; a packet of tag 0; an empty key packet. */
    n = packet(ring, 13, (const unsigned char *)"u", 1);
    n += packet(ring + n, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_SYNTAX);
    n = packet(ring, 6, body, bn);
    n += packet(ring + n, 0, (const unsigned char *)"u", 1);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, none, &key), CONSIGN_E_SYNTAX);
    n = packet(ring, 6, body, 0);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_SYNTAX);
    /* Ed448 as EdDSA legacy; ECDSA; a point without its 0x40 prefix. */
    bn = key_body(body, CONSIGN_PGP_PK_EDDSA, oid_ed448, sizeof(oid_ed448), 0x40);
    n = packet(ring, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_KEY);
    assert_non_null(strstr(consign_err_msg(&ctx), "curve"));
    bn = key_body(body, 19, oid_ed25519, sizeof(oid_ed25519), 0x40);
    n = packet(ring, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_KEY);
    bn = key_body(body, CONSIGN_PGP_PK_EDDSA, oid_ed25519, sizeof(oid_ed25519), 0x04);
    n = packet(ring, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_SYNTAX);
    /* An algorithm-27 key with a byte too many. */
    bn = key_body(body, CONSIGN_PGP_PK_ED25519, NULL, 0, 0);
    body[bn++] = 0;
    n = packet(ring, 6, body, bn);
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_SYNTAX);
    /* A partial length in a keyring. */
    ring[0] = 0xc6;
    ring[1] = 0xe1;
    assert_int_equal(consign_pgp_keyring_find(&ctx, ring, n, NULL, &key), CONSIGN_E_SYNTAX);
    assert_non_null(strstr(consign_err_msg(&ctx), "partial"));
    /* Armored, labelled as a key block. */
    n = craft_ring(ring, CONSIGN_PGP_PK_EDDSA, fpr);
    consign_buf_init(&a, 1u << 16);
    assert_int_equal(consign__pgp_armor(&ctx, ring, n, &a), 0);
    assert_int_equal(consign_pgp_keyring_find(&ctx, a.data, a.len, fpr, &key), CONSIGN_E_SYNTAX);
    consign_buf_reset(&a);
    assert_int_equal(consign_buf_puts(&ctx, &a, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"), 0);
    {
        struct consign_buf t;
        char *body64;
        consign_buf_init(&t, 1u << 16);
        assert_int_equal(consign__pgp_armor(&ctx, ring, n, &t), 0);
        body64 = strstr(t.data, "\n\n") + 2;
        *strstr(body64, "-----END") = '\0';
        assert_int_equal(consign_buf_puts(&ctx, &a, body64), 0);
        consign_buf_free(&t);
    }
    assert_int_equal(consign_buf_puts(&ctx, &a, "-----END PGP PUBLIC KEY BLOCK-----\n"), 0);
    assert_int_equal(consign_pgp_keyring_find(&ctx, a.data, a.len, fpr, &key), 0);
    consign_pgp_key_free(key);
    consign_buf_free(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),           cmocka_unit_test(test_gpg_good),
        cmocka_unit_test(test_consign_writer), cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_untrusted),      cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_refused),        cmocka_unit_test(test_gpgv),
        cmocka_unit_test(test_crafted),        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_armor),          cmocka_unit_test(test_crafted_ring),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Reading a .bin: signature over M first. Format 2: then the chunk table
 * (its digest is in M) and the info block (its digest is in the table), and
 * one pass over the stub and the payload in which each chunk is hashed and
 * compared before its bytes go anywhere. Format 1: one hashing pass over
 * the whole file, then the payload again, hashed again on the way. The
 * payload is decompressed in a second process when there are two CPUs.
 * Links into the static stub: libc, zstd, the core and pgpverify. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "consign/buf.h"
#include "consign/hash.h"
#include "consign/pgpverify.h"
#include "consign/sfx.h"
#include "sfx_private.h"

#define READ_BLOCK (1024 * 1024)

struct consign_sfx {
    int fd;
    unsigned long long size; /* of the file */
    struct consign_sfx_header h;
    char signer[41];
    long long signed_at;
    char *info_raw;
    size_t info_len;
    struct consign_sfx_info info;
    int verified;             /* the info block is signed and checked */
    unsigned char *table;     /* v2: the chunk table, checked against M */
    int stub_done;            /* consign_sfx_stream_stub ran */
    size_t n_stub, n_payload; /* v2: chunks of the stub and of the payload */
};

static unsigned long long
chunks_of(unsigned long long n)
{
    return n / CONSIGN_SFX_CHUNK + (n % CONSIGN_SFX_CHUNK != 0);
}

static int
pread_all(struct consign_ctx *ctx, int fd, void *buf, size_t n, unsigned long long off)
{
    unsigned char *p = buf;

    while (n) {
        ssize_t got = pread(fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return consign_fail_errno(ctx, errno, "read");
        if (got == 0)
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "file ends early");
        p += got;
        n -= (size_t)got;
        off += (unsigned long long)got;
    }
    return 0;
}

/* The embedded key: one public-key packet (tag 6), nothing after it. */
static int
key_bare(struct consign_ctx *ctx, const unsigned char *key, size_t n)
{
    size_t hdr, total;
    int tag;

    if (consign__sfx_pgp_packet(key, n, &tag, &hdr, &total) || tag != 6 || total != n)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "the embedded key is not one key packet");
    return 0;
}

/* The signature's unhashed subpackets are not signed: allow none, or only the
 * issuer key ID (which consign_pgp_verify compares with the key). Called
 * after consign_pgp_verify accepted the packet. */
static int
sig_unsigned_ok(struct consign_ctx *ctx, const unsigned char *sig, size_t n,
                const unsigned char fpr[20])
{
    size_t off, total, len;
    int tag;

    if (consign__sfx_pgp_packet(sig, n, &tag, &off, &total) || tag != 2 || total != n)
        goto bad;
    /* version, type, public-key algorithm, hash algorithm, hashed length */
    if (off + 6 > n || sig[off] != 4)
        goto bad;
    len = (size_t)sig[off + 4] << 8 | sig[off + 5];
    off += 6;
    if (len > n - off || n - off - len < 2)
        goto bad;
    off += len;
    len = (size_t)sig[off] << 8 | sig[off + 1];
    off += 2;
    if (len == 0 || (len == 10 && off + 10 <= n && sig[off] == 9 && sig[off + 1] == 16 &&
                     memcmp(sig + off + 2, fpr + 12, 8) == 0))
        return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                        "the signature holds unsigned data other than its issuer");
}

int
consign_sfx_open(struct consign_ctx *ctx, int fd, struct consign_sfx **out)
{
    unsigned char foot[CONSIGN_SFX_FOOTER_LEN], m[CONSIGN_SFX_M_LEN];
    unsigned char *sig = NULL, *key = NULL;
    struct consign_pgp_sig_info si;
    struct consign_pgp_key *k = NULL;
    struct consign_sfx *s = NULL;
    uint32_t mlen, siglen, keylen;
    unsigned long long tail;
    struct stat st;
    int rc = 0, i;

    *out = NULL;
    if (fstat(fd, &st) < 0)
        return consign_fail_errno(ctx, errno, "stat");
    if (!S_ISREG(st.st_mode))
        return consign_fail(ctx, CONSIGN_E_INVALID, "not a regular file");
    if ((unsigned long long)st.st_size < CONSIGN_SFX_FOOTER_LEN + CONSIGN_SFX_M_LEN)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "too short to be a consign installer");
    if ((rc = pread_all(ctx, fd, foot, sizeof(foot),
                        (unsigned long long)st.st_size - CONSIGN_SFX_FOOTER_LEN)))
        return rc;
    if (memcmp(foot, CONSIGN_SFX_FOOTER_MAGIC, 8) != 0)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "no consign installer trailer (damaged or truncated download?)");
    if (foot[28] | foot[29] | foot[30] | foot[31])
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "reserved trailer bytes set");
    mlen = consign__le32(foot + 8);
    siglen = consign__le32(foot + 12);
    keylen = consign__le32(foot + 16);
    if (mlen != CONSIGN_SFX_M_LEN || siglen == 0 || siglen > CONSIGN_SFX_SIG_MAX || keylen == 0 ||
        keylen > CONSIGN_SFX_KEY_MAX)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "trailer lengths out of range");
    tail = (unsigned long long)mlen + siglen + keylen + CONSIGN_SFX_FOOTER_LEN;
    if (tail > (unsigned long long)st.st_size ||
        consign__le64(foot + 20) != (unsigned long long)st.st_size)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "file size does not match the trailer (truncated or extended)");
    if (!(s = consign_calloc(ctx, 1, sizeof(*s))) || !(sig = malloc(siglen)) ||
        !(key = malloc(keylen))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    s->fd = fd;
    s->size = (unsigned long long)st.st_size;
    {
        unsigned long long moff = s->size - tail;
        if ((rc = pread_all(ctx, fd, m, mlen, moff)) ||
            (rc = pread_all(ctx, fd, sig, siglen, moff + mlen)) ||
            (rc = pread_all(ctx, fd, key, keylen, moff + mlen + siglen)))
            goto out;
        if ((rc = consign__sfx_m_decode(ctx, m, &s->h)))
            goto out;
        /* Verify before trusting a single field of M. The key must be the
         * bare key packet and the signature's unsigned part no more than the
         * issuer's key ID, so that no byte of the trailer goes unchecked. */
        if ((rc = key_bare(ctx, key, keylen)) ||
            (rc = consign_pgp_keyring_find(ctx, key, keylen, s->h.fpr, &k)) ||
            (rc = consign_pgp_verify(ctx, k, sig, siglen, m, mlen, &si)) ||
            (rc = sig_unsigned_ok(ctx, sig, siglen, s->h.fpr))) {
            rc = consign_err_context(ctx, rc, "signature");
            goto out;
        }
        /* v2: the table of 32-byte digests sits between info and M. */
        unsigned long long table = 0;
        if (s->h.version == 2) {
            unsigned long long n = chunks_of(s->h.stub_size) + chunks_of(s->h.payload_size) + 1;
            table = n <= CONSIGN_SFX_TABLE_MAX / 32 ? 32 * n : ~0ULL;
            s->n_stub = (size_t)chunks_of(s->h.stub_size);
            s->n_payload = (size_t)chunks_of(s->h.payload_size);
        }
        if (s->h.hashed_end != moff || s->h.info_off > s->h.hashed_end ||
            s->h.info_size > s->h.hashed_end - s->h.info_off ||
            s->h.hashed_end - s->h.info_off - s->h.info_size != table ||
            s->h.payload_off != s->h.stub_size || s->h.payload_off > s->h.info_off ||
            s->h.info_off - s->h.payload_off != s->h.payload_size ||
            s->h.info_size > CONSIGN_SFX_INFO_MAX) {
            rc =
                consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "signed layout does not match the file");
            goto out;
        }
    }
    for (i = 0; i < 20; i++)
        snprintf(s->signer + 2 * i, 3, "%02X", s->h.fpr[i]);
    s->signed_at = si.created;
    *out = s;
    s = NULL;
out:
    consign_pgp_key_free(k);
    free(sig);
    free(key);
    consign_sfx_free(s);
    return rc;
}

void
consign_sfx_free(struct consign_sfx *s)
{
    if (!s)
        return;
    free(s->info_raw);
    free(s->table);
    free(s);
}

const struct consign_sfx_header *
consign_sfx_header_get(const struct consign_sfx *s)
{
    return &s->h;
}

const char *
consign_sfx_signer(const struct consign_sfx *s)
{
    return s->signer;
}

long long
consign_sfx_signed_at(const struct consign_sfx *s)
{
    return s->signed_at;
}

const struct consign_sfx_info *
consign_sfx_info_get(const struct consign_sfx *s)
{
    return s->verified ? &s->info : NULL;
}

static int
hash_mismatch(struct consign_ctx *ctx)
{
    return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                        "SHA-256 of the installer does not match its signed value: the file "
                        "was altered or damaged");
}

/* Hash [0, hashed_end) in blocks; each block also goes to fn (may be NULL)
 * with its file offset. */
typedef int (*block_at_fn)(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
                           unsigned long long off);

static int
hash_pass(struct consign_ctx *ctx, struct consign_sfx *s, block_at_fn fn, void *user)
{
    unsigned char digest[CONSIGN_HASH_MAX];
    struct consign_hash *h = NULL;
    unsigned char *buf = NULL;
    unsigned long long off = 0;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &h)))
        return rc;
    if (!(buf = malloc(READ_BLOCK))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    while (off < s->h.hashed_end) {
        unsigned long long left = s->h.hashed_end - off;
        size_t want = left < READ_BLOCK ? (size_t)left : READ_BLOCK;
        ssize_t got = pread(s->fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? consign_fail_errno(ctx, errno, "read")
                         : consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "file ends early");
            goto out;
        }
        if ((rc = consign_hash_update(ctx, h, buf, (size_t)got)))
            goto out;
        if (fn && (rc = fn(ctx, user, buf, (size_t)got, off)))
            goto out;
        off += (unsigned long long)got;
    }
    if ((rc = consign_hash_final(ctx, h, digest)))
        goto out;
    if (memcmp(digest, s->h.sha256, 32) != 0)
        rc = hash_mismatch(ctx);
out:
    free(buf);
    consign_hash_free(h);
    return rc;
}

/* Copy the info block out of the blocks going by. */
static int
grab_info(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
          unsigned long long off)
{
    struct consign_sfx *s = user;
    unsigned long long a = off, b = off + n, lo = s->h.info_off, hi = s->h.hashed_end;

    (void)ctx;
    if (b <= lo || a >= hi)
        return 0;
    if (a < lo) {
        p += lo - a;
        a = lo;
    }
    if (b > hi)
        b = hi;
    memcpy(s->info_raw + (a - lo), p, (size_t)(b - a));
    return 0;
}

static int
chunk_mismatch(struct consign_ctx *ctx, const char *what, size_t i)
{
    return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                        "this installer is damaged: %s chunk %zu does not match its signed "
                        "hash (the file was altered or damaged)",
                        what, i);
}

/* v2: the table (its SHA-256 is M's), then the info block (its SHA-256 is
 * the table's last entry). Reads only those two, from the end of the file. */
static int
verify_meta_v2(struct consign_ctx *ctx, struct consign_sfx *s)
{
    unsigned char md[CONSIGN_HASH_MAX];
    size_t tlen = 32 * (s->n_stub + s->n_payload + 1);
    int rc;

    free(s->table);
    free(s->info_raw);
    s->table = NULL;
    s->info_raw = NULL;
    s->verified = 0;
    if (!(s->table = malloc(tlen)) || !(s->info_raw = malloc((size_t)s->h.info_size + 1)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    if ((rc = pread_all(ctx, s->fd, s->table, tlen, s->h.info_off + s->h.info_size)) ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, s->table, tlen, md)))
        return rc;
    if (memcmp(md, s->h.sha256, 32) != 0)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "this installer is damaged: its chunk table does not match the "
                            "signed hash");
    s->info_len = (size_t)s->h.info_size;
    s->info_raw[s->info_len] = '\0';
    if ((rc = pread_all(ctx, s->fd, s->info_raw, s->info_len, s->h.info_off)) ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, s->info_raw, s->info_len, md)))
        return rc;
    if (memcmp(md, s->table + tlen - 32, 32) != 0)
        return chunk_mismatch(ctx, "info", 0);
    if ((rc = consign__sfx_info_parse(ctx, s->info_raw, s->info_len, &s->info)))
        return consign_err_context(ctx, rc, "info block");
    s->verified = 1;
    return 0;
}

/* v2: [start, end) in chunks from first (table index): each read into buf,
 * hashed and compared, then handed to fn (when not NULL) with its offset. */
static int
verify_chunks(struct consign_ctx *ctx, struct consign_sfx *s, unsigned long long start,
              unsigned long long end, size_t first, const char *what, block_at_fn fn, void *user)
{
    unsigned char md[CONSIGN_HASH_MAX], *buf = NULL;
    unsigned long long off;
    size_t i;
    int rc = 0;

    if (start == end)
        return 0;
    if (!(buf = malloc(CONSIGN_SFX_CHUNK)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(s->fd, (off_t)start, (off_t)(end - start), POSIX_FADV_SEQUENTIAL);
#endif
    for (off = start, i = first; off < end; off += CONSIGN_SFX_CHUNK, i++) {
        size_t n = end - off < CONSIGN_SFX_CHUNK ? (size_t)(end - off) : CONSIGN_SFX_CHUNK;
        if ((rc = pread_all(ctx, s->fd, buf, n, off)) ||
            (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, buf, n, md)))
            goto out;
        if (memcmp(md, s->table + 32 * i, 32) != 0) {
            rc = chunk_mismatch(ctx, what, i - first);
            goto out;
        }
        if (fn && (rc = fn(ctx, user, buf, n, off)))
            goto out;
    }
out:
    free(buf);
    return rc;
}

int
consign_sfx_verify_meta(struct consign_ctx *ctx, struct consign_sfx *s)
{
    return s->h.version == 2 ? verify_meta_v2(ctx, s) : consign_sfx_verify(ctx, s);
}

int
consign_sfx_verify(struct consign_ctx *ctx, struct consign_sfx *s)
{
    int rc;

    if (s->h.version == 2) {
        if ((rc = verify_meta_v2(ctx, s)) ||
            (rc = verify_chunks(ctx, s, 0, s->h.stub_size, 0, "stub", NULL, NULL)) ||
            (rc = verify_chunks(ctx, s, s->h.payload_off, s->h.info_off, s->n_stub, "payload", NULL,
                                NULL)))
            s->verified = 0;
        return rc;
    }
    free(s->info_raw);
    s->verified = 0;
    if (!(s->info_raw = malloc((size_t)s->h.info_size + 1)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    s->info_len = (size_t)s->h.info_size;
    s->info_raw[s->info_len] = '\0';
    if ((rc = hash_pass(ctx, s, grab_info, s)))
        return rc;
    if ((rc = consign__sfx_info_parse(ctx, s->info_raw, s->info_len, &s->info)))
        return consign_err_context(ctx, rc, "info block");
    s->verified = 1;
    return 0;
}

/* The second pass runs as a two-stage pipeline when there is more than one
 * CPU. A child process reads the file into a ring of input buffers and
 * decompresses the payload into a ring of output buffers, both in shared
 * memory; the caller's process hashes the input buffers (the very bytes the
 * child decompressed) and hands the output buffers to the sink (tar parsing,
 * file creation and writes). The two halves cost about the same, so check +
 * extract takes the time of the slower one instead of their sum.
 *
 * A process, not a thread: pthread_create pulls about 94 KB of glibc
 * (resolver, netlink) into the static stub; fork and a socket pair add 4 KB.
 * The two sides count the buffers they filled and freed in the
 * shared page; one waits on a socket pair only when there is nothing to do,
 * after saying so in the page, and the other then writes it one byte
 * (MSG_NOSIGNAL: no SIGPIPE when the other side is gone). A closed socket
 * tells either side that the other is gone. With one CPU, or if the child
 * cannot be started, the same work runs inline. */
#define RING_BUFS     4
#define RING_BUF_SIZE (256 * 1024)

enum { OUT = 0, IN = 1 };

struct ring { /* shared between the two processes */
    unsigned long long filled[2] __attribute__((aligned(64))); /* by the child */
    int done;                                                  /* the child's verdict is in */
    int parent_waits;
    unsigned long long freed[2] __attribute__((aligned(64))); /* by the parent */
    int stop;                                                 /* the parent gave up */
    int child_waits;
    size_t len[2][RING_BUFS] __attribute__((aligned(64)));
    int rc;                    /* the child's verdict */
    char msg[CONSIGN_ERR_MAX]; /* and its message */
    unsigned char buf[2][RING_BUFS][RING_BUF_SIZE] __attribute__((aligned(4096)));
};

struct unpack {
    struct consign_sfx *s;
    ZSTD_DStream *z;
    unsigned char *out; /* the output buffer being filled */
    size_t fill;
    unsigned long long produced;
    int frame_done;
    consign_block_fn sink; /* inline */
    void *user;
    struct consign_ctx *ctx;
    struct ring *ring;
    int child;                   /* this is the child: buffers go to the ring */
    int sock;                    /* the child's end */
    unsigned long long heads[2]; /* buffers filled so far */
};

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static int
write1(int fd, char c)
{
    ssize_t n;

    while ((n = send(fd, &c, 1, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n == 1 ? 0 : -1;
}

/* Sleep until woken: 0, or -1 once the other side is gone. */
static int
wait1(int fd)
{
    ssize_t n;
    char c[16];

    while ((n = read(fd, c, sizeof(c))) < 0 && errno == EINTR)
        ;
    return n > 0 ? 0 : -1;
}

/* Wake the other side if it said it sleeps. A wake-up that comes too late
 * to matter only makes its next sleep start over. */
static void
wake(int *waits, int fd)
{
    if (__atomic_exchange_n(waits, 0, __ATOMIC_SEQ_CST))
        (void)write1(fd, 'w');
}

/* The child: buffer heads[which] is about to be filled; wait until the
 * parent is done with its last use. */
static int
await_free(struct consign_ctx *ctx, struct unpack *u, int which)
{
    unsigned long long need;

    if (u->heads[which] < RING_BUFS)
        return 0;
    need = u->heads[which] - RING_BUFS + 1;
    while (LOAD(&u->ring->freed[which]) < need) {
        STORE(&u->ring->child_waits, 1);
        if (LOAD(&u->ring->freed[which]) >= need)
            break;
        if (LOAD(&u->ring->stop) || wait1(u->sock))
            return consign_fail(ctx, CONSIGN_E_IO, "payload: stopped");
    }
    return 0;
}

/* The child: buffer heads[which] is filled, n bytes. */
static void
publish(struct unpack *u, int which, size_t n)
{
    u->ring->len[which][u->heads[which] % RING_BUFS] = n;
    u->heads[which]++;
    STORE(&u->ring->filled[which], u->heads[which]);
    wake(&u->ring->parent_waits, u->sock);
}

/* The output buffer being filled is complete: to the sink, or to the parent. */
static int
emit(struct consign_ctx *ctx, struct unpack *u)
{
    int rc;

    if (!u->fill)
        return 0;
    if (!u->child) {
        rc = u->sink(u->ctx, u->user, u->out, u->fill);
        u->fill = 0;
        return rc;
    }
    publish(u, OUT, u->fill);
    u->fill = 0;
    if ((rc = await_free(ctx, u, OUT)))
        return rc;
    u->out = u->ring->buf[OUT][u->heads[OUT] % RING_BUFS];
    return 0;
}

static int
unpack_block(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
             unsigned long long off)
{
    struct unpack *u = user;
    unsigned long long a = off, b = off + n, lo = u->s->h.payload_off, hi = u->s->h.info_off;
    ZSTD_inBuffer in;
    int rc;

    if (b <= lo || a >= hi)
        return 0;
    if (a < lo) {
        p += lo - a;
        a = lo;
    }
    if (b > hi)
        b = hi;
    in.src = p;
    in.size = (size_t)(b - a);
    in.pos = 0;
    /* Until the input is used up and zstd had room to flush all it holds
     * (a full output buffer may leave decoded bytes inside zstd). */
    for (;;) {
        ZSTD_outBuffer o = {u->out, RING_BUF_SIZE, u->fill};
        size_t r = ZSTD_decompressStream(u->z, &o, &in);
        if (ZSTD_isError(r))
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "payload: zstd: %s",
                                ZSTD_getErrorName(r));
        u->frame_done = r == 0;
        if (o.pos - u->fill > u->s->h.payload_raw - u->produced)
            return consign_fail(ctx, CONSIGN_E_TOOBIG, "payload: more data than its signed size");
        u->produced += o.pos - u->fill;
        u->fill = o.pos;
        if (u->fill == RING_BUF_SIZE) {
            if ((rc = emit(ctx, u)))
                return rc;
        } else if (in.pos == in.size) {
            return 0;
        }
    }
}

/* The child's read loop: [0, hashed_end) into the input ring, each buffer
 * handed to the parent (which hashes it) and decompressed. */
static int
read_pass(struct consign_ctx *ctx, struct unpack *u)
{
    unsigned long long off = 0, end = u->s->h.hashed_end;
    int rc;

#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(u->s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    while (off < end) {
        unsigned char *p = u->ring->buf[IN][u->heads[IN] % RING_BUFS];
        size_t want = end - off < RING_BUF_SIZE ? (size_t)(end - off) : RING_BUF_SIZE;
        ssize_t got;
        if ((rc = await_free(ctx, u, IN)))
            return rc;
        got = pread(u->s->fd, p, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? consign_fail_errno(ctx, errno, "read")
                           : consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "file ends early");
        publish(u, IN, (size_t)got);
        if ((rc = unpack_block(ctx, u, p, (size_t)got, off)))
            return rc;
        off += (unsigned long long)got;
    }
    return 0;
}

/* The whole second pass but the sink (and, in the child, the hash). */
static int
unpack_all(struct consign_ctx *ctx, struct unpack *u)
{
    int rc;

    if (!(u->z = ZSTD_createDStream()))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(u->z, ZSTD_d_windowLogMax, CONSIGN_SFX_WINDOW_LOG)))
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: window limit");
    else if (!(rc = u->s->h.version == 2
                        ? verify_chunks(ctx, u->s, u->s->h.payload_off, u->s->h.info_off,
                                        u->s->n_stub, "payload", unpack_block, u)
                    : u->child ? read_pass(ctx, u)
                               : hash_pass(ctx, u->s, unpack_block, u)) &&
             !(rc = emit(ctx, u)) && (!u->frame_done || u->produced != u->s->h.payload_raw))
        rc = consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "payload: ends before its signed size");
    ZSTD_freeDStream(u->z);
    u->z = NULL;
    return rc;
}

/* The parent's half: every input buffer to the hash and every output buffer
 * to the sink, each ring in order; then the child's verdict and the digest. */
static int
drain(struct consign_ctx *ctx, struct unpack *u, int sock)
{
    unsigned char digest[CONSIGN_HASH_MAX];
    unsigned long long hashed = 0, tail[2] = {0, 0};
    struct consign_hash *h = NULL;
    struct ring *r = u->ring;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &h)))
        return rc;
    for (;;) {
        int which = tail[IN] < LOAD(&r->filled[IN])     ? IN
                    : tail[OUT] < LOAD(&r->filled[OUT]) ? OUT
                                                        : -1;
        if (which >= 0) {
            unsigned i = tail[which] % RING_BUFS;
            size_t n = r->len[which][i];
            if (n > RING_BUF_SIZE) {
                rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "payload: bad buffer length");
                goto out;
            }
            if (which == IN) {
                rc = consign_hash_update(ctx, h, r->buf[IN][i], n);
                hashed += n;
            } else {
                rc = u->sink(ctx, u->user, r->buf[OUT][i], n);
            }
            if (rc)
                goto out;
            tail[which]++;
            STORE(&r->freed[which], tail[which]);
            wake(&r->child_waits, sock);
            continue;
        }
        if (LOAD(&r->done)) {
            /* Everything was filled before done was set: a last look. */
            if (tail[IN] < LOAD(&r->filled[IN]) || tail[OUT] < LOAD(&r->filled[OUT]))
                continue;
            break;
        }
        STORE(&r->parent_waits, 1);
        if (tail[IN] < LOAD(&r->filled[IN]) || tail[OUT] < LOAD(&r->filled[OUT]) || LOAD(&r->done))
            continue;
        if (wait1(sock) && !LOAD(&r->done)) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "payload: the decompressing process died");
            goto out;
        }
    }
    if (r->rc) {
        r->msg[sizeof(r->msg) - 1] = '\0';
        rc = consign_fail(ctx, r->rc, "%s", r->msg);
        goto out;
    }
    if (u->s->h.version == 2)
        goto out; /* the child checked each chunk before it decompressed it */
    if (hashed != u->s->h.hashed_end) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "payload: %llu bytes hashed of %llu", hashed,
                          (unsigned long long)u->s->h.hashed_end);
        goto out;
    }
    if ((rc = consign_hash_final(ctx, h, digest)))
        goto out;
    if (memcmp(digest, u->s->h.sha256, 32) != 0)
        rc = hash_mismatch(ctx);
out:
    if (rc && !LOAD(&r->done)) {
        STORE(&r->stop, 1); /* the child stops at its next wait */
        shutdown(sock, SHUT_RDWR);
    }
    consign_hash_free(h);
    return rc;
}

/* The CPUs this process may run on (taskset, cpusets), not those online. */
static int
cpus(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 1;
    return CPU_COUNT(&set);
}

struct stub_feed {
    consign_block_fn sink;
    void *user;
};

static int
feed_stub(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
          unsigned long long off)
{
    struct stub_feed *f = user;

    (void)off;
    return f->sink(ctx, f->user, p, n);
}

int
consign_sfx_stream_stub(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn stub_sink,
                        void *stub_user)
{
    struct stub_feed f = {stub_sink, stub_user};
    int rc;

    if (!s->verified)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "stub read before verification");
    if (s->h.version == 2) {
        if ((rc = verify_chunks(ctx, s, 0, s->h.stub_size, 0, "stub", stub_sink ? feed_stub : NULL,
                                &f)))
            return rc;
    } else if (stub_sink) {
        /* Format 1 was checked whole by consign_sfx_verify; the payload pass
         * below hashes the whole file again before the caller commits. */
        unsigned char buf[64 * 1024];
        unsigned long long off = 0;
        while (off < s->h.stub_size) {
            size_t n =
                s->h.stub_size - off < sizeof(buf) ? (size_t)(s->h.stub_size - off) : sizeof(buf);
            if ((rc = pread_all(ctx, s->fd, buf, n, off)) ||
                (rc = stub_sink(ctx, stub_user, buf, n)))
                return rc;
            off += n;
        }
    }
    s->stub_done = 1;
    return 0;
}

int
consign_sfx_stream(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn stub_sink,
                   void *stub_user, consign_block_fn sink, void *user)
{
    int rc;

    if (!s->stub_done && (rc = consign_sfx_stream_stub(ctx, s, stub_sink, stub_user)))
        return rc;
    return sink ? consign_sfx_payload(ctx, s, sink, user) : 0;
}

int
consign_sfx_payload(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn sink,
                    void *user)
{
    struct unpack u;
    int sv[2] = {-1, -1}, rc = 0, st;
    pid_t pid = -1, parent = 0;

    if (!s->verified)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "payload read before verification");
    memset(&u, 0, sizeof(u));
    u.s = s;
    u.sink = sink;
    u.user = user;
    u.ctx = ctx;
    u.ring = mmap(NULL, sizeof(*u.ring), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (u.ring == MAP_FAILED)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    u.out = u.ring->buf[OUT][0];
    if (cpus() > 1 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        fflush(NULL); /* nothing buffered is written twice */
        parent = getpid();
        pid = fork();
    }
    if (pid == 0) {
        struct consign_ctx cctx;
        /* The reader must not outlive an installer that was killed or crashed. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(1);
        consign_ctx_init(&cctx, NULL, NULL);
        close(sv[0]);
        u.child = 1;
        u.sock = sv[1];
        u.ring->rc = unpack_all(&cctx, &u);
        if (u.ring->rc)
            snprintf(u.ring->msg, sizeof(u.ring->msg), "%s", consign_err_msg(&cctx));
        STORE(&u.ring->done, 1);
        wake(&u.ring->parent_waits, u.sock);
        _exit(0);
    }
    if (pid < 0) {
        rc = unpack_all(ctx, &u);
        goto out;
    }
    close(sv[1]);
    sv[1] = -1;
    rc = drain(ctx, &u, sv[0]);
    close(sv[0]);
    sv[0] = -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
out:
    for (st = 0; st < 2; st++)
        if (sv[st] >= 0)
            close(sv[st]);
    munmap(u.ring, sizeof(*u.ring));
    return rc;
}

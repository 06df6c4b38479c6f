/* consign sfx: the self-extracting installer format (docs/internals/sfx-format.md).
 *
 *   [stub ELF][payload: one zstd-compressed tar stream][info block]
 *   [M: fixed header with offsets, sizes and the SHA-256 of everything before M]
 *   [OpenPGP v4 detached signature of M][the signer's public key (binary)]
 *   [footer: magic and the three lengths]
 *
 * The reader trusts nothing before the signature over M checks out against
 * the embedded key; only then does it use M's offsets, hash the file in one
 * streaming pass and compare. The info block (product, version, EULA) sits
 * inside the hashed region, so what is shown is what was signed. */
#ifndef CONSIGN_SFX_H
#define CONSIGN_SFX_H

#include <stddef.h>
#include <stdint.h>

#include "consign/error.h"
#include "consign/fileio.h"

#define CONSIGN_SFX_MAGIC        "consign-sfx-v1\n" /* 16 bytes with the NUL */
#define CONSIGN_SFX_FOOTER_MAGIC "CSFXEND1"         /* 8 bytes, no NUL */
#define CONSIGN_SFX_M_LEN        160
#define CONSIGN_SFX_FOOTER_LEN   32
#define CONSIGN_SFX_SIG_MAX      4096
#define CONSIGN_SFX_KEY_MAX      (64 * 1024)
#define CONSIGN_SFX_INFO_MAX     (1024 * 1024)
#define CONSIGN_SFX_WINDOW_LOG   23 /* zstd window: 8 MiB, so the stub stays under 16 MiB */
#define CONSIGN_SFX_VERSION      2  /* what the writer writes; the reader reads 1 and 2 */
#define CONSIGN_SFX_CHUNK        (1024 * 1024)     /* v2: bytes per hashed chunk */
#define CONSIGN_SFX_TABLE_MAX    (4 * 1024 * 1024) /* v2: bytes of the chunk table */

/* What M says (little-endian on disk; see the format page). */
struct consign_sfx_header {
    uint32_t version;
    uint64_t stub_size;
    uint64_t payload_off, payload_size; /* compressed bytes */
    uint64_t payload_raw;               /* tar bytes: the decompression limit */
    uint64_t payload_files;             /* sum of file sizes in the tar */
    uint64_t payload_entries;
    uint64_t info_off, info_size;
    uint64_t hashed_end;      /* = info_off + info_size = offset of M */
    unsigned char sha256[32]; /* of bytes [0, hashed_end) */
    unsigned char fpr[20];    /* the signer's v4 fingerprint */
};

/* The info block, parsed (only after verification). Strings are owned by the
 * consign_sfx object. */
struct consign_sfx_info {
    const char *name, *version, *summary, *vendor, *homepage, *arch;
    const char *eula; /* NULL when the product has none */
    size_t eula_len;
    int token_required; /* settings.token: required */
    int proxy;          /* settings.proxy */
    int auto_update;    /* settings.auto_update: default of the question */
    long long built;    /* build time (SOURCE_DATE_EPOCH when set) */
    /* What the file is: "installer" (a .bin: its payload installs the agent)
     * or "bootstrap" (a downloader: its payload is its configuration). */
    const char *kind;
};

#define CONSIGN_SFX_KIND_INSTALLER "installer"
#define CONSIGN_SFX_KIND_BOOTSTRAP "bootstrap"

struct consign_sfx;

/* Read the footer, M, signature and key of the file open on fd; check the
 * key's fingerprint is the one M names and the signature over M. Nothing
 * else of the file is trusted or parsed yet. */
int consign_sfx_open(struct consign_ctx *ctx, int fd, struct consign_sfx **out);
void consign_sfx_free(struct consign_sfx *s);
const struct consign_sfx_header *consign_sfx_header_get(const struct consign_sfx *s);
/* 40 upper-case hex digits of the signer's fingerprint. */
const char *consign_sfx_signer(const struct consign_sfx *s);
/* Signature time, seconds since 1970. */
long long consign_sfx_signed_at(const struct consign_sfx *s);

/* The whole check, in one pass over the file: format 2, the chunk table,
 * the info block and every chunk of stub and payload; format 1, the SHA-256
 * of [0, hashed_end). Keeps and parses the info block. Fails with
 * CONSIGN_E_BAD_SIGNATURE on a mismatch. */
int consign_sfx_verify(struct consign_ctx *ctx, struct consign_sfx *s);
/* Format 2: only the chunk table and the info block (both read from the end
 * of the file), so the info is signed and usable while stub and payload are
 * still to be read, once, by consign_sfx_stream. Format 1: consign_sfx_verify. */
int consign_sfx_verify_meta(struct consign_ctx *ctx, struct consign_sfx *s);
/* Valid after consign_sfx_verify. */
const struct consign_sfx_info *consign_sfx_info_get(const struct consign_sfx *s);

/* Another pass: decompresses the payload and hands the tar bytes to sink,
 * never more than M's payload_raw. Format 2 checks each chunk again before
 * it is decompressed; format 1 hashes the file again on the way and compares
 * at the end. So a file changed since the verification fails here (before
 * the caller commits anything). */
int consign_sfx_payload(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn sink,
                        void *user);
/* After consign_sfx_verify_meta: the one pass of an install. Format 2: the
 * stub's chunks, each checked, to stub_sink (may be NULL), then the
 * payload's, each checked before zstd sees it, decompressed to sink (may be
 * NULL: nothing is decompressed). A mismatch stops the pass before the bad
 * chunk's bytes go anywhere; what the sinks got so far was good. Format 1:
 * the stub read again to stub_sink, then consign_sfx_payload. */
int consign_sfx_stream(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn stub_sink,
                       void *stub_user, consign_block_fn sink, void *user);
/* The stub part of consign_sfx_stream alone (the install checks the code
 * it runs before it writes anything); a later consign_sfx_stream then goes
 * on with the payload. */
int consign_sfx_stream_stub(struct consign_ctx *ctx, struct consign_sfx *s,
                            consign_block_fn stub_sink, void *stub_user);

/* --- building (host side) ---------------------------------------------- */

struct consign_secret;
struct consign_product;

struct consign_sfx_build_opts {
    const char *stub_path;     /* the static stub to put first */
    const char *launcher_path; /* the static launcher shipped as NAME-launch */
    const char *tool_path;     /* the static agent tool (NAME-config, -update, -uninstall) */
    /* The updater's update.conf and TUF root (consign_bootstrap_make_conf),
     * or NULL: an install that does not update itself. */
    const char *update_conf;
    size_t update_conf_len;
    const char *update_root;
    size_t update_root_len;
    const char *keydir;
    const struct consign_secret *passphrase;
    int level;   /* zstd level, 1..19; 0: 19 */
    int threads; /* zstd workers; 0: number of CPUs */
};

/* Build NAME.bin from a product: the agent's and the runtime's files, the
 * launch file, launcher, systemd unit and SysV script, as one tar stream.
 * Written atomically to out. SOURCE_DATE_EPOCH makes it reproducible. */
int consign_sfx_build(struct consign_ctx *ctx, const struct consign_product *product,
                      const struct consign_sfx_build_opts *o, const char *out);

/* One file of a payload made from memory. */
struct consign_sfx_file {
    const char *path; /* relative, normal ("bootstrap/root.json") */
    const void *data;
    size_t len;
    unsigned mode;
};

/* Build a file of another kind (CONSIGN_SFX_KIND_BOOTSTRAP): o->stub_path is
 * its program, files its payload, the product's info block with kind=. The
 * same format, signature and checks as a .bin. */
int consign_sfx_build_files(struct consign_ctx *ctx, const struct consign_product *product,
                            const struct consign_sfx_build_opts *o, const char *kind,
                            const struct consign_sfx_file *files, size_t n_files, const char *out);

/* Build from a ready tar file (tests: hostile payloads), with the product's
 * info block. */
int consign_sfx_build_raw(struct consign_ctx *ctx, const struct consign_product *product,
                          const struct consign_sfx_build_opts *o, const char *tar_path,
                          const char *out);

#endif

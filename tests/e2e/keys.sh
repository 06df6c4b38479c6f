#!/usr/bin/env bash
# End-to-end test of `consign keys` against the real clients: gpg --show-keys,
# gpg --dearmor, gpgv, gpg --verify, apt's gpgv method and rpm --import.
# Signatures made with SOURCE_DATE_EPOCH must be reproducible and byte for
# byte what gpg itself writes with its clock frozen at that time. Also checks
# that the user's ~/.gnupg and $GNUPGHOME are never touched and that no
# gpg-agent is left running.
# Usage: keys.sh /path/to/consign
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/consign" >&2
    exit 2
fi
CONSIGN=$1

# A short work directory: gpg-agent's socket paths must fit in 107 bytes.
W=$(mktemp -d /tmp/ck.XXXXXX)
cleanup() {
    local d
    for d in "$W"/*/gnupg; do
        if [ -d "$d" ]; then
            gpgconf --homedir "$d" --kill gpg-agent >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$W"
}
trap cleanup EXIT

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    echo "ok - $1"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL - $1" >&2
}
# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# run_rc: run consign, keeping stdout in $W/out and stderr in $W/err; sets rc.
run_rc() {
    rc=0
    "$CONSIGN" "$@" >"$W/out" 2>"$W/err" || rc=$?
}
# expect_rc N DESCRIPTION ARGS...: consign ARGS must exit with N.
expect_rc() {
    local want=$1 what=$2
    shift 2
    run_rc "$@"
    if [ "$rc" -eq "$want" ]; then
        pass "$what (exit $rc)"
    else
        fail "$what: exit $rc, wanted $want; stderr: $(cat "$W/err")"
    fi
}
# err_has TEXT DESCRIPTION: the last command's stderr mentions TEXT.
err_has() {
    if grep -qF -- "$1" "$W/err"; then
        pass "$2"
    else
        fail "$2: stderr lacks '$1': $(cat "$W/err")"
    fi
}
mode_of() { stat -c %a "$1"; }
not() { ! "$@"; }

# Verifiers get a GnuPG home of their own so they cannot touch the sentinels.
V=$W/verify
mkdir -m 700 "$V"
gpg --homedir "$V" --batch --quiet --list-keys >/dev/null 2>&1 || true
show_fpr() { gpg --homedir "$V" --batch --show-keys --with-colons "$1" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'; }
# verify KEYRING SIG [FILE]: gpgv against the exported key only.
verify() { gpgv --homedir "$V" --keyring "$@" >"$W/gpgv.log" 2>&1; }
# gpg_verify KEYRING SIG [FILE]: gpg --verify against the exported key only.
gpg_verify() {
    gpg --homedir "$V" --batch --status-fd 1 --no-default-keyring --keyring "$1" \
        --trust-model always --verify "${@:2}" >"$W/gpg.log" 2>&1
}
packets() { gpg --homedir "$V" --batch --list-packets "$1" 2>/dev/null; }
# clear_packets FILE: the packets of a clearsigned file's signature block.
clear_packets() {
    sed -n '/^-----BEGIN PGP SIGNATURE-----$/,$p' "$1" | gpg --homedir "$V" --batch --dearmor |
        gpg --homedir "$V" --batch --list-packets 2>/dev/null
}
key_created() {
    gpg --homedir "$V" --batch --show-keys --with-colons "$1" 2>/dev/null |
        awk -F: '$1 == "pub" { print $6; exit }'
}
# sig_created SIG: the creation time of the signature in SIG.
sig_created() { packets "$1" | sed -n 's/^.*version 4, created \([0-9]*\),.*$/\1/p'; }
# gpg_ref HOME TIME OUT GPG-ARGS...: what gpg itself writes with its clock
# frozen at TIME, in the key directory's own GnuPG home.
gpg_ref() {
    local home=$1 t=$2 out=$3 rc=0
    shift 3
    rm -f "$out"
    gpg --homedir "$home" --batch --quiet --faked-system-time "$t!" --pinentry-mode loopback \
        --output "$out" "$@" >/dev/null 2>&1 || rc=$?
    gpgconf --homedir "$home" --kill gpg-agent >/dev/null 2>&1 || true
    return "$rc"
}
# apt_verify KEYRING FILE: apt's own check of a clearsigned file: its gpgv
# method splits the file by apt's rules (no unsigned lines, dash-escaping)
# before it runs gpgv.
apt_verify() {
    printf '600 URI Acquire\nURI: file:%s\nFilename: %s\nSigned-By: %s\n\n' "$2" "$2" "$1" |
        timeout 60 /usr/lib/apt/methods/gpgv >"$W/apt.log" 2>&1 || true
    grep -q '^201 URI Done' "$W/apt.log" && grep -q '^GPGVOutput: GOODSIG' "$W/apt.log"
}
# sde_sign TIME ARGS...: consign keys sign with SOURCE_DATE_EPOCH=TIME.
sde_sign() {
    local t=$1
    shift
    SOURCE_DATE_EPOCH=$t run_rc keys sign "$@"
}

# Sentinels: a ~/.gnupg and a $GNUPGHOME with content, recorded before and after.
export HOME=$W/home
unset GNUPGHOME GPG_AGENT_INFO
mkdir -p "$HOME/.gnupg" "$W/ghome"
chmod 700 "$HOME/.gnupg" "$W/ghome"
echo "sentinel: must stay untouched" >"$HOME/.gnupg/sentinel.txt"
echo "keyserver hkps://example.invalid" >"$HOME/.gnupg/gpg.conf"
echo "sentinel: must stay untouched" >"$W/ghome/sentinel.txt"
snapshot() {
    (cd "$1" && find . -printf '%p %s %T@ %m\n' | sort && find . -type f -print0 | sort -z |
        xargs -0 -r sha256sum)
}
snapshot "$HOME/.gnupg" >"$W/home.before"
snapshot "$W/ghome" >"$W/ghome.before"

# --- usage and help ------------------------------------------------------------
for sub in "" generate export fingerprint list sign; do
    # shellcheck disable=SC2086
    expect_rc 0 "keys${sub:+ $sub} --help" keys $sub --help
done
expect_rc 2 "missing --keydir is a usage error" keys fingerprint
err_has "--keydir is required" "missing --keydir is explained"
expect_rc 2 "generate without --name is a usage error" keys generate --keydir "$W/k" --email a@b.c
expect_rc 2 "bad --expire is refused" keys generate --keydir "$W/k" --name N --email a@b.c \
    --expire 2x
expect_rc 2 "bad --algo is refused" keys generate --keydir "$W/k" --name N --email a@b.c \
    --algo dsa
expect_rc 2 "unknown option is a usage error" keys list --keydir "$W/k" --bogus
check "refused commands created no key directory" test ! -e "$W/k"

# --- RSA (default) key: generate, fingerprint, export --------------------------
K=$W/k
expect_rc 0 "generate rsa4096 (default)" keys generate --keydir "$K" --name "Example Release" \
    --email release@example.com
gen_grouped=$(cat "$W/out")
check "generate prints a grouped fingerprint" \
    grep -Eqx '([0-9A-F]{4} ){4}[0-9A-F]{4}  ([0-9A-F]{4} ){4}[0-9A-F]{4}' "$W/out"
check "key directory is 0700" test "$(mode_of "$K")" = 700
check "GnuPG home is 0700" test "$(mode_of "$K/gnupg")" = 700
check "active file is 0644" test "$(mode_of "$K/active")" = 644
check "gpg.conf prefers SHA512" grep -qx 'personal-digest-preferences SHA512 SHA384 SHA256' \
    "$K/gnupg/gpg.conf"
check "gpg.conf certifies with SHA512" grep -qx 'cert-digest-algo SHA512' "$K/gnupg/gpg.conf"
check "gpg-agent.conf allows loopback" grep -qx 'allow-loopback-pinentry' \
    "$K/gnupg/gpg-agent.conf"

expect_rc 0 "fingerprint --raw" keys fingerprint --keydir "$K" --raw
fpr=$(cat "$W/out")
check "fingerprint --raw is 40 upper-case hex digits" grep -Eqx '[0-9A-F]{40}' "$W/out"
check "active file holds the fingerprint" test "$(cat "$K/active")" = "$fpr"
expect_rc 0 "fingerprint (grouped)" keys fingerprint --keydir "$K"
grouped=$(cat "$W/out")
check "grouped fingerprint equals what generate printed" test "$grouped" = "$gen_grouped"
check "grouped fingerprint is the raw one with spaces" test "${grouped// /}" = "$fpr"

expect_rc 0 "export --format apt" keys export --keydir "$K" --format apt --out "$W/key.gpg"
expect_rc 0 "export --format asc" keys export --keydir "$K" --format asc --out "$W/key.asc"
check "exported files are 0644" test "$(mode_of "$W/key.gpg")$(mode_of "$W/key.asc")" = 644644
check "gpg --show-keys reads the apt export with the same fingerprint" \
    test "$(show_fpr "$W/key.gpg")" = "$fpr"
check "gpg --show-keys reads the asc export with the same fingerprint" \
    test "$(show_fpr "$W/key.asc")" = "$fpr"
check "the key is rsa4096 (algo 1, 4096 bits)" test "$(gpg --homedir "$V" --batch --show-keys \
    --with-colons "$W/key.gpg" | awk -F: '$1 == "pub" { print $4 "/" $3 }')" = "1/4096"
check "apt export is binary (no armor)" test "$(head -c 5 "$W/key.gpg")" != "-----"
check "asc export is armored" grep -q '^-----BEGIN PGP PUBLIC KEY BLOCK-----$' "$W/key.asc"
gpg --homedir "$V" --batch --dearmor <"$W/key.asc" >"$W/key.dearmored"
check "apt export equals gpg --dearmor of the asc export" cmp "$W/key.gpg" "$W/key.dearmored"
run_rc keys export --keydir "$K" --format asc
check "export without --out writes standard output" cmp "$W/out" "$W/key.asc"

mkdir "$W/rpmdb"
rpm --dbpath "$W/rpmdb" --initdb
check "rpm --import accepts the asc export" rpm --dbpath "$W/rpmdb" --import "$W/key.asc"
short=$(printf '%s' "${fpr:32:8}" | tr 'A-F' 'a-f')
check "rpm -q gpg-pubkey shows the key" \
    grep -qF "Example Release <release@example.com>" \
    <(rpm --dbpath "$W/rpmdb" -q "gpg-pubkey-$short" --qf '%{SUMMARY}\n')

expect_rc 0 "list" keys list --keydir "$K"
check "list shows the grouped fingerprint" grep -qxF "fingerprint: $grouped" "$W/out"
check "list shows the user ID" grep -qxF "uid: Example Release <release@example.com>" "$W/out"
check "list shows rsa4096" grep -qx "algo: rsa4096" "$W/out"
check "list flags the key active and secret" grep -qx "flags: active secret" "$W/out"
check "list shows a UTC expiry (default 2y)" \
    grep -Eqx "expires: $(date -u -d '+730 days' +%Y-%m-%d) [0-9:]{8} UTC" "$W/out"

# --- signing ---------------------------------------------------------------------
printf 'abc  agent_1.0.0_amd64.deb\n' >"$W/SHA256SUMS"
expect_rc 0 "sign a detached binary signature" keys sign --keydir "$K" --out "$W/SHA256SUMS.sig" \
    "$W/SHA256SUMS"
check "gpgv verifies the detached signature" verify "$W/key.gpg" "$W/SHA256SUMS.sig" \
    "$W/SHA256SUMS"
check "the signature uses SHA512 (digest algo 10)" \
    grep -q 'digest algo 10' <(gpg --homedir "$V" --batch --list-packets "$W/SHA256SUMS.sig")
expect_rc 0 "sign --armor" keys sign --keydir "$K" --detach-sign --armor \
    --out "$W/SHA256SUMS.asc" "$W/SHA256SUMS"
check "armored signature is armored" grep -q '^-----BEGIN PGP SIGNATURE-----$' \
    "$W/SHA256SUMS.asc"
check "gpgv verifies the armored signature" verify "$W/key.gpg" "$W/SHA256SUMS.asc" \
    "$W/SHA256SUMS"
expect_rc 0 "sign --clearsign" keys sign --keydir "$K" --clearsign --out "$W/InRelease" \
    "$W/SHA256SUMS"
check "clearsigned text says Hash: SHA512" grep -qx 'Hash: SHA512' "$W/InRelease"
check "gpgv verifies the clearsigned file" verify "$W/key.gpg" "$W/InRelease"
cp "$W/SHA256SUMS" "$W/tampered"
printf 'X' | dd of="$W/tampered" bs=1 seek=3 count=1 conv=notrunc status=none
check "gpgv rejects the signature after one byte changed" \
    not verify "$W/key.gpg" "$W/SHA256SUMS.sig" "$W/tampered"
expect_rc 2 "sign without a file is a usage error" keys sign --keydir "$K"
expect_rc 1 "sign of a missing file fails" keys sign --keydir "$K" --out "$W/x.sig" "$W/nope"

# --- signature times: SOURCE_DATE_EPOCH, reproducible, as gpg writes them ----------
# A Release-like text with what the cleartext framing must handle: trailing
# blanks, a CR, a dash line that looks like armor, a "From " line, an empty
# line, no final newline.
printf 'Origin: Example  \nLabel: Example\t\nSuite: stable\r\n-----BEGIN PGP SIGNATURE-----\nFrom the vendor\n\n--\nSHA256:\n abc 123 main/binary-amd64/Packages' \
    >"$W/Release"
kc=$(key_created "$W/key.gpg")
t=$((kc + 86400))
sde_sign "$t" --keydir "$K" --out "$W/t1.sig" "$W/SHA256SUMS"
check "sign with SOURCE_DATE_EPOCH (exit 0)" test "$rc" -eq 0
sde_sign "$t" --keydir "$K" --out "$W/t2.sig" "$W/SHA256SUMS"
check "RSA: two signatures with the same SOURCE_DATE_EPOCH are byte-identical" \
    cmp "$W/t1.sig" "$W/t2.sig"
check "the signature's creation time is SOURCE_DATE_EPOCH" test "$(sig_created "$W/t1.sig")" = "$t"
check "the signature is v4, binary document, SHA512 (digest algo 10), RSA" \
    test "$(packets "$W/t1.sig" | grep -Ec 'sigclass 0x00$|digest algo 10,|algo 1, keyid')" = 3
check "gpgv verifies it" verify "$W/key.gpg" "$W/t1.sig" "$W/SHA256SUMS"
check "gpg --verify verifies it" gpg_verify "$W/key.gpg" "$W/t1.sig" "$W/SHA256SUMS"
check "gpg --verify reports a valid signature made at SOURCE_DATE_EPOCH" \
    grep -Eq "^\[GNUPG:\] VALIDSIG $fpr [0-9-]{10} $t " "$W/gpg.log"
check "gpgv rejects it for changed data" not verify "$W/key.gpg" "$W/t1.sig" "$W/tampered"
check "gpg --faked-system-time writes the same detached signature" \
    gpg_ref "$K/gnupg" "$t" "$W/ref.sig" --detach-sign "$W/SHA256SUMS"
check "the detached signature is byte for byte gpg's" cmp "$W/t1.sig" "$W/ref.sig"
sde_sign "$t" --keydir "$K" --armor --out "$W/t1.asc" "$W/SHA256SUMS"
gpg_ref "$K/gnupg" "$t" "$W/ref.asc" --armor --detach-sign "$W/SHA256SUMS" || true
check "the armored signature is byte for byte gpg's (CRC-24, line length)" \
    cmp "$W/t1.asc" "$W/ref.asc"
check "gpgv verifies the armored one" verify "$W/key.gpg" "$W/t1.asc" "$W/SHA256SUMS"
sde_sign "$t" --keydir "$K" --clearsign --out "$W/InRelease.t" "$W/Release"
check "clearsign with SOURCE_DATE_EPOCH (exit 0)" test "$rc" -eq 0
gpg_ref "$K/gnupg" "$t" "$W/InRelease.ref" --clearsign "$W/Release" || true
check "the clearsigned text is byte for byte gpg's" cmp "$W/InRelease.t" "$W/InRelease.ref"
check "gpgv verifies the clearsigned text" verify "$W/key.gpg" "$W/InRelease.t"
check "gpg --verify verifies the clearsigned text" gpg_verify "$W/key.gpg" "$W/InRelease.t"
check "apt's gpgv method accepts it (apt's splitting rules)" \
    apt_verify "$W/key.gpg" "$W/InRelease.t"
check "clearsigned: a canonical text signature (sigclass 0x01), SHA512" \
    test "$(clear_packets "$W/InRelease.t" | grep -Ec 'sigclass 0x01$|digest algo 10,')" = 2
check "clearsigned: Hash: SHA512 and the dash lines escaped" \
    test "$(sed -n '2p' "$W/InRelease.t")|$(grep -c '^- -' "$W/InRelease.t")|$(grep -c '^- From ' "$W/InRelease.t")" = "Hash: SHA512|2|1"
check "clearsigned: nothing before the header or after the signature" \
    test "$(head -n 1 "$W/InRelease.t")|$(tail -n 1 "$W/InRelease.t")" = \
    "-----BEGIN PGP SIGNED MESSAGE-----|-----END PGP SIGNATURE-----"
sed 's/^Label: Example/Label: Exbmple/' "$W/InRelease.t" >"$W/InRelease.bad"
check "apt rejects the clearsigned text after one byte changed" \
    not apt_verify "$W/key.gpg" "$W/InRelease.bad"
printf 'Unsigned: yes\n' | cat - "$W/InRelease.t" >"$W/InRelease.bad"
check "apt rejects an unsigned line before it" not apt_verify "$W/key.gpg" "$W/InRelease.bad"
sde_sign 1000000000 --keydir "$K" --out "$W/old.sig" "$W/SHA256SUMS"
check "a SOURCE_DATE_EPOCH before the key's creation gives the key's creation time" \
    test "$rc" -eq 0 -a "$(sig_created "$W/old.sig")" = "$kc"
check "gpgv verifies the signature made at the key's creation time" \
    verify "$W/key.gpg" "$W/old.sig" "$W/SHA256SUMS"
before=$(date +%s)
expect_rc 0 "sign without SOURCE_DATE_EPOCH" keys sign --keydir "$K" --out "$W/now.sig" \
    "$W/SHA256SUMS"
check "without SOURCE_DATE_EPOCH the signature time is now" \
    test "$(sig_created "$W/now.sig")" -ge "$before" -a "$(sig_created "$W/now.sig")" -le "$(date +%s)"
sde_sign yesterday --keydir "$K" --out "$W/bad-sde.sig" "$W/SHA256SUMS"
check "a malformed SOURCE_DATE_EPOCH is a usage error (exit 2)" test "$rc" -eq 2
err_has "SOURCE_DATE_EPOCH" "the malformed SOURCE_DATE_EPOCH is named"
sde_sign $((kc + 3 * 365 * 86400)) --keydir "$K" --out "$W/late.sig" "$W/SHA256SUMS"
check "a SOURCE_DATE_EPOCH after the key's expiry fails (exit 1)" test "$rc" -eq 1
err_has "expiry" "the failure names the key's expiry"
check "no signature written for a refused time" test ! -e "$W/late.sig" -a ! -e "$W/bad-sde.sig"

# --- rotation --------------------------------------------------------------------
expect_rc 1 "generate again without --add fails" keys generate --keydir "$K" \
    --name "Example Release" --email release@example.com
err_has "--add" "the refusal points to --add"
check "the active key did not change" test "$(cat "$K/active")" = "$fpr"
expect_rc 0 "generate --add (same user ID, rotation)" keys generate --keydir "$K" --add \
    --name "Example Release" --email release@example.com --expire 18m
new=$(tr -d ' ' <"$W/out")
check "the new key is active" test "$(cat "$K/active")" = "$new" -a "$new" != "$fpr"
expect_rc 0 "list after rotation" keys list --keydir "$K"
check "list shows both keys" test "$(grep -c '^fingerprint: ' "$W/out")" = 2
expect_rc 0 "export the old key with --fpr (grouped form accepted)" keys export --keydir "$K" \
    --format apt --fpr "$grouped" --out "$W/old.gpg"
check "the --fpr export is the old key" cmp "$W/old.gpg" "$W/key.gpg"
expect_rc 1 "export of an unknown fingerprint fails" keys export --keydir "$K" --format apt \
    --fpr 0000000000000000000000000000000000000000 --out "$W/none.gpg"

# --- ed25519 ---------------------------------------------------------------------
E=$W/e
expect_rc 0 "generate ed25519, never expiring" keys generate --keydir "$E" --algo ed25519 \
    --expire never --name "Example Dev" --email dev@example.com
efpr=$(tr -d ' ' <"$W/out")
expect_rc 0 "export ed25519 (apt)" keys export --keydir "$E" --format apt --out "$W/e.gpg"
check "gpg --show-keys reads the ed25519 key" test "$(show_fpr "$W/e.gpg")" = "$efpr"
expect_rc 0 "list ed25519" keys list --keydir "$E"
check "list shows ed25519" grep -qx "algo: ed25519" "$W/out"
check "list shows no expiry" grep -qx "expires: never" "$W/out"
expect_rc 0 "sign with ed25519" keys sign --keydir "$E" --out "$W/e.sig" "$W/SHA256SUMS"
check "gpgv verifies the ed25519 signature" verify "$W/e.gpg" "$W/e.sig" "$W/SHA256SUMS"
check "the ed25519 signature uses SHA512" \
    grep -q 'digest algo 10' <(gpg --homedir "$V" --batch --list-packets "$W/e.sig")
ekc=$(key_created "$W/e.gpg")
sde_sign $((ekc + 60)) --keydir "$E" --out "$W/e1.sig" "$W/SHA256SUMS"
sde_sign $((ekc + 60)) --keydir "$E" --out "$W/e2.sig" "$W/SHA256SUMS"
check "Ed25519: two signatures with the same SOURCE_DATE_EPOCH are byte-identical" \
    cmp "$W/e1.sig" "$W/e2.sig"
check "Ed25519: the time is SOURCE_DATE_EPOCH, the algorithm EdDSA (22)" \
    test "$(sig_created "$W/e1.sig")|$(packets "$W/e1.sig" | grep -c 'algo 22, keyid')" = \
    "$((ekc + 60))|1"
check "Ed25519: gpgv verifies it" verify "$W/e.gpg" "$W/e1.sig" "$W/SHA256SUMS"
check "Ed25519: gpg --verify verifies it" gpg_verify "$W/e.gpg" "$W/e1.sig" "$W/SHA256SUMS"
gpg_ref "$E/gnupg" $((ekc + 60)) "$W/e.ref" --detach-sign "$W/SHA256SUMS" || true
check "Ed25519: byte for byte gpg's signature (r and s as MPIs)" cmp "$W/e1.sig" "$W/e.ref"
sde_sign $((ekc + 60)) --keydir "$E" --clearsign --out "$W/e.InRelease" "$W/Release"
gpg_ref "$E/gnupg" $((ekc + 60)) "$W/e.InRelease.ref" --clearsign "$W/Release" || true
check "Ed25519: clearsigned text byte for byte gpg's" cmp "$W/e.InRelease" "$W/e.InRelease.ref"
check "Ed25519: apt's gpgv method accepts the clearsigned text" \
    apt_verify "$W/e.gpg" "$W/e.InRelease"
# 32 signatures at successive times: some r or s has leading zero bits, which
# an MPI must not carry (gpg's own output is the reference).
mpi_ok=1
for i in $(seq 1 32); do
    sde_sign $((ekc + 100 + i)) --keydir "$E" --out "$W/em.sig" "$W/SHA256SUMS"
    cat "$W/em.sig" >>"$W/em.all"
    gpg_ref "$E/gnupg" $((ekc + 100 + i)) "$W/em.ref" --detach-sign "$W/SHA256SUMS" || true
    cmp -s "$W/em.sig" "$W/em.ref" || mpi_ok=0
done
check "Ed25519: 32 more signatures at other times all byte for byte gpg's" test "$mpi_ok" = 1
check "... among them values shorter than 256 bits" \
    grep -q 'data: \[25[0-5] bits\]' <(packets "$W/em.all")

# --- passphrase-protected key ------------------------------------------------------
P=$W/p
(umask 077 && printf 'correct horse battery staple\n' >"$W/pass" && printf 'wrong\n' >"$W/bad")
check "passphrase file is 0600" test "$(mode_of "$W/pass")" = 600
expect_rc 0 "generate with --passphrase-file" keys generate --keydir "$P" --name "Example Prot" \
    --email prot@example.com --passphrase-file "$W/pass"
check "the secret key is stored protected" \
    grep -rqa 'protected-private-key' "$P/gnupg/private-keys-v1.d"
expect_rc 0 "export the protected key" keys export --keydir "$P" --format apt --out "$W/p.gpg"
expect_rc 0 "sign with the right --passphrase-file" keys sign --keydir "$P" --armor \
    --passphrase-file "$W/pass" --out "$W/p.asc" "$W/SHA256SUMS"
check "gpgv verifies the protected key's signature" verify "$W/p.gpg" "$W/p.asc" "$W/SHA256SUMS"
# An hour after the primary key: its signing subkey may be made seconds
# later on a loaded machine, and a signature may not predate its key.
pkc=$(($(key_created "$W/p.gpg") + 3600))
sde_sign $pkc --keydir "$P" --passphrase-file "$W/pass" --out "$W/p1.sig" "$W/SHA256SUMS"
sde_sign $pkc --keydir "$P" --passphrase-file "$W/pass" --out "$W/p2.sig" "$W/SHA256SUMS"
check "protected key: the same SOURCE_DATE_EPOCH gives the same signature" \
    cmp "$W/p1.sig" "$W/p2.sig"
gpg_ref "$P/gnupg" $pkc "$W/p.ref" --passphrase-file "$W/pass" --detach-sign \
    "$W/SHA256SUMS" || true
check "protected key: byte for byte gpg's signature" cmp "$W/p1.sig" "$W/p.ref"
expect_rc 1 "sign with a wrong passphrase fails" keys sign --keydir "$P" --armor \
    --passphrase-file "$W/bad" --out "$W/bad.asc" "$W/SHA256SUMS"
err_has "wrong passphrase" "the wrong passphrase is reported as such"
check "no signature written with a wrong passphrase" test ! -e "$W/bad.asc"
expect_rc 1 "sign without a passphrase fails" keys sign --keydir "$P" --armor \
    --out "$W/none.asc" "$W/SHA256SUMS"
err_has "passphrase" "the missing passphrase is reported"
export CONSIGN_TEST_PASS='correct horse battery staple'
expect_rc 0 "sign with --passphrase-env" keys sign --keydir "$P" --passphrase-env CONSIGN_TEST_PASS \
    --out "$W/penv.sig" "$W/SHA256SUMS"
unset CONSIGN_TEST_PASS
check "gpgv verifies the --passphrase-env signature" verify "$W/p.gpg" "$W/penv.sig" \
    "$W/SHA256SUMS"
expect_rc 2 "--passphrase-file and --passphrase-env together are refused" keys sign \
    --keydir "$P" --passphrase-file "$W/pass" --passphrase-env X "$W/SHA256SUMS"

# --- key directory path length -----------------------------------------------------
if [ ! -d "/run/user/$(id -u)" ] && [ ! -d "/var/run/user/$(id -u)" ]; then
    long=$W/$(printf 'd%.0s' $(seq 1 $((100 - ${#W}))))
    expect_rc 2 "a key directory path too long for gpg-agent sockets is refused" keys generate \
        --keydir "$long" --name N --email n@example.com
    err_has "shorter key directory" "the refusal says to use a shorter path"
    check "the refused key directory was not created" test ! -e "$long"
else
    pass "skipped the socket length check: /run/user/$(id -u) gives gpg short socket paths"
fi

# --- $GNUPGHOME set: must be ignored as well ---------------------------------------
export GNUPGHOME=$W/ghome
expect_rc 0 "generate with GNUPGHOME set" keys generate --keydir "$W/g" --algo ed25519 \
    --name "Example G" --email g@example.com
expect_rc 0 "sign with GNUPGHOME set" keys sign --keydir "$W/g" --out "$W/g.sig" "$W/SHA256SUMS"
expect_rc 0 "export with GNUPGHOME set" keys export --keydir "$W/g" --format apt --out "$W/g.gpg"
expect_rc 0 "list with GNUPGHOME set" keys list --keydir "$W/g"
check "gpgv verifies the signature made with GNUPGHOME set" verify "$W/g.gpg" "$W/g.sig" \
    "$W/SHA256SUMS"
unset GNUPGHOME

# --- a HOME without ~/.gnupg gets none ---------------------------------------------
mkdir "$W/bare"
HOME=$W/bare "$CONSIGN" keys generate --keydir "$W/b" --algo ed25519 --name "Example B" \
    --email b@example.com >/dev/null
HOME=$W/bare "$CONSIGN" keys sign --keydir "$W/b" --out "$W/b.sig" "$W/SHA256SUMS"
HOME=$W/bare "$CONSIGN" keys list --keydir "$W/b" >/dev/null
HOME=$W/bare "$CONSIGN" keys export --keydir "$W/b" --format asc --out "$W/b.asc"
check "no ~/.gnupg was created in a HOME without one" test -z "$(ls -A "$W/bare")"

# --- nothing outside the key directories changed, no agent left ---------------------
snapshot "$HOME/.gnupg" >"$W/home.after"
snapshot "$W/ghome" >"$W/ghome.after"
check "\$HOME/.gnupg is unchanged (names, sizes, mtimes, modes, contents)" \
    diff -u "$W/home.before" "$W/home.after"
check "\$GNUPGHOME is unchanged" diff -u "$W/ghome.before" "$W/ghome.after"
agents_gone() {
    local tries
    for tries in $(seq 50 -1 1); do
        pgrep -f "gpg-agent.*$W/" >/dev/null || return 0
        [ "$tries" -gt 1 ] && sleep 0.1
    done
    return 1
}
check "no gpg-agent is left running for the key directories" agents_gone

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Repository indexing: consign repo apt|yum (add + publish) against
# apt-ftparchive and createrepo_c, on the same realistic data, side by side in
# one run. Prints medians of RUNS runs, peak RSS and ratios peer/ours.
#
#   bench/repo.sh BUILD [RUNS]        (make bench runs it after bench/pkg.sh)
#
# The data set (>= 1,000 .debs and as many .rpms, cut from this machine's
# installed Debian packages) is built once and cached under
# BUILD/bench-data/repo; delete that directory to rebuild it. See
# bench/README.md, "Repositories", for the data set and the method.
set -euo pipefail
export LC_ALL=C
if [ $# -lt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$(cd "$1" && pwd)
runs=${2:-3}
consign=$build/cli/consign
data=$build/bench-data/repo
stamp=$data/stamp
FORMAT=1         # bump when the data set's recipe changes (a stale stamp forces a rebuild)
MIN_BASE=1000    # packages in the repository (plus one for the incremental case)
SUBSET=250       # the small repository of the memory check
jobs=$(nproc)

need=()
for t in dpkg-deb dpkg-query rpmbuild apt-ftparchive createrepo_c gpg gpgconf tar zstd xz gzip; do
  command -v "$t" >/dev/null || need+=("$t")
done
[ -x /usr/bin/time ] || need+=(/usr/bin/time)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench/repo.sh: missing ${need[*]}; run 'make deps' (scripts/deps.sh)" >&2
  exit 1
fi
[ -x "$consign" ] || { echo "bench/repo.sh: no $consign; run 'make build' first" >&2; exit 1; }

# ---------------------------------------------------------------------------
# 1. The data set.
#
# Every installed Debian package ("ii") becomes a .deb and an .rpm holding its
# own files as this machine has them: the regular files and symlinks that
# `dpkg-query -L` lists (symlinks to directories and paths with characters
# outside [A-Za-z0-9._+@,:=/~-] are left out), its control fields (Depends,
# Pre-Depends, Recommends, Suggests, Breaks, Conflicts, Replaces, Provides,
# Description, ...) and its real version. A package over CAP bytes is cut, in
# dpkg -L order, into NAME, NAME-part2, ... of at most CAP bytes each (a single
# bigger file stays whole), NAME depending on its parts with (= VERSION); CAP
# starts at 48 MiB and halves until there are MIN_BASE+1 packages.
# .deb: dpkg-deb --build --root-owner-group -Zzstd -z3.
# .rpm: rpmbuild -bb, one spec per batch of <= 60 packages / 200 MB, each a
#       subpackage with its own Version/Release/Epoch, BuildArch noarch for
#       Architecture: all (else x86_64), Requires/Recommends/Suggests/Provides/
#       Conflicts from the Debian fields (first alternative, version operators
#       mapped), no automatic dependencies, payload zstd level 3.
# One package of median size (a whole one, not cut) is set aside for the
# incremental case; the repository is all the others.
# ---------------------------------------------------------------------------

# mawk program: stat.tsv (path, size), files.tsv (package, path), dpkg status
# stanzas -> meta/NAME.{control,spec,files}, index.tsv, batches/NNNN.
read -r -d '' MANIFEST_AWK <<'AWK' || true
function evr(v, dep,    e, p, u, r) {
  e = ""
  p = index(v, ":")
  if (p > 1 && substr(v, 1, p - 1) ~ /^[0-9]+$/) { e = substr(v, 1, p - 1); v = substr(v, p + 1) }
  u = v; r = ""
  for (p = length(v); p > 0; p--) if (substr(v, p, 1) == "-") break
  if (p > 0) { u = substr(v, 1, p - 1); r = substr(v, p + 1) }
  gsub(/[^A-Za-z0-9._+~^]/, ".", u); gsub(/[^A-Za-z0-9._+~^]/, ".", r)
  E_EP = e; E_V = u; E_R = (r == "" ? "1" : r)
  if (dep) return (e != "" ? e ":" : "") u (r != "" ? "-" r : "")
  return ""
}
function pct(s) { gsub(/%/, "%%", s); return s }
# Debian relationship field -> rpm tag lines (first alternative of each).
function rpmdeps(tag, field,    a, m, i, alt, nm, rest, op, p, out, line) {
  out = ""
  m = split(field, a, ",")
  for (i = 1; i <= m; i++) {
    alt = a[i]
    p = index(alt, "|"); if (p) alt = substr(alt, 1, p - 1)
    gsub(/[ \t\n]+/, "", alt)
    if (alt == "") continue
    rest = ""
    p = index(alt, "(")
    if (p) { rest = substr(alt, p + 1); nm = substr(alt, 1, p - 1); sub(/\).*/, "", rest) } else nm = alt
    p = index(nm, ":"); if (p) nm = substr(nm, 1, p - 1)
    p = index(nm, "["); if (p) nm = substr(nm, 1, p - 1)
    if (nm == "") continue
    line = tag ": " nm
    if (rest != "" && match(rest, /^[<>=]+/)) {
      op = OPS[substr(rest, 1, RLENGTH)]
      if (op != "") line = line " " op " " evr(substr(rest, RLENGTH + 1), 1)
    }
    if (!(line in DUP)) { DUP[line] = 1; out = out line "\n" }
  }
  return out
}
function flush(    P, st, i, k, np, f, s, name, ctl, spec, lst, desc, summ, longd, dl, nd, j, fld, deps, arch, dfile, rfile, bytes, cnt) {
  P = V["Package"]
  if (P == "" || V["Status"] != "install ok installed" || (P in DONE)) { clear(); return }
  DONE[P] = 1
  np = 1; B[1] = 0; C[1] = 0
  for (i = 1; i <= N[P]; i++) {
    f = F[P, i]; s = SZ[f]
    if (C[np] > 0 && B[np] + s > CAP) { np++; B[np] = 0; C[np] = 0 }
    PART[i] = np; B[np] += s; C[np]++
  }
  arch = V["Architecture"]
  evr(V["Version"], 0)
  desc = V["Description"]
  nd = split(desc, dl, "\n")
  summ = dl[1]
  longd = ""
  for (j = 2; j <= nd; j++) { s = dl[j]; sub(/^ /, "", s); if (s == ".") s = ""; longd = longd pct(s) "\n" }
  if (longd == "") longd = pct(summ) "\n"
  for (k = 1; k <= np; k++) {
    name = (k == 1 ? P : P "-part" k)
    ctl = OUT "/meta/" name ".control"; spec = OUT "/meta/" name ".spec"; lst = OUT "/meta/" name ".files"
    delete DUP
    # .deb control: the installed stanza's fields, minus the dpkg database's own.
    for (j = 1; j <= NF_; j++) {
      fld = ORD[j]
      if (fld ~ /^(Status|Conffiles|Config-Version|Installed-Size|Triggers-Pending|Triggers-Awaited)$/) continue
      if (k > 1 && fld ~ /^(Depends|Pre-Depends|Recommends|Suggests|Breaks|Conflicts|Replaces|Provides|Enhances|Essential|Protected|Important)$/) continue
      if (fld == "Package") { print "Package: " name > ctl; continue }
      if (fld == "Description") {
        if (k == 1) print "Description: " desc > ctl
        else print "Description: " summ " (part " k ")" substr(desc, length(summ) + 1) > ctl
        continue
      }
      if (fld == "Depends" && k == 1 && np > 1) {
        deps = V[fld]; for (i = 2; i <= np; i++) deps = deps ", " P "-part" i " (= " V["Version"] ")"
        print "Depends: " deps > ctl; continue
      }
      print fld ": " V[fld] > ctl
      if (fld == "Version") print "Installed-Size: " int((B[k] + 1023) / 1024) > ctl
    }
    if (k == 1 && np > 1 && !("Depends" in V)) {
      deps = ""; for (i = 2; i <= np; i++) deps = deps (i > 2 ? ", " : "") P "-part" i " (= " V["Version"] ")"
      print "Depends: " deps > ctl
    }
    if (k > 1 && !("Source" in V)) print "Source: " P > ctl
    close(ctl)
    # .rpm: a subpackage of the batch's spec.
    print "%package -n " name > spec
    print "Summary: " pct(summ) (k > 1 ? " (part " k ")" : "") > spec
    print "Version: " E_V > spec
    print "Release: " E_R > spec
    if (E_EP != "") print "Epoch: " E_EP > spec
    print "License: see /usr/share/doc/" P "/copyright" > spec
    if (V["Homepage"] != "") print "URL: " pct(V["Homepage"]) > spec
    if (arch == "all") print "BuildArch: noarch" > spec
    print "AutoReqProv: no" > spec
    if (k == 1) {
      printf "%s", rpmdeps("Requires", V["Pre-Depends"] "," V["Depends"]) > spec
      for (i = 2; i <= np; i++) print "Requires: " P "-part" i " = " evr(V["Version"], 1) > spec
      printf "%s", rpmdeps("Recommends", V["Recommends"]) > spec
      printf "%s", rpmdeps("Suggests", V["Suggests"]) > spec
      printf "%s", rpmdeps("Provides", V["Provides"]) > spec
      printf "%s", rpmdeps("Conflicts", V["Conflicts"]) > spec
      evr(V["Version"], 0)
    }
    print "%description -n " name > spec
    printf "%s", longd > spec
    print "%files -n " name > spec
    print "%defattr(-,root,root,-)" > spec
    for (i = 1; i <= N[P]; i++) if (PART[i] == k) { print F[P, i] > spec; print substr(F[P, i], 2) > lst }
    close(spec)
    if (C[k] == 0) printf "" > lst
    close(lst)
    dfile = name "_" (index(V["Version"], ":") ? substr(V["Version"], index(V["Version"], ":") + 1) : V["Version"]) "_" arch ".deb"
    rfile = name "-" E_V "-" E_R "." (arch == "all" ? "noarch" : "x86_64") ".rpm"
    # batches of <= 60 packages / 200 MB
    if (BN == 0 || BC >= 60 || (BC > 0 && BB + B[k] > 200000000)) { BN++; BC = 0; BB = 0 }
    BC++; BB += B[k]
    bf = sprintf("%s/batches/%04d", OUT, BN)
    print name "\t" dfile >> bf
    close(bf)
    print name "\t" P "\t" k "\t" np "\t" B[k] "\t" C[k] "\t" arch "\t" dfile "\t" rfile > (OUT "/index.tsv")
  }
  clear()
}
function clear() { delete V; delete ORD; NF_ = 0; cur = "" }
BEGIN {
  FS = "\t"
  OPS[">="] = ">="; OPS["<="] = "<="; OPS["<<"] = "<"; OPS[">>"] = ">"; OPS["="] = "="; OPS["<"] = "<="; OPS[">"] = ">="
}
FILENAME == ARGV[1] { SZ[$1] = $2 + 0; next }
FILENAME == ARGV[2] {
  if (($2 in SZ) && !(($1, $2) in SEEN)) { SEEN[$1, $2] = 1; N[$1]++; F[$1, N[$1]] = $2 }
  next
}
{
  if ($0 == "") { flush(); next }
  if ($0 ~ /^[ \t]/) { if (cur != "") V[cur] = V[cur] "\n" $0; next }
  p = index($0, ":"); cur = substr($0, 1, p - 1); val = substr($0, p + 1); sub(/^[ \t]+/, "", val)
  V[cur] = val; ORD[++NF_] = cur
}
END { flush(); close(OUT "/index.tsv") }
AWK

# One batch: stage each package's files (a copy, never a link to the system's),
# dpkg-deb each, then one rpmbuild for the batch's subpackages.
build_batch() {
  local id=$1 b=$W/stage/$1 t=$W/top/$1 name dfile
  mkdir -p "$b" "$t"
  while IFS=$'\t' read -r name dfile; do
    mkdir -p "$b/$name/DEBIAN"
    cp "$W/meta/$name.control" "$b/$name/DEBIAN/control"
    if [ -s "$W/meta/$name.files" ]; then
      (tar -C / --no-recursion -cf - -T "$W/meta/$name.files" 2>>"$t/log" || [ $? -eq 1 ]) |
        tar -C "$b/$name" -xf -
    fi
    dpkg-deb --root-owner-group -Zzstd -z3 --build "$b/$name" "$W/deb/$dfile" >/dev/null 2>>"$t/log" ||
      { echo "dpkg-deb failed for $name:" >&2; cat "$t/log" >&2; return 1; }
  done <"$W/batches/$id"
  {
    printf 'Name: consign-bench-batch-%s\nVersion: 1\nRelease: 1\nSummary: batch\nLicense: none\n%%description\nbatch\n\n' "$id"
    cut -f1 "$W/batches/$id" | while read -r name; do cat "$W/meta/$name.spec"; echo; done
    echo '%install'
    cut -f1 "$W/batches/$id" | while read -r name; do echo "cp -a $b/$name/. %{buildroot}/"; done
    echo 'rm -rf %{buildroot}/DEBIAN'
  } >"$t/batch.spec"
  rpmbuild -bb --quiet --define "_topdir $t" --define "_rpmdir $W/rpm" \
    --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
    --define '_binary_payload w3.zstdio' --define 'debug_package %{nil}' \
    --define '__spec_install_post %{nil}' --define '_build_id_links none' \
    --define '_buildhost bench.example.invalid' \
    --define '_unpackaged_files_terminate_build 0' \
    --define '_binaries_in_noarch_packages_terminate_build 0' \
    "$t/batch.spec" >>"$t/log" 2>&1 ||
    { echo "rpmbuild failed for batch $id:" >&2; tail -40 "$t/log" >&2; return 1; }
  rm -rf "$b" "$t"
  printf '.' >&2
}

build_dataset() {
  local t0 t1 cap n base extra W
  t0=$(date +%s%N)
  echo "bench/repo.sh: building the data set in $data (once; about 5-15 minutes)" >&2
  rm -rf "$data" "$data.new"
  W=$data.new
  mkdir -p "$W"/{meta,batches,stage,top,deb,rpm}
  dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\n' | awk -F'\t' '$1 ~ /^ii/ {print $2}' >"$W/installed"
  while read -r p; do dpkg-query -L "$p" | sed "s|^|${p%%:*}\t|"; done <"$W/installed" |
    awk -F'\t' '$2 ~ /^\/[A-Za-z0-9._+@,:=\/~-]*$/' >"$W/files.tsv"
  # regular files and symlinks, not symlinks to directories
  cut -f2 "$W/files.tsv" | sort -u | xargs -d '\n' stat -c $'%n\t%s\t%F' 2>/dev/null |
    awk -F'\t' '$3 == "regular file" || $3 == "regular empty file" || $3 == "symbolic link"' >"$W/stat0.tsv" || true
  awk -F'\t' '$3 == "symbolic link" {print $1}' "$W/stat0.tsv" | xargs -d '\n' -r stat -L -c $'%n\t%F' 2>/dev/null |
    awk -F'\t' '$2 == "directory" {print $1}' >"$W/dirlinks" || true
  awk -F'\t' 'NR == FNR {d[$1] = 1; next} !($1 in d) {print $1 "\t" $2}' "$W/dirlinks" "$W/stat0.tsv" >"$W/stat.tsv"
  # shellcheck disable=SC2046
  dpkg-query -s $(cat "$W/installed") >"$W/status" 2>/dev/null || true
  cap=$((48 * 1024 * 1024))
  while :; do
    rm -rf "$W/meta" "$W/batches" "$W/index.tsv"; mkdir -p "$W/meta" "$W/batches"
    awk -v CAP="$cap" -v OUT="$W" "$MANIFEST_AWK" "$W/stat.tsv" "$W/files.tsv" "$W/status"
    n=$(wc -l <"$W/index.tsv")
    [ "$n" -gt "$MIN_BASE" ] && break
    [ "$cap" -le $((1024 * 1024)) ] && {
      echo "bench/repo.sh: only $n packages can be made from this machine's installed packages; need $((MIN_BASE + 1))" >&2
      exit 1
    }
    cap=$((cap / 2))
  done
  echo "bench/repo.sh: $n packages from $(wc -l <"$W/installed") installed ones (cap $((cap / 1048576)) MiB), $(ls "$W/batches" | wc -l) batches" >&2
  export W
  export -f build_batch
  ls "$W/batches" | xargs -P "$jobs" -I{} bash -c 'set -eo pipefail; build_batch "$1"' _ {} ||
    { echo; echo "bench/repo.sh: building the data set failed" >&2; exit 1; }
  echo >&2
  # every package made in both formats?
  awk -F'\t' -v W="$W" '{ if (system("test -f \"" W "/deb/" $8 "\" && test -f \"" W "/rpm/" $9 "\"")) { print "missing: " $8 " or " $9; bad = 1 } } END { exit bad }' "$W/index.tsv" >&2
  [ "$(ls "$W/deb" | wc -l)" -eq "$n" ] && [ "$(ls "$W/rpm" | wc -l)" -eq "$n" ] ||
    { echo "bench/repo.sh: expected $n .debs and .rpms, got $(ls "$W/deb" | wc -l) and $(ls "$W/rpm" | wc -l)" >&2; exit 1; }
  # set aside the median whole package
  extra=$(awk -F'\t' '$4 == 1' "$W/index.tsv" | sort -t$'\t' -k5,5n -k1,1 | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}')
  mkdir -p "$W/deb-extra" "$W/rpm-extra"
  mv "$W/deb/$(cut -f8 <<<"$extra")" "$W/deb-extra/"
  mv "$W/rpm/$(cut -f9 <<<"$extra")" "$W/rpm-extra/"
  base=$((n - 1))
  # the memory check's small repository: SUBSET packages evenly spaced by name
  ls "$W/deb" | awk -v n="$base" -v s="$SUBSET" 'BEGIN {for (i = 0; i < s; i++) pick[int(i * n / s) + 1] = 1} pick[NR]' >"$W/subset.deb"
  ls "$W/rpm" | awk -v n="$base" -v s="$SUBSET" 'BEGIN {for (i = 0; i < s; i++) pick[int(i * n / s) + 1] = 1} pick[NR]' >"$W/subset.rpm"
  rm -rf "$W/stage" "$W/top" "$W/meta" "$W/batches" "$W/files.tsv" "$W/stat0.tsv" "$W/stat.tsv" "$W/dirlinks" "$W/status"
  t1=$(date +%s%N)
  {
    echo "format=$FORMAT"
    echo "packages=$base"
    echo "extra=$(cut -f1 <<<"$extra")"
    echo "cap_mib=$((cap / 1048576))"
    echo "files=$(awk -F'\t' '{s += $6} END {printf "%.0f", s}' "$W/index.tsv")"
    echo "payload_bytes=$(awk -F'\t' '{s += $5} END {printf "%.0f", s}' "$W/index.tsv")"
    echo "deb_bytes=$(du -cb "$W"/deb/*.deb | tail -1 | cut -f1)"
    echo "rpm_bytes=$(du -cb "$W"/rpm/*.rpm | tail -1 | cut -f1)"
    echo "noarch_rpms=$(ls "$W/rpm" | grep -c '\.noarch\.rpm$')"
    echo "build_seconds=$(((t1 - t0) / 1000000000))"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores"
  } >"$W/stamp.tmp"
  mv "$W" "$data"
  mv "$data/stamp.tmp" "$stamp"
}

if [ ! -f "$stamp" ] || ! grep -qx "format=$FORMAT" "$stamp"; then
  build_dataset
fi
st() { sed -n "s/^$1=//p" "$stamp"; }
N=$(st packages)
mib() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1048576}'; }
printf '\nData set (%s): %s packages + 1 (%s) in each format; %s files, %s MiB of payload\n' \
  "$data" "$N" "$(st extra)" "$(st files)" "$(mib "$(st payload_bytes)")"
printf '  .deb %s MiB, .rpm %s MiB (%s noarch), built in %s s (%s)\n' \
  "$(mib "$(st deb_bytes)")" "$(mib "$(st rpm_bytes)")" "$(st noarch_rpms)" "$(st build_seconds)" "$(st built)"

# ---------------------------------------------------------------------------
# 2. The runs.
# ---------------------------------------------------------------------------
# The repositories are written under BUILD (the data's file system: the peers
# index hard links), or under $BENCH_REPO_TMP (e.g. /dev/shm, to leave the
# disk out; the data is then copied there, taking its size in memory).
w=$(mktemp -d "${BENCH_REPO_TMP:-$build}/bench-repo.XXXXXX")
K=$w/keys
cleanup() {
  gpgconf --homedir "$K/gnupg" --kill gpg-agent >/dev/null 2>&1 || true
  rm -rf "$w"
}
trap cleanup EXIT

have_apt=0 have_yum=0
"$consign" repo apt add --help >/dev/null 2>&1 && "$consign" repo apt publish --help >/dev/null 2>&1 && have_apt=1
"$consign" repo yum add --help >/dev/null 2>&1 && "$consign" repo yum publish --help >/dev/null 2>&1 && have_yum=1
if [ $have_apt = 0 ] || [ $have_yum = 0 ]; then
  printf '\n*** %s has no working "consign repo%s": measuring the peers only; ours shows as "-". ***\n' \
    "$consign" "$([ $have_apt = 0 ] && echo ' apt')$([ $have_yum = 0 ] && echo ' yum')"
fi

"$consign" keys generate --keydir "$K" --name bench --email bench@example.invalid --expire 1d \
  --algo "${BENCH_KEY_ALGO:-rsa4096}" >/dev/null
FPR=$("$consign" keys fingerprint --keydir "$K" | tr -d ' ')
export K FPR

src=$data
if ! ln "$stamp" "$w/.link-test" 2>/dev/null; then
  echo "bench/repo.sh: $w is on another file system than the data: copying the data there" >&2
  mkdir -p "$w/data"
  cp -a "$data"/{deb,rpm,deb-extra,rpm-extra,subset.deb,subset.rpm} "$w/data/"
  src=$w/data
fi
mapfile -t DEBS < <(ls "$src"/deb/*.deb)
mapfile -t RPMS < <(ls "$src"/rpm/*.rpm)
mapfile -t DEBS_S < <(sed "s|^|$src/deb/|" "$src/subset.deb")
mapfile -t RPMS_S < <(sed "s|^|$src/rpm/|" "$src/subset.rpm")
XDEB=$(ls "$src"/deb-extra/*.deb) XRPM=$(ls "$src"/rpm-extra/*.rpm)
printf '%s\n' "${DEBS[@]}" >"$w/debs"; printf '%s\n' "${RPMS[@]}" >"$w/rpms"
printf '%s\n' "${DEBS_S[@]}" >"$w/debs.s"; printf '%s\n' "${RPMS_S[@]}" >"$w/rpms.s"

# Hard links for the tools that index in place.
link_into() { # LIST DIR
  mkdir -p "$2"
  xargs -d '\n' -a "$1" cp -l -t "$2"
}
link_into "$w/debs" "$w/apt-idx/pool/main"
link_into "$w/debs.s" "$w/apt-idx-s/pool/main"
link_into "$w/debs" "$w/apt-db/pool/main"
link_into "$w/rpms" "$w/yum-idx"
link_into "$w/rpms.s" "$w/yum-idx-s"
link_into "$w/rpms" "$w/yum-upd"

APT_SHA256=(-o APT::FTPArchive::MD5=false -o APT::FTPArchive::SHA1=false -o APT::FTPArchive::SHA512=false)
GPG=(gpg --homedir "$K/gnupg" --batch --yes --quiet --local-user "$FPR" --digest-algo SHA512)

# The peers' whole publication, for the same work as add + publish: the
# packages put in a pool, the index, its compressed forms, the top-level index
# and its signatures. The packages are hard-linked into the pool, as consign's
# add does when they are on the repository's file system (here they always
# are: see src above). (Run through bash -c under /usr/bin/time, which gets
# exported functions but not arrays: the options are spelled out.)
peer_apt_publish() { # LIST ROOT
  local r=$2 d=$2/dists/bookworm/main/binary-amd64
  local sha256="-o APT::FTPArchive::MD5=false -o APT::FTPArchive::SHA1=false -o APT::FTPArchive::SHA512=false"
  local gpg="gpg --homedir $K/gnupg --batch --yes --quiet --local-user $FPR --digest-algo SHA512"
  mkdir -p "$r/pool/main" "$d"
  xargs -d '\n' -a "$1" cp -l -t "$r/pool/main"
  (cd "$r" && apt-ftparchive $sha256 packages pool/main >"$d/Packages")
  gzip -9nk "$d/Packages"
  xz -6k "$d/Packages"
  (cd "$r/dists/bookworm" && apt-ftparchive $sha256 -o APT::FTPArchive::Release::Origin=bench \
    -o APT::FTPArchive::Release::Suite=bookworm -o APT::FTPArchive::Release::Codename=bookworm \
    -o APT::FTPArchive::Release::Components=main -o APT::FTPArchive::Release::Architectures=amd64 \
    release . >"$r/Release.new" && mv "$r/Release.new" Release)
  $gpg --clearsign -o "$r/dists/bookworm/InRelease" "$r/dists/bookworm/Release"
  $gpg --detach-sign --armor -o "$r/dists/bookworm/Release.gpg" "$r/dists/bookworm/Release"
}
peer_yum_publish() { # LIST ROOT
  mkdir -p "$2/Packages"
  xargs -d '\n' -a "$1" cp -l -t "$2/Packages"
  createrepo_c --workers 2 --no-database --quiet "$2"
  gpg --homedir "$K/gnupg" --batch --yes --quiet --local-user "$FPR" --digest-algo SHA512 \
    --detach-sign --armor -o "$2/repodata/repomd.xml.asc" "$2/repodata/repomd.xml"
}
export -f peer_apt_publish peer_yum_publish

# timed CASE CMD...: one run of CMD under /usr/bin/time (stdout to $OUT, or
# discarded); appends "seconds peak-RSS-kB CPU-seconds" to $w/res/CASE (CPU:
# user + system of CMD and its children; steadier than the wall clock on a
# busy machine).
mkdir -p "$w/res"
timed() {
  local c=$1; shift
  if ! /usr/bin/time -f '%e %M %U %S' -o "$w/time" "$@" >"${OUT:-/dev/null}" 2>"$w/err"; then
    echo "bench/repo.sh: $c failed: $*" | cut -c1-300 >&2
    tail -20 "$w/err" >&2
    exit 1
  fi
  tail -1 "$w/time" | awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' >>"$w/res/$c"
}
# sum CASE PARTS...: per run, seconds summed and the peak RSS the largest.
sum() {
  local c=$1; shift
  paste -d' ' "${@/#/$w/res/}" | awk '{s = 0; m = 0; u = 0; for (i = 1; i <= NF; i += 3) {s += $i; if ($(i+1) > m) m = $(i+1); u += $(i+2)} printf "%.2f %d %.2f\n", s, m, u}' >"$w/res/$c"
}
med() { # CASE COLUMN -> median
  [ -s "$w/res/$1" ] || { echo -; return; }
  awk -v c="$2" '{print $c}' "$w/res/$1" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
ours_apt() { # ROOT LIST-ARRAY-NAME CASE
  local -n pk=$2
  timed "$3.add" "$consign" repo apt add --root "$1" --suite bookworm "${pk[@]}"
  timed "$3.publish" "$consign" repo apt publish --root "$1" --keydir "$K" --architectures amd64
}
ours_yum() { # ROOT LIST-ARRAY-NAME CASE [PUBLISH-OPTION...]
  local -n pk=$2
  local r=$1 c=$3
  shift 3
  timed "$c.add" "$consign" repo yum add --root "$r" "${pk[@]}"
  timed "$c.publish" "$consign" repo yum publish --root "$r" --keydir "$K" "$@"
}
settle() { # no dirty pages of an earlier step written back during a timed one
  local n=0
  sync
  while [ $n -lt 100 ] && [ "$(awk '/^(Dirty|Writeback):/ {s += $2} END {print s}' /proc/meminfo)" -gt 65536 ]; do
    sleep 0.2; n=$((n + 1))
  done
}

# Once, untimed: warm the page cache with every package (the same for every
# tool), warm the gpg agent, and prepare the peers' incremental starting points
# (a --db cache / repodata for the N packages).
echo "bench/repo.sh: warming the page cache ($(mib $(($(st deb_bytes) + $(st rpm_bytes)))) MiB; $(awk '/MemAvailable/ {printf "%.0f", $2 / 1024}' /proc/meminfo) MiB available)" >&2
cat "${DEBS[@]}" "${RPMS[@]}" "$XDEB" "$XRPM" >/dev/null
echo | "${GPG[@]}" --clearsign >/dev/null
(cd "$w/apt-db" && apt-ftparchive "${APT_SHA256[@]}" --db cache.db packages pool >/dev/null && cp cache.db cache.db.n)
createrepo_c --workers 2 --no-database --quiet "$w/yum-upd" && cp -a "$w/yum-upd/repodata" "$w/yum-upd.repodata.n"

# Each case, one run. The peer's and ours alternate which goes first from one
# run to the next (writing a pool's GBs slows the next writer on some disks).
X1=("$XDEB") X2=("$XRPM")
apt_peer() {
  rm -f "$w/apt-idx/Packages"; settle
  (cd "$w/apt-idx" && OUT=Packages timed apt.peer apt-ftparchive "${APT_SHA256[@]}" packages pool)
  rm -rf "$w/apt-full"; settle
  timed apt.peerfull bash -c 'set -eo pipefail; peer_apt_publish "$@"' _ "$w/debs" "$w/apt-full"
  rm -rf "$w/apt-full"
}
apt_ours() {
  [ $have_apt = 1 ] || return 0
  rm -rf "$w/apt-ours"; settle
  ours_apt "$w/apt-ours" DEBS apt.ours
}
yum_peer() {
  rm -rf "$w/yum-idx/repodata"; settle
  timed yum.peer createrepo_c --workers 2 --no-database "$w/yum-idx"
  rm -rf "$w/yum-full"; settle
  timed yum.peerfull bash -c 'set -eo pipefail; peer_yum_publish "$@"' _ "$w/rpms" "$w/yum-full"
  rm -rf "$w/yum-full"
}
yum_ours() {
  [ $have_yum = 1 ] || return 0
  rm -rf "$w/yum-ours"; settle
  ours_yum "$w/yum-ours" RPMS yum.ours
  # gzip metadata, as createrepo_c writes it
  rm -rf "$w/yum-compat"; settle
  ours_yum "$w/yum-compat" RPMS yum.ourscompat --compat
  rm -rf "$w/yum-compat"
}
# Incremental: one package more in the N-package repository.
inc_peer() {
  cp "$w/apt-db/cache.db.n" "$w/apt-db/cache.db"
  rm -f "$w/apt-db/pool/main/${XDEB##*/}"; link_into <(echo "$XDEB") "$w/apt-db/pool/main"; settle
  (cd "$w/apt-db" && OUT=Packages timed apt.peerinc apt-ftparchive "${APT_SHA256[@]}" --db cache.db packages pool)
  rm -rf "$w/yum-upd/repodata" "$w/yum-upd/${XRPM##*/}"; cp -a "$w/yum-upd.repodata.n" "$w/yum-upd/repodata"
  link_into <(echo "$XRPM") "$w/yum-upd"; settle
  timed yum.peerinc createrepo_c --workers 2 --no-database --update "$w/yum-upd"
}
inc_ours() { # on this run's cold repository itself: a copy would change
  # the pool files' inodes, which consign takes (rightly) for changed files
  if [ $have_apt = 1 ]; then settle; ours_apt "$w/apt-ours" X1 apt.oursinc; fi
  if [ $have_yum = 1 ]; then settle; ours_yum "$w/yum-ours" X2 yum.oursinc; fi
}
# Memory: the SUBSET-package repository.
small_peer() {
  rm -f "$w/apt-idx-s/Packages"; settle
  (cd "$w/apt-idx-s" && OUT=Packages timed apt.peer.s apt-ftparchive "${APT_SHA256[@]}" packages pool)
  rm -rf "$w/yum-idx-s/repodata"; settle
  timed yum.peer.s createrepo_c --workers 2 --no-database "$w/yum-idx-s"
}
small_ours() {
  if [ $have_apt = 1 ]; then rm -rf "$w/apt-ours-s"; settle; ours_apt "$w/apt-ours-s" DEBS_S apt.ours.s; fi
  if [ $have_yum = 1 ]; then rm -rf "$w/yum-ours-s"; settle; ours_yum "$w/yum-ours-s" RPMS_S yum.ours.s; fi
}

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v c="$jobs" 'BEGIN {exit !(l > c / 2)}'; then
  printf '*** WARNING: load average %s on %s cores: something else is running; the numbers will be noisy. ***\n' "$load" "$jobs"
fi
echo "bench/repo.sh: $runs runs of each case, $N packages (+1), side by side" >&2
for i in $(seq "$runs"); do
  if [ $((i % 2)) = 1 ]; then first=peer second=ours; else first=ours second=peer; fi
  printf '  run %s/%s (%s first)\n' "$i" "$runs" "$first" >&2
  for part in apt yum inc small; do
    "${part}_$first"
    "${part}_$second"
  done
done
for c in apt.ours apt.oursinc apt.ours.s yum.ours yum.ourscompat yum.oursinc yum.ours.s; do
  [ -s "$w/res/$c.add" ] && sum "$c" "$c.add" "$c.publish"
done

# The outputs hold the same packages?
stanzas() { grep -c '^Package: ' "$@" | awk -F: '{s += $NF} END {print s + 0}'; }
primary_count() { # REPODIR
  local p; p=$(sed -n 's/.*href="\(repodata\/[^"]*primary\.xml[^"]*\)".*/\1/p' "$1/repodata/repomd.xml" | head -1)
  case $p in
    *.zst) zstd -dc "$1/$p" ;; *.gz) gzip -dc "$1/$p" ;; *.xz) xz -dc "$1/$p" ;; *) cat "$1/$p" ;;
  esac | sed -n 's/.*<metadata [^>]*packages="\([0-9]*\)".*/\1/p' | head -1
}
check() { [ "$2" = "$3" ] || printf 'WARNING: %s indexes %s packages, expected %s\n' "$1" "$2" "$3"; }
check "apt-ftparchive" "$(stanzas "$w/apt-idx/Packages")" "$N"
check "apt-ftparchive --db (+1)" "$(stanzas "$w/apt-db/Packages")" "$((N + 1))"
check "createrepo_c" "$(primary_count "$w/yum-idx")" "$N"
check "createrepo_c --update (+1)" "$(primary_count "$w/yum-upd")" "$((N + 1))"
if [ $have_apt = 1 ]; then
  # arch-all packages are in every binary-ARCH index: count distinct names
  check "consign repo apt (+1)" "$(cat "$w"/apt-ours/dists/bookworm/main/binary-*/Packages | sed -n 's/^Package: //p' | sort -u | wc -l)" "$((N + 1))"
fi
if [ $have_yum = 1 ]; then check "consign repo yum (+1)" "$(primary_count "$w/yum-ours")" "$((N + 1))"; fi

# ---------------------------------------------------------------------------
# 3. The table.
# ---------------------------------------------------------------------------
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
    r = a / b; printf (r >= 100 ? "%.0fx" : r >= 0.1 ? "%.2fx" : "%.3fx"), r }'
}
mb() { [ "$1" = - ] && { echo -; return; }; awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
row() { # LABEL PEER-CASE OURS-CASE
  local ps pm pc os om oc
  ps=$(med "$2" 1) pm=$(med "$2" 2) pc=$(med "$2" 3) os=$(med "$3" 1) om=$(med "$3" 2) oc=$(med "$3" 3)
  printf '%-45s %6s %6s %5s  %6s %6s %5s  %6s %6s %6s\n' "$1" "$ps" "$pc" "$(mb "$pm")" "$os" "$oc" "$(mb "$om")" \
    "$(ratio "$ps" "$os")" "$(ratio "$pc" "$oc")" "$(ratio "$pm" "$om")"
}
printf '\nRepository indexing, %s packages (+1), %s runs, median; %s cores; repositories in %s\n' "$N" "$runs" "$jobs" "$(df --output=fstype "$w" | tail -1)"
printf '%s; createrepo_c %s; %s\n' "$(apt-ftparchive --version 2>/dev/null | head -1 | cut -d' ' -f1,2)" \
  "$(createrepo_c --version | sed -n 's/^Version: \([^ ]*\).*/\1/p')" "$("$consign" --version 2>/dev/null | head -1)"
printf '%-45s %20s  %20s  %20s\n' "" "------- peer -------" "------- ours -------" "---- peer/ours -----"
printf '%-45s %6s %6s %5s  %6s %6s %5s  %6s %6s %6s\n' "case (peer vs consign add+publish)" wall cpu MiB wall cpu MiB wall cpu RSS
row "APT cold: apt-ftparchive packages (SHA256)" apt.peer apt.ours
row "APT cold: ln+ftparchive+gz+xz+Release+gpg" apt.peerfull apt.ours
row "YUM cold: createrepo_c --workers 2" yum.peer yum.ours
row "YUM cold: ln+createrepo_c+gpg" yum.peerfull yum.ours
row "YUM cold: createrepo_c vs ours --compat (gz)" yum.peer yum.ourscompat
row "APT +1 pkg: apt-ftparchive --db (warm cache)" apt.peerinc apt.oursinc
row "YUM +1 pkg: createrepo_c --update" yum.peerinc yum.oursinc
printf '\nours, add | publish (s):  apt cold %s | %s, +1 %s | %s;  yum cold %s | %s, +1 %s | %s\n' \
  "$(med apt.ours.add 1)" "$(med apt.ours.publish 1)" "$(med apt.oursinc.add 1)" "$(med apt.oursinc.publish 1)" \
  "$(med yum.ours.add 1)" "$(med yum.ours.publish 1)" "$(med yum.oursinc.add 1)" "$(med yum.oursinc.publish 1)"
printf 'incremental speed-up (cold / +1): ours apt %s, yum %s;  peers apt %s (--db), yum %s (--update)\n' \
  "$(ratio "$(med apt.ours 1)" "$(med apt.oursinc 1)")" "$(ratio "$(med yum.ours 1)" "$(med yum.oursinc 1)")" \
  "$(ratio "$(med apt.peer 1)" "$(med apt.peerinc 1)")" "$(ratio "$(med yum.peer 1)" "$(med yum.peerinc 1)")"
printf '\nPeak RSS (MiB), %s vs %s packages (flat memory: ratio near 1)\n' "$SUBSET" "$N"
printf '%-34s %8s %8s %8s\n' "" "$SUBSET" "$N" "ratio"
rss() { printf '%-34s %8s %8s %8s\n' "$1" "$(mb "$(med "$2" 2)")" "$(mb "$(med "$3" 2)")" "$(ratio "$(med "$3" 2)" "$(med "$2" 2)")"; }
rss "consign repo apt add+publish" apt.ours.s apt.ours
rss "consign repo yum add+publish" yum.ours.s yum.ours
rss "apt-ftparchive packages" apt.peer.s apt.peer
rss "createrepo_c" yum.peer.s yum.peer
printf '\nEvery run, wall s / CPU s (peak RSS MiB):\n'
for c in apt.peer apt.peerfull apt.ours yum.peer yum.peerfull yum.ours yum.ourscompat apt.peerinc apt.oursinc yum.peerinc yum.oursinc \
  apt.peer.s apt.ours.s yum.peer.s yum.ours.s; do
  [ -s "$w/res/$c" ] && printf '  %-15s %s\n' "$c" "$(awk '{printf "%s/%s (%.0f)  ", $1, $3, $2 / 1024}' "$w/res/$c")"
done
echo "(time ratio > 1: consign is faster; page cache warm for every tool; see bench/README.md)"

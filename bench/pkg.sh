#!/usr/bin/env bash
# Package build time: consign against dpkg-deb --build and rpmbuild -bb, on the
# same trees (the example agent and its jlink runtime), the same compression
# (xz: level 6 for .deb as dpkg-deb, level 2 for .rpm as consign writes them),
# side by side in one run. Prints medians and ratios.
#
#   bench/pkg.sh [BUILD_DIR] [RUNS]      (make bench runs it)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-5}
src=$(cd "$(dirname "$0")/.." && pwd)
consign=$build/cli/consign
export EXAMPLE_AGENT_BUILD=$build/examples/agent
export SOURCE_DATE_EPOCH=1700000000
w=$(mktemp -d /tmp/consign-bench-pkg.XXXXXX)
trap 'rm -rf "$w"' EXIT

# Milliseconds of one run of "$@".
ms() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
# Median over $runs runs.
median() {
  local i out=()
  for i in $(seq "$runs"); do out+=("$(ms "$@")"); done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# The same trees the packages hold, laid out by consign stage.
"$consign" stage --product "$src/examples/agent/product.yaml" --root "$w/root" >/dev/null
"$consign" keys generate --keydir "$w/k" --name "Bench" --email bench@example.com --expire 1d >/dev/null

# dpkg-deb: one tree per package, control files as a maintainer would write them.
mkdir -p "$w/deb-agent/DEBIAN" "$w/deb-rt/DEBIAN" "$w/deb-out"
cp -a "$w/root/opt" "$w/deb-agent/"
rm -rf "$w/deb-agent/opt/example-agent/jre"
mkdir -p "$w/deb-agent/etc/opt" "$w/deb-rt/opt/example-agent"
cp -a "$w/root/etc/opt/example-agent" "$w/deb-agent/etc/opt/"
cp -a "$w/root/opt/example-agent/jre" "$w/deb-rt/opt/example-agent/"
for d in agent rt; do
  name=example-agent; [ $d = rt ] && name=example-agent-jre
  printf 'Package: %s\nVersion: 1.0.0-1\nArchitecture: amd64\nMaintainer: B <b@example.com>\nDescription: bench\n' \
    "$name" >"$w/deb-$d/DEBIAN/control"
done
echo /etc/opt/example-agent/start-agent.ini >"$w/deb-agent/DEBIAN/conffiles"
dpkg_both() {
  dpkg-deb --root-owner-group -Zxz -z6 --build "$w/deb-agent" "$w/deb-out/a.deb" &&
    dpkg-deb --root-owner-group -Zxz -z6 --build "$w/deb-rt" "$w/deb-out/r.deb"
}

# rpmbuild: a spec that copies the prepared trees, xz level 2, no debuginfo.
mkdir -p "$w/rpm/SPECS" "$w/rpm-out"
cat >"$w/rpm/SPECS/bench.spec" <<SPEC
Name: example-agent
Version: 1.0.0
Release: 1
Summary: bench
License: Apache-2.0
BuildArch: x86_64
Requires: example-agent-jre = 1.0.0-1
%description
bench
%package -n example-agent-jre
Summary: runtime
%description -n example-agent-jre
runtime
%install
mkdir -p %{buildroot}
cp -a $w/deb-agent/opt $w/deb-agent/etc %{buildroot}/
cp -a $w/deb-rt/opt %{buildroot}/
%files
/opt/example-agent/bin
/opt/example-agent/lib
%config(noreplace) /etc/opt/example-agent/start-agent.ini
%files -n example-agent-jre
/opt/example-agent/jre
SPEC
rpmbuild_both() {
  rpmbuild -bb --quiet --define "_topdir $w/rpm" --define "_rpmdir $w/rpm-out" \
    --define '_binary_payload w2.xzdio' --define 'debug_package %{nil}' \
    --define '__os_install_post %{nil}' --define '_build_id_links none' \
    "$w/rpm/SPECS/bench.spec"
}

ours_deb() { rm -rf "$w/o1"; "$consign" pkg deb --product "$src/examples/agent/product.yaml" --out "$w/o1"; }
ours_rpm() { rm -rf "$w/o2"; "$consign" pkg rpm --product "$src/examples/agent/product.yaml" --no-sign --out "$w/o2"; }
ours_rpm_signed() { rm -rf "$w/o3"; "$consign" pkg rpm --product "$src/examples/agent/product.yaml" --keydir "$w/k" --out "$w/o3"; }

ours_deb >/dev/null && dpkg_both && rpmbuild_both && ours_rpm >/dev/null || { echo "bench: a build failed" >&2; exit 1; }

a=$(median ours_deb) b=$(median dpkg_both)
c=$(median ours_rpm) d=$(median rpmbuild_both) e=$(median ours_rpm_signed)
size() { du -cb "$@" | tail -1 | cut -f1; }
printf '\nPackage build, example agent + jlink runtime (%s runs, median; xz -6 deb, xz -2 rpm)\n' "$runs"
printf '%-34s %10s %10s %8s\n' "work" "consign" "peer" "ratio"
printf '%-34s %8s ms %8s ms %7.2fx\n' "2 x .deb vs dpkg-deb --build" "$a" "$b" "$(echo "$b / $a" | bc -l)"
printf '%-34s %8s ms %8s ms %7.2fx\n' "2 x .rpm vs rpmbuild -bb" "$c" "$d" "$(echo "$d / $c" | bc -l)"
printf '%-34s %8s ms %8s ms %7.2fx\n' "2 x .rpm signed vs rpmbuild -bb" "$e" "$d" "$(echo "$d / $e" | bc -l)"
printf '%-34s %8s B  %8s B\n' ".deb bytes (ours, dpkg-deb)" "$(size "$w"/o1/*.deb)" "$(size "$w"/deb-out/*.deb)"
printf '%-34s %8s B  %8s B\n' ".rpm bytes (ours, rpmbuild)" "$(size "$w"/o2/*.rpm)" "$(find "$w/rpm-out" -name '*.rpm' -print0 | xargs -0 du -cb | tail -1 | cut -f1)"
echo "(ratio > 1: consign is faster)"

#!/usr/bin/env bash
# Assemble the run-time root file system of the image in $1 (the Dockerfile's `rootfs`
# stage runs it inside debian:trixie-slim; the final stage is `FROM scratch` + this tree).
#
# What the daemon runs at run time, and nothing else: Python (Debian's python3), Node.js
# (Debian's nodejs, for the edge-function tests before every publish), the shared
# libraries they load, CA certificates. No shell, no package manager, no git, no perl:
# packages are unpacked (dpkg-deb -x), not installed, so no maintainer script runs and
# the tools that only maintainer scripts need (dpkg, debconf, perl-base, coreutils, bash)
# stay out. What those scripts would have made is made here: the CA bundle, the loader
# cache, /etc/passwd and /etc/group for user 10001, /tmp.
#
# The package set is apt's own dependency closure of the roots below minus DROP, so a
# Debian update that adds a library dependency is followed without editing this file.
set -euo pipefail

out=${1:?usage: image-rootfs.sh OUT_DIR}
export DEBIAN_FRONTEND=noninteractive

ROOTS=(python3-minimal libpython3.13-stdlib nodejs ca-certificates)
# Needed only to install packages (maintainer scripts, debconf) or for interactive use:
#   dpkg, debconf, cdebconf (+ its UI libraries), perl-base, tar: package management;
#   readline/ncurses: the interactive prompt; libsqlite3/libdb: Python modules not used;
#   node-corepack: npm/yarn shims; tzdata: the daemon logs and signs in UTC.
# (openssl stays: its /usr/lib/ssl links are where Python's and OpenSSL's default
# certificate paths point.)
DROP=(dpkg debconf cdebconf libdebian-installer4 libnewt0.52 libslang2 libtextwrap1
      perl-base tar readline-common libreadline8t64 libncursesw6 libtinfo6 libsqlite3-0
      libdb5.3t64 libselinux1 libpcre2-8-0 node-corepack tzdata)

apt-get update -qq
mapfile -t closure < <(
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "${ROOTS[@]}" | grep -E '^[a-z0-9]' | sort -u)
packages=()
for pkg in "${closure[@]}"; do
    [[ " ${DROP[*]} " == *" $pkg "* ]] || packages+=("$pkg")
done

debs=$(mktemp -d)
chown _apt "$debs"  # apt downloads as _apt
(cd "$debs" && apt-get download -qq "${packages[@]}")
mkdir -p "$out"
# Debian trixie merges /usr: the top-level directories are symlinks into it.
for link in bin lib lib64 sbin; do
    ln -sfn "usr/$link" "$out/$link"
done
for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$out"
done
printf '%s\n' "${packages[@]}" >"$out/.image-packages"

# Documentation, manuals, translations: the slim images' dpkg excludes, applied here.
# gconv: glibc's iconv modules (8 MB); Python and Node convert text themselves.
rm -rf "$out"/usr/share/{doc,man,info,locale,lintian,linda,groff} "$out"/usr/lib/*-linux-gnu/gconv
# The certificates update-ca-certificates would have written (this stage installs the same
# ca-certificates package normally and copies its result: the bundle and the hash links).
apt-get install -qq -y --no-install-recommends ca-certificates >/dev/null
mkdir -p "$out/etc/ssl"
rm -rf "$out/etc/ssl/certs"
cp -a /etc/ssl/certs "$out/etc/ssl/certs"
# The loader cache ldconfig would have written.
ldconfig -r "$out"

mkdir -p "$out/tmp" "$out/var/lib/reconciler" "$out/etc"
chmod 1777 "$out/tmp"
cat >"$out/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
reconciler:x:10001:10001:reconciler:/var/lib/reconciler:/usr/sbin/nologin
EOF
cat >"$out/etc/group" <<'EOF'
root:x:0:
reconciler:x:10001:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"
chown 10001:10001 "$out/var/lib/reconciler"
rm -rf "$debs" /var/lib/apt/lists/*

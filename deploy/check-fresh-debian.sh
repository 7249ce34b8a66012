#!/usr/bin/env bash
# Does `make test` pass on a fresh Debian 12 machine with no Java? Checked in a chroot.
#
#   sudo deploy/check-fresh-debian.sh [--root DIR] [--keep] [--target T] [--shared DIR]
#
#   --root DIR     where the Debian 12 (bookworm) tree is built (default /work/chroot-bookworm;
#                  outside the repository). Built by debootstrap on the first run, reused
#                  after (its packages then are already installed).
#   --fresh        delete DIR first: a truly fresh machine (debootstrap takes minutes)
#   --target T     the make target(s) to run inside (default: test; e.g. "demo")
#   --shared DIR   the shared test data copied beside the clone (default: ../shared)
#   --keep         leave /proc, /sys and /dev mounted afterwards
#
# What it does, as a CI container would (no Docker engine here):
#  1. debootstrap --variant=minbase --include=make bookworm: Debian's minimal base, the
#     same package set as the `debian:12` container image, plus `make` to type the
#     command. No Java, no Python venv, no compiler, no browser.
#  2. the apt sources of a stock Debian 12 (bookworm, bookworm-updates, bookworm-security),
#     /etc/resolv.conf, and /usr/sbin/policy-rc.d answering 101 (as in Debian's container
#     images: packages do not start services, e.g. a PostgreSQL cluster on port 5432);
#     this host's own network settings, as any machine on its network has them: its local
#     CA certificates (/usr/local/share/ca-certificates, taken into the system bundle when
#     `make system` installs ca-certificates) and the variables that point programs at
#     that bundle (PIP_CERT, SSL_CERT_FILE, ...), when set here;
#  3. the tree bind-mounted onto itself, so that / is a mount point inside as in a container
#     (Java looks up the mount of Elasticsearch's data folder in /proc/self/mounts and
#     fails with "Mount point not found" in a plain chroot), then /proc, /sys and /dev
#     (with /dev/shm, which Chromium needs) mounted inside;
#  4. a clean clone of this repository's HEAD (committed work only) at /work/likewatch and a
#     copy of the shared data at /work/shared, beside it as the tests expect;
#  5. it checks that no Java runtime is there, then runs `make test` as root (as CI does)
#     with an empty environment, and prints the Java and Elasticsearch it ended with, the
#     disk used, and the time taken. The log is kept in DIR/work/check.log.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=/work/chroot-bookworm
TARGET=test
SHARED="$REPO/../shared"
KEEP=0
FRESH=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --target) TARGET="$2"; shift 2 ;;
        --shared) SHARED="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --fresh) FRESH=1; shift ;;
        *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
[[ "$(id -u)" == 0 ]] || { echo "check-fresh-debian: run as root (debootstrap, chroot, mount)" >&2; exit 2; }
[[ -d "$SHARED/data" ]] || { echo "check-fresh-debian: no shared data at $SHARED/data" >&2; exit 2; }
case "$(readlink -f "$ROOT")/" in
    "$REPO"/*) echo "check-fresh-debian: --root must be outside the repository" >&2; exit 2 ;;
esac
MIRROR=http://deb.debian.org/debian
if [[ "$FRESH" == 1 && -e "$ROOT" ]]; then
    if grep -q " $(readlink -f "$ROOT")[/ ]" /proc/mounts; then
        echo "check-fresh-debian: something is still mounted under $ROOT" >&2; exit 2
    fi
    rm -rf "$ROOT"
fi

say() { echo "check-fresh-debian: $*"; }

if [[ ! -x "$ROOT/usr/bin/make" ]]; then
    command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
    say "debootstrap bookworm (minbase + make) into $ROOT"
    debootstrap --variant=minbase --include=make bookworm "$ROOT" "$MIRROR"
fi
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" && chmod +x "$ROOT/usr/sbin/policy-rc.d"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi
net_env=()
for v in PIP_CERT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS \
         GIT_SSL_CAINFO http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [[ -n "${!v:-}" ]] && net_env+=("$v=${!v}")
done

mounted=()
cleanup() {
    [[ "$KEEP" == 1 ]] && return
    local m
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        m=${mounted[$i]}
        umount -R "$m" 2>/dev/null || umount -lR "$m" || true
    done
}
trap cleanup EXIT
mount_in() {  # mount_in <what> <where-in-root> <args...>
    local where="$ROOT$2"
    mkdir -p "$where"
    mountpoint -q "$where" && return 0
    mount "${@:3}" "$1" "$where"
    mounted+=("$where")
}
mount_in "$ROOT" / --bind
mount_in proc /proc -t proc
mount_in /sys /sys --rbind && mount --make-rslave "$ROOT/sys"
mount_in /dev /dev --rbind && mount --make-rslave "$ROOT/dev"

say "clean clone of $(git -C "$REPO" rev-parse --abbrev-ref HEAD) @ $(git -C "$REPO" rev-parse --short HEAD)"
rm -rf "$ROOT/work/likewatch" "$ROOT/work/shared"
mkdir -p "$ROOT/work"
git clone -q --no-hardlinks "$REPO" "$ROOT/work/likewatch"
cp -a "$SHARED/." "$ROOT/work/shared"
chmod 755 "$ROOT/work"

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${net_env[@]}" "$@"
}
if in_root sh -c 'command -v java || ls -d /usr/lib/jvm/* 2>/dev/null'; then
    say "this root already has a Java runtime: use a new --root for a fresh machine" >&2
fi
before=$(du -sxm "$ROOT" | cut -f1)
say "running 'make $TARGET' in $ROOT/work/likewatch (log: $ROOT/work/check.log)"
start=$SECONDS
set +e
in_root bash -c "cd /work/likewatch && make $TARGET" 2>&1 | tee "$ROOT/work/check.log"
rc=${PIPESTATUS[0]}
set -e
took=$((SECONDS - start))
after=$(du -sxm "$ROOT" | cut -f1)
say "make $TARGET exited $rc after ${took}s"
say "Java: $(in_root /work/likewatch/deploy/es-node java 2>&1 || true);" \
    "Elasticsearch: $(in_root /work/likewatch/deploy/es-node version 2>&1 || true)"
say "disk: root ${before} MB before, ${after} MB after;" \
    "$(in_root du -sm /work/likewatch/.venv /work/likewatch/deploy/es /root/.cache 2>/dev/null | awk '{printf "%s %s MB; ", $2, $1}')"
exit "$rc"

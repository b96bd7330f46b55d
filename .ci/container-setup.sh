#!/usr/bin/env bash
# Prepare this machine to build and run feedscrub's container image with rootful podman.
#
# Our machines have no Docker engine and no container registry (only PyPI and Debian's mirror),
# so this installs podman from Debian, builds the `python:3.11-slim` base image locally with
# debootstrap, and writes the few podman settings these machines need
# (see shared/research/container.md). Run as root. Idempotent: a second run only checks.
#
#   bash .ci/container-setup.sh
#
# Environment (all optional):
#   FEEDSCRUB_CI_CACHE      where the base rootfs tarball is kept   (/var/cache/feedscrub-ci)
#   FEEDSCRUB_CI_TOOLS      where the podman-compose venv lives     (/opt/feedscrub-ci)
#   FEEDSCRUB_CI_REBUILD=1  rebuild the base image from a fresh debootstrap
set -Eeuo pipefail

BASE_TAG="docker.io/library/python:3.11-slim"
LOCAL_TAG="localhost/debian-python:bookworm"
SUITE="bookworm"
PODMAN_COMPOSE_VERSION="1.6.0"
CACHE_DIR="${FEEDSCRUB_CI_CACHE:-/var/cache/feedscrub-ci}"
TOOLS_DIR="${FEEDSCRUB_CI_TOOLS:-/opt/feedscrub-ci}"
# Bump when the rootfs recipe below changes: the cached tarball and the image are then rebuilt.
RECIPE="2"
ROOTFS_TAR="$CACHE_DIR/debian-python-$SUITE-r$RECIPE.tar"
APT_PACKAGES=(podman runc debootstrap docker-compose python3-venv ca-certificates)

STEP="start"
START=$SECONDS
STEP_START=$SECONDS

log() { printf 'container-setup: %s\n' "$*"; }
fail() {
    printf 'container-setup: FAILED during "%s": %s\n' "$STEP" "$*" >&2
    exit 1
}
trap 'fail "command \`$BASH_COMMAND\` exited with status $? (line $LINENO)"' ERR
step() {
    if [[ "$STEP" != "start" ]]; then
        log "$STEP: done in $((SECONDS - STEP_START)) s"
    fi
    STEP="$1"
    STEP_START=$SECONDS
    log "$STEP ..."
}

[[ "$(id -u)" == 0 ]] || fail "must run as root (podman here is rootful)"
export DEBIAN_FRONTEND=noninteractive

# --------------------------------------------------------------------------------------------
step "Debian packages (${APT_PACKAGES[*]})"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    apt-get update -qq || fail "apt-get update failed (is the Debian mirror reachable?)"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || fail "apt-get install ${missing[*]} failed"
else
    log "already installed"
fi
command -v podman >/dev/null || fail "podman is not on PATH after installing it"

# --------------------------------------------------------------------------------------------
step "podman-compose $PODMAN_COMPOSE_VERSION (PyPI; Debian's 1.0.3 breaks exec-form healthchecks)"
# A venv of its own, on Debian's Python, so it neither depends on nor changes the Python that
# runs the tests. Linked into /usr/local/bin, ahead of any /usr/bin/podman-compose.
venv="$TOOLS_DIR/podman-compose"
if [[ "$("$venv/bin/podman-compose" version 2>/dev/null | grep -o "podman-compose version $PODMAN_COMPOSE_VERSION" || true)" == "" ]]; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" || fail "cannot create a venv with /usr/bin/python3"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "podman-compose==$PODMAN_COMPOSE_VERSION" || fail "pip install podman-compose failed (PyPI)"
else
    log "already installed"
fi
ln -sfn "$venv/bin/podman-compose" /usr/local/bin/podman-compose

# --------------------------------------------------------------------------------------------
step "podman settings (rlimits, CA bundle and pip.conf in every build and container)"
mkdir -p /etc/containers
conf=/etc/containers/containers.conf
ulimits='default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]'
# Podman's default rlimits cannot be set here ("error setting rlimit type 7").
if [[ ! -f "$conf" ]]; then
    printf '[containers]\n%s\n' "$ulimits" >"$conf"
elif ! grep -q '^[[:space:]]*default_ulimits' "$conf"; then
    if grep -q '^\[containers\]' "$conf"; then
        sed -i "/^\[containers\]/a $ulimits" "$conf"
    else
        printf '\n[containers]\n%s\n' "$ulimits" >>"$conf"
    fi
fi
grep -q '^[[:space:]]*default_ulimits' "$conf" || fail "could not write default_ulimits to $conf"

# crun (podman's default runtime) refuses cgroup v1 "hybrid" hosts such as these
# ("crun: cgroups in hybrid mode not supported"); runc runs on v1, hybrid and v2 alike.
if [[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]] && ! grep -q '^[[:space:]]*runtime[[:space:]]*=' "$conf"; then
    if grep -q '^\[engine\]' "$conf"; then
        sed -i '/^\[engine\]/a runtime = "runc"' "$conf"
    else
        printf '\n[engine]\nruntime = "runc"\n' >>"$conf"
    fi
fi
log "OCI runtime: $(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null || echo '?'), \
cgroups $(podman info --format '{{.Host.CgroupsVersion}}' 2>/dev/null || echo '?')"

# Package downloads inside a build need the host's CA bundle (and pip its settings).
if [[ ! -f /etc/pip.conf ]]; then
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >/etc/pip.conf
fi
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || fail "/etc/ssl/certs/ca-certificates.crt is missing"
mounts=/etc/containers/mounts.conf
touch "$mounts"
for line in /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt \
    /etc/pip.conf:/etc/pip.conf; do
    grep -qxF "$line" "$mounts" || echo "$line" >>"$mounts"
done

# --------------------------------------------------------------------------------------------
step "base image $BASE_TAG (local Debian $SUITE + python3, no registry)"
mirror() {
    # The Debian mirror this machine's apt already uses (deb822 or one-line sources).
    local found=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        found="$(awk '
            /^URIs:/ { uris = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "'"$SUITE"'") ok = 1 }
            /^[[:space:]]*$/ { if (ok && uris != "") { print uris; exit } ok = 0; uris = "" }
            END { if (ok && uris != "") print uris }
        ' /etc/apt/sources.list.d/*.sources | head -n1)"
    fi
    if [[ -z "$found" && -f /etc/apt/sources.list ]]; then
        found="$(awk '$1 == "deb" && $3 == "'"$SUITE"'" { print $2; exit }' /etc/apt/sources.list)"
    fi
    echo "${found:-http://deb.debian.org/debian}"
}
if [[ "${FEEDSCRUB_CI_REBUILD:-0}" == 1 ]]; then
    log "FEEDSCRUB_CI_REBUILD=1: discarding the cached rootfs and image"
    rm -f "$ROOTFS_TAR"
    podman untag "$BASE_TAG" >/dev/null 2>&1 || true
    podman rmi -f "$BASE_TAG" "$LOCAL_TAG" >/dev/null 2>&1 || true
fi
label="$(podman image inspect --format '{{index .Labels "feedscrub.ci.base"}}' "$BASE_TAG" \
    2>/dev/null || true)"
if [[ "$label" == "$SUITE-r$RECIPE" ]]; then
    log "already present"
else
    if [[ ! -s "$ROOTFS_TAR" ]]; then
        url="$(mirror)"
        log "debootstrap $SUITE from $url (about a minute)"
        mkdir -p "$CACHE_DIR"
        rootfs="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
        trap 'rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase \
            --include=python3,python3-venv,python3-pip,ca-certificates \
            "$SUITE" "$rootfs" "$url" >"$CACHE_DIR/debootstrap.log" 2>&1 \
            || fail "debootstrap failed; last lines of $CACHE_DIR/debootstrap.log:
$(tail -n 15 "$CACHE_DIR/debootstrap.log")"
        # Behave like the official image: pip may install system-wide, `python`/`pip` exist.
        rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
        ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
        ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
        ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
        # Slim like Debian's own container images: no docs, man pages or translations (the
        # copyright files stay), and dpkg told to skip them in any later apt-get install.
        find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/usr/share/lintian
        printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
            'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
            'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*' \
            >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
            "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/root/.cache
        rm -f "$CACHE_DIR"/debian-python-*.tar  # older recipes
        tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TAR.tmp" .
        mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
        rm -rf "$rootfs"
        trap - EXIT
    else
        log "importing the cached rootfs $ROOTFS_TAR"
    fi
    old_id="$(podman image inspect --format '{{.Id}}' "$BASE_TAG" 2>/dev/null || true)"
    podman import \
        --change 'CMD ["python3"]' \
        --change "LABEL feedscrub.ci.base=$SUITE-r$RECIPE" \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$ROOTFS_TAR" "$LOCAL_TAG" >/dev/null || fail "podman import $ROOTFS_TAR failed"
    podman tag "$LOCAL_TAG" "$BASE_TAG"
    if [[ -n "$old_id" ]]; then  # the previous recipe's image, now untagged
        podman rmi "$old_id" >/dev/null 2>&1 || log "note: old base image $old_id still in use"
    fi
fi
version="$(podman run --rm --pull=never --network=none "$BASE_TAG" \
    python3 -c 'import ensurepip, ssl, sys, venv; print(sys.version.split()[0])')" \
    || fail "the base image $BASE_TAG cannot run python3 with venv/ensurepip/ssl"
[[ "$version" == 3.11.* ]] || fail "the base image has Python $version, expected 3.11"
log "base image Python $version"

log "$STEP: done in $((SECONDS - STEP_START)) s"
versions="podman $(podman version --format '{{.Client.Version}}' || true)"
versions+=", $(podman-compose version 2>/dev/null | grep -o 'podman-compose version [0-9.]*' || true)"
versions+=", docker-compose $(docker-compose version --short 2>/dev/null || true)"
log "$versions"
log "ready in $((SECONDS - START)) s; build with: BUILDAH_FORMAT=docker podman build --pull=never ."

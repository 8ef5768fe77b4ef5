#!/usr/bin/env bash
# Build the Dockerfile where no container registry is reachable (only Debian's archive
# and PyPI) and no Docker engine runs: a Debian bookworm base made with debootstrap,
# built with buildah (daemonless). See docs/operations.md, "Container image".
#
#   sudo deploy/image/build-without-registry.sh [TAG]      (default tag localhost/docextract:local)
#
# Needs root and `apt-get install buildah debootstrap`. CA_BUNDLE (default: the host's
# /etc/ssl/certs/ca-certificates.crt) is mounted read-only into every build step, so
# pip trusts whatever CA this network signs TLS with; nothing of it lands in a layer.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG="${1:-localhost/docextract:local}"
BASE="${BASE_IMAGE:-localhost/bookworm-python:3.11}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
STORAGE=(--storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! buildah "${STORAGE[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  echo "[image] debootstrap bookworm into $work/rootfs"
  debootstrap --variant=minbase \
      --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
      bookworm "$work/rootfs" "$MIRROR"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  printf 'FROM scratch\nADD rootfs.tar /\nENV LANG=C.UTF-8\nCMD ["bash"]\n' > "$work/Containerfile"
  buildah "${STORAGE[@]}" bud --isolation chroot -t "$BASE" "$work"
fi

echo "[image] building $TAG on $BASE"
buildah "${STORAGE[@]}" bud --isolation chroot --format docker \
    --volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro" \
    --build-arg PYTHON_IMAGE="$BASE" -t "$TAG" .
buildah "${STORAGE[@]}" images "$TAG"

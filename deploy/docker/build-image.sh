#!/usr/bin/env bash
# Builds the smt node image.
#   deploy/docker/build-image.sh [-t TAG]              `docker build` of this checkout (npm ci inside)
#   deploy/docker/build-image.sh --from-host [-t TAG]  from a prepared context: this checkout's
#       installed node_modules (`npm ci` on the host) and built circuits (`npm run build:circuits`)
#       are copied into .prebuilt/ of a temporary context, so the build needs no registry access.
#       When no node:24-bookworm-slim image is present and none can be pulled, one is made first
#       from Debian packages (deploy/docker/base-image.sh). This is what CI and the compose test use.
# Default TAG: smt-node:local (the image docker-compose.yml runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG=smt-node:local
FROM_HOST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --from-host) FROM_HOST=1 ;;
    -t) TAG="$2"; shift ;;
    *) echo "unknown argument $1 (usage: $0 [--from-host] [-t TAG])" >&2; exit 2 ;;
  esac
  shift
done
if [ "$FROM_HOST" = 0 ]; then
  exec docker build -t "$TAG" .
fi
BASE=node:24-bookworm-slim
if ! docker image inspect "$BASE" >/dev/null 2>&1 && ! timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then
  deploy/docker/base-image.sh "$BASE"
fi
[ -d node_modules ] || { echo "no node_modules here: run npm ci first" >&2; exit 1; }
source scripts/use-node24.sh >/dev/null
KEY_DIR="$(node --import ./bin/register.mjs -e 'import("./src/proof/artifacts.ts").then((a) => console.log(a.artifactsDir()))')"
[ -f "$KEY_DIR/manifest.json" ] || { echo "circuits not built for these sources ($KEY_DIR): run npm run build:circuits first" >&2; exit 1; }
ctx="$(mktemp -d /tmp/smt-image-context.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
cp -a Dockerfile .dockerignore package.json package-lock.json bin circuits src native "$ctx/"
mkdir -p "$ctx/scripts" "$ctx/deploy/docker" "$ctx/docs" "$ctx/.prebuilt/smt-circuits"
cp -a docs/openapi.yaml "$ctx/docs/"
cp -a scripts/build-circuits.ts scripts/build-native.mjs "$ctx/scripts/"
cp -a deploy/docker/healthcheck.sh "$ctx/deploy/docker/"
# hard links when on the same filesystem (fast, no copy); node_modules may itself be a symlink
cp -al "$(readlink -f node_modules)" "$ctx/.prebuilt/node_modules" 2>/dev/null || cp -a "$(readlink -f node_modules)" "$ctx/.prebuilt/node_modules"
cp -a "$KEY_DIR" "$ctx/.prebuilt/smt-circuits/"
docker build -q -t "$TAG" "$ctx" >/dev/null
echo "built $TAG from the prepared context ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"

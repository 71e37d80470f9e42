# The smt node image. Node 24 runs the TypeScript sources directly (type stripping): no build step.
#
# Two ways to build it (docs/DEPLOY.md):
#   docker build -t smt-node:local .       dependencies from the npm registry (`npm ci`), circuit
#                                          artifacts built in the image (deterministic setup, ~4 min once)
#   deploy/docker/build-image.sh --from-host
#                                          a prepared context whose .prebuilt/ carries this checkout's
#                                          installed node_modules and circuit cache: no registry access
#                                          during the build (CI, where containers cannot reach it)
# The image carries the circuit artifacts, so every container proves without a host cache mounted.
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production SMT_CIRCUITS_CACHE=/app/smt-circuits
# `.prebuil[t]` matches only in a prepared context; its contents (node_modules/, smt-circuits/) land in
# /app, where they stay (moving or chmod-ing them in a later layer would copy them again).
COPY package.json package-lock.json .prebuil[t] ./
# The native ed25519 verifier (native/ed25519-batch): `npm ci` builds it when the image has a C
# compiler (the slim one has none: the node then verifies with the same rule, slower, and logs which);
# a prepared context carries the host's build of it.
COPY scripts/build-native.mjs ./scripts/
COPY native ./native
# All dependencies, dev ones included: the circuit cache key hashes the circom2/snarkjs versions,
# so the node must see the same toolchain that built its artifacts.
RUN if [ -d node_modules ]; then echo "dependencies: prepared context"; \
    else npm ci --no-audit --no-fund && npm cache clean --force; fi
# Circuits first (with only what build-circuits imports), so a source change elsewhere keeps this layer.
COPY bin ./bin
COPY circuits ./circuits
COPY scripts/build-circuits.ts ./scripts/
COPY src/core ./src/core
COPY src/proof ./src/proof
RUN node --import ./bin/register.mjs scripts/build-circuits.ts
COPY src ./src
COPY docs/openapi.yaml ./docs/openapi.yaml
COPY deploy/docker/healthcheck.sh /usr/local/bin/smt-healthcheck
# The node runs as an unprivileged user (uid 10001) that owns only its data directory; a named volume
# mounted on /data starts with this ownership.
RUN mkdir -p /data /net/validators && chown 10001:10001 /data && chmod 0700 /data
USER 10001:10001
ENV HOME=/data
EXPOSE 7700 7800
ENTRYPOINT ["node", "bin/smt.mjs"]
CMD ["--help"]

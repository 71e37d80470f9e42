# The smt node image: Node 24 runs the TypeScript sources directly (type stripping), no build step.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY circuits ./circuits
COPY docs/openapi.yaml ./docs/openapi.yaml
ENV NODE_ENV=production
EXPOSE 7700 7800
ENTRYPOINT ["node", "bin/smt.mjs"]
CMD ["--help"]

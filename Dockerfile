# The image the k8s/ manifests run: Node 22 with the compiled CLI and its production dependencies.
# the full image has the compilers hnswlib-node builds with
FROM node:22-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY cli cli
COPY config config
COPY runs runs
COPY stack stack
COPY streams streams
COPY warehouse warehouse
COPY ingest ingest
COPY simulator simulator
COPY processors processors
COPY registry registry
COPY models models
COPY data data
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
COPY schemas schemas
USER node
ENTRYPOINT []

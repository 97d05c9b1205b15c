# syntax=docker/dockerfile:1
# The Buddies image (every command of the CLI; the k8s/ manifests run it with args such as `process warehouse` or
# `gateway`). Node 26, the current LTS line, pinned to an exact release; CI pins the base by digest too
# (docs/deploy.md). Multi-stage: the build stage has the compilers hnswlib-node builds with, the runtime stage only
# the compiled CLI and its production dependencies. Runs as the unprivileged user node (uid 1000) and writes nothing
# outside its volumes: the root filesystem can be mounted read-only (/tmp and the models folder are volumes).
ARG NODE_VERSION=26.10.0

FROM node:${NODE_VERSION}-trixie AS build
WORKDIR /app
# the whole tree (see .dockerignore): npm ci runs `prepare`, which compiles TypeScript and bundles the dashboard
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && rm -rf node_modules/.cache

FROM node:${NODE_VERSION}-trixie-slim AS runtime
ENV NODE_ENV=production \
    BUDDIES_MODELS_DIR=/var/lib/buddies/models \
    BUDDIES_STACK_DIR=/tmp/buddies-stack
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
COPY --from=build --chown=root:root /app/bin bin
COPY --from=build --chown=root:root /app/schemas schemas
RUN mkdir -p /var/lib/buddies/models && chown node:node /var/lib/buddies/models
USER 1000:1000
VOLUME ["/var/lib/buddies/models", "/tmp"]
# Kubernetes uses its own probes (k8s/); this is for plain docker: the process's /healthz on the gateway port or the
# metrics port, whichever the command serves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const ports=[process.env.BUDDIES_METRICS_PORT,process.env.BUDDIES_GATEWAY_PORT||'8080'].filter(p=>p&&p!=='0');Promise.any(ports.map(p=>fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>{if(!r.ok)throw new Error(String(r.status))}))).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/buddies.js"]
CMD ["--help"]

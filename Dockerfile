# The Bamboo worker image: `bamboo worker` and nothing else (no Temporal dev server,
# no demo). Built by docker-compose.yml (service bamboo-worker); see docs/scale-out.md.
#
# Debian slim, not Alpine: the Temporal SDK's native core ships only glibc Linux builds.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The build stage has the dev dependencies (TypeScript): it compiles to dist/ and bundles the
# workflow code once, instead of in every replica at start.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
COPY cli ./cli
COPY testing ./testing
COPY bin ./bin
RUN npm run build
# Workers that encrypt payloads (BAMBOO_ENCRYPTION_KEY) need the second bundle: set
# BAMBOO_WORKFLOW_BUNDLE=/app/workflow-bundle.encoded-failures.js (else they bundle at start).
RUN node dist/cli/bundle-workflows.js /app/workflow-bundle.js \
 && node dist/cli/bundle-workflows.js --encode-failures /app/workflow-bundle.encoded-failures.js

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Runtime dependencies only, and the build: no TypeScript sources, no tsx.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/workflow-bundle.js /app/workflow-bundle.encoded-failures.js ./
COPY bin ./bin
COPY cli/cluster/dynamicconfig.yaml ./cli/cluster/dynamicconfig.yaml
ENV BAMBOO_WORKFLOW_BUNDLE=/app/workflow-bundle.js

# Connection (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS) is read by
# @temporalio/envconfig; BAMBOO_TASK_QUEUE and BAMBOO_CONFIG: docs/configuration.md#environment-variables.
# The worker is the container's first process: `docker stop` (SIGTERM) reaches it directly, and
# it drains and exits (it handles the signal itself, as PID 1 must).
USER node
CMD ["node", "bin/bamboo.js", "worker"]

# The Bamboo worker image: `npm run worker` and nothing else (no Temporal dev server,
# no demo). Built by docker-compose.yml (service bamboo-worker); see docs/scale-out.md.
#
# Debian slim, not Alpine: the Temporal SDK's native core ships only glibc Linux builds.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. The worker runs
# TypeScript through tsx, which is a runtime dependency: dev dependencies stay out.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY common ./common
COPY workflows ./workflows
COPY worker ./worker
COPY client ./client
COPY cli ./cli

# Bundle the workflow code once, at build time, instead of in every replica at start. Workers
# that encrypt payloads (BAMBOO_ENCRYPTION_KEY) need the second bundle: set
# BAMBOO_WORKFLOW_BUNDLE=/app/workflow-bundle.encoded-failures.js (else they bundle at start).
RUN npm run bundle-workflows -- /app/workflow-bundle.js \
 && npm run bundle-workflows -- --encode-failures /app/workflow-bundle.encoded-failures.js
ENV BAMBOO_WORKFLOW_BUNDLE=/app/workflow-bundle.js

# Connection (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS) is read by
# @temporalio/envconfig; BAMBOO_TASK_QUEUE and BAMBOO_CONFIG: docs/configuration.md#environment-variables.
# npm runs the script through bash, which execs it: `docker stop` (SIGTERM to npm, which
# forwards it) then reaches the worker, which drains and exits. Through dash it would not.
ENV npm_config_script_shell=/bin/bash npm_config_update_notifier=false
USER node
CMD ["npm", "run", "worker"]

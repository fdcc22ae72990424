# syntax=docker/dockerfile:1
# Two targets: `cpu` (WebAssembly backend) and `gpu` (CUDA with @tensorflow/tfjs-node-gpu).
# One image serves as API or worker by its command: node dist/main.js api|worker|all.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS cpu-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS cpu
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 STORE_DIR=/data TFJS_BACKEND=wasm
WORKDIR /app
COPY --from=cpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
COPY schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "run", "start:api"]

# The GPU image installs the native backend, whose install script downloads libtensorflow:
# build it where the internet is reachable.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS gpu
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:20-bookworm-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && useradd --create-home --uid 1000 node
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 STORE_DIR=/data TFJS_BACKEND=node-gpu
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && npm uninstall --no-save @tensorflow/tfjs-node \
  && node -e "require('@tensorflow/tfjs-node-gpu')"
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
COPY schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "run", "start:worker"]

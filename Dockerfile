# syntax=docker/dockerfile:1
# Two targets: `cpu` (WebAssembly backend) and `gpu` (CUDA with @tensorflow/tfjs-node-gpu).
# One image serves as API or worker by its command, the same commands as package.json's scripts:
#   node dist/main.js api | worker | all      (start:api, start:worker, start)
# Both run as the unprivileged user `node` with production dependencies only.

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
# The native TensorFlow backends are optional dependencies the CPU image does not use.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS cpu
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 WORKER_METRICS_PORT=3001 STORE_DIR=/data \
  TFJS_BACKEND=wasm
WORKDIR /app
COPY --from=cpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The service reads its contract (openapi.yaml) and GraphQL schema at start-up.
COPY package.json openapi.yaml ./
COPY schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000 3001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/main.js", "api"]

# The GPU dependencies: the install script of @tensorflow/tfjs-node-gpu downloads libtensorflow
# (and, where no prebuilt addon fits, compiles one), so build this stage where the internet is
# reachable. The compilers stay in this stage.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS gpu-deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:20-bookworm-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json ./
# The CPU-only native package duplicates libtensorflow without using the GPU: drop it. The last
# step fails the build when the GPU addon did not install, instead of shipping an image that
# would quietly fall back to WebAssembly.
RUN npm ci --omit=dev --foreground-scripts --no-audit --no-fund \
  && rm -rf node_modules/@tensorflow/tfjs-node \
  && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node \
  && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/libtensorflow.so*

FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS gpu
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
RUN useradd --create-home --uid 1000 node
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 WORKER_METRICS_PORT=3001 STORE_DIR=/data \
  TFJS_BACKEND=node-gpu
WORKDIR /app
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The service reads its contract (openapi.yaml) and GraphQL schema at start-up.
COPY package.json openapi.yaml ./
COPY schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000 3001
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/main.js", "worker"]

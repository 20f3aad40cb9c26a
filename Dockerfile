# syntax=docker/dockerfile:1
#
# Confab container image: web client + `confab` server binary on Debian slim.
#
#   docker build -t confab .
#   docker compose up -d          # with MongoDB, see docker-compose.yml
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.

# ---------------------------------------------------------------------------
# 1. Web client (TypeScript + Svelte + Vite) -> /client/dist
# ---------------------------------------------------------------------------
FROM node:20-bookworm-slim AS client
WORKDIR /client
# `clien[t]` is a wildcard so the COPY also succeeds in a checkout without a
# client/ folder (Git does not keep empty folders); it copies the folder's contents.
COPY clien[t] ./
# Until the client exists (no package.json) the server serves its built-in placeholder page.
RUN if [ -f package.json ]; then \
        npm ci && npm run build; \
    else \
        echo "client/package.json not found: skipping the client build"; \
        mkdir -p dist; \
    fi

# ---------------------------------------------------------------------------
# 2. Server -> /usr/local/bin/confab
# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY server/ server/
COPY integration-tests/ integration-tests/
# The client comes from stage 1 (CLIENT_DIR below), so server/build.rs must not build it.
ENV CONFAB_SKIP_CLIENT_BUILD=1
# The registry and target folders are cache mounts (kept between builds, not in the
# image), so the binary is copied out of target/ within the same RUN.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked -p confab-server \
    && install -m 0755 target/release/confab /usr/local/bin/confab

# ---------------------------------------------------------------------------
# 3. Runtime
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates: TLS to MongoDB Atlas / upstream LLM APIs (rustls reads the system roots).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system confab \
    && useradd --system --gid confab --home-dir /app --no-create-home \
               --shell /usr/sbin/nologin confab

WORKDIR /app
COPY --from=builder /usr/local/bin/confab /usr/local/bin/confab
COPY --from=client /client/dist /app/client/dist

# Container defaults; every other setting keeps the default from .env.example.
# JWT_SECRET (32+ bytes) and MONGODB_URI must be supplied at run time.
ENV CONFAB_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CLIENT_DIR=/app/client/dist \
    LOG_FORMAT=json

USER confab
EXPOSE 8080

# `confab healthcheck` GETs http://127.0.0.1:$PORT/api/health (no curl needed).
# The start period covers MongoDB start-up retries (MONGODB_STARTUP_TIMEOUT_SECS, 30 s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["confab", "healthcheck"]

CMD ["confab"]

# Warrant's container: `warrant serve` as a non-root user, its data (the
# SQLite database and the compiled-plugin cache) on a volume, healthy when
# /readyz answers. Build: `docker build -t warrant .`; with PostgreSQL:
# `docker compose up` (compose.yaml).

FROM rust:1.95-slim-bookworm AS build
# rust-toolchain.toml asks for `stable`; the image's own toolchain is the
# one to build with, plus the WebAssembly target the built-in plugins are
# compiled for (from the Rust project's distribution, as rustup does).
ENV RUSTUP_TOOLCHAIN=1.95.0 \
    CARGO_INCREMENTAL=0 \
    CARGO_TERM_COLOR=never
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin warrant \
    && cp target/release/warrant /usr/local/bin/warrant

FROM debian:bookworm-slim
# curl for the health check; certificates for PostgreSQL over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/warrant --shell /usr/sbin/nologin warrant \
    && mkdir -p /var/lib/warrant \
    && chown warrant:warrant /var/lib/warrant
COPY --from=build /usr/local/bin/warrant /usr/local/bin/warrant
USER warrant
VOLUME /var/lib/warrant
ENV WARRANT_DATA_DIR=/var/lib/warrant \
    WARRANT_LISTEN=0.0.0.0:8080 \
    WARRANT_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["warrant"]
CMD ["serve"]

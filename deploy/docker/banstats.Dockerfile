# banstats.Dockerfile - the clement-banstats image. Build from the repository root:
#   docker build -f deploy/docker/banstats.Dockerfile -t clement/banstats .
# --- build stage: byte-for-byte the same in every Clement Dockerfile, so the first image built
# compiles every binary once and the other images reuse its cached layers (tests/containers
# checks the stages stay identical).
FROM debian:bookworm-slim AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc make pkg-config libc6-dev libnng-dev libssl-dev libpq-dev libclamav-dev libmicrohttpd-dev \
      libcurl4-openssl-dev libcjson-dev libargon2-dev libunbound-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY lib lib
COPY services services
COPY tools tools
COPY scripts/make-test-sigs scripts/
RUN make -j"$(nproc)" BUILD=/out all >/dev/null && scripts/make-test-sigs /out/sigs

# --- runtime stage: Debian with only the shared libraries the binary links (its NEEDED entries;
# scripts/check-arch compares this apt line with `readelf -d`), the health check (bash, no
# curl), and an unprivileged user. No compiler.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libnng1 libunbound8 libssl3 libpq5 libmicrohttpd12 libcjson1 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin clement
COPY deploy/docker/healthcheck /usr/local/bin/clement-healthcheck

COPY --from=build /out/bin/clement-banstats /usr/local/bin/clement-banstats
USER clement
EXPOSE 7004 9105
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["clement-healthcheck", "CLEMENT_BANSTATS_HEALTH_LISTEN", "9105"]
ENTRYPOINT ["/usr/local/bin/clement-banstats"]

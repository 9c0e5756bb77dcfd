# scanner.Dockerfile - the clement-scanner image. Build from the repository root:
#   docker build -f deploy/docker/scanner.Dockerfile -t clement/scanner .
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
      libnng1 libmicrohttpd12 libcjson1 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin clement
COPY deploy/docker/healthcheck /usr/local/bin/clement-healthcheck
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libclamav12 libcurl4 >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/clement-scanner /usr/local/bin/clement-scanner
# The bundled test signatures (EICAR, Clement.Test.Pattern): a new named volume mounted here
# starts with them; freshclam (compose profile "freshclam") adds the real databases beside them.
COPY --from=build --chown=clement:clement /out/sigs/ /var/lib/clement/signatures/
# A read-only copy for Kubernetes, whose emptyDir volumes start empty (an init container copies it).
COPY --from=build /out/sigs/ /usr/share/clement/test-signatures/
VOLUME /var/lib/clement/signatures
USER clement
EXPOSE 7002 9103
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["clement-healthcheck", "CLEMENT_SCANNER_HEALTH_LISTEN", "9103"]
ENTRYPOINT ["/usr/local/bin/clement-scanner"]

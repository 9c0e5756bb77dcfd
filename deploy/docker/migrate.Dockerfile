# migrate.Dockerfile - the one-shot migration step: clement-migrate applies db/migrations, then
# (CLEMENT_SEED_DEMO=1, the compose default) the demo data of db/seed/ is loaded into an
# empty database. Runs before the services and exits 0; compose and the Kubernetes Job wait for it.
#   docker build -f deploy/docker/migrate.Dockerfile -t clement/migrate .
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

# --- runtime stage: the shared libraries clement-migrate and clement-passwd link (their NEEDED
# entries; scripts/check-arch compares the apt lines with `readelf -d`), psql and openssl.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libssl3 libpq5 libargon2-1 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin clement
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client-15 openssl >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o clement -g clement -m 0750 /etc/clement/tls
COPY --from=build /out/bin/clement-migrate /out/bin/clement-passwd /usr/local/bin/
COPY db/migrations /usr/share/clement/migrations
COPY db/seed/demo.sql /usr/share/clement/demo.sql
COPY deploy/docker/migrate-entrypoint /usr/local/bin/clement-migrate-and-seed
ENV CLEMENT_MIGRATIONS_DIR=/usr/share/clement/migrations
VOLUME /etc/clement/tls
USER clement
ENTRYPOINT ["/usr/local/bin/clement-migrate-and-seed"]

# postgres.Dockerfile - PostgreSQL 15 from Debian's own package (no registry image needed).
#   docker build -f deploy/docker/postgres.Dockerfile -t clement/postgres .
# On first start (empty data volume) the entrypoint runs initdb and creates the role and the
# database named by POSTGRES_USER / POSTGRES_DB with password POSTGRES_PASSWORD
# (scram-sha-256 over the network, peer/trust only on the container's own socket).
FROM debian:bookworm-slim
# A fixed uid/gid (999) for the postgres user, so Kubernetes can name it in runAsUser.
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/sh postgres \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 /var/lib/clement-pg/data \
 && install -d -o postgres -g postgres -m 0775 /run/postgresql
COPY deploy/docker/postgres-entrypoint /usr/local/bin/clement-postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/clement-pg/data
VOLUME /var/lib/clement-pg/data
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/clement-postgres"]

# rspamd.Dockerfile - Debian's Rspamd for the scanner's content verdicts (issue 18). Build from
# the repository root:   docker build -f deploy/docker/rspamd.Dockerfile -t clement/rspamd .
# Configured as `make run` configures its private Rspamd (scripts/rspamd-local writes the same
# configuration over Debian's /etc/rspamd at start), except that the workers listen on every
# address of the container and Redis is the `redis` service:
#   11333 normal worker (the scanner's CLEMENT_RSPAMD_URL, POST /checkv2; GET /ping for health)
#   11334 controller (delivery's CLEMENT_RSPAMD_CONTROLLER_URL, /learnham and /learnspam),
#         without a password from RSPAMD_LOCAL_SECURE_IP (default: the private networks).
# Environment: RSPAMD_REDIS (redis:6379), RSPAMD_DNS (host:port; empty = the container's
# resolvers), RSPAMD_HERMETIC=1 switches off the modules that fetch maps or ask public services.
# Installs rspamd only; no Clement binary.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rspamd >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/rspamd-local /usr/local/bin/rspamd-local
COPY deploy/docker/rspamd-entrypoint /usr/local/bin/rspamd-entrypoint
# Runs as Debian's _rspamd user; the generated configuration, hyperscan cache and log go to
# /var/lib/clement-rspamd (a volume or emptyDir: the root filesystem can stay read-only).
RUN install -d -o _rspamd -g _rspamd /var/lib/clement-rspamd
VOLUME /var/lib/clement-rspamd
USER _rspamd
EXPOSE 11333 11334
HEALTHCHECK --interval=3s --timeout=3s --start-period=90s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/11333 && printf 'GET /ping HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 3 head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/rspamd-entrypoint"]

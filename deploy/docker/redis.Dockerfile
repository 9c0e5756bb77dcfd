# redis.Dockerfile - Debian's redis-server for Rspamd (Bayes tokens, greylisting, rate limits;
# issue 18). Build from the repository root:
#   docker build -f deploy/docker/redis.Dockerfile -t clement/redis .
# Listens on 6379 of the private container network without a password (only the rspamd service
# talks to it; never publish it); snapshots into /data, a volume, so the learned Bayes survives
# a restart. Installs redis-server only.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
VOLUME /data
USER redis
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["redis-cli", "ping"]
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no", \
            "--dir", "/data", "--save", "300 1", "--appendonly", "no", "--logfile", ""]

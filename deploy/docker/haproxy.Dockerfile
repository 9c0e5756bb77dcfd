# haproxy.Dockerfile - Debian's HAProxy in front of several smtp-edge replicas, speaking PROXY
# protocol v2 to them so that policy, bans and logs see the real client address (the load
# balancer users put in front of Clement; tests/containers/compose.scale.yml uses it).
# Listens unprivileged on 2525 (SMTP), 4465 (SMTPS, passed through) and 5587 (submission);
# statistics and its own health on 8404.
#   docker build -f deploy/docker/haproxy.Dockerfile -t clement/haproxy .
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy curl >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/docker/haproxy.cfg /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 2525 4465 5587 8404
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "-m", "3", "http://127.0.0.1:8404/healthz"]
ENTRYPOINT ["/usr/sbin/haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]

# freshclam.Dockerfile - Debian's freshclam keeping the real ClamAV databases up to date in the
# signature volume the scanner reads (compose profile "freshclam"; needs internet access).
# Runs as uid 10001 like the scanner, so both own the volume's files.
#   docker build -f deploy/docker/freshclam.Dockerfile -t clement/freshclam .
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clamav-freshclam ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin clement \
 && install -d -o clement -g clement /var/lib/clement/signatures
COPY deploy/docker/freshclam.conf /etc/clamav/clement-freshclam.conf
VOLUME /var/lib/clement/signatures
USER clement
HEALTHCHECK --interval=60s --timeout=5s --start-period=120s --retries=3 CMD ["sh", "-c", "kill -0 \"$(cat /tmp/freshclam.pid)\""]
ENTRYPOINT ["freshclam", "--config-file=/etc/clamav/clement-freshclam.conf", "--foreground", "--daemon"]

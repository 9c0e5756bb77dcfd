# exim.Dockerfile - Debian's Exim (exim4-daemon-light) as an interop peer of Clement (make
# interop-test). Configured at start by peer-exim with its own small configuration file (not
# Debian's debconf one): a final destination for one domain, Maildir under
# /srv/mail/<domain>/<user>/, which the test mounts and reads back.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends exim4-daemon-light ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY peer-exim /usr/local/bin/peer
ENTRYPOINT ["/usr/local/bin/peer"]

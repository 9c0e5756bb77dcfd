# postfix.Dockerfile - Debian's Postfix as an interop peer of Clement (make interop-test).
# Configured at start by peer-postfix: a final destination for one domain (virtual mailboxes,
# Maildir under /srv/mail/<domain>/<user>/, which the test mounts and reads back).
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY peer-postfix /usr/local/bin/peer
ENTRYPOINT ["/usr/local/bin/peer"]

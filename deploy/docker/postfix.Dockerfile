# postfix.Dockerfile - the compose demo's downstream MTA: Debian's Postfix as the final
# destination of the demo relay group's domain (relay.test) and of a demo "elsewhere" domain
# (remote.test), and so the demo local-mode group's smart host: a user's submission to
# remote.test is relayed to it and lands in its Maildir, so its "sent" status is real (issue 20).
# Build from the repository root:
#   docker build -f deploy/docker/postfix.Dockerfile -t clement/postfix .
# Not part of a real deployment (there, the groups' downstream and smart host settings name
# your own MTA: relay_host/port/tls/auth in the web UI or /api/groups, or CLEMENT_DEMO_RELAY_HOST
# for the demo data). Postfix's master runs as root and drops to its own users (postfix, and
# uid 5000 for the mailboxes), so this image alone has no USER line (tests/containers/
# test_manifests.py knows it).
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/docker/postfix-entrypoint /usr/local/bin/postfix-entrypoint
VOLUME /var/mail/vhosts
EXPOSE 25
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["sh", "-c", "kill -0 $(cat /var/spool/postfix/pid/master.pid)"]
ENTRYPOINT ["/usr/local/bin/postfix-entrypoint"]

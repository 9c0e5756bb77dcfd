# sendmail.Dockerfile - Debian's Sendmail (sendmail-bin, with sendmail-cf and m4 to build its
# configuration) as an interop peer of Clement (make interop-test). Configured at start by
# peer-sendmail: a final destination for one domain, each user a local account whose local
# mailer (peer-deliver) writes Maildir files under /srv/mail/<domain>/<user>/.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sendmail-bin sendmail-cf m4 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY peer-sendmail /usr/local/bin/peer
COPY peer-deliver /usr/local/bin/peer-deliver
ENTRYPOINT ["/usr/local/bin/peer"]

# nginx.Dockerfile - Debian's nginx serving frontend/ and proxying /api/ to admin-api (same
# origin, as the UI expects). Runs unprivileged on port 8080.
#   docker build -f deploy/docker/nginx.Dockerfile -t clement/nginx .
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light curl >/dev/null \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && install -d -o www-data -g www-data /tmp/nginx
COPY deploy/docker/nginx.conf /etc/nginx/nginx.conf
COPY frontend /usr/share/clement/frontend
COPY deploy/docker/nginx-entrypoint /usr/local/bin/clement-nginx
USER www-data
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "-m", "3", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/clement-nginx"]

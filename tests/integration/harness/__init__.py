"""Clement's Python test harness: everything the integration, interop and container tests and
the benchmarks share, so that no test module imports another.

  conftest.py (pytest's)   ports, PostgreSQL, Service/Services: starting the real binaries
  harness.nng              the one nng REQ client (SP over TCP) every RPC test uses
  harness.fakerpc          a fake nng REP service (for faults the real services cannot make)
  harness.passwords        the one password hasher (tools/clement-passwd, argon2id)
  harness.api              the admin API client, start_api and the seeded admin world
  harness.policy           policy's RPC helpers and start_policy
  harness.delivery         delivery's requests, start_delivery, SmtpSink, DB setup
  harness.scanner          EICAR, test patterns, zipped payloads
  harness.e2e              the end-to-end Stack (edge, policy, scanner, delivery) and run_stack
  harness.content          the content-verdict Stack (ClamAV and Rspamd behind the edge)
  harness.smtp             raw SMTP client, Edge, start_edge, messages
  harness.mesh             mesh peers' certificates, greeting_from
  harness.dovecot          a private Dovecot (implicit TLS and STARTTLS)
  harness.dns              a DNS server on loopback (python3-dnslib)
  harness.rspamd           private Rspamd and Redis
  harness.pid1             run a service as PID 1 of a namespace (the container case)
"""

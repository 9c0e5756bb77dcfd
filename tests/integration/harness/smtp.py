"""Helpers for the smtp-edge tests: a raw SMTP client that sees every byte, the edge
started against a programmable fake RPC service, and the external-stack switch.

CLEMENT_TEST_EXTERNAL="smtp=HOST:PORT,smtps=HOST:PORT,submission=HOST:PORT,db=POSTGRES_URL"
makes the end-to-end fixtures use an already running stack instead of starting one; tests
that must start or kill services themselves are marked `local_only` and deselected then (the
summary counts them as such: they are not for that run, not a part that failed to start).
"""
import hashlib
import os
import pathlib
import re
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, free_port
from harness import fakerpc

EXTERNAL = os.environ.get("CLEMENT_TEST_EXTERNAL", "")
# Deselected (not skipped) against an external stack: conftest.py, pytest_collection_modifyitems.
local_only = pytest.mark.local_only

_CERT_DIR = pathlib.Path(tempfile.gettempdir()) / "clement-test-cert"


def cert_paths():
    subprocess.run([str(ROOT / "scripts/make-cert"), str(_CERT_DIR)], check=True)
    return str(_CERT_DIR / "cert.pem"), str(_CERT_DIR / "key.pem")


def external():
    """The CLEMENT_TEST_EXTERNAL fields as a dict of (host, port) / strings."""
    out = {}
    for part in filter(None, EXTERNAL.split(",")):
        k, _, v = part.partition("=")
        if k in ("smtp", "smtps", "submission"):
            h, _, p = v.rpartition(":")
            out[k] = (h, int(p))
        else:
            out[k] = v
    return out


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A line-level SMTP client: send exact bytes, read whole (multi-line) replies."""

    def __init__(self, host, port, timeout=10.0, tls=False, source=None):
        """source: the local address to connect from (another loopback address is another client)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        if tls:
            self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered: %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def reply(self):
        """(code, full text) of the next reply, multi-line replies joined by newlines."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[-1][:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def starttls(self):
        self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def closed(self, timeout=5.0):
        """True when the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Edge:
    """A running clement-smtp-edge and where it listens."""

    def __init__(self, svc, host, smtp, smtps, submission, fake=None):
        self.svc, self.host = svc, host
        self.smtp, self.smtps, self.submission = smtp, smtps, submission
        self.fake = fake

    def raw(self, port=None, greet=True, tls=False, **kw):
        r = Raw(self.host, port or self.smtp, tls=tls, **kw)
        if greet:
            code, text = r.reply()
            assert code == 220, text
        return r

    def session(self, port=None, source=None):
        """A raw session after the greeting and EHLO."""
        r = self.raw(port, source=source)
        code, text = r.cmd("EHLO client.example.net")
        assert code == 250, text
        return r

    def metrics(self):
        return self.svc.metrics() if self.svc else ""

    def rss_kb(self):
        """Resident memory of the edge process (local stacks only)."""
        with open(f"/proc/{self.svc.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def start_edge(services, fake, *, wait=True, wrap=(), **env):
    """Start the edge on free ports; a port taken by another process between free_port()
    and bind() (busy machine, parallel suites) is retried with new ports. wrap: a command
    the edge runs under (Service.wrap); wait=False returns before it is healthy."""
    for attempt in range(3):
        try:
            return _start_edge(services, fake, wait, wrap, **env)
        except RuntimeError as e:
            if "in use" not in str(e) or attempt == 2:
                raise
            services.started.pop()  # that process exited already; do not report it


def _start_edge(services, fake, wait, wrap, **env):
    cert, key = cert_paths()
    ports = {"smtp": free_port(), "smtps": free_port(), "submission": free_port()}
    base = {
        "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}",
        "CLEMENT_SMTPS_LISTEN": f"127.0.0.1:{ports['smtps']}",
        "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{ports['submission']}",
        "CLEMENT_TLS_CERT": cert,
        "CLEMENT_TLS_KEY": key,
        "CLEMENT_HOSTNAME": "mx.clement.test",
        "CLEMENT_POLICY_URL": fake.url,
        "CLEMENT_SCANNER_URL": fake.url,
        "CLEMENT_DELIVERY_URL": fake.url,
        "CLEMENT_PREGREET_WAIT": "0",
        "CLEMENT_POLICY_TIMEOUT_MS": "1500",
        "CLEMENT_SCANNER_TIMEOUT_MS": "1500",
        "CLEMENT_DELIVERY_TIMEOUT_MS": "1500",
        "CLEMENT_SHUTDOWN_GRACE_S": "3",
    }
    base.update({k: str(v) for k, v in env.items()})
    svc = services.start("smtp-edge", base, wait=wait, wrap=wrap)
    return Edge(svc, "127.0.0.1", ports["smtp"], ports["smtps"], ports["submission"], fake)


def message(subject="hello", body="Hello there.\r\n", frm="alice@sender.example", to="bob@example.org"):
    return (f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time_ns()}@sender.example>\r\n\r\n{body}")


def read_until_close(sock, size=4096):
    """Everything the peer sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(size):
        data += chunk
    return data


# The SMTP smuggling end-of-data look-alikes (bare LF/CR around the dot, a NUL before it):
# each must refuse the message, never end it and run what follows as commands.
SMUGGLE = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\r\n.\r", b"\r\n\x00.\r\n"]

MSGID_RE = re.compile(r"\(id ([0-9A-Fa-f]+)\)")


# TLS certificate pairs and installs, shared by the reload and worker tests

def make_pair(d):
    """A fresh self-signed pair in d: (cert PEM, key PEM, the certificate's SHA-256)."""
    subprocess.run([str(ROOT / "scripts/make-cert"), str(d)], check=True)
    cert, key = (d / "cert.pem").read_bytes(), (d / "key.pem").read_bytes()
    return cert, key, hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.decode())).hexdigest()


def install_rename(live, cert, key):
    """Write each file beside its name, then rename it over (atomic, new inode)."""
    for name, data in (("key.pem", key), ("cert.pem", cert)):
        tmp = live / (name + ".new")
        tmp.write_bytes(data)
        os.replace(tmp, live / name)


def starttls(e):
    """A session on port 25 after STARTTLS and the new EHLO; (Raw, peer certificate SHA-256)."""
    r = e.session()
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    assert r.cmd("EHLO client.example.net")[0] == 250
    return r, hashlib.sha256(r.sock.getpeercert(binary_form=True)).hexdigest()

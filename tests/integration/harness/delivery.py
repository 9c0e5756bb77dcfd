"""Helpers for the delivery tests: requests to delivery (harness.nng), a delivery fixture, DB setup.

Shared by test_delivery*.py and the content, interop and alias tests.
"""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

from conftest import free_port, wait_port
from harness.nng import Req

def rpc(port, hdr, body=None, timeout=30.0):
    c = Req(port, timeout)
    try:
        return c.call(hdr, body)
    finally:
        c.close()


def start_delivery(services, pg, maildir, **extra):
    """Start clement-delivery on free ports; returns (service, rpc_port)."""
    port = free_port()
    env = {
        "CLEMENT_DELIVERY_LISTEN": f"tcp://127.0.0.1:{port}",
        "CLEMENT_DB_URL": pg.url,
        "CLEMENT_MAILDIR_ROOT": str(maildir),
        "CLEMENT_DIGEST_SECRET": "test-digest-secret",
        "CLEMENT_DIGEST_BASE_URL": "http://127.0.0.1:8080",
        "CLEMENT_RELAY_TIMEOUT_MS": "3000",
        "CLEMENT_RELAY_CONNECT_TIMEOUT_MS": "2000",
        "CLEMENT_DELIVERY_WORKERS": "4",
        "CLEMENT_DELIVERY_HELO": "clement.test",
    }
    env.update({k: str(v) for k, v in extra.items()})
    svc = services.start("delivery", env)
    assert wait_port(port)
    return svc, port


def make_group(db, name, mode="local", relay_port=None, relay_tls="none", relay_host="127.0.0.1"):
    if mode == "local" and relay_port is None:
        return db.scalar("INSERT INTO groups (name, mode) VALUES (%s, 'local') RETURNING id", (name,))
    return db.scalar("INSERT INTO groups (name, mode, relay_host, relay_port, relay_tls) VALUES (%s, %s, %s, %s, %s)"
                     " RETURNING id", (name, mode, relay_host, relay_port, relay_tls))


def make_domain(db, name, group_id):
    return db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (name, group_id))


def make_user(db, local, domain_id, quota=None):
    return db.scalar("INSERT INTO users (local_part, domain_id, quota_bytes) VALUES (%s, %s, %s) RETURNING id",
                     (local, domain_id, quota))


def route(mode, group_id, domain_id=0, user_id=0, quarantine=False, quota_bytes=None):
    """A route as policy's rcpt reply carries it; quota_bytes=None leaves the quota out (delivery
    then looks it up in PostgreSQL, as for a release)."""
    r = {"mode": mode, "group_id": group_id, "domain_id": domain_id, "user_id": user_id, "quarantine": quarantine}
    if quota_bytes is not None:
        r["quota_bytes"] = quota_bytes
    return r


def deliver_req(rcpts, sender="alice@sender.test", sid="S1", msgid="M1", auth_user=None, smtputf8=False):
    h = {"v": 1, "op": "deliver", "sid": sid, "msgid": msgid, "ip": "192.0.2.7", "sender": sender,
         "rcpts": [{"rcpt": a, "route": r} for a, r in rcpts]}
    if auth_user:
        h["auth_user"] = auth_user
    if smtputf8:
        h["smtputf8"] = True
    return h


def trace(sender, rcpt):
    """The header lines local delivery writes on top of each copy: Return-Path: (RFC 5321
    section 4.4) and Delivered-To: (as Postfix's local and Dovecot's LDA write them)."""
    return f"Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n".encode()


def maildir_new(root, addr):
    local, domain = addr.split("@")
    d = pathlib.Path(root) / domain / local / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


class SmtpSink:
    """Postfix's smtp-sink with one dump file per transaction."""

    def __init__(self, tmp, *opts):
        self.port = free_port()
        # smtp-sink writes its dumps as nobody: a directory outside the root-only tmp_path.
        self.dumpdir = pathlib.Path(tempfile.mkdtemp(prefix="clement-sink-"))
        os.chmod(self.dumpdir, 0o755)
        os.chown(self.dumpdir, 65534, 65534)
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-d", f"{self.dumpdir}/%M.", *opts,
                                      f"127.0.0.1:{self.port}", "64"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_port(self.port)

    def dumps(self):
        return sorted(p for p in self.dumpdir.rglob("*") if p.is_file())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dumpdir, ignore_errors=True)


class FakeSmtp:
    """A tiny scripted SMTP server for the faults smtp-sink cannot produce (malformed, endless
    or NUL-holding replies, silence). `greeting` is sent on connect (None: nothing); `answer`
    maps each received command line (bytes, CRLF stripped) to the bytes to send, or None to
    stay silent; in DATA mode the raw bytes up to the end-of-data line are kept in `data`."""

    def __init__(self, greeting=b"220 fake ESMTP\r\n", answer=None, tls=None):
        import threading
        self.port = free_port()
        self.tls = tls                # (certfile, keyfile): offer STARTTLS
        self.mail_over_tls = []       # per MAIL command: was the session encrypted
        self.greeting = greeting
        self.answer = answer or self.default_answer
        self.data = []
        self.commands = []
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.stopping = False
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    @staticmethod
    def default_answer(line):
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-fake\r\n250 8BITMIME\r\n"
        if verb == b"DATA":
            return b"354 go\r\n"
        if verb == b"QUIT":
            return b"221 bye\r\n"
        return b"250 2.0.0 ok\r\n"

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            try:
                self.session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def session(self, conn):
        import ssl
        conn.settimeout(10)
        if self.greeting:
            conn.sendall(self.greeting)
        buf = b""
        encrypted = False
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                self.commands.append(line)
                up = line.upper()
                if self.tls and up.startswith(b"EHLO"):
                    conn.sendall(b"250-fake\r\n" + (b"" if encrypted else b"250-STARTTLS\r\n") + b"250 8BITMIME\r\n")
                    continue
                if self.tls and up == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 go ahead\r\n")
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(*self.tls)
                    try:
                        conn = ctx.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                    encrypted, buf = True, b""
                    continue
                if up.startswith(b"MAIL"):
                    self.mail_over_tls.append(encrypted)
                out = self.answer(line)
                if out is None:
                    continue
                if callable(out):        # endless: a generator of chunks
                    for piece in out():
                        conn.sendall(piece)
                    return
                conn.sendall(out)
                if line[:4].upper() == b"DATA" and out.startswith(b"354"):
                    while b"\r\n.\r\n" not in buf:
                        more = conn.recv(65536)
                        if not more:
                            return
                        buf += more
                    body, buf = buf.split(b"\r\n.\r\n", 1)
                    self.data.append(body + b"\r\n")
                    conn.sendall(b"250 2.0.0 queued\r\n")

    def stop(self):
        self.stopping = True
        self.lsock.close()


def self_signed_cert(tmp):
    """(certfile, keyfile) of a fresh self-signed P-256 certificate for localhost."""
    cert, key = pathlib.Path(tmp) / "cert.pem", pathlib.Path(tmp) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)

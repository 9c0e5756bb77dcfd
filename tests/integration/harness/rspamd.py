"""A private Rspamd for the tests (issue 18): Debian's rspamd and redis-server on loopback free
ports, with a configuration generated under a temporary directory, asking the tests' DNS server
on loopback (harness/dns.py) that publishes the SPF, DKIM and DMARC records of the test domains. Rspamd asks only
that server, so no test depends on the Internet, and modules that would fetch maps or ask
public services are switched off.

Nothing here is a system service: each test starts its own instances and stops them by PID.
Rspamd refuses to run its workers as root (it wants -u/-g), so as root it runs them as
Debian's `_rspamd` user and the temporary directory is handed to that user.

A fixture whose Rspamd, Redis or DNS server does not start raises: the test fails, never skips.
"""
import base64
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

try:
    import dnslib  # noqa: F401 (dnsserver needs it)
except ImportError:  # a python3 other than Debian's (pyenv): use Debian's python3-dnslib anyway
    sys.path.append("/usr/lib/python3/dist-packages")

import email
import email.policy
import re
import smtplib

from conftest import ROOT, free_port, wait_port, wait_for
from harness.content import Stack
from harness.dns import DnsServer  # noqa: F401 (the tests' one loopback DNS server)


def txt(s):
    """A TXT record's value as strings of at most 255 octets (RFC 1035 3.3.14): DKIM keys are longer."""
    return ("TXT", [s[i:i + 255] for i in range(0, len(s), 255)] or [""])


def ptr_name(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def dkim_keypair(tmp):
    """(private key PEM bytes, the p= value of its DKIM TXT record), RSA 2048, made by openssl."""
    key = pathlib.Path(tmp) / f"dkim-{time.time_ns()}.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_bytes(), base64.b64encode(der).decode()


def _owned_tmpdir(user):
    """A temporary directory the workers' user can write (pytest's tmp_path is root's, mode 700)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="clement-rspamd-"))
    os.chmod(d, 0o755)
    if user:
        pw = pwd.getpwnam(user)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


class Redis:
    """redis-server in the foreground on a free loopback port (scripts/rspamd-local redis)."""

    def __init__(self, root):
        self.dir = pathlib.Path(root) / "redis-state"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc, self.port = None, None

    def start(self):
        for _ in range(3):
            self.port = free_port()
            (self.dir / "redis").mkdir(exist_ok=True)
            self.log = self.dir / "redis.log"
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen([str(ROOT / "scripts/rspamd-local"), "redis", str(self.dir), str(self.port)],
                                             stdout=out, stderr=subprocess.STDOUT)
            if wait_port(self.port, timeout=10):
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start:\n{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Rspamd:
    """One private rspamd: `url` is the normal worker (POST /checkv2), `controller` the controller
    (learning). `extra_local` maps file names under local.d to text (test-only rules)."""

    def __init__(self, dns, redis, extra_local=None):
        self.dns, self.redis = dns, redis
        self.user = "_rspamd" if os.geteuid() == 0 else None
        self.root = _owned_tmpdir(self.user)
        self.extra_local = extra_local or {}
        self.proc = None

    def _write_config(self):
        """scripts/rspamd-local config, hermetic (no module asks the Internet), then the test's rules."""
        subprocess.run([str(ROOT / "scripts/rspamd-local"), "config", str(self.root), str(self.port),
                        str(self.controller_port), str(self.redis.port), f"127.0.0.1:{self.dns.port}", "hermetic"],
                       check=True)
        for name, text in self.extra_local.items():
            (self.root / "conf" / "local.d" / name).write_text(text)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for p in [self.root, *self.root.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def start(self, timeout=60.0):
        for attempt in range(3):
            self.port, self.controller_port = free_port(), free_port()
            self._write_config()
            cmd = [str(ROOT / "scripts/rspamd-local"), "rspamd", str(self.root)]
            self.stdout = open(self.root / "stdout.log", "wb")
            self.proc = subprocess.Popen(cmd, stdout=self.stdout, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.ping():
                    return self
                time.sleep(0.2)
            self.stop()
        raise RuntimeError(f"rspamd did not start:\n{self.log()[-4000:]}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def ping(self):
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def log(self):
        out = []
        for p in (self.root / "stdout.log", self.root / "conf" / "log" / "rspamd.log"):
            try:
                out.append(p.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(out)

    def check(self, msg, **headers):
        """Rspamd's own JSON answer for msg (bytes): what the scanner sees, for diagnostics."""
        req = urllib.request.Request(f"{self.url}/checkv2", data=msg, method="POST", headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class SlowHttp:
    """An HTTP server on loopback that accepts a request and answers nothing for `delay`
    seconds (Rspamd hanging): the scanner must give up at its deadline."""

    def __init__(self, delay=30.0):
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _run(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)  # held open, never answered

    def stop(self):
        self.stopped.set()
        self.sock.close()
        for c in self.conns:
            c.close()


CLIENT = "11.22.33.44"  # the sending server's address, given to the edge by PROXY; not a TEST-NET


HOST = "mx.clement.test"


def make_dns(tmp):
    """The DNS server with the test domains' records (module docstring); (server, DKIM key)."""
    key, pub = dkim_keypair(tmp)
    dns = DnsServer({
        "aligned.test": [txt(f"v=spf1 ip4:{CLIENT} -all"), ("A", CLIENT)],
        "mail.aligned.test": [("A", CLIENT)],
        ptr_name(CLIENT): [("PTR", "mail.aligned.test")],
        "sel._domainkey.aligned.test": [txt(f"v=DKIM1; k=rsa; p={pub}")],
        "_dmarc.aligned.test": [txt("v=DMARC1; p=reject")],
        "forged.test": [txt("v=spf1 ip4:198.51.100.1 -all"), ("A", "198.51.100.1")],
        "_dmarc.forged.test": [txt("v=DMARC1; p=reject")],
        "bank.test": [("A", "198.51.100.2")],
        "_dmarc.bank.test": [txt("v=DMARC1; p=reject")],
    }).start()
    dns.dkim_txt = f"v=DKIM1; k=rsa; p={pub}"
    return dns, key


class RspamdStack(Stack):
    """The stack of test_scanner_e2e with the scanner asking Rspamd, and smtp-edge taking the
    client's address from a PROXY header."""

    def __init__(self, services, db, tmp, url, scanner_env=None, edge_env=None, delivery_env=None):
        super().__init__(services, db, tmp, delivery_env=delivery_env,
                         scanner_env={"CLEMENT_RSPAMD_URL": url, "CLEMENT_RSPAMD_TIMEOUT_MS": "15000",
                                      **(scanner_env or {})},
                         edge_env={"CLEMENT_HOSTNAME": HOST, "CLEMENT_SMTP_PROXY_PROTOCOL": "smtp",
                                   "CLEMENT_PROXY_NETWORKS": "127.0.0.0/8", **(edge_env or {})})

    def set_content(self, table, **cols):
        """UPDATE the stack's group or domain (table "groups"/"domains") and wait until policy's
        cache holds the change (its reload counter moves)."""
        policy = [svc for svc in self.services.started if svc.name == "policy"][-1]
        reloads = lambda: int(re.search(r"^clement_policy_cache_reloads_total (\d+)", policy.metrics(), re.M).group(1))
        before = reloads()
        sets = ", ".join(f"{k} = %s" for k in cols)
        where = ("id = (SELECT group_id FROM domains WHERE name = %s)" if table == "groups" else "name = %s")
        self.db.execute(f"UPDATE {table} SET {sets} WHERE {where}", (*cols.values(), self.domain))
        assert wait_for(lambda: reloads() > before), "policy did not reload its cache"

    def quarantined(self):
        return self.db.query("SELECT * FROM quarantine WHERE rcpt = %s ORDER BY id", (self.alice,))

    @property
    def alice(self):
        return f"alice@{self.domain}"

    def send_from(self, sender, msg, to="alice"):
        """One transaction from CLIENT; (code, reply text) of the answer to DATA."""
        with _Proxied("127.0.0.1", self.port) as c:
            c.ehlo("mail.aligned.test")
            assert c.mail(sender)[0] == 250
            assert c.rcpt(f"{to}@{self.domain}")[0] == 250
            code, text = c.data(msg)
        return code, text.decode("utf-8", "replace")

    def delivered_msgs(self, user="alice"):
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in self.delivered(user)]


class _Proxied(smtplib.SMTP):
    """smtplib with a PROXY v1 header naming CLIENT before the SMTP conversation."""

    def __init__(self, host, port):
        super().__init__(host, port, timeout=60)

    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((host, port), timeout)
        s.sendall(f"PROXY TCP4 {CLIENT} 127.0.0.1 40000 25\r\n".encode())
        return s

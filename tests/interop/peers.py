"""Real MTAs as Clement's peers: one container per peer (tests/interop/<kind>.Dockerfile,
built by scripts/interop-test), on the host's network, listening on a free loopback port,
delivering its domain <kind>.interop.test into Maildirs under a host directory the test reads.

Every peer knows the same users (USERS); 'tempfail' answers 451 at RCPT, any other local
part 550. The container is removed when the test module ends."""
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, wait_port
from harness.e2e import run_stack

class PortTaken(Exception):
    pass


USERS = ["bob", "tempfail", "probed"] + [f"u{i}" for i in range(100)]
IMAGE = os.environ.get("CLEMENT_INTEROP_IMAGE", "clement-interop/{kind}")


class Peer:
    def __init__(self, kind, tls_dir=None, relay=None):
        self.kind = kind
        self.domain = f"{kind}.interop.test"
        self.mail = pathlib.Path(tempfile.mkdtemp(prefix=f"clement-interop-{kind}-"))
        os.chmod(self.mail, 0o777)
        self.tls_dir, self.relay = tls_dir, relay
        self.name = None
        self.start()

    def start(self, tries=3):
        """A fresh container (also after stop(): the same domain, port and mailboxes). When
        the port chosen turns out taken by someone else's process (the banner is not this
        peer's), again on another port."""
        for attempt in range(tries):
            try:
                return self._start()
            except PortTaken:
                self.stop()
                self.port = free_port()
        raise RuntimeError(f"{self.kind}: no port of its own after {tries} tries")

    def _banner(self):
        """The first line the listener on our port sends, or '' (nothing yet, or not SMTP)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
                return c.makefile("rb").readline().decode(errors="replace")
        except OSError:
            return ""

    def running(self):
        r = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", self.name], capture_output=True, text=True)
        return r.stdout.strip() == "true"

    def _start(self):
        if not hasattr(self, "port"):
            self.port = free_port()
        self.name = f"clement-interop-{self.kind}-{os.getpid()}-{time.time_ns()}"
        env = {"PEER_DOMAIN": self.domain, "PEER_PORT": str(self.port), "PEER_USERS": " ".join(USERS),
               "PEER_TLS": "1" if self.tls_dir else "0", "PEER_RELAY": self.relay or ""}
        cmd = ["docker", "run", "-d", "--name", self.name, "--network", "host",
               "-v", f"{self.mail}:/srv/mail"]
        if self.tls_dir:
            cmd += ["-v", f"{self.tls_dir}:/tls:ro"]
        for k, v in env.items():
            cmd += ["-e", f"{k}={v}"]
        subprocess.run(cmd + [IMAGE.format(kind=self.kind)], check=True, capture_output=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if wait_port(self.port, timeout=1):
                banner = self._banner()
                if banner.startswith("220 ") and self.domain in banner:
                    return self
                if banner and not self.running():  # the port is someone else's, and we could not bind it
                    raise PortTaken()
            elif not self.running():
                break
            time.sleep(0.2)
        logs = self.logs()
        self.stop()
        raise RuntimeError(f"{self.kind} did not listen on {self.port}:\n{logs}")

    def stop(self):
        if self.name:
            subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)
            self.name = None

    def logs(self):
        if not self.name:
            return ""
        r = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return r.stdout + r.stderr

    def exec(self, *cmd):
        return subprocess.run(["docker", "exec", self.name, *cmd], capture_output=True, text=True)

    def queue(self):
        """The number of messages in the MTA's queue, by its own tool."""
        if self.kind == "postfix":
            out = self.exec("postqueue", "-j").stdout
            return len([l for l in out.splitlines() if l.strip()])
        if self.kind == "exim":
            return int(self.exec("exim4", "-bpc").stdout.strip() or 0)
        out = self.exec("mailq", "-bp").stdout
        return sum(int(n) for n in re.findall(r"Total requests: (\d+)", out))

    def flush(self):
        """Ask the MTA to retry its queue now (postqueue -f, exim -qff, sendmail -q)."""
        cmd = {"postfix": ["postqueue", "-f"], "exim": ["exim4", "-qff"], "sendmail": ["sendmail", "-q"]}[self.kind]
        self.exec(*cmd)

    def delivered(self, user):
        """The messages in user's Maildir new/, oldest first, as bytes."""
        d = self.mail / self.domain / user / "new"
        return [p.read_bytes() for p in sorted(d.iterdir(), key=lambda p: p.stat().st_mtime)] if d.is_dir() else []

    def wait_delivered(self, user, n=1, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.delivered(user)
            if len(got) >= n:
                return got
            time.sleep(0.2)
        return self.delivered(user)


PEERS = ["postfix", "exim", "sendmail"]


@pytest.fixture(params=PEERS)
def sender(request, tmp_path):
    """(stack, peer): the stack with a relay-mode domain relay-<peer>.test (Clement knows carol;
    its downstream port is stack.sink_port, nothing listens there until a test starts a sink),
    and the peer relaying everything not its own through the edge."""
    kind = request.param
    db = request.getfixturevalue("db")
    sink_port = free_port()
    gid = db.scalar("INSERT INTO groups (name, mode, relay_host, relay_port) VALUES (%s, 'relay', '127.0.0.1', %s)"
                    " RETURNING id", ("r-" + kind, sink_port))
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (f"relay-{kind}.test", gid))
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, 'carol')", (did,))
    for st in run_stack(request, tmp_path):
        st.relay_domain, st.group_id = f"relay-{kind}.test", gid
        peer = Peer(kind, relay=f"127.0.0.1:{st.edge.smtp}")
        try:
            yield st, peer
        finally:
            peer.stop()

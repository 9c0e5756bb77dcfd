"""One real Dovecot for every test that logs in by IMAP (policy's SMTP AUTH, admin-api's web
login, the browser stack): passwd-file accounts, a self-signed certificate for 127.0.0.1
(trust it with CLEMENT_IMAP_CA_FILE / CLEMENT_POLICY_IMAP_CA_FILE = dovecot.ca), listening
both ways at once:
  .port      IMAP with STARTTLS offered (plain-text login allowed too, for 'plain' groups)
  .tls_port  IMAP over implicit TLS (imaps)
UNAVAILABLE_ACCOUNT is checked by a password backend that cannot run (a checkpassword
program that does not exist), so Dovecot answers it NO [UNAVAILABLE] (RFC 5530): the real
"this server cannot check passwords right now" answer."""
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import free_port, wait_port

UNAVAILABLE_ACCOUNT = "dora@imap.test"

CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = clement-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{d}/home/%u/Maildir
passdb {{
  driver = checkpassword
  args = {d}/no-such-checkpassword
  username_filter = {unavailable}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """A private Dovecot; accounts: {address: password}."""

    def __init__(self, accounts):
        # Dovecot's auth and mail processes are not root: its files must be reachable
        # outside pytest's private (0700) temporary directories.
        self.dir = d = pathlib.Path(tempfile.mkdtemp(prefix="clement-dovecot-"))
        d.chmod(0o755)
        self.port, self.tls_port = free_port(), free_port()
        self.ca = str(d / "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(d / "key.pem"), "-out", self.ca], check=True, capture_output=True)
        lines = [f"{a}:{{PLAIN}}{pw}::::::" for a, pw in accounts.items()]
        (d / "passwd").write_text("\n".join(lines) + "\n")
        (d / "home").mkdir()
        shutil.chown(d / "home", "dovecot", "dovecot")
        (d / "dovecot.conf").write_text(CONF.format(d=d, port=self.port, tls_port=self.tls_port,
                                                             unavailable=UNAVAILABLE_ACCOUNT))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in (self.port, self.tls_port):
            assert wait_port(port, timeout=20), self.log() or "dovecot did not start"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None

    def log(self):
        p = self.dir / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dovecot_factory():
    """dovecot_factory(accounts) -> a started Dovecot, stopped and removed after the test."""
    made = []

    def make(accounts):
        dv = Dovecot(accounts).start()
        made.append(dv)
        return dv
    yield make
    for dv in made:
        dv.remove()

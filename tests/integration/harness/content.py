"""The content-verdict stack: smtp-edge in front of real policy, scanner (ClamAV, and Rspamd when
asked) and delivery, with a user who logs in to the admin API."""
import email
import email.policy
import signal
import smtplib
import subprocess
import time
import uuid
from email.message import EmailMessage

from conftest import ROOT, free_port, rpc_url
from harness.api import PASSWORD, pw_hash
from harness.smtp import cert_paths, client_tls


SENDER = "someone@sender.example"


class Stack:
    """The services of one test and the domain seeded for it."""

    def __init__(self, services, db, tmp, scanner_env=None, edge_env=None, delivery_env=None):
        self.services, self.db, self.tmp = services, db, tmp
        self.domain = f"scan-{uuid.uuid4().hex[:8]}.test"
        gid = db.scalar("INSERT INTO groups (name, mode) VALUES (%s, 'local') RETURNING id", ("g-" + self.domain,))
        did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (self.domain, gid))
        for user in ("alice", "bob"):
            db.execute("INSERT INTO users (domain_id, local_part, password_hash) VALUES (%s, %s, %s)",
                       (did, user, pw_hash()))
        policy, delivery = rpc_url(), rpc_url()
        self.scanner_url = rpc_url()
        services.start("policy", {"CLEMENT_POLICY_LISTEN": policy, "CLEMENT_DB_URL": db.url,
                                  "CLEMENT_POLICY_WORKERS": "2", "CLEMENT_POLICY_ALLOW_LOOPBACK": "1",
                                  "CLEMENT_POLICY_LOG_FLUSH_MS": "100"})
        self.sigs = tmp / "clamav"
        subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(self.sigs)], check=True)
        self.scanner_env = {"CLEMENT_SCANNER_LISTEN": self.scanner_url, "CLEMENT_CLAMAV_DB": str(self.sigs),
                            "CLEMENT_SCANNER_WORKERS": "2", **(scanner_env or {})}
        self.scanner = services.start("scanner", self.scanner_env)
        self.maildir = tmp / "maildir"
        services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": delivery, "CLEMENT_DB_URL": db.url,
                                    "CLEMENT_MAILDIR_ROOT": str(self.maildir), **(delivery_env or {})})
        cert, key = cert_paths()
        for attempt in range(3):  # a free port may be taken meanwhile by another test run
            self.port, self.submission = free_port(), free_port()
            env = {"CLEMENT_SMTP_LISTEN": f"127.0.0.1:{self.port}", "CLEMENT_SMTPS_LISTEN": "",
                   "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{self.submission}", "CLEMENT_TLS_CERT": cert,
                   "CLEMENT_TLS_KEY": key,
                   "CLEMENT_HOSTNAME": "mx.clement.test", "CLEMENT_POLICY_URL": policy,
                   "CLEMENT_SCANNER_URL": self.scanner_url, "CLEMENT_DELIVERY_URL": delivery,
                   "CLEMENT_PREGREET_WAIT": "0", "CLEMENT_SHUTDOWN_GRACE_S": "3", **(edge_env or {})}
            try:
                self.edge = services.start("smtp-edge", env)
                break
            except RuntimeError:
                services.expect_dead.add(services.started[-1])
                if attempt == 2:
                    raise

    def send(self, msg, to="alice"):
        """One transaction with smtplib; (code, reply text) of the answer to DATA."""
        rcpt = f"{to}@{self.domain}"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as c:
            c.ehlo("client.sender.example")
            assert c.mail(SENDER)[0] == 250
            assert c.rcpt(rcpt)[0] == 250
            code, text = c.data(msg)
        return code, text.decode("utf-8", "replace")

    def submit(self, msg, to, user="alice"):
        """One transaction of user's own outbound mail: submission, STARTTLS, AUTH."""
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=60) as c:
            c.starttls(context=client_tls())
            c.login(f"{user}@{self.domain}", PASSWORD)
            assert c.mail(f"{user}@{self.domain}")[0] == 250
            assert c.rcpt(to)[0] == 250
            code, text = c.data(msg)
        return code, text.decode("utf-8", "replace")

    def delivered(self, user="alice"):
        d = self.maildir / self.domain / user / "new"
        return sorted(d.glob("*")) if d.exists() else []

    def message_log(self, user="alice", n=1, timeout=10.0):
        """message_log rows of user's address, once policy's batches hold n of them."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.db.query("SELECT * FROM message_log WHERE rcpt = %s ORDER BY id", (f"{user}@{self.domain}",))
            if len(rows) >= n or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)

    def stop_scanner(self, sig):
        self.scanner.kill(sig)
        if sig == signal.SIGKILL:
            self.services.expect_dead.add(self.scanner)
        else:
            assert self.scanner.proc.returncode == 0, self.scanner.log()[-2000:]


def mime(subject, attachments=(), text="Hello Alice,\nplease see the attachments.\n"):
    m = EmailMessage()
    m["From"] = f"<{SENDER}>"
    m["To"] = "<alice@example.invalid>"
    m["Subject"] = subject
    m["Message-ID"] = f"<{uuid.uuid4().hex}@sender.example>"
    m.set_content(text)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire (RFC 5321 2.3.8)

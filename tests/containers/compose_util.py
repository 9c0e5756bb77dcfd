"""What the container tests share: the stack's published addresses (CLEMENT_TEST_EXTERNAL, set by
scripts/compose-test), its compose command line (CLEMENT_COMPOSE), a mailbox of their own, what
delivery stored, and sending one message as an MTA would, retrying temporary failures."""
import os
import shlex
import smtplib
import subprocess
import time

EXTERNAL = dict(kv.split("=", 1) for kv in os.environ.get("CLEMENT_TEST_EXTERNAL", "").split(",") if "=" in kv)
COMPOSE = shlex.split(os.environ.get("CLEMENT_COMPOSE", ""))
DOMAIN = "restart.test"
RCPT = f"keep@{DOMAIN}"
MAILDIR = "/var/lib/clement/maildir"


def compose(*args, check=True):
    return subprocess.run(COMPOSE + list(args), check=check, capture_output=True, text=True, timeout=180)


def ensure_recipient():
    """A local-mode group, domain and mailbox of our own (other tests may have emptied the demo data)."""
    import psycopg2
    conn = psycopg2.connect(EXTERNAL["db"])
    conn.autocommit = True
    with conn.cursor() as c:
        c.execute("INSERT INTO groups (name, mode) VALUES ('compose-restart', 'local') ON CONFLICT (name) DO NOTHING")
        c.execute("INSERT INTO domains (name, group_id) SELECT %s, id FROM groups WHERE name = 'compose-restart' "
                  "ON CONFLICT (name) DO NOTHING", (DOMAIN,))
        c.execute("INSERT INTO users (domain_id, local_part) SELECT id, 'keep' FROM domains WHERE name = %s "
                  "ON CONFLICT (domain_id, local_part) DO NOTHING", (DOMAIN,))
    conn.close()
    # Policy learns of the new rows by NOTIFY, after its debounce and a reload: until then the
    # recipient is deferred (450, the domain list is being updated), or, if the rows were
    # committed before policy started listening, not ours. Wait for it as an admin would.
    host, port = EXTERNAL["smtp"].rsplit(":", 1)
    deadline, last = time.time() + 20, None
    while time.time() < deadline:
        try:
            with smtplib.SMTP(host, int(port), timeout=30) as s:
                s.ehlo("client.example.net")
                s.mail("sender@example.net")
                last = s.rcpt(RCPT)
                if last[0] == 250:
                    return
        except (OSError, smtplib.SMTPException) as e:
            last = (0, str(e))
        time.sleep(0.5)
    raise AssertionError(f"policy never accepted {RCPT}: {last}")


def stored(token):
    """The Maildir files delivery wrote that hold TOKEN."""
    r = compose("exec", "-T", "delivery", "grep", "-rl", "--", token, MAILDIR, check=False)
    return [line for line in r.stdout.splitlines() if line.strip()]


def message(token, rcpt=RCPT):
    return (f"From: <sender@example.net>\r\nTo: <{rcpt}>\r\nSubject: check {token}\r\n"
            f"Message-ID: <{token}@example.net>\r\n\r\nbody {token}\r\n")


def send(token, deadline_s=60, rcpt=RCPT, pause=1.0, msg=None):
    """Send one message (MSG, default message(token, rcpt)); retries temporary failures and
    dropped connections (policy cache refresh, a service coming back), as an MTA would, until
    the deadline. Returns the final (code, text) of DATA."""
    host, port = EXTERNAL["smtp"].rsplit(":", 1)
    msg = msg or message(token, rcpt)
    deadline = time.time() + deadline_s
    last = None
    while time.time() < deadline:
        try:
            with smtplib.SMTP(host, int(port), timeout=30) as s:
                s.ehlo("client.example.net")
                code, text = s.mail("sender@example.net")
                if code == 250:
                    code, text = s.rcpt(rcpt)
                if code == 250:
                    code, text = s.data(msg.encode())
                last = (code, text)
                if code == 250 or 500 <= code < 600:
                    return last
        except (OSError, smtplib.SMTPException) as e:
            last = (0, str(e))
        time.sleep(pause)
    return last

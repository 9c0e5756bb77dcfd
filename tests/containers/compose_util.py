"""What the container tests share: the stack's published addresses (CLEMENT_TEST_EXTERNAL, set by
scripts/compose-test) and sending one message as an MTA would, retrying temporary failures."""
import os
import smtplib
import time

EXTERNAL = dict(kv.split("=", 1) for kv in os.environ.get("CLEMENT_TEST_EXTERNAL", "").split(",") if "=" in kv)
DOMAIN = "restart.test"
RCPT = f"keep@{DOMAIN}"


def message(token, rcpt=RCPT):
    return (f"From: <sender@example.net>\r\nTo: <{rcpt}>\r\nSubject: check {token}\r\n"
            f"Message-ID: <{token}@example.net>\r\n\r\nbody {token}\r\n")


def send(token, deadline_s=60, rcpt=RCPT, pause=1.0):
    """Send one message; retries temporary failures and dropped connections (policy cache
    refresh, a service coming back), as an MTA would, until the deadline. Returns the final
    (code, text) of DATA. (test_compose_restart.py and test_scale.py send with it.)"""
    host, port = EXTERNAL["smtp"].rsplit(":", 1)
    msg = message(token, rcpt)
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

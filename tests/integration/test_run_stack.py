"""`make run` (scripts/run-stack) as a supervisor: a service that dies is started again with a
growing delay while the others keep serving, and Ctrl-C or SIGTERM to the terminal's process
group stops everything, the private PostgreSQL included.

Each test starts the real stack the way a user does -- its own PostgreSQL cluster, migrations,
demo data, every service and smtp-sink -- in a temporary CLEMENT_RUN_VAR, on ports from
free_port(), in a new session so that signals reach its process group as a terminal's would.
"""
import os
import pathlib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading

import pytest

from conftest import BUILD, ROOT, free_port, http_get, sanitizer_env, wait_for
from harness.dns import DnsServer
from harness.smtp import Raw, client_tls, local_only

pytestmark = local_only

START_TIMEOUT = 180  # initdb, migrations, five argon2 hashes and the sanitizer build's start


class RunStack:
    """One `scripts/run-stack` (or `make run`) in its own session, its output collected."""

    def __init__(self, var, argv=None, extra_env=None, sigint_ignored=False):
        self.var = pathlib.Path(var)
        p = {k: free_port() for k in ("pg", "smtp", "smtps", "subm", "web", "sink", "policy", "scanner",
                                      "delivery", "banstats", "h_edge", "h_policy", "h_scanner",
                                      "h_delivery", "h_banstats", "h_admin", "rspamd", "rspamd_ctl", "redis")}
        self.ports = p
        env = dict(os.environ, **sanitizer_env())
        env.update({
            "CLEMENT_BUILD": str(BUILD), "CLEMENT_RUN_VAR": str(self.var), "PG_FSYNC": "off",
            "CLEMENT_RUN_PG_PORT": str(p["pg"]), "CLEMENT_RUN_SMTP_PORT": str(p["smtp"]),
            "CLEMENT_RUN_SMTPS_PORT": str(p["smtps"]), "CLEMENT_RUN_SUBMISSION_PORT": str(p["subm"]),
            "CLEMENT_RUN_WEB_PORT": str(p["web"]), "CLEMENT_RUN_SINK_PORT": str(p["sink"]),
            "CLEMENT_RUN_RSPAMD_PORT": str(p["rspamd"]), "CLEMENT_RUN_RSPAMD_CONTROLLER_PORT": str(p["rspamd_ctl"]),
            "CLEMENT_RUN_REDIS_PORT": str(p["redis"]),
        })
        for svc in ("policy", "scanner", "delivery", "banstats"):
            env[f"CLEMENT_{svc.upper()}_LISTEN"] = f"tcp://127.0.0.1:{p[svc]}"
        for var_, key in (("EDGE", "h_edge"), ("POLICY", "h_policy"), ("SCANNER", "h_scanner"),
                          ("DELIVERY", "h_delivery"), ("BANSTATS", "h_banstats"), ("ADMIN", "h_admin")):
            env[f"CLEMENT_{var_}_HEALTH_LISTEN"] = f"127.0.0.1:{p[key]}"
        env.update(extra_env or {})
        self.proc = subprocess.Popen(argv or [str(ROOT / "scripts/run-stack")], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, text=True,
                                     preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
                                     if sigint_ignored else None)
        self.pgid = self.proc.pid
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not wait_for(lambda: "Press Ctrl-C to stop." in self.output() or self.proc.poll() is not None,
                        START_TIMEOUT) or self.proc.poll() is not None:
            self.kill()
            pytest.fail("the stack did not start:\n" + self.output()[-3000:])
        self.postmaster = int((self.var / "pg/postmaster.pid").read_text().split()[0])

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self):
        return "".join(self.lines)

    def supervisor_pid(self):
        """run-stack's pid: the process itself, or `make run`'s child that runs it."""
        for pid in group_pids(self.pgid):
            if "scripts/run-stack" in cmdline(pid):
                return pid
        return None

    def services(self):
        """{name: pid} of the supervised processes (children of run-stack)."""
        sup = self.supervisor_pid()
        out = {}
        for pid in children(sup) if sup else []:
            exe = os.path.basename(cmdline(pid).split("\0")[0])
            if exe.startswith("clement-") or exe == "smtp-sink":
                out[exe] = pid
        return out

    def health(self, key):
        return http_get(f"http://127.0.0.1:{self.ports[key]}/healthz")[0]

    def kill(self):
        """After a failure: whatever of the stack is left, PostgreSQL included, goes."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for pid in group_pids(self.pgid):
            os.kill(pid, signal.SIGKILL)
        subprocess.run([str(ROOT / "scripts/pg-local"), "stop", str(self.var / "pg")], check=False)


@pytest.fixture
def var():
    """The stack's state directory; in /tmp itself, as PostgreSQL's user (when root) must reach it."""
    tmp = tempfile.mkdtemp(prefix="clement-run-")
    os.chmod(tmp, 0o755)
    yield pathlib.Path(tmp) / "var"
    shutil.rmtree(tmp, ignore_errors=True)


def cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def stat_fields(pid):
    """(ppid, pgid) of a live, non-zombie process, else None."""
    try:
        s = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return None if f[0] == "Z" else (int(f[1]), int(f[2]))


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children(ppid):
    return [p for p in all_pids() if (stat_fields(p) or (None,))[0] == ppid]


def group_pids(pgid):
    return [p for p in all_pids() if (stat_fields(p) or (None, None))[1] == pgid]


def alive(pid):
    return stat_fields(pid) is not None


def greeting(port):
    """The code of the SMTP greeting on port."""
    s = smtplib.SMTP(timeout=10)
    try:
        return s.connect("127.0.0.1", port)[0]
    finally:
        s.close()


def send(port, subject):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.elsewhere.test")
        s.mail("friend@elsewhere.test")
        s.rcpt("alice@example.test")
        code, text = s.data(f"From: friend@elsewhere.test\r\nTo: alice@example.test\r\n"
                            f"Subject: {subject}\r\n\r\nHello.\r\n".encode())
        return code, text.decode()


def no_sanitizer_report(var):
    for log in (pathlib.Path(var) / "log").glob("*.log"):
        text = log.read_text(errors="replace")
        assert "Sanitizer" not in text and "runtime error:" not in text, f"{log.name}:\n{text[-3000:]}"


def stop_group(st, sig):
    """Send sig to the whole process group, as the terminal does for Ctrl-C (SIGINT) or a
    `kill -TERM -PGID`; returns the exit status of the group's leader."""
    os.killpg(st.pgid, sig)
    try:
        return st.proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        st.kill()
        pytest.fail(f"the stack did not stop within 90 s of {sig.name}:\n" + st.output()[-3000:])


def assert_all_gone(st, service_pids):
    assert wait_for(lambda: not group_pids(st.pgid), 10), \
        f"left running: {[cmdline(p).replace(chr(0), ' ') for p in group_pids(st.pgid)]}"
    for name, pid in service_pids.items():
        assert not alive(pid), f"{name} (pid {pid}) still runs"
    assert wait_for(lambda: not alive(st.postmaster), 10), f"PostgreSQL (pid {st.postmaster}) still runs"
    assert not (st.var / "pg/postmaster.pid").exists()
    assert "Stopped." in st.output()


def test_a_killed_service_is_restarted_with_a_growing_delay_while_the_others_serve(var):
    st = RunStack(var)
    try:
        before = st.services()
        assert set(before) == {"clement-policy", "clement-scanner", "clement-delivery", "clement-banstats",
                               "clement-admin-api", "clement-smtp-edge", "smtp-sink"}, before

        # delivery dies: the edge still greets, the web UI still answers, and delivery comes back
        # on its own; then a message is accepted and lands in the Maildir.
        os.kill(before["clement-delivery"], signal.SIGKILL)
        assert greeting(st.ports["smtp"]) == 220
        assert st.health("h_admin") == 200
        assert wait_for(lambda: re.search(r"clement-delivery \(pid \d+\) was killed by signal KILL after \d+ s; "
                                          r"restarting it in 1 s", st.output()), 10), st.output()[-2000:]
        assert wait_for(lambda: st.services().get("clement-delivery", before["clement-delivery"])
                        != before["clement-delivery"] and st.health("h_delivery") == 200, 30), st.output()[-2000:]
        assert "clement-delivery restarted (pid" in st.output()
        # The edge answers 451 until its RPC client has reconnected (nng's redial); a sender retries.
        replies = []
        assert wait_for(lambda: replies.append(send(st.ports["smtp"], "after the restart")) or replies[-1][0] == 250,
                        30), replies[-3:]
        assert all(code in (250, 451) for code, _ in replies), replies
        new = st.var / "maildir/example.test/alice/new"
        assert wait_for(lambda: new.is_dir() and any(b"Subject: after the restart" in f.read_bytes()
                                                     for f in new.iterdir()), 15)
        # make run's private Rspamd judged it (issue 18): our Authentication-Results is on top.
        got = [f.read_bytes() for f in new.iterdir() if b"Subject: after the restart" in f.read_bytes()][0]
        assert b"Authentication-Results: clement.localhost;" in got, got[:800]
        # The local demo group's outbound smart host is the stack's smtp-sink (demo.sql): alice's
        # submission to another domain gets the 250 only after the sink's own (issue 20).
        pw = dict(l.split(" ", 1) for l in (st.var / "demo-credentials").read_text().splitlines())["alice"]
        with smtplib.SMTP("127.0.0.1", st.ports["subm"], timeout=30) as s:
            s.starttls(context=client_tls())
            s.login("alice@example.test", pw)
            assert s.sendmail("alice@example.test", ["friend@elsewhere.test"],
                              b"From: alice@example.test\r\nTo: friend@elsewhere.test\r\nSubject: out\r\n\r\nHi.\r\n") == {}

        # The SMTP front itself dies: it is back on the same port.
        os.kill(before["clement-smtp-edge"], signal.SIGKILL)
        assert wait_for(lambda: st.services().get("clement-smtp-edge", before["clement-smtp-edge"])
                        != before["clement-smtp-edge"] and st.health("h_edge") == 200, 30), st.output()[-2000:]
        assert greeting(st.ports["smtp"]) == 220

        # banstats dies three times in a row: 1 s, 2 s, then 4 s and the message that says so.
        for n, delay in enumerate((1, 2, 4), 1):
            pid = wait_for(lambda: st.services().get("clement-banstats"), 30)
            assert pid, st.output()[-2000:]
            os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda: f"clement-banstats (pid {pid}) was killed by signal KILL after" in st.output(), 10)
            assert re.search(rf"clement-banstats \(pid {pid}\) was killed by signal KILL after \d+ s; "
                             rf"restarting it in {delay} s", st.output()), st.output()[-2000:]
        assert "clement-banstats keeps failing (3 times in a row)" in st.output()
        assert "Last lines of" in st.output() and "svc=banstats" in st.output()
        log = (st.var / "log/run-stack.log").read_text()
        assert "clement-banstats keeps failing (3 times in a row)" in log
        # ... and it is back after the 4 s, with every other service untouched.
        assert wait_for(lambda: st.health("h_banstats") == 200 and st.services().get("clement-banstats"), 20)
        after = st.services()
        for name in ("clement-policy", "clement-scanner", "clement-admin-api", "smtp-sink"):
            assert after[name] == before[name], name

        services = st.services()
        assert stop_group(st, signal.SIGTERM) == 0, st.output()[-2000:]
        assert_all_gone(st, services)
        no_sanitizer_report(st.var)
    finally:
        st.kill()


@pytest.mark.parametrize("sig,again", [(signal.SIGINT, "group"), (signal.SIGTERM, "run-stack")],
                         ids=["ctrl-c-twice", "sigterm-forwarded-by-make"])
def test_make_run_stops_everything_on_a_signal_even_when_a_second_one_comes(var, sig, again):
    """`make run` as a terminal runs it: the signal reaches make, run-stack and the services at
    once. A second one arrives while the stack is stopping: Ctrl-C pressed again, or the SIGTERM
    that make forwards to its child. Neither may cut the stop short (PostgreSQL was left running)."""
    make = ["make", "--no-print-directory", "-s", "SAN=1", f"BUILD={os.path.relpath(BUILD, ROOT)}", "run"]
    st = RunStack(var, argv=make)
    try:
        services = st.services()
        assert len(services) == 7, services
        supervisor = st.supervisor_pid()
        os.killpg(st.pgid, sig)
        assert wait_for(lambda: "Stopping Clement..." in st.output(), 30), st.output()[-2000:]
        try:
            if again == "group":
                os.killpg(st.pgid, sig)
            else:
                os.kill(supervisor, sig)
        except ProcessLookupError:
            pass  # already gone: nothing left to cut short
        assert wait_for(lambda: not alive(supervisor), 90), st.output()[-2000:]
        st.proc.wait(timeout=30)
        assert_all_gone(st, services)
        no_sanitizer_report(st.var)
    finally:
        st.kill()


def test_ctrl_c_stops_the_stack_even_when_it_started_with_sigint_ignored(var):
    """A script's background job, or a CI runner, starts the stack with SIGINT ignored, and a
    shell cannot trap a signal ignored at its start: the services (their own handlers) stopped
    on the group's SIGINT while run-stack, deaf to it, started them all again. run-stack now
    starts itself over with SIGINT at its default, so one Ctrl-C stops everything."""
    st = RunStack(var, sigint_ignored=True)
    try:
        services = st.services()
        assert len(services) == 7, services
        supervisor = st.supervisor_pid()
        sigign = next(l for l in open(f"/proc/{supervisor}/status") if l.startswith("SigIgn:")).split()[1]
        assert not (int(sigign, 16) >> 1) & 1, "run-stack still ignores SIGINT"
        os.killpg(st.pgid, signal.SIGINT)
        assert wait_for(lambda: "Stopping Clement..." in st.output(), 30), st.output()[-2000:]
        assert wait_for(lambda: not alive(supervisor), 90), st.output()[-2000:]
        st.proc.wait(timeout=30)
        assert "restarting it" not in st.output(), st.output()[-2000:]
        assert_all_gone(st, services)
        no_sanitizer_report(st.var)
    finally:
        st.kill()


def test_make_run_passes_the_reputation_settings_to_the_services(var):
    """An admin tries DNSBLs on the demo stack (issue 17): `CLEMENT_DNSBL_SITES=... make run`
    with their own resolver. The settings reach smtp-edge (which asks the list through that
    resolver) and policy (which refuses at RCPT, naming the list); the banner says the checks
    are on without printing the lists (a zone may carry a key)."""
    dns = DnsServer({"2.0.0.127.bl.test": [("A", "127.0.0.2")]}).start()
    st = RunStack(var, extra_env={"CLEMENT_DNSBL_SITES": "bl.test*3", "CLEMENT_DNS_RESOLVER": dns.spec,
                                  "CLEMENT_PREGREET_WAIT": "0"})
    try:
        assert re.search(r"on: 1 list\(s\), resolver " + re.escape(dns.spec) + ", action enforce", st.output()), \
            st.output()[-2000:]
        assert "bl.test" not in st.output()

        def rcpt(src):
            c = Raw.__new__(Raw)
            c.sock = socket.create_connection(("127.0.0.1", st.ports["smtp"]), timeout=30, source_address=(src, 0))
            c.buf = b""
            try:
                assert c.reply()[0] == 220
                assert c.cmd("EHLO client.elsewhere.test")[0] == 250
                assert c.cmd("MAIL FROM:<friend@elsewhere.test>")[0] == 250
                return c.cmd("RCPT TO:<alice@example.test>")
            finally:
                c.close()

        code, text = rcpt("127.0.0.2")  # RFC 5782's test point: listed
        assert code == 550 and "5.7.1" in text and "127.0.0.2 is listed by bl.test" in text, text
        assert "2.0.0.127.bl.test" in dns.questions("2.0.0.127.bl.test")
        assert rcpt("127.0.0.1")[0] == 250  # never listed
        services = st.services()
        assert stop_group(st, signal.SIGTERM) == 0, st.output()[-2000:]
        assert_all_gone(st, services)
        no_sanitizer_report(st.var)
    finally:
        st.kill()
        dns.stop()

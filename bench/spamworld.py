"""bench/spamworld (issue 19): the spam world of bench/spamworld_world.py driven against
Clement's private stack and, in the same run, against the anchor (a private Debian Postfix
with postscreen, recipient checks, Rspamd as milter and clamav-milter). Reports, per class and
in total, where each message was refused in-session (greeting, HELO, MAIL, RCPT, DATA, end of
DATA; 5xx and 4xx apart), accepted (inbox, tagged, quarantined) or lost, and the time from
connect to the final reply; then one headline line per system. Spam "refused in-session" is a
5xx, or a 4xx that the retry (10 s later) met again; spam accepted on its retry is a miss.

Everything listens on and talks to 127.0.0.0/8. The world's DNS answers on 127.0.53.1:53
(UDP and TCP; WORLD_DNS to change it): Postfix's resolver (libc) cannot be given a port, so the
anchor's chrooted smtpd and dnsblog read $queue_directory/etc/resolv.conf, written here with
`nameserver 127.0.53.1`; Clement gets CLEMENT_DNS_RESOLVER=127.0.53.1:53 and Rspamd
`nameserver = ["127.0.53.1:53"]`. Binding port 53 needs root (or CAP_NET_BIND_SERVICE).

Settings (environment): SYSTEMS (default "clement postfix"; also clement-tuned: the group settings
docs/EFFECTIVENESS.md recommends), CONCURRENCY (12),
CLEMENT_BUILD (build), SPAMWORLD_KEEP=1 keeps the temporary directories. Clement's services
also take any CLEMENT_* setting from the environment (CLEMENT_BULK_DEFER_CLIENTS=0 ...).
"""
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import stack  # noqa: E402  (sets up the integration harness' path)
from conftest import free_port, wait_port  # noqa: E402

try:
    import dnslib
    import dnslib.server
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import dnslib
    import dnslib.server

import spamworld_world as W  # noqa: E402

ROOT = stack.ROOT
DNS_ADDR = os.environ.get("WORLD_DNS", "127.0.53.1")
CONC = int(os.environ.get("CONCURRENCY", "12"))
KEEP = os.environ.get("SPAMWORLD_KEEP") == "1"
STAGES = ["greet", "helo", "mail", "rcpt", "data", "eod"]
SPAM_RE = re.compile(rb"^X-Spam(?:-Flag|-Status)?:\s*(yes|true)", re.I | re.M)


# ---- the world's DNS ---------------------------------------------------------------------
class WorldDns(dnslib.server.BaseResolver):
    def __init__(self, records, soa_on_nxdomain=False):
        self.records = records
        self.servers = []
        self.count = 0
        self.soa_on_nxdomain = soa_on_nxdomain

    def resolve(self, request, handler):
        name = str(request.q.qname).rstrip(".").lower()
        qtype = dnslib.QTYPE[request.q.qtype]
        self.count += 1
        reply = request.reply()
        recs = self.records.get(name)
        if recs is None:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
            if self.soa_on_nxdomain:  # lets a caching resolver in front keep the answer (RFC 2308)
                reply.add_auth(dnslib.RR(".", dnslib.QTYPE.SOA, ttl=300, rdata=dnslib.SOA(
                    "ns.world.", "hostmaster.world.", (1, 3600, 600, 86400, 300))))
            return reply
        mk = {"A": dnslib.A, "PTR": dnslib.PTR, "MX": dnslib.MX,
              "TXT": lambda v: dnslib.TXT([v[i:i + 255] for i in range(0, len(v), 255)])}
        for t, v in recs:
            if t == qtype:
                reply.add_answer(dnslib.RR(request.q.qname, getattr(dnslib.QTYPE, t), rdata=mk[t](v), ttl=300))
        return reply

    def start(self, address=None):
        """Serve on address (default DNS_ADDR), port 53, UDP and TCP."""
        quiet = dnslib.server.DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data")
        for tcp in (False, True):
            s = dnslib.server.DNSServer(self, address=address or DNS_ADDR, port=53, tcp=tcp, logger=quiet)
            s.server.daemon_threads = True
            s.start_thread()
            self.servers.append(s)
        return self

    def stop(self):
        for s in self.servers:
            s.stop()
            s.server.server_close()


# ---- Rspamd (one instance: normal worker for Clement, milter proxy for Postfix) ---------
OFF_MODULES = ["fuzzy_check", "rbl", "surbl", "phishing", "url_redirector", "asn", "neural", "reputation",
               "rspamd_update", "emails", "mx_check", "dcc", "p0f", "spamassassin", "bimi", "clickhouse",
               "elastic", "metadata_exporter", "history_redis", "external_services", "antivirus", "greylist",
               "ratelimit", "replies", "dkim_signing", "arc", "trie", "whitelist", "url_reputation", "aws_s3",
               "http_headers"]


class Rspamd:
    def __init__(self, tmp):
        self.user = "_rspamd" if os.geteuid() == 0 else None
        self.root = pathlib.Path(tmp) / "rspamd"
        self.proc = None

    def start(self):
        for _ in range(3):  # a free port may be taken meanwhile (busy machine)
            if self._start():
                return self
            self.stop()
        raise RuntimeError("rspamd did not start: " + (self.root / "stdout.log").read_text(errors="replace")[-2000:])

    def _ping(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1) as r:
                return r.read().strip() == b"pong"
        except Exception:  # noqa: BLE001 (not Rspamd, or not yet)
            return False

    def _start(self):
        conf = self.root / "conf"
        for sub in ("local.d", "db", "run", "log"):
            (conf / sub).mkdir(parents=True, exist_ok=True)
        self.port, self.milter_port = free_port(), free_port()
        (conf / "rspamd.conf").write_text(f"""
.include "$CONFDIR/common.conf"
options {{ pidfile = "$RUNDIR/rspamd.pid"; .include "$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc" }}
logging {{ type = "file"; filename = "$LOGDIR/rspamd.log"; level = "notice"; }}
worker "normal" {{ bind_socket = "127.0.0.1:{self.port}"; count = 1; .include "$CONFDIR/worker-normal.inc" }}
worker "rspamd_proxy" {{ bind_socket = "127.0.0.1:{self.milter_port}"; count = 1; milter = yes; timeout = 120s;
  upstream "local" {{ default = yes; self_scan = yes; }} }}
""")
        local = conf / "local.d"
        (local / "options.inc").write_text(f'dns {{ nameserver = ["{DNS_ADDR}:53"]; timeout = 1s; retransmits = 2; }}\n'
                                           'local_addrs = [];\nhs_cache_dir = "$DBDIR";\n')
        for m in OFF_MODULES:
            (local / f"{m}.conf").write_text("enabled = false;\n")
        # Rspamd skips SPF, DKIM, DMARC and the host checks for loopback clients unless told
        # otherwise, and every sender of the world is on loopback.
        for m in ("spf", "dkim", "dmarc", "hfilter", "once_received"):
            (local / f"{m}.conf").write_text("check_local = true;\n")
        if self.user:
            pw = pwd.getpwnam(self.user)
            for p in [self.root, *self.root.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
        cmd = ["rspamd", "-f", "-c", str(conf / "rspamd.conf"), "--var", f"LOCAL_CONFDIR={conf}",
               "--var", f"DBDIR={conf / 'db'}", "--var", f"RUNDIR={conf / 'run'}", "--var", f"LOGDIR={conf / 'log'}"]
        if self.user:
            cmd += ["-u", self.user, "-g", self.user]
        self.proc = subprocess.Popen(cmd, stdout=open(self.root / "stdout.log", "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._ping():
                return wait_port(self.milter_port, timeout=5)
            time.sleep(0.3)
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# ---- clamd + clamav-milter for the anchor -------------------------------------------------
class ClamavMilter:
    def __init__(self, tmp, sigs):
        self.dir = pathlib.Path(tmp) / "clamav"
        self.sigs = sigs
        self.procs = []

    def start(self):
        self.dir.mkdir()
        sock = self.dir / "clamd.sock"
        (self.dir / "clamd.conf").write_text(f"Foreground yes\nLocalSocket {sock}\nDatabaseDirectory {self.sigs}\n"
                                             f"LogFile {self.dir}/clamd.log\nPidFile {self.dir}/clamd.pid\n")
        self.port = free_port()
        (self.dir / "milter.conf").write_text(f"Foreground yes\nMilterSocket inet:{self.port}@127.0.0.1\n"
                                              f"ClamdSocket unix:{sock}\nOnInfected Reject\nOnFail Defer\n"
                                              f"AddHeader No\nLogFile {self.dir}/milter.log\n"
                                              f"PidFile {self.dir}/milter.pid\n")
        self.procs.append(subprocess.Popen(["clamd", "-c", str(self.dir / "clamd.conf")], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True))
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.2)
        self.procs.append(subprocess.Popen(["clamav-milter", "-c", str(self.dir / "milter.conf")],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True))
        if not wait_port(self.port, timeout=30):
            raise RuntimeError("clamav-milter did not start (see %s)" % self.dir)
        return self

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


# ---- the systems under test ---------------------------------------------------------------
class Clement:
    """Clement with its defaults; tuned=True adds the group settings docs/EFFECTIVENESS.md
    recommends (DMARC p=reject enforced, quarantine from Rspamd's add-header score 6)."""

    def __init__(self, rspamd, tuned=False):
        self.rspamd, self.tuned = rspamd, tuned
        self.name = "Clement-tuned" if tuned else "Clement"
        self.features = []

    def start(self):
        # Every sender of the world is on loopback, which Clement refuses by default (policy).
        env = {"CLEMENT_PREGREET_WAIT": "1000", "CLEMENT_NEVER_BAN": "127.0.0.1/32",
               "CLEMENT_POLICY_ALLOW_LOOPBACK": "1",
               "CLEMENT_DNSBL_SITES": W.SITES, "CLEMENT_DNSBL_THRESHOLD": str(W.THRESHOLD),
               "CLEMENT_DNS_RESOLVER": f"{DNS_ADDR}:53"}
        if self.rspamd:
            env["CLEMENT_RSPAMD_URL"] = f"http://127.0.0.1:{self.rspamd.port}"

        def seed(pg):
            for u in W.USERS:
                if u != "u":
                    pg.execute("INSERT INTO users (domain_id, local_part) VALUES (1, %s)", (u,))
            pg.execute("INSERT INTO directives (user_id, sender_pattern, action) SELECT id, %s, 'accept' FROM users "
                       "WHERE local_part = 'alice'", (W.FRIEND,))
            if self.tuned:
                pg.execute("UPDATE groups SET dmarc_enforce = true, spam_quarantine_score = 6")
        self.stack = stack.Stack(extra_env=env, seed=seed).start()
        self.port = self.stack.smtp_port
        bins = ROOT / os.environ["CLEMENT_BUILD"] / "bin"
        edge, scanner = (bins / "clement-smtp-edge").read_bytes(), (bins / "clement-scanner").read_bytes()
        self.features = [f for f, key, b in (("DNSBL", b"CLEMENT_DNSBL_SITES", edge),
                                             ("Rspamd", b"CLEMENT_RSPAMD_URL", scanner)) if key in b]
        return self

    def describe(self):
        on = ", ".join(self.features) or "neither DNSBL nor Rspamd on main yet"
        tuned = "; group: DMARC p=reject enforced, quarantine from score 6" if self.tuned else ""
        return f"{self.name} (defaults{tuned}; pregreet 1 s; unknown recipients; ClamAV; features read: {on})"

    def landed(self):
        """token -> 'inbox' | 'tagged' | 'quarantine' for everything stored."""
        found = {}
        for p in self.stack.maildir.rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                for t in re.findall(rb"X-World-Token: (SW-[\w.-]+)", data)[:1]:
                    found[t.decode()] = "tagged" if SPAM_RE.search(data.split(b"\r\n\r\n", 1)[0]) else "inbox"
        for row in self.stack.pg.query("SELECT message FROM quarantine"):
            for t in re.findall(rb"X-World-Token: (SW-[\w.-]+)", bytes(row["message"]))[:1]:
                found[t.decode()] = "quarantine"
        return found

    def settle(self):
        time.sleep(2)  # 250 means stored; the quarantine rows are committed before it

    def stop(self):
        if KEEP:  # the processes stop; the directory (logs, Maildir) stays
            problems = self.stack.services.stop_all()
            self.stack.pg.stop()
            if self.stack.scan_tmp:
                shutil.rmtree(self.stack.scan_tmp, ignore_errors=True)
            print(f"spamworld: kept {self.stack.tmp}")
        else:
            problems = self.stack.stop()
        for p in problems:
            print("clement:", p[:400], file=sys.stderr)


class Postfix:
    name = "Postfix"

    def __init__(self, tmp, rspamd, clam):
        self.dir = pathlib.Path(tmp) / "postfix"
        self.rspamd, self.clam = rspamd, clam

    def describe(self):
        m = ["postscreen (same lists and weights, threshold %d, pregreet+DNSBL enforce)" % W.THRESHOLD,
             "helo/sender/recipient checks", "unknown recipients"]
        if self.rspamd:
            m.append("Rspamd milter (same config)")
        if self.clam:
            m.append("clamav-milter")
        return "Postfix " + ", ".join(m)

    def start(self):
        d = self.dir
        for sub in ("conf", "queue/etc", "data", "maildir"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d / "data", "postfix")
        shutil.chown(d / "maildir", "nobody")
        # The chrooted smtpd and dnsblog read the chroot's resolv.conf: the world's DNS.
        (d / "queue/etc/resolv.conf").write_text(f"nameserver {DNS_ADDR}\noptions timeout:2 attempts:2\n")
        (d / "queue/etc/hosts").write_text("127.0.0.1 localhost\n")
        (d / "queue/etc/nsswitch.conf").write_text("hosts: files dns\nservices: files\n")
        for f in ("services", "host.conf", "localtime"):
            if os.path.exists(f"/etc/{f}"):
                shutil.copy(f"/etc/{f}", d / "queue/etc" / f)
        self.port = free_port()
        master = (pathlib.Path("/etc/postfix/master.cf")).read_text()
        master = re.sub(r"(?m)^smtp +inet .*$", f"127.0.0.1:{self.port} inet n - y - 1 postscreen", master)
        master = re.sub(r"(?m)^#(smtpd|dnsblog|tlsproxy)( +(pass|unix) .*)$", r"\1\2", master)
        (d / "conf/master.cf").write_text(master)
        shutil.copy("/etc/postfix/dynamicmaps.cf", d / "conf/") if os.path.exists("/etc/postfix/dynamicmaps.cf") \
            else None
        (d / "conf/vmailbox").write_text("".join(f"{u}@{W.RCPT_DOMAIN} {u}/Maildir/\n" for u in W.USERS) +
                                         f"postmaster@{W.RCPT_DOMAIN} u/Maildir/\n")
        milters = []
        if self.rspamd:
            milters.append(f"inet:127.0.0.1:{self.rspamd.milter_port}")
        if self.clam:
            milters.append(f"inet:127.0.0.1:{self.clam.port}")
        (d / "conf/main.cf").write_text(f"""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
myhostname = anchor.{W.RCPT_DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
virtual_mailbox_domains = {W.RCPT_DOMAIN}
virtual_mailbox_base = {d}/maildir
virtual_mailbox_maps = texthash:{d}/conf/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain
smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unauth_destination,
  reject_unknown_reverse_client_hostname
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
postscreen_access_list = permit_mynetworks
postscreen_dnsbl_sites = {W.SITES}
postscreen_dnsbl_threshold = {W.THRESHOLD}
postscreen_dnsbl_allowlist_threshold = -1
postscreen_dnsbl_action = enforce
postscreen_greet_action = enforce
postscreen_cache_map = btree:$data_directory/postscreen_cache
smtpd_milters = {", ".join(milters)}
milter_default_action = tempfail
milter_protocol = 6
default_process_limit = 100
maillog_file_prefixes = /var, /dev/stdout, {d}
maillog_file = {d}/maillog
biff = no
""")
        subprocess.run(["postfix", "-c", str(d / "conf"), "start"], capture_output=True)
        if not wait_port(self.port, timeout=20):
            raise RuntimeError(f"Postfix did not start; see {d}/maillog")
        return self

    def settle(self):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            q = subprocess.run(["postqueue", "-c", str(self.dir / "conf"), "-j"], capture_output=True, text=True)
            if not q.stdout.strip():
                return
            time.sleep(1)

    def landed(self):
        found = {}
        for p in (self.dir / "maildir").rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                for t in re.findall(rb"X-World-Token: (SW-[\w.-]+)", data)[:1]:
                    found[t.decode()] = "tagged" if SPAM_RE.search(data.split(b"\n\n", 1)[0]) else "inbox"
        return found

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.dir / "conf"), "stop"], capture_output=True)


# ---- the senders ---------------------------------------------------------------------------
class Reply(Exception):
    def __init__(self, stage, code, text):
        self.stage, self.code, self.text = stage, code, text


def session(port, m, timeout=120):
    """One SMTP session of message m from its own source address. Returns (outcome, stage,
    code, text, seconds): outcome 'accepted' or 'refused'; code 0 = closed without a reply."""
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(timeout)
    stage = "greet"
    try:
        s.bind((m.ip, 0))
        s.connect(("127.0.0.1", port))
        f = s.makefile("rb")

        pushed = []

        def reply(stage):
            # A reply ends at its last line, or where a line with another code starts the next
            # one: postscreen answers a pregreeting client's EHLO after its "220-" line alone.
            lines = []
            while True:
                line = pushed.pop() if pushed else f.readline()
                if not line:
                    raise Reply(stage, 0, "connection closed")
                if lines and line[:3] != lines[0][:3].encode():
                    pushed.append(line)
                    break
                lines.append(line.decode(errors="replace").rstrip())
                if len(line) < 4 or line[3:4] != b"-":
                    break
            code = int(lines[-1][:3]) if lines[-1][:3].isdigit() else 0
            return code, " ".join(lines)[:200]

        def cmd(stage, line, ok=(250,)):
            s.sendall(line.encode() + b"\r\n")
            code, text = reply(stage)
            if code not in ok:
                raise Reply(stage, code, text)
            return code

        if m.pregreet:
            s.sendall(f"EHLO {m.helo}\r\n".encode())
        code, text = reply("greet")
        if code != 220:
            raise Reply("greet", code, text)
        if m.pregreet:
            code, text = reply("helo")
            if code != 250:
                raise Reply("helo", code, text)
        else:
            cmd("helo", f"EHLO {m.helo}")
        cmd("mail", f"MAIL FROM:<{m.mail_from}>")
        ok, last = 0, None
        for r in m.rcpts:
            s.sendall(f"RCPT TO:<{r}>\r\n".encode())
            code, text = reply("rcpt")
            if code == 250:
                ok += 1
            else:
                last = (code, text)
        if not ok:
            raise Reply("rcpt", *last)
        cmd("data", "DATA", ok=(354,))
        data = m.data.replace(b"\r\n.", b"\r\n..")
        s.sendall(data + b".\r\n")
        code, text = reply("eod")
        if code != 250:
            raise Reply("eod", code, text)
        dt = time.monotonic() - t0
        try:
            s.sendall(b"QUIT\r\n")
            reply("quit")
        except (OSError, Reply):
            pass
        return "accepted", "eod", 250, text, dt
    except Reply as e:
        return "refused", e.stage, e.code, e.text, time.monotonic() - t0
    except OSError as e:
        return "refused", stage, 0, f"socket error: {e}", time.monotonic() - t0
    finally:
        s.close()


def drive(system, messages):
    """Every message once, CONC sessions at a time; then each message refused with a 4xx (or
    a closed connection) once more after 10 s, as a patient MTA would (a first retry)."""
    res = {}
    with ThreadPoolExecutor(CONC) as ex:
        for m, r in zip(messages, ex.map(lambda m: session(system.port, m), messages)):
            res[m.token] = {"first": r}
    again = [m for m in messages if res[m.token]["first"][0] == "refused" and res[m.token]["first"][2] < 500]
    if again:
        time.sleep(10)
        with ThreadPoolExecutor(CONC) as ex:
            for m, r in zip(again, ex.map(lambda m: session(system.port, m), again)):
                res[m.token]["retry"] = r
    system.settle()
    landed = system.landed()
    for m in messages:
        res[m.token]["landed"] = landed.get(m.token)
    return res


# ---- the report --------------------------------------------------------------------------
def pct(a, b):
    return f"{100.0 * a / b:.1f}" if b else "-"


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def tally(msgs, res):
    t = {"n": len(msgs), "5": {s: 0 for s in STAGES}, "4": {s: 0 for s in STAGES}, "inbox": 0, "tagged": 0,
         "quarantine": 0, "lost": 0, "retry_ok": 0, "times": []}
    for m in msgs:
        r = res[m.token]
        out, stage, code, _, dt = r["first"]
        t["times"].append(dt)
        if out == "refused":
            t["5" if code >= 500 else "4"][stage] += 1
            if "retry" in r and r["retry"][0] == "accepted":
                t["retry_ok"] += 1
        elif r["landed"]:
            t[r["landed"]] += 1
        else:
            t["lost"] += 1
    t["ref5"] = sum(t["5"].values())
    t["ref4"] = sum(t["4"].values())
    return t


def row(label, t):
    st = lambda d: "/".join(str(d[s]) for s in STAGES)  # noqa: E731
    return (f"| {label} | {t['n']} | {t['ref5']} ({st(t['5'])}) | {t['ref4']} ({st(t['4'])}) | {t['retry_ok']} | "
            f"{t['inbox']} | {t['tagged']} | {t['quarantine']} | {t['lost']} | "
            f"{quantile(t['times'], 0.5):.2f} / {quantile(t['times'], 0.95):.2f} |")


def report(system, messages, res):
    print(f"\n## {system.describe()}\n")
    print("Refused: total (greeting/HELO/MAIL/RCPT/DATA/end of DATA). 4xx includes connections closed "
          "without a reply; 'retry ok' = refused with 4xx first, accepted on the retry 10 s later. "
          "Time = connect to final reply, median / 95th percentile, seconds.\n")
    print("| class | n | 5xx | 4xx | retry ok | inbox | tagged | quarantined | lost | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cls, kind, _, _ in W.CLASSES:
        msgs = [m for m in messages if m.cls == cls]
        print(row(cls, tally(msgs, res)))
    ham = tally([m for m in messages if m.kind == "ham"], res)
    spam = tally([m for m in messages if m.kind == "spam"], res)
    print(row("**all ham**", ham))
    print(row("**all spam**", spam))
    print(row("**total**", tally(messages, res)))
    misses = {}
    for m in messages:
        r = res[m.token]["first"]
        # spam deferred with a 4xx and accepted on its retry got through: a miss like any other
        through = m.kind == "spam" and res[m.token].get("retry", ("",))[0] == "accepted"
        wrong = (m.kind == "ham" and r[0] == "refused") or (m.kind == "spam" and r[0] == "accepted") or through
        if wrong:
            text = ("accepted, landed in " + str(res[m.token]["landed"])) if r[0] == "accepted" else \
                re.sub(r"\d+\.\d+\.\d+\.\d+|SW-\S+|\[[^]]*\]|<[^>]*>", "*", r[3])[:160]
            if through:
                text += " (accepted on the retry)"
            key = (m.cls, r[1], r[2], text)
            misses[key] = misses.get(key, 0) + 1
    if misses:
        print("\nMisses (ham refused or spam accepted), first reply:\n")
        for (cls, stage, code, text), n in sorted(misses.items()):
            print(f"- {cls} x{n}: {stage} {code} {text}")
    # refused in-session: a 5xx, or a 4xx that the retry met again (a 4xx the retry passed is a miss)
    line = (f"HEADLINE {system.name}: spam refused in-session "
            f"{pct(spam['ref5'] + spam['ref4'] - spam['retry_ok'], spam['n'])}% "
            f"(5xx {pct(spam['ref5'], spam['n'])}%), ham wrongly refused 5xx {pct(ham['ref5'], ham['n'])}%, "
            f"ham delayed 4xx {pct(ham['ref4'], ham['n'])}% ({ham['retry_ok']} through on retry), "
            f"lost {ham['lost'] + spam['lost']}, "
            f"median connect-to-reply {quantile(ham['times'] + spam['times'], 0.5):.2f} s")
    print("\n" + line)
    return line


def main():
    if os.geteuid() != 0:
        print("spamworld: needs root (the world's DNS on port 53 for Postfix's resolver, Postfix itself)",
              file=sys.stderr)
        return 1
    systems_wanted = os.environ.get("SYSTEMS", "clement postfix").split()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="spamworld-"))
    os.chmod(tmp, 0o755)
    t0 = time.monotonic()
    world = W.World(tmp)
    print(f"spamworld: {len(world.messages)} messages in {len(W.CLASSES)} classes from "
          f"{len({m.ip for m in world.messages})} loopback addresses, {len(world.records)} DNS names; "
          f"lists: {W.SITES}; threshold {W.THRESHOLD}; DNS {DNS_ADDR}:53")
    started, headlines = [], []
    try:
        dns = WorldDns(world.records).start()
        started.append(dns)
        rspamd = None
        if shutil.which("rspamd"):
            rspamd = Rspamd(tmp).start()
            started.append(rspamd)
        clam = None
        if shutil.which("clamav-milter") and shutil.which("clamd"):
            sigs = tmp / "sigs"
            subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True, capture_output=True)
            clam = ClamavMilter(tmp, sigs).start()
            started.append(clam)
        for name in systems_wanted:
            if name not in ("clement", "clement-tuned", "postfix"):
                raise SystemExit(f"spamworld: unknown system {name} (clement, clement-tuned, postfix)")
            system = Postfix(tmp, rspamd, clam) if name == "postfix" else Clement(rspamd, name == "clement-tuned")
            system.start()
            started.append(system)
            print(f"spamworld: driving {system.describe()} ...", flush=True)
            res = drive(system, world.messages)
            headlines.append(report(system, world.messages, res))
            system.stop()
            started.remove(system)
    finally:
        for s in reversed(started):
            s.stop()
        if not KEEP:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"spamworld: kept {tmp}")
    print(f"\nspamworld: {time.monotonic() - t0:.0f} s in all; DNS questions answered: {dns.count}")
    for h in headlines:
        print(h)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/anchor (issue 22): Clement's full path against the anchor pipeline, in one run.

Anchor: bench/spamworld's Postfix (postscreen with the same DNSBL sites, weights and threshold,
pregreet and DNSBL enforced; HELO, sender and recipient checks; Rspamd's milter proxy; clamav-milter
with clamd and the same test signatures; virtual delivery to Maildir). Its postscreen access list
is emptied, so 127.0.0.1 goes through postscreen's tests once and is then served from
postscreen's cache, as Clement serves it from its reputation cache. Timed until every message
is in the anchor's Maildir (its 250 only means queued).

Clement: the benchmark stack (bench/lib/stack.py: policy with directives, scanner, delivery,
smtp-edge; PostgreSQL with fsync on) plus the same DNSBL sites and threshold, the same DNS
server and Rspamd (the scanner asks libclamav and Rspamd in parallel); 250 = durable in the
Maildir. Message log rows are waited for before the next round starts.

Both use one Rspamd (its normal worker for Clement, its milter proxy for Postfix; one process
each) and the world DNS server of bench/spamworld on ANCHOR_DNS (default 127.0.53.22:53, not
spamworld's address, so the two can run side by side).

Settings (environment): SIZES ("10240 102400"), MESSAGES (400 per round), SESSIONS (50),
ROUNDS (3), SINGLE (100 messages for the one-session latency), TLS=1 (STARTTLS on every
session, both systems: smtp-source cannot, so the 50 sessions are then driven by this script's
own client, 50 threads, one message per connection, as smtp-source sends them); with TLS=1,
RESUME=1 has each STARTTLS offer the last session's ticket (bench/lib/tlsresume.py), as a real
MTA's client with a TLS session cache does, to both systems. CACHE=1 (the default) puts a
caching resolver in front of the world DNS server, as a mail server has one (unbound, on
ANCHOR_DNS; the world server moves to ANCHOR_AUTH, default 127.0.53.23): both systems then
ask unbound, and the world server answers only what unbound has not cached. CACHE=0: both ask
the world server itself, every query answered by this script's Python.

Each round also reads the CPU the machine spent (/proc/stat) minus what this script and its
children (the client threads, smtp-source) spent: the servers' CPU per message, which a faster
or remote client would not change. On a machine where nothing else runs, that is each pipeline's
own cost (Clement's until its log rows are written, the anchor's until its Maildir is full),
except the world DNS server's answers: it runs in this script, so its CPU is in the client's
column, and the table says how many queries each side's messages made.
"""
import resource
import os
import pathlib
import shutil
import socket
import ssl

import dnslib
import statistics
import subprocess
import sys
import tempfile
import time

os.environ["WORLD_DNS"] = os.environ.get("ANCHOR_DNS", "127.0.53.22")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import stack  # noqa: E402
import spamworld as SW  # noqa: E402
import spamworld_world as W  # noqa: E402
from threaded import run_threaded  # noqa: E402
from tlsresume import Resumer  # noqa: E402
from throughput import count_files, wait_count  # noqa: E402

SIZES = [int(x) for x in os.environ.get("SIZES", "10240 102400").split()]
MESSAGES = int(os.environ.get("MESSAGES", "400"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SINGLE = int(os.environ.get("SINGLE", "100"))
TLS = os.environ.get("TLS") == "1"
CACHE = os.environ.get("CACHE", "1") == "1"
AUTH_ADDR = os.environ.get("ANCHOR_AUTH", "127.0.53.23")
RESUMER = Resumer(TLS and os.environ.get("RESUME") == "1")
TLS_CTX = ssl.create_default_context()
TLS_CTX.check_hostname, TLS_CTX.verify_mode = False, ssl.CERT_NONE  # the benchmark's self-signed certificates
SENDER_DOMAIN = "source.example"
RCPT = f"u@{W.RCPT_DOMAIN}"


class Unbound:
    """A caching resolver on SW.DNS_ADDR:53 that forwards everything to the world server on
    AUTH_ADDR: no DNSSEC, no local zones of its own (127.in-addr.arpa is the world's)."""

    def __init__(self, tmp):
        self.dir = tmp / "unbound"
        self.proc = None

    def start(self):
        self.dir.mkdir()
        conf = self.dir / "unbound.conf"
        local = "".join(f'    local-zone: "{z}" nodefault\n' for z in (
            "localhost.", "127.in-addr.arpa.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
            "onion.", "test.", "invalid.", "10.in-addr.arpa.", "168.192.in-addr.arpa."))
        conf.write_text(
            "server:\n"
            f"    interface: {SW.DNS_ADDR}\n    port: 53\n    do-daemonize: no\n    username: \"\"\n"
            f"    chroot: \"\"\n    directory: \"{self.dir}\"\n    pidfile: \"{self.dir}/unbound.pid\"\n"
            f"    logfile: \"{self.dir}/unbound.log\"\n    use-syslog: no\n    verbosity: 0\n"
            "    num-threads: 1\n    access-control: 127.0.0.0/8 allow\n    do-not-query-localhost: no\n"
            "    module-config: \"iterator\"\n    qname-minimisation: no\n    do-ip6: no\n"
            "    unblock-lan-zones: yes\n    insecure-lan-zones: yes\n" + local +
            "forward-zone:\n    name: \".\"\n"
            f"    forward-addr: {AUTH_ADDR}@53\n")
        subprocess.run(["unbound-checkconf", str(conf)], check=True, capture_output=True)
        self.proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            try:
                dnslib.DNSRecord.question("ready.world.").send(SW.DNS_ADDR, 53, timeout=0.5)
                return self  # any answer: unbound serves
            except (OSError, socket.timeout):
                time.sleep(0.1)
        raise RuntimeError(f"unbound did not start: {(self.dir / 'unbound.log').read_text()[-500:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def machine_busy():
    """Seconds of CPU the whole machine has spent (every core: user, system, interrupts)."""
    f = open("/proc/stat").readline().split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    """Seconds of CPU this process (the client threads) and its children (smtp-source) spent."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class CpuMeter:
    """The servers' and the client's CPU over one round, and the DNS queries the world server
    answered in it: start(), then stop(messages) -> (servers ms, client ms, queries) per message."""

    def __init__(self, dns):
        self.dns = dns

    def start(self):
        self.m0, self.c0, self.q0 = machine_busy(), own_cpu(), self.dns.count

    def stop(self, n):
        client = own_cpu() - self.c0
        return (machine_busy() - self.m0 - client) / n * 1e3, client / n * 1e3, (self.dns.count - self.q0) / n


def records():
    """The DNS the benchmark's client needs: a forward-confirmed PTR for 127.0.0.1 (Postfix's
    reject_unknown_reverse_client_hostname), a sender domain with an address and SPF allowing
    loopback. The blocklists answer NXDOMAIN (a clean client)."""
    return {
        "1.0.0.127.in-addr.arpa": [("PTR", "mx.source.example")],
        "mx.source.example": [("A", "127.0.0.1")],
        SENDER_DOMAIN: [("A", "127.0.0.1"), ("MX", "mx.source.example"), ("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
    }


def source(port, count, size, sessions):
    if TLS:
        return tls_source(port, count, size, sessions)
    t0 = time.monotonic()
    p = subprocess.run(["/usr/sbin/smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
                        "-M", f"mx.{SENDER_DOMAIN}", "-f", f"sender@{SENDER_DOMAIN}", "-t", RCPT, "-S", "benchmark message",
                        f"127.0.0.1:{port}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=1800)
    if p.returncode != 0:
        sys.exit(f"smtp-source to port {port} failed: {p.stderr.strip()[-1000:]}")
    return time.monotonic() - t0


def message(i, size):
    """A plain text message of about size bytes with the headers a mail client writes."""
    words = "the quarterly report shows revenue growth across all regions while costs remained stable".split()
    head = (f"From: Sender <sender@{SENDER_DOMAIN}>\r\nTo: <{RCPT}>\r\nSubject: report {i}\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"Message-ID: <bench-{i}-{time.time_ns()}@{SENDER_DOMAIN}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    body, line, k = [], [], 0
    n = len(head)
    while n < size:
        w = words[k % len(words)]
        k += 1
        line.append(w)
        if sum(len(x) + 1 for x in line) > 70:
            s = " ".join(line)
            body.append(s)
            n += len(s) + 2
            line = []
    return (head + "\r\n".join(body) + "\r\n").encode()


def tls_source(port, count, size, sessions):
    """smtp-source's job with STARTTLS: sessions threads, one message per connection; seconds."""
    return run_threaded(lambda: one_session(port, size, 1), count, sessions, f"TLS sessions to port {port}")


def one_session(port, size, count):
    """One session (with STARTTLS when TLS=1), count messages in turn; seconds from the end of
    DATA (the dot sent) to the 250, per message."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("connection closed")
            if line[3:4] != b"-":
                return line

    def cmd(line, want=b"250"):
        s.sendall(line)
        r = reply()
        if not r.startswith(want):
            raise RuntimeError(f"{line!r} -> {r!r}")
    if not reply().startswith(b"220"):
        raise RuntimeError("no greeting")
    cmd(f"EHLO mx.{SENDER_DOMAIN}\r\n".encode())
    if TLS:
        cmd(b"STARTTLS\r\n", b"220")
        s = TLS_CTX.wrap_socket(s, server_hostname="localhost", session=RESUMER.offer(port))
        f = s.makefile("rb")
        cmd(f"EHLO mx.{SENDER_DOMAIN}\r\n".encode())
    lat = []
    for i in range(count):
        cmd(f"MAIL FROM:<sender@{SENDER_DOMAIN}>\r\n".encode())
        cmd(f"RCPT TO:<{RCPT}>\r\n".encode())
        cmd(b"DATA\r\n", b"354")
        s.sendall(message(i, size))
        t0 = time.monotonic()
        s.sendall(b".\r\n")
        r = reply()
        lat.append(time.monotonic() - t0)
        if not r.startswith(b"250"):
            raise RuntimeError(f"end of DATA -> {r!r}")
    cmd(b"QUIT\r\n", b"221")
    if TLS:
        RESUMER.keep(port, s)
    s.close()
    return lat


class Anchor(SW.Postfix):
    name = "anchor"

    def start(self):
        super().start()
        conf = str(self.dir / "conf")
        # 127.0.0.1 is the benchmark's only client: let postscreen test it (then cache it)
        # instead of passing it as a member of mynetworks.
        subprocess.run(["postconf", "-c", conf, "-e", "postscreen_access_list =",
                        "virtual_destination_concurrency_limit = 50"], check=True)
        if TLS:  # the certificate Clement's smtp-edge uses (scripts/make-cert)
            subprocess.run([str(stack.ROOT / "scripts/make-cert"), str(self.dir / "tls")], check=True,
                           capture_output=True)
            subprocess.run(["postconf", "-c", conf, "-e", "smtpd_tls_security_level = may",
                            f"smtpd_tls_cert_file = {self.dir}/tls/cert.pem",
                            f"smtpd_tls_key_file = {self.dir}/tls/key.pem"], check=True)
        subprocess.run(["postfix", "-c", conf, "reload"], capture_output=True, check=True)
        time.sleep(1)
        if not SW.wait_port(self.port, timeout=20):
            raise RuntimeError("anchor Postfix did not come back after reload")
        return self

    def inbox(self):
        return self.dir / "maildir/u/Maildir/new"

    def pass_postscreen(self):
        """postscreen's first visit of a new client: greet wait (6 s) and the DNSBL lookups;
        afterwards the client is in postscreen's cache."""
        for _ in range(3):
            try:
                one_session(self.port, 1000, 1)
                return
            except (RuntimeError, OSError):
                time.sleep(1)
        one_session(self.port, 1000, 1)


def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main():
    if os.geteuid() != 0:
        print("anchor: needs root (the DNS server on port 53 for Postfix's resolver, Postfix itself)",
              file=sys.stderr)
        return 1
    subprocess.run(["make", "-s", "-j2", "all"], check=True, cwd=stack.ROOT)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-anchor-"))
    os.chmod(tmp, 0o755)
    started = []
    results, single, cpu = {}, {}, {}
    cl_port = anchor_port = None
    loads = [stack.load_avg()]
    try:
        # with CACHE the world server sits behind unbound; everyone else asks SW.DNS_ADDR
        dns = SW.WorldDns(records(), soa_on_nxdomain=CACHE).start(AUTH_ADDR if CACHE else None)
        started.append(dns)
        if CACHE:
            started.append(Unbound(tmp).start())
        rspamd = SW.Rspamd(tmp).start()
        started.append(rspamd)
        sigs = tmp / "sigs"
        subprocess.run([str(stack.ROOT / "scripts/make-test-sigs"), str(sigs)], check=True, capture_output=True)
        clam = SW.ClamavMilter(tmp, sigs).start()
        started.append(clam)
        anchor = Anchor(tmp, rspamd, clam).start()
        started.append(anchor)
        env = {"CLEMENT_MAX_SESSIONS_PER_IP": str(max(SESSIONS * 2, 100)),
               "CLEMENT_DNSBL_SITES": W.SITES, "CLEMENT_DNSBL_THRESHOLD": str(W.THRESHOLD),
               "CLEMENT_DNS_RESOLVER": f"{SW.DNS_ADDR}:53", "CLEMENT_POLICY_ALLOW_LOOPBACK": "1",
               "CLEMENT_RSPAMD_URL": f"http://127.0.0.1:{rspamd.port}"}
        cl = stack.Stack(env, pg_fsync="on")
        cl.start()
        started.append(cl)
        cl_inbox = cl.maildir / f"{W.RCPT_DOMAIN}/u/new"
        cl_port, anchor_port = cl.smtp_port, anchor.port
        anchor.pass_postscreen()
        # Warm-up, not counted: Rspamd's first scans, page cache, Postfix's processes.
        source(cl.smtp_port, 100, 10240, SESSIONS)
        source(anchor.port, 100, 10240, SESSIONS)
        wait_count(lambda: count_files(anchor.inbox()), 101, 120)
        RESUMER.reset()  # the warm-up's first sessions had no ticket yet; count the timed ones

        meter = CpuMeter(dns)

        def clement_round(size):
            base, logs0 = count_files(cl_inbox), cl.logged()
            meter.start()
            t = source(cl.smtp_port, MESSAGES, size, SESSIONS)
            got = count_files(cl_inbox) - base
            if got != MESSAGES:
                sys.exit(f"Clement answered 250 to {MESSAGES} messages but {got} are in the Maildir")
            results[(size, "clement")].append(MESSAGES / t)
            wait_count(cl.logged, logs0 + MESSAGES, 120)  # not timed (the next round starts clean); its CPU counts
            cpu[(size, "clement")].append(meter.stop(MESSAGES))

        def anchor_round(size):
            base = count_files(anchor.inbox())
            meter.start()
            t0 = time.monotonic()
            source(anchor.port, MESSAGES, size, SESSIONS)
            if wait_count(lambda: count_files(anchor.inbox()), base + MESSAGES) < base + MESSAGES:
                sys.exit("the anchor did not deliver every message within 600 s")
            results[(size, "anchor")].append(MESSAGES / (time.monotonic() - t0))
            cpu[(size, "anchor")].append(meter.stop(MESSAGES))

        for size in SIZES:
            results[(size, "clement")], results[(size, "anchor")] = [], []
            cpu[(size, "clement")], cpu[(size, "anchor")] = [], []
            for r in range(ROUNDS):
                order = [clement_round, anchor_round] if r % 2 == 0 else [anchor_round, clement_round]
                for fn in order:
                    fn(size)
                    loads.append(stack.load_avg())
                print(f"{size} B round {r + 1}: clement {results[(size, 'clement')][-1]:.1f} msg/s, "
                      f"anchor {results[(size, 'anchor')][-1]:.1f} msg/s", file=sys.stderr, flush=True)
            # One session, alternating in blocks of 10 messages.
            single[(size, "clement")], single[(size, "anchor")] = [], []
            for k in range(max(1, SINGLE // 10)):
                pair = [("clement", cl.smtp_port), ("anchor", anchor.port)]
                for who, port in (pair if k % 2 == 0 else pair[::-1]):
                    single[(size, who)] += one_session(port, size, 10)
            loads.append(stack.load_avg())
    finally:
        problems = []
        for s in reversed(started):
            if isinstance(s, stack.Stack):
                problems = s.stop()
            else:
                s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        for p in problems:
            print("clement:", p[:400], file=sys.stderr)
    print(f"\n### Full path vs the anchor pipeline{' (STARTTLS on every session)' if TLS else ''}{', resuming TLS sessions' if RESUMER.on else ''}{', caching resolver (unbound) for both' if CACHE else ''}\n\n{stack.machine()}; load average during the run "
          f"{min(loads):.1f} to {max(loads):.1f}\n")
    print(f"{'a threaded Python client with STARTTLS' if TLS else 'smtp-source'}, {MESSAGES} messages per round, {SESSIONS} concurrent sessions, {ROUNDS} rounds "
          "alternating (who goes first alternates); Clement timed to its last 250 (= in the Maildir, fsynced), "
          "the anchor until its last message is in its Maildir\n")
    print("| size | Clement msg/s (median) | anchor msg/s (median) | ratio of medians | per-round ratios | target |")
    print("| ---: | ---: | ---: | ---: | --- | --- |")
    for size in SIZES:
        c, a = results[(size, "clement")], results[(size, "anchor")]
        per = [x / y for x, y in zip(c, a)]
        print(f"| {size // 1024} KB | {statistics.median(c):.1f} ({', '.join(f'{x:.1f}' for x in c)}) | "
              f"{statistics.median(a):.1f} ({', '.join(f'{x:.1f}' for x in a)}) | "
              f"{statistics.median(c) / statistics.median(a):.2f} | {', '.join(f'{x:.2f}' for x in per)} | "
              f"{'>= 1.5' if size == 10240 else ''} |")
    print("\nCPU per message, the servers' (the machine's less the client's) and the client's own:\n")
    print("| size | Clement servers ms/msg (rounds) | anchor servers ms/msg (rounds) | CPU ratio anchor / Clement "
          "(median; rounds) | client ms/msg, Clement / anchor (medians) | DNS queries per message, Clement / anchor |")
    print("| ---: | --- | --- | --- | ---: | ---: |")
    for size in SIZES:
        c, a = cpu[(size, "clement")], cpu[(size, "anchor")]
        per = [y[0] / x[0] for x, y in zip(c, a)]
        print(f"| {size // 1024} KB | {', '.join(f'{x[0]:.2f}' for x in c)} | {', '.join(f'{x[0]:.2f}' for x in a)} | "
              f"{statistics.median(per):.2f} ({', '.join(f'{x:.2f}' for x in per)}) | "
              f"{statistics.median(x[1] for x in c):.2f} / {statistics.median(x[1] for x in a):.2f} | "
              f"{statistics.median(x[2] for x in c):.1f} / {statistics.median(x[2] for x in a):.1f} |")
    if RESUMER.on:
        rc, ra = RESUMER.totals(cl_port), RESUMER.totals(anchor_port)
        print(f"\nTLS resumption after the warm-up: Clement {rc[0]} resumed / {rc[1]} full handshakes, "
              f"the anchor {ra[0]} resumed / {ra[1]} full")
    print(f"\n### One session: end of DATA -> 250 ({SINGLE} messages each, alternating in blocks of 10)\n")
    print("| size | Clement p50 / p90 / max ms | anchor p50 / p90 / max ms | p50 ratio (anchor / Clement) |")
    print("| ---: | ---: | ---: | ---: |")
    for size in SIZES:
        c, a = single[(size, "clement")], single[(size, "anchor")]
        print(f"| {size // 1024} KB | {q(c, .5) * 1e3:.1f} / {q(c, .9) * 1e3:.1f} / {max(c) * 1e3:.1f} | "
              f"{q(a, .5) * 1e3:.1f} / {q(a, .9) * 1e3:.1f} / {max(a) * 1e3:.1f} | {q(a, .5) / q(c, .5):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A whole Clement stack for the benchmarks: private PostgreSQL, migrations, a local-mode
domain bench.test with user u and a few directives, and policy, scanner, delivery and
smtp-edge from a release build (CLEMENT_BUILD, default build). Reuses the integration test
harness (tests/integration/conftest.py) so both start services the same way."""
import os
import pathlib
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
os.environ.setdefault("CLEMENT_BUILD", "build")

import conftest  # noqa: E402,F401 (its import sets up the harness Postgres and Services come from)
from conftest import Postgres, Services, free_port, wait_for  # noqa: E402


class BenchPostgres(Postgres):
    """The tests' private cluster, but with fsync as in production unless asked otherwise:
    the message log Clement writes is part of the measured path."""

    def __init__(self, tmp, fsync):
        super().__init__(tmp)
        self.fsync = fsync

    def start(self):
        subprocess.run([str(ROOT / "scripts/pg-local"), "start", str(self.dir), str(self.port)],
                       check=True, env=dict(os.environ, PG_FSYNC=self.fsync))


class Stack:
    def __init__(self, extra_env=None, pg_fsync="on", seed=None):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-bench-"))
        os.chmod(self.tmp, 0o755)
        self.pg = BenchPostgres(self.tmp, pg_fsync)
        self.services = Services(self.tmp)
        self.extra_env = extra_env or {}
        self.seed = seed  # callable(pg): more rows (users, directives) before the services start
        self.maildir = self.tmp / "maildir"
        self.scan_tmp = None

    def start(self):
        self.pg.start()
        self.pg.migrate()
        self.pg.execute("INSERT INTO groups (id, name, mode) VALUES (1, 'bench', 'local')")
        self.pg.execute("INSERT INTO domains (id, name, group_id) VALUES (1, 'bench.test', 1)")
        self.pg.execute("INSERT INTO users (domain_id, local_part) VALUES (1, 'u')")
        # Directives the policy must evaluate on every recipient (none matches the benchmark sender).
        for i in range(50):
            self.pg.execute("INSERT INTO directives (user_id, sender_pattern, action) VALUES (1, %s, 'reject')",
                            (f"@spam{i}.test",))
            self.pg.execute("INSERT INTO directives (domain_id, sender_pattern, action) VALUES (1, %s, 'quarantine')",
                            (f"*.news{i}.test",))
        if self.seed:
            self.seed(self.pg)
        self.maildir.mkdir()
        sigs = self.tmp / "sigs"
        subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True, capture_output=True)
        certs = self.tmp / "tls"
        subprocess.run([str(ROOT / "scripts/make-cert"), str(certs)], check=True, capture_output=True)
        # RPC_TRANSPORT=ipc: the services talk over nng's ipc:// (Unix sockets) instead of
        # loopback TCP, as co-located services can (docs/PERFORMANCE.md, issue 22).
        if os.environ.get("RPC_TRANSPORT", "tcp") == "ipc":
            rpc = {n: f"ipc://{self.tmp}/{n.lower()}.sock" for n in ("POLICY", "SCANNER", "DELIVERY")}
        else:
            rpc = {n: f"tcp://127.0.0.1:{free_port()}" for n in ("POLICY", "SCANNER", "DELIVERY")}
        self.smtp_port = free_port()
        env = {
            "CLEMENT_DB_URL": self.pg.url, "CLEMENT_LOG_LEVEL": "warn",
            "CLEMENT_CLAMAV_DB": str(sigs), "CLEMENT_MAILDIR_ROOT": str(self.maildir),
            "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{self.smtp_port}", "CLEMENT_SMTPS_LISTEN": "",
            "CLEMENT_SUBMISSION_LISTEN": "", "CLEMENT_TLS_CERT": str(certs / "cert.pem"),
            "CLEMENT_TLS_KEY": str(certs / "key.pem"), "CLEMENT_PREGREET_WAIT": "0",
            "CLEMENT_NEVER_BAN": "127.0.0.0/8",
        }
        for n, url in rpc.items():
            env[f"CLEMENT_{n}_LISTEN"] = url
            env[f"CLEMENT_{n}_URL"] = url
        # As docker-compose.yml does (tmpfs on /tmp): libclamav makes and removes a scratch
        # directory for every scan, which on a disk file system costs more than the scan of a
        # 10 KB message (docs/PERFORMANCE.md, "Where the time goes").
        if pathlib.Path("/dev/shm").is_dir() and "CLEMENT_SCANNER_TMPDIR" not in os.environ:
            self.scan_tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-bench-scan-", dir="/dev/shm"))
            env["CLEMENT_SCANNER_TMPDIR"] = str(self.scan_tmp)
        env.update(self.extra_env)
        self.env = env
        for name in ("policy", "scanner", "delivery", "smtp-edge"):
            self.services.start(name, env)
        self.wait_greeting()
        return self

    def wait_greeting(self, timeout=20.0):
        """Until policy answers smtp-edge's connect check: a greeting that is not a 4xx (a
        benchmark's own settings may refuse this probe from 127.0.0.1 with a 554, which is
        an answer too). Healthy is not enough: smtp-edge is ready while its RPC connections
        are still being made (on a cold machine they can take longer than the second it
        waits for them), and a session before then gets 421 at once."""
        if not wait_for(lambda: self.greeting()[:1] in ("2", "5"), timeout):
            raise RuntimeError(f"smtp-edge kept answering 4xx or nothing for {timeout:.0f} s; "
                               f"it now says: {self.greeting() or 'nothing'}")

    def greeting(self):
        """smtp-edge's first reply line to a new session ("" when nothing answered)."""
        try:
            with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=5) as c:
                line = c.makefile("rb").readline().decode("ascii", "replace").strip()
                c.sendall(b"QUIT\r\n")
                return line
        except OSError:
            return ""

    def service(self, name):
        return next(s for s in self.services.started if s.name == name)

    def edge(self):
        return self.service("smtp-edge")

    def health(self, name):
        return self.service(name).health

    def logged(self):
        """Rows in message_log (the policy writes them in batches)."""
        return self.pg.scalar("SELECT count(*) FROM message_log")

    def delivered(self):
        inbox = self.maildir / "bench.test" / "u" / "new"
        return sum(1 for _ in inbox.iterdir()) if inbox.exists() else 0

    def stop(self):
        problems = self.services.stop_all()
        self.pg.stop()
        if self.scan_tmp:
            shutil.rmtree(self.scan_tmp, ignore_errors=True)
        if not problems:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


def metrics(health, timeout=10):
    """{(name, labels): value} of a service's /metrics (labels without le=...)."""
    with urllib.request.urlopen(f"http://{health}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def hist_quantiles(m, name, labels, qs):
    """(count, mean seconds, [quantile seconds]) of one Prometheus histogram series, each
    quantile interpolated linearly inside its bucket (as histogram_quantile() does); None when
    the series is absent or empty."""
    pre = labels + "," if labels else ""
    buckets = []
    for (n, lab), v in m.items():
        if n == name + "_bucket" and lab.startswith(pre) and lab[len(pre):].startswith("le="):
            le = lab[len(pre) + 4:-1]
            if "," in lab[len(pre):]:
                continue
            buckets.append((float("inf") if le == "+Inf" else float(le), v))
    buckets.sort()
    count = m.get((name + "_count", labels), 0)
    if not buckets or not count:
        return None
    mean = m.get((name + "_sum", labels), 0) / count
    res = []
    for q in qs:
        want, prev_le, prev_c = q * count, 0.0, 0.0
        for le, c in buckets:
            if c >= want:
                if le == float("inf"):
                    res.append(prev_le)
                else:
                    res.append(prev_le + (le - prev_le) * ((want - prev_c) / max(c - prev_c, 1e-9)))
                break
            prev_le, prev_c = le, c
    return count, mean, res


def load_avg():
    return os.getloadavg()[0]


def cpu_seconds(pid, task=None):
    """utime + stime in seconds of a process (all its threads), or of one of its threads (task
    id); 0 if it is gone."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        f = open(path).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def machine():
    """One line describing the machine: CPU, cores, RAM, kernel."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return f"{cpu}, {os.cpu_count()} cores, {mem / 1048576:.0f} GB RAM, Linux {platform.release()}"

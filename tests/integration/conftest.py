"""Shared harness for Clement's integration tests.

Everything here is real: a private PostgreSQL cluster (scripts/pg-local) in a temporary
directory, the service binaries of the sanitizer build (CLEMENT_BUILD, default build/san),
real SMTP clients. A service started through `services` is stopped with SIGTERM at the end
of the test and must exit 0 with no sanitizer report: a crash or a leak fails the test that
caused it.
"""
import contextlib
import errno
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import psycopg2
import psycopg2.extras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("CLEMENT_BUILD", "build/san")
BIN = BUILD / "bin"
LSAN_SUPP = ROOT / "tests" / "lsan.supp"

# Tables holding data (not schema bookkeeping), emptied before each test that asks for `db`.
DATA_TABLES = [
    "web_sessions", "digest_schedules", "quarantine", "ip_stats", "ban_events", "bans",
    "mesh_peers", "never_ban_networks", "directives", "admin_scopes", "users", "domains",
    "groups", "settings", "message_log", "smtp_sessions", "audit_log", "sender_aliases", "job_runs",
]


def pytest_addoption(parser):
    parser.addoption(
        "--first-per-module", action="store_true",
        help="run only the first test of each module (the rest are deselected, and counted so): every "
        "real part the suite starts is started and used once. `make fresh-test` runs this in its bare "
        "container, after the host's `make test` has run the whole suite.")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "local_only: starts or kills services itself; deselected when CLEMENT_TEST_EXTERNAL "
        "points the suite at a running stack (scripts/compose-test)")


def pytest_collection_modifyitems(config, items):
    keep, drop = items, []
    if os.environ.get("CLEMENT_TEST_EXTERNAL"):
        drop = [i for i in keep if i.get_closest_marker("local_only")]
        keep = [i for i in keep if not i.get_closest_marker("local_only")]
    if config.getoption("first_per_module", default=False):
        seen, first = set(), []
        for item in keep:
            (drop if item.module.__name__ in seen else first).append(item)
            seen.add(item.module.__name__)
        keep = first
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _port_window():
    """The ports free_port hands out: below the kernel's ephemeral range, so that no
    outgoing connection of the tests (or of the services) can take a port between the moment
    it is chosen and the moment a service binds it (the race seen as rare start failures)."""
    try:
        low = int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    hi = min(low, 32768)
    return (max(1024, hi - 12000), hi)


_PORTS = {"next": None}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range.

    Ports are handed out in turn from a window below the ephemeral range, starting at an
    offset derived from the process id, so that two pytest runs side by side rarely meet."""
    lo, hi = _port_window()
    span = hi - lo
    if _PORTS["next"] is None:
        _PORTS["next"] = lo + (os.getpid() * 7919) % span
    for _ in range(span):
        port = _PORTS["next"]
        _PORTS["next"] = lo + (port + 1 - lo) % span
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port below the ephemeral range")


def wait_port(port, host="127.0.0.1", timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for(cond, timeout=15.0):
    """Poll cond every 0.1 s until it is truthy or the deadline passes; returns its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    return cond()


@contextlib.contextmanager
def small_disk(path, size):
    """A tmpfs of `size` (mount's size=, e.g. "64k") mounted on directory `path` for the block:
    a real file system that a test can fill. Needs root (CI runs as root)."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(path):
    """Write file `path` until its file system is full (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"f" * 65536 if os.fstatvfs(fd).f_bavail > 64 else b"f" * 1024)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def http_get(url, timeout=2.0):
    """(status, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""


class Postgres:
    """A private cluster; `query`/`execute` use psycopg2 in autocommit mode."""

    def __init__(self, tmp):
        self.dir = pathlib.Path(tmp) / "pg"
        self.port = free_port()
        self.url = f"postgresql://clement@127.0.0.1:{self.port}/clement"
        self._conn = None

    def start(self):
        env = dict(os.environ, PG_FSYNC="off")
        subprocess.run([str(ROOT / "scripts/pg-local"), "start", str(self.dir), str(self.port)],
                       check=True, env=env)

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        subprocess.run([str(ROOT / "scripts/pg-local"), "stop", str(self.dir)], check=False)

    def conn(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.url)
            self._conn.autocommit = True
        return self._conn

    def query(self, sql, params=None):
        try:
            with self.conn().cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
                c.execute(sql, params)
                return c.fetchall() if c.description else []
        except psycopg2.OperationalError:
            self._conn = None
            raise

    def execute(self, sql, params=None):
        with self.conn().cursor() as c:
            c.execute(sql, params)
            return c.rowcount

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def migrate(self):
        subprocess.run([str(BIN / "clement-migrate")], check=True, env=dict(
            os.environ, CLEMENT_DB_URL=self.url, CLEMENT_MIGRATIONS_DIR=str(ROOT / "db/migrations")),
            capture_output=True)

    def truncate(self):
        self.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def pg():
    tmp = tempfile.mkdtemp(prefix="clement-pg-")
    os.chmod(tmp, 0o755)
    p = Postgres(tmp)
    p.start()
    p.migrate()
    yield p
    p.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def db(pg):
    """The session's database, emptied of data before the test."""
    pg.truncate()
    return pg


def sanitizer_env():
    opts = {
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86:halt_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
    }
    if LSAN_SUPP.exists():
        opts["LSAN_OPTIONS"] = f"suppressions={LSAN_SUPP}:print_suppressions=0"
    return opts


class Service:
    """One running clement-<name> process with its stderr captured to a file."""

    def __init__(self, name, env, logdir, health=None, wrap=()):
        self.name = name
        self.env = env
        self.wrap = list(wrap)        # a command the binary runs under (tests/integration/harness/pid1.py)
        self.health = health          # "host:port" of /healthz, or None
        self.log_path = pathlib.Path(logdir) / f"{name}-{time.time_ns()}.log"
        self.proc = None

    def start(self, wait=True, timeout=20.0):
        binary = BIN / f"clement-{self.name}"
        full_env = dict(os.environ)
        full_env.update(sanitizer_env())
        full_env.update({k: str(v) for k, v in self.env.items()})
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.wrap + [str(binary)], env=full_env, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=str(ROOT))
        if wait and self.health:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"clement-{self.name} exited {self.proc.returncode}:\n{self.log()}")
                status, _ = http_get(f"http://{self.health}/healthz", timeout=0.5)
                if status == 200:
                    return self
                time.sleep(0.05)
            raise RuntimeError(f"clement-{self.name} not healthy after {timeout}s:\n{self.log()}")
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self, timeout=30.0):
        """SIGTERM; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._log.close()
                return -9
        self._log.close()
        return self.proc.returncode

    def metrics(self):
        return http_get(f"http://{self.health}/metrics")[1] if self.health else ""


class Services:
    """Starts services for one test; at the end each must stop cleanly (exit 0, no
    sanitizer report), unless the test killed it on purpose (`expect_dead`)."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.started = []
        self.expect_dead = set()

    def start(self, name, env, health_port=None, wait=True, wrap=()):
        env = dict(env)
        if health_port is None:
            health_port = free_port()
        key = {"smtp-edge": "CLEMENT_EDGE_HEALTH_LISTEN", "admin-api": "CLEMENT_ADMIN_HEALTH_LISTEN"}.get(
            name, f"CLEMENT_{name.upper()}_HEALTH_LISTEN")
        env.setdefault(key, f"127.0.0.1:{health_port}")
        svc = Service(name, env, self.logdir, health=env[key], wrap=wrap)
        self.started.append(svc)
        return svc.start(wait=wait)

    def start_fresh(self, name, make_env, tries=3):
        """start(name, make_env()); when a port picked by free_port() was bound by another process
        meanwhile (busy machine, parallel suites), again with the fresh ports of a new make_env().
        The environment used is the returned service's `env`."""
        for attempt in range(tries):
            try:
                return self.start(name, make_env())
            except RuntimeError as e:
                if "in use" not in str(e) or attempt == tries - 1:
                    raise
                self.started.pop()  # that process exited already; do not report it

    def stop_all(self):
        problems = []
        for svc in reversed(self.started):
            rc = svc.stop()
            if svc in self.expect_dead:
                continue
            log = svc.log()
            if rc != 0 or "Sanitizer" in log or "runtime error:" in log:
                problems.append(f"clement-{svc.name} exited {rc}:\n{log[-4000:]}")
        return problems


@pytest.fixture
def services(tmp_path):
    s = Services(tmp_path)
    yield s
    problems = s.stop_all()
    assert not problems, "\n\n".join(problems)


def rpc_url():
    return f"tcp://127.0.0.1:{free_port()}"

"""The systemd units of deploy/systemd/ as `make install` puts them on a machine.

systemd itself cannot start them in make test: in a plain (unprivileged) container systemd
runs, but every unit with ProtectSystem=, PrivateTmp= and the like fails with 226/NAMESPACE (no
mount namespaces without CAP_SYS_ADMIN; tests/containers/systemd-start boots systemd with it, by
hand). So these tests check what can be checked without systemd:
- `systemd-analyze verify` accepts every unit (syntax, dependencies, ExecStart executable) with
  not one warning, and `systemd-analyze security --offline` rates each one "OK";
- the EnvironmentFile holds every setting of every binary (scripts/systemd-env --check);
- each unit's ExecStart, run with exactly the environment its EnvironmentFile gives it (ports
  and files moved to free ports and a temporary directory, nothing else), in the order of the
  units' After=, migrates an empty database and makes a stack that takes a message to the Maildir.
"""
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, ROOT, Postgres, free_port, http_get, sanitizer_env
from harness.smtp import cert_paths, local_only

pytestmark = local_only

UNITS = ["clement-migrate", "clement-policy", "clement-scanner", "clement-delivery", "clement-banstats",
         "clement-admin-api", "clement-smtp-edge"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A machine root with Clement installed by `make install` (the sanitizer build) and
    systemd's own units beside it, for systemd-analyze --root."""
    r = tmp_path_factory.mktemp("root")
    subprocess.run([str(ROOT / "scripts/install")], check=True, capture_output=True,
                   env=dict(os.environ, DESTDIR=str(r), BUILD=str(BUILD)))
    (r / "usr/lib/systemd").mkdir(parents=True)
    subprocess.run(["cp", "-r", "/usr/lib/systemd/system", str(r / "usr/lib/systemd/")], check=True)
    return r


def unit_files(root):
    d = root / "etc/systemd/system"
    return [d / f"{u}.service" for u in UNITS] + [d / "clement.target"]


def parse_unit(path):
    """{(section, key): [values]} of a unit file."""
    out, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.setdefault((section, k), []).append(v)
    return out


def parse_env_file(path):
    """KEY=VALUE lines as systemd reads them (comments, optional double quotes)."""
    env = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        k, _, v = line.partition("=")
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1].replace('\\"', '"')
        env[k.strip()] = v
    return env


def test_every_unit_passes_systemd_analyze_verify_without_a_warning(root):
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}"] + [str(p) for p in unit_files(root)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


def test_every_service_is_hardened_and_restarted_on_failure(root):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={root}", "--threshold=20",
                        "--no-pager"] + [str(root / f"etc/systemd/system/{u}.service") for u in UNITS],
                       capture_output=True, text=True)
    levels = re.findall(r"Overall exposure level for (\S+): ([\d.]+) (\w+)", r.stdout)
    assert len(levels) == len(UNITS) and r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert all(word == "OK" for _, _, word in levels), levels
    target = parse_unit(root / "etc/systemd/system/clement.target")
    wanted = " ".join(target[("Unit", "Wants")]).split()
    for u in UNITS:
        unit = parse_unit(root / f"etc/systemd/system/{u}.service")
        assert unit[("Service", "Restart")] == ["on-failure"], u
        assert unit[("Service", "User")] == ["clement"], u
        assert unit[("Service", "EnvironmentFile")][0] == "/etc/clement/clement.env", u
        assert unit[("Service", "ExecStart")] == [f"/usr/local/bin/{u}"], u
        assert unit[("Install", "WantedBy")] == ["clement.target"] and f"{u}.service" in wanted, u
        if u != "clement-migrate":
            assert unit[("Unit", "Requires")] == ["clement-migrate.service"], u
    assert parse_unit(root / "etc/systemd/system/clement-migrate.service")[("Service", "Type")] == ["oneshot"]


def test_the_environment_file_holds_every_setting_of_every_binary():
    r = subprocess.run([str(ROOT / "scripts/systemd-env"), "--check"], capture_output=True, text=True,
                       env=dict(os.environ, CLEMENT_BUILD=str(BUILD)))
    assert r.returncode == 0, r.stdout + r.stderr


def start_order(root):
    """The units sorted so that each comes after everything its After= names."""
    after = {u: set(" ".join(parse_unit(root / f"etc/systemd/system/{u}.service").get(("Unit", "After"), []))
                    .replace(".service", "").split()) & set(UNITS) for u in UNITS}
    order = []
    while len(order) < len(UNITS):
        ready = [u for u in UNITS if u not in order and after[u] <= set(order)]
        assert ready, f"After= has a cycle: {after}"
        order.append(ready[0])
    return order


def test_the_units_command_lines_make_a_working_stack(root, tmp_path):
    env_file = parse_env_file(root / "etc/clement/clement.env")
    # Moved for the test, and only these: every listen/URL port (the same port of the file gets
    # the same free port, so a listener and its clients must agree in the file), the database,
    # and the files of /etc and /var/lib. Everything else is the file's.
    ports = {}

    def moved(key, value):
        if key in ("CLEMENT_DB_URL", "CLEMENT_DIGEST_BASE_URL"):
            return value
        if key.endswith(("_LISTEN", "_URL")) and value:
            m = re.fullmatch(r"(tcp://)?([\d.]+):(\d+)", value)
            assert m, f"{key}={value}"
            port = ports.setdefault(m.group(3), free_port())
            return f"{m.group(1) or ''}127.0.0.1:{port}"
        if value.startswith("/usr/local/"):
            return str(root) + value
        return value

    env = {k: moved(k, v) for k, v in env_file.items()}
    pgdir = tempfile.mkdtemp(prefix="clement-units-pg-")   # PostgreSQL's user (when root) must reach it
    os.chmod(pgdir, 0o755)
    pg = Postgres(pgdir)
    pg.start()
    cert, key = cert_paths()
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(tmp_path / "sigs")], check=True, capture_output=True)
    env.update({"CLEMENT_DB_URL": pg.url, "CLEMENT_MAILDIR_ROOT": str(tmp_path / "maildir"),
                "CLEMENT_CLAMAV_DB": str(tmp_path / "sigs"), "CLEMENT_TLS_CERT": cert, "CLEMENT_TLS_KEY": key})
    # What systemd gives a service besides its EnvironmentFile: a PATH (and, here, the sanitizer options).
    env.update(PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **sanitizer_env())
    health = {"clement-policy": "CLEMENT_POLICY_HEALTH_LISTEN", "clement-scanner": "CLEMENT_SCANNER_HEALTH_LISTEN",
              "clement-delivery": "CLEMENT_DELIVERY_HEALTH_LISTEN",
              "clement-banstats": "CLEMENT_BANSTATS_HEALTH_LISTEN",
              "clement-admin-api": "CLEMENT_ADMIN_HEALTH_LISTEN", "clement-smtp-edge": "CLEMENT_EDGE_HEALTH_LISTEN"}
    running = []
    try:
        for u in start_order(root):
            unit = parse_unit(root / f"etc/systemd/system/{u}.service")
            argv = [str(root) + unit[("Service", "ExecStart")][0]]
            log = open(tmp_path / f"{u}.log", "wb")
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd="/")
            if unit[("Service", "Type")] == ["oneshot"]:
                assert proc.wait(timeout=120) == 0, (tmp_path / f"{u}.log").read_text()
                if u == "clement-migrate":
                    # An empty database migrated; the demo data gives the test a local domain.
                    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg.url, "-v", "relay_host=127.0.0.1",
                                    "-v", "relay_port=9", "-f", str(root / "usr/local/share/clement/demo.sql")]
                                   + [a for w in ("root", "gadmin", "dadmin", "alice", "bob")
                                      for a in ("-v", f"pw_{w}=not-a-login")],
                                   check=True, capture_output=True)
                continue
            running.append((u, proc, tmp_path / f"{u}.log"))
            deadline = time.time() + 30
            while http_get(f"http://{env[health[u]]}/healthz", timeout=0.5)[0] != 200:
                assert proc.poll() is None and time.time() < deadline, \
                    f"{u} did not come up:\n" + (tmp_path / f"{u}.log").read_text()[-3000:]
                time.sleep(0.1)

        # The web UI from the installed frontend; SMTP on the edge with the file's host name.
        status, body = http_get(f"http://{env['CLEMENT_ADMIN_LISTEN']}/")
        assert status == 200 and "js/app.js" in body
        assert http_get(f"http://{env['CLEMENT_ADMIN_LISTEN']}/api/me")[0] == 401
        host, port = env["CLEMENT_SMTP_LISTEN"].rsplit(":", 1)
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            assert env["CLEMENT_HOSTNAME"] in s.ehlo("client.elsewhere.test")[1].decode()
            assert s.has_extn("starttls")
            s.mail("friend@elsewhere.test")
            s.rcpt("alice@example.test")
            code, text = s.data(b"From: friend@elsewhere.test\r\nTo: alice@example.test\r\n"
                                b"Subject: through the units\r\n\r\nHello.\r\n")
            assert code == 250, text
        new = tmp_path / "maildir/example.test/alice/new"
        deadline = time.time() + 15
        while not (new.is_dir() and any(b"through the units" in f.read_bytes() for f in new.iterdir())):
            assert time.time() < deadline, "the message did not reach the Maildir"
            time.sleep(0.1)
    finally:
        problems = []
        for u, proc, log in reversed(running):   # systemd stops with SIGTERM (KillSignal= default)
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            text = log.read_text(errors="replace")
            if rc != 0 or "Sanitizer" in text or "runtime error:" in text:
                problems.append(f"{u} exited {rc}:\n{text[-3000:]}")
        pg.stop()
        shutil.rmtree(pgdir, ignore_errors=True)
    assert not problems, "\n\n".join(problems)

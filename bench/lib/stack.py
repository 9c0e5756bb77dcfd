"""A whole Clement stack for the benchmarks: private PostgreSQL, migrations, a local-mode
domain bench.test with user u and a few directives, and policy, scanner, delivery and
smtp-edge from a release build (CLEMENT_BUILD, default build). Reuses the integration test
harness (tests/integration/conftest.py) so both start services the same way."""
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
os.environ.setdefault("CLEMENT_BUILD", "build")

import conftest  # noqa: E402
from conftest import Postgres, Services, free_port  # noqa: E402


class Stack:
    def __init__(self, extra_env=None):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-bench-"))
        os.chmod(self.tmp, 0o755)
        self.pg = Postgres(self.tmp)
        self.services = Services(self.tmp)
        self.extra_env = extra_env or {}
        self.maildir = self.tmp / "maildir"

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
        self.maildir.mkdir()
        sigs = self.tmp / "sigs"
        subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True, capture_output=True)
        certs = self.tmp / "tls"
        subprocess.run([str(ROOT / "scripts/make-cert"), str(certs)], check=True, capture_output=True)
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
        env.update(self.extra_env)
        self.env = env
        for name in ("policy", "scanner", "delivery", "smtp-edge"):
            self.services.start(name, env)
        return self

    def edge(self):
        return next(s for s in self.services.started if s.name == "smtp-edge")

    def delivered(self):
        inbox = self.maildir / "bench.test" / "u" / "new"
        return sum(1 for _ in inbox.iterdir()) if inbox.exists() else 0

    def stop(self):
        problems = self.services.stop_all()
        self.pg.stop()
        return problems

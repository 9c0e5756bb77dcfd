"""deploy/docker/healthcheck, the HEALTHCHECK of every Clement image and the exec probe of the
Kubernetes manifests, against a real service: it speaks HTTP with bash alone (the images carry
no curl, scripts/check-arch), answers 0 when /healthz says 200, follows the service's
*_HEALTH_LISTEN setting or falls back to the default port it is given, and answers 1, promptly,
when nothing listens."""
import os
import subprocess
import time

from conftest import ROOT, free_port, rpc_url

SCRIPT = ROOT / "deploy" / "docker" / "healthcheck"


def healthcheck(env, *args):
    t0 = time.monotonic()
    r = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)
    return r.returncode, time.monotonic() - t0


def test_the_healthcheck_follows_the_service(services, tmp_path):
    sigs = tmp_path / "clamav"
    subprocess.run([str(ROOT / "scripts" / "make-test-sigs"), str(sigs)], check=True)
    port, rpc = free_port(), rpc_url()
    services.start("scanner", {"CLEMENT_SCANNER_LISTEN": rpc, "CLEMENT_CLAMAV_DB": str(sigs),
                               "CLEMENT_SCANNER_HEALTH_LISTEN": f"127.0.0.1:{port}"}, health_port=port)
    base = {"PATH": os.environ["PATH"]}
    # the setting names the port
    assert healthcheck({**base, "CLEMENT_SCANNER_HEALTH_LISTEN": f"127.0.0.1:{port}"},
                       "CLEMENT_SCANNER_HEALTH_LISTEN", "1")[0] == 0
    # the setting unset: the default port given
    assert healthcheck(base, "CLEMENT_SCANNER_HEALTH_LISTEN", str(port))[0] == 0
    # nothing listens there: unhealthy, and at once
    closed = free_port()
    rc, took = healthcheck({**base, "CLEMENT_SCANNER_HEALTH_LISTEN": f"127.0.0.1:{closed}"},
                           "CLEMENT_SCANNER_HEALTH_LISTEN", str(port))
    assert rc == 1 and took < 10
    # a port that takes the connection but answers no HTTP 200 (the scanner's RPC port)
    rc, took = healthcheck(base, "CLEMENT_UNSET", rpc.rsplit(":", 1)[1])
    assert rc == 1 and took < 10

"""smtp-edge session ids (issue 15, finding 12): they key the session and message log rows
that every replica writes into one database, so two replicas started alike must not repeat
each other's ids. Replicas of a container deployment are pid 1 each and may start in the
same second: exactly what this test does, with two real edges in their own PID namespaces."""
import os
import pathlib
import sys
import time

import pytest

from conftest import http_get
from harness import fakerpc
from harness.smtp import local_only, start_edge

pytestmark = local_only

PID1 = [sys.executable, str(pathlib.Path(__file__).parent / "harness" / "pid1.py")]


@pytest.fixture
def fakes():
    f = [fakerpc.FakeRPC(), fakerpc.FakeRPC()]
    yield f
    for x in f:
        x.close()


def wait_healthy(edge, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if edge.svc.proc.poll() is not None:
            raise RuntimeError(f"edge exited {edge.svc.proc.returncode}:\n{edge.svc.log()}")
        if http_get(f"http://{edge.svc.health}/healthz", timeout=0.5)[0] == 200:
            return
        time.sleep(0.05)
    raise RuntimeError(f"edge not healthy after {timeout}s:\n{edge.svc.log()}")


def ns_pid(wrapper_pid):
    """The pid the edge (the wrapper's only child) has inside its own PID namespace."""
    children = pathlib.Path(f"/proc/{wrapper_pid}/task/{wrapper_pid}/children").read_text().split()
    assert len(children) == 1, children
    for line in pathlib.Path(f"/proc/{children[0]}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid line")


def session_ids(edge, fake, n):
    for _ in range(n):
        r = edge.raw()
        assert r.cmd("EHLO client.example.net")[0] == 250
        assert r.cmd("QUIT")[0] == 221
        r.close()
    return [h["sid"] for h in fake.wait_op("connect", n)]


def test_two_replicas_started_alike_never_share_a_session_id(services, fakes):
    # Start both at the beginning of a second, so that they start within the same one.
    time.sleep(1.05 - time.time() % 1)
    edges = [start_edge(services, f, wait=False, wrap=PID1) for f in fakes]
    for e in edges:
        wait_healthy(e)
    assert [ns_pid(e.svc.proc.pid) for e in edges] == [1, 1]
    a, b = (session_ids(e, f, 4) for e, f in zip(edges, fakes))
    assert len(set(a)) == 4 and len(set(b)) == 4, (a, b)
    assert not set(a) & set(b), f"both replicas used the ids {sorted(set(a) & set(b))}"
    for sid in a + b:  # 72 random bits in hex: nothing of a counter or of the start time
        assert len(sid) == 18 and all(c in "0123456789abcdef" for c in sid), sid

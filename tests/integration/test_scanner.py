"""clement-scanner over its real RPC (docs/RPC.md, op "scan"), with a real libclamav engine
built from scripts/make-test-sigs' database.

Requests go through tools/clement-rpc (the same framing smtp-edge's stub uses); malformed
frames that clement-rpc refuses to build are sent with a few lines of raw SP-over-TCP.
"""
import base64
import io
import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zipfile
from email.message import EmailMessage

import pytest

from conftest import BIN, ROOT, fill_disk, rpc_url, small_disk
from harness.scanner import EICAR, PATTERN, zipped

# The EICAR test string, in two halves so that this file is not itself detected.
RELOAD_PATTERN = b"CLEMENT-RELOAD-PATTERN-2b8e61d0"


@pytest.fixture
def sigdb(tmp_path):
    d = tmp_path / "clamav"
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(d)], check=True)
    return d


def start_scanner(services, db, **env):
    url = rpc_url()
    base = {
        "CLEMENT_SCANNER_LISTEN": url,
        "CLEMENT_CLAMAV_DB": str(db),
        "CLEMENT_CLAMAV_RELOAD_S": "1",
        "CLEMENT_SCANNER_WORKERS": "2",
    }
    base.update({k: str(v) for k, v in env.items()})
    svc = services.start("scanner", base)
    return svc, url


def scan(url, body, header=None, timeout_ms=20000):
    """One request through clement-rpc; returns (exit code, reply dict or None)."""
    hdr = header if header is not None else {"v": 1, "op": "scan", "sid": "t" + str(threading.get_ident())}
    with tempfile.NamedTemporaryFile(prefix="clement-scan-") as f:
        args = [str(BIN / "clement-rpc"), url, json.dumps(hdr)]
        if body is not None:
            f.write(body)
            f.flush()
            args.append(f.name)
        p = subprocess.run(args, capture_output=True, timeout=60,
                           env=dict(os.environ, CLEMENT_RPC_TIMEOUT_MS=str(timeout_ms)))
    reply = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None
    return p.returncode, reply


def mime(text="Hello,\r\nplease see the attachments.\r\n", attachments=()):
    m = EmailMessage()
    m["From"] = "alice@example.org"
    m["To"] = "bob@example.net"
    m["Subject"] = "test"
    m.set_content(text)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def assert_infected(reply, name):
    assert reply is not None
    assert reply["verdict"] == "infected", reply
    # libclamav suffixes names of signatures outside a signed .cvd with ".UNOFFICIAL".
    assert reply["signature"].split(".UNOFFICIAL")[0] == name, reply


def metric(svc, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", svc.metrics(), re.M)
    return float(m.group(1)) if m else None


def test_eicar_in_a_plain_body_is_infected(services, sigdb):
    svc, url = start_scanner(services, sigdb)
    body = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: plain\r\n\r\n" + EICAR + b"\r\n"
    rc, reply = scan(url, body)
    assert rc == 0
    assert_infected(reply, "Eicar-Test-Signature")
    assert metric(svc, 'clement_scanner_scans_total{verdict="infected"}') == 1
    assert "verdict=infected" in svc.log() and "Eicar-Test-Signature" in svc.log()


def test_eicar_as_base64_attachment_is_infected(services, sigdb):
    _, url = start_scanner(services, sigdb)
    body = mime(attachments=[("eicar.com", EICAR, "application/octet-stream")])
    assert EICAR not in body and base64.b64encode(EICAR) in body.replace(b"\r\n", b"")
    assert_infected(scan(url, body)[1], "Eicar-Test-Signature")


def test_eicar_inside_a_zip_attachment_is_infected(services, sigdb):
    _, url = start_scanner(services, sigdb)
    body = mime(attachments=[("invoice.zip", zipped("docs/eicar.com", EICAR), "application/zip")])
    assert EICAR not in body
    assert_infected(scan(url, body)[1], "Eicar-Test-Signature")


def test_full_scratch_directory_is_an_error_never_clean(services, sigdb, tmp_path):
    """libclamav writes each MIME part to its scratch directory and scans the file; on a full
    file system the write fails unseen and the part is scanned empty, so a virus in an
    attachment came back "clean" (libclamav 1.4, a full tmpfs). The scanner now checks for
    room before each scan: the reply is an error (smtp-edge: 451 4.3.0, fail closed), the
    reason is logged for the admin and counted, and with room again the virus is found."""
    with small_disk(tmp_path / "scratch", "4m") as scratch:
        svc, url = start_scanner(services, sigdb, CLEMENT_SCANNER_TMPDIR=scratch)
        body = mime(attachments=[("eicar.com", EICAR, "application/octet-stream")])
        assert_infected(scan(url, body)[1], "Eicar-Test-Signature")
        fill_disk(scratch / "filler")
        rc, reply = scan(url, body)
        assert rc == 0 and reply["verdict"] == "error", reply
        assert reply["error"].startswith(f"scratch directory {scratch} is full: 0.0 MiB free"), reply
        assert metric(svc, "clement_scanner_scratch_full_total") == 1
        assert 'level=error' in svc.log() and "scratch_full" in svc.log()
        os.truncate(scratch / "filler", 3 << 20)       # 1 MiB free: still less than a scan needs
        assert scan(url, body)[1]["verdict"] == "error"
        (scratch / "filler").unlink()
        assert_infected(scan(url, body)[1], "Eicar-Test-Signature")


def test_own_test_pattern_is_infected(services, sigdb):
    _, url = start_scanner(services, sigdb)
    body = mime(attachments=[("notes.txt", b"line one\n" + PATTERN + b"\n", "text/plain")])
    assert_infected(scan(url, body)[1], "Clement.Test.Pattern")


def test_clean_message_with_attachments_is_clean(services, sigdb):
    svc, url = start_scanner(services, sigdb)
    body = mime(attachments=[
        ("report.txt", b"quarterly numbers\n" * 200, "text/plain"),
        ("data.bin", os.urandom(50000), "application/octet-stream"),
        ("archive.zip", zipped("readme.txt", b"nothing to see here\n" * 100), "application/zip"),
    ])
    rc, reply = scan(url, body)
    assert rc == 0 and reply == {"v": 1, "verdict": "clean"}
    assert metric(svc, "clement_scanner_bytes_scanned_total") == len(body)


@pytest.mark.parametrize("action", ["refuse", "accept"])
def test_message_over_the_scan_limit_gets_the_configured_verdict(services, sigdb, action):
    svc, url = start_scanner(services, sigdb, CLEMENT_SCAN_MAX_SCAN_SIZE=65536, CLEMENT_SCAN_LIMIT_ACTION=action)
    big = mime(attachments=[("big.bin", os.urandom(100000), "application/octet-stream")])
    small = mime(attachments=[("small.bin", os.urandom(10000), "application/octet-stream")])
    rc, reply = scan(url, big)
    assert rc == 0
    if action == "refuse":
        assert reply["verdict"] == "infected"
        assert reply["signature"].startswith("Heuristics.Limits.Exceeded"), reply
    else:
        assert reply == {"v": 1, "verdict": "clean"}
        # accept still scans what fits: a virus in the head of a big message is found
        head = b"Subject: big\r\n\r\n" + EICAR + b"\r\n" + b"x" * 100000 + b"\r\n"
        assert_infected(scan(url, head)[1], "Eicar-Test-Signature")
    assert scan(url, small)[1] == {"v": 1, "verdict": "clean"}
    # A small message whose zip unpacks past the limit: only libclamav sees that one.
    nested = mime(attachments=[("big.zip", zipped("zeros.txt", b"0" * 500000), "application/zip")])
    assert len(nested) < 65536
    rc, reply = scan(url, nested)
    if action == "refuse":
        assert reply["verdict"] == "infected" and reply["signature"].startswith("Heuristics.Limits.Exceeded"), reply
    else:
        assert reply == {"v": 1, "verdict": "clean"}
    # big, nested, and in accept mode also the big message with EICAR in its head
    assert metric(svc, "clement_scanner_limit_hits_total") == (2 if action == "refuse" else 3)


@pytest.mark.parametrize("action", ["refuse", "accept"])
def test_scan_time_limit_gets_the_configured_verdict(services, sigdb, action):
    # 1 ms is far less than unpacking 20 members of 100 kB takes anywhere.
    svc, url = start_scanner(services, sigdb, CLEMENT_SCAN_MAX_TIME_MS=1, CLEMENT_SCAN_LIMIT_ACTION=action)
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(20):
            zf.writestr(f"part{k}.txt", os.urandom(50000).hex())
    rc, reply = scan(url, mime(attachments=[("parts.zip", z.getvalue(), "application/zip")]))
    assert rc == 0
    if action == "refuse":
        assert reply == {"v": 1, "verdict": "infected", "signature": "Heuristics.Limits.Exceeded.MaxScanTime"}
    else:
        assert reply == {"v": 1, "verdict": "clean"}
    assert metric(svc, "clement_scanner_limit_hits_total") == 1
    assert "limit=exceeded" in svc.log()


def write_sigs_atomically(db, name, lines):
    tmp = db / ("." + name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    os.rename(tmp, db / name)


def test_signature_added_under_load_is_detected_without_failed_requests(services, sigdb):
    svc, url = start_scanner(services, sigdb)
    assert metric(svc, "clement_scanner_signatures") == 2
    probe = b"Subject: probe\r\n\r\nsome text " + RELOAD_PATTERN + b" more text\r\n"
    infected = b"Subject: e\r\n\r\n" + EICAR + b"\r\n"
    clean = mime(attachments=[("a.zip", zipped("a.txt", b"hello\n" * 1000), "application/zip")])
    failures, results, stop = [], [], threading.Event()
    detected_at = []

    port = int(url.rsplit(":", 1)[1])

    def client(i):
        # Half the clients are clement-rpc processes, half keep one connection and send fast.
        sp = SPClient(port) if i % 2 else None
        n = 0
        while not stop.is_set():
            body, want = [(probe, None), (infected, "infected"), (clean, "clean")][n % 3]
            n += 1
            if sp:
                try:
                    rc, reply = 0, sp.scan(body)
                except (OSError, ValueError) as e:
                    rc, reply = str(e), None
            else:
                rc, reply = scan(url, body, timeout_ms=10000)
            if rc != 0 or reply is None or reply.get("verdict") == "error":
                failures.append((rc, reply))
            elif want and reply["verdict"] != want:
                failures.append(("wrong verdict", want, reply))
            elif want is None and reply["verdict"] == "infected":
                detected_at.append(time.time())
            results.append(reply)
        if sp:
            sp.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        assert not detected_at
        # Many filler hashes so that building the new engine takes a while under load.
        filler = [f"{i:032x}:{1000 + i}:Clement.Filler.{i}" for i in range(40000)]
        write_sigs_atomically(sigdb, "filler.hdb", filler)
        write_sigs_atomically(sigdb, "reload.ndb", ["Clement.Test.Reload:0:*:" + RELOAD_PATTERN.hex()])
        added = time.time()
        deadline = added + 30
        while not detected_at and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # keep the load running past the swap
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert detected_at, "the added signature was never detected"
    assert failures == [], failures[:5]
    assert metric(svc, "clement_scanner_signatures") == 2 + 40000 + 1
    assert metric(svc, 'clement_scanner_reloads_total{result="ok"}') >= 2
    # Scans kept being answered while the new engine was being built.
    log = svc.log().splitlines()
    loading = [i for i, line in enumerate(log) if "event=engine_loading reason=db_changed" in line]
    assert loading
    loaded = next(i for i in range(loading[-1], len(log)) if "event=engine_loaded" in log[i])
    assert any("event=scan " in line for line in log[loading[-1]:loaded]), "scans waited for the load"


class SPClient:
    """A persistent nng REQ connection in a few lines of SP-over-TCP: to send frames that
    clement-rpc would never build, and to keep a fast load running in the reload test."""

    def __init__(self, port, timeout=20.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # SP header, protocol REQ (0x30)
        self._read(8)
        self.rid = 0x80000000

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("peer closed")
            buf += chunk
        return buf

    def request(self, payload):
        """Send one raw frame; returns the reply frame."""
        self.rid = (self.rid + 1) | 0x80000000
        msg = struct.pack(">I", self.rid) + payload  # request id, then the frame
        self.s.sendall(struct.pack(">Q", len(msg)) + msg)
        n = struct.unpack(">Q", self._read(8))[0]
        return self._read(n)[4:]

    def scan(self, body):
        hdr = json.dumps({"v": 1, "op": "scan", "sid": "sp"}).encode()
        return json.loads(self.request(hdr + b"\x00" + body).split(b"\x00", 1)[0])

    def close(self):
        self.s.close()


def sp_request(port, payload):
    c = SPClient(port)
    try:
        return c.request(payload)
    finally:
        c.close()


def test_malformed_requests_get_an_error_reply(services, sigdb):
    svc, url = start_scanner(services, sigdb)
    port = int(url.rsplit(":", 1)[1])
    rc, reply = scan(url, None)
    assert reply["verdict"] == "error" and "body" in reply["error"]
    assert scan(url, b"x", {"v": 1, "op": "rescan"})[1] == {"v": 1, "ok": False, "error": "unknown op"}
    assert scan(url, b"x", {"v": 1})[1] == {"v": 1, "ok": False, "error": "unknown op"}
    assert "clement_rpc_unknown_ops_total 2" in svc.metrics()   # counted by the RPC layer's op table
    rc, reply = scan(url, b"x", {"v": 1, "op": "scan", "sid": {"not": "a string"}})
    assert reply == {"v": 1, "verdict": "clean"}
    # Bodies that are broken archives and MIME: scanned, no crash.
    broken_zip = zipped("a.txt", b"A" * 5000)[:200]
    for body in [b"", b"\x00" * 10, broken_zip,
                 mime(attachments=[("x.zip", broken_zip, "application/zip")]),
                 b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n"]:
        rc, reply = scan(url, body)
        assert rc == 0 and reply["verdict"] in ("clean", "error"), reply
    # Frames clement-rpc would never build.
    for raw in [b"", b"not json", b"[1,2,3]", b"{\"v\":1,\"op\":\"scan\"", b"\xff\xfe\x00\x01",
                b"{" * 100 + b"}" * 100]:
        reply = json.loads(sp_request(port, raw).split(b"\x00", 1)[0])
        assert reply["ok"] is False and reply["error"], reply
    # Still serving.
    assert_infected(scan(url, EICAR)[1], "Eicar-Test-Signature")


def test_not_ready_without_signatures_then_loads_when_they_appear(services, tmp_path):
    db = tmp_path / "empty"
    db.mkdir()
    url = rpc_url()
    svc = services.start("scanner", {"CLEMENT_SCANNER_LISTEN": url, "CLEMENT_CLAMAV_DB": str(db),
                                     "CLEMENT_CLAMAV_RELOAD_S": "1"}, wait=False)
    from conftest import http_get, wait_port
    assert wait_port(int(url.rsplit(":", 1)[1]))
    status, text = http_get(f"http://{svc.health}/healthz")
    assert status == 503 and "signature" in text
    rc, reply = scan(url, EICAR)
    assert rc == 0 and reply["verdict"] == "error"  # never "clean" without signatures
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(db)], check=True)
    deadline = time.time() + 20
    while http_get(f"http://{svc.health}/healthz")[0] != 200 and time.time() < deadline:
        time.sleep(0.1)
    assert_infected(scan(url, EICAR)[1], "Eicar-Test-Signature")


def test_help_lists_the_settings():
    out = subprocess.run([str(BIN / "clement-scanner"), "--help"], capture_output=True, text=True, check=True).stdout
    for name in ["CLEMENT_SCANNER_LISTEN", "CLEMENT_CLAMAV_DB", "CLEMENT_SCAN_LIMIT_ACTION", "CLEMENT_SCAN_MAX_SCAN_SIZE"]:
        assert name in out

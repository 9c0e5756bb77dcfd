"""A programmable fake of Clement's RPC services, for fault injection in smtp-edge tests.

It speaks nng's REQ/REP wire protocol over TCP itself (SP header exchange, 64-bit length
prefixed messages, the 4-byte request id echoed back), so no Python nng binding is needed.
A test gives it a handler: fn(header_dict, body_bytes) -> reply, where reply is
  a dict            -> sent as the JSON reply header
  ("raw", bytes)    -> sent as is (malformed answers)
  ("sleep", s, r)   -> wait s seconds, then send r (slow answers)
  None              -> never answered (a silent service)
Every request is recorded in .requests (header, body), for assertions.
"""
import json
import socket
import struct
import threading
import time

import pytest

SP_REP = 0x31


def accept(code=250, enh="2.0.0", text="Ok", **extra):
    return dict({"v": 1, "action": "accept", "code": code, "enh": enh, "text": text}, **extra)


def reject(code=550, enh="5.7.1", text="Refused"):
    return {"v": 1, "action": "reject", "code": code, "enh": enh, "text": text}


def defer(code=451, enh="4.7.1", text="Try later"):
    return {"v": 1, "action": "defer", "code": code, "enh": enh, "text": text}


LOCAL = {"mode": "local", "group_id": 1, "domain_id": 1, "user_id": 1, "quarantine": False}


def default_handler(h, body):
    """Accept everything: what a healthy stack answers for a known local domain."""
    op = h.get("op")
    if op == "connect":
        return accept(220, "", "Welcome")
    if op == "rcpt":
        return accept(250, "2.1.5", "Ok", route=LOCAL)
    if op == "auth":
        if h.get("password") == "secret":
            return accept(235, "2.7.0", "Authentication successful", user=h.get("user"))
        return reject(535, "5.7.8", "Authentication credentials invalid")
    if op == "scan":
        if b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in body:
            return {"v": 1, "verdict": "infected", "signature": "Eicar-Test-Signature"}
        return {"v": 1, "verdict": "clean"}
    if op == "deliver":
        return accept(250, "2.0.0", "Ok: delivered", rcpts=[
            {"rcpt": r["rcpt"], "status": "received", "code": 250, "enh": "2.0.0", "text": "ok"}
            for r in h.get("rcpts", [])])
    if op == "mail":  # smtp-edge asks it after AUTH only; helo it never asks (docs/RPC.md)
        return accept(250, "2.1.0", "Ok")
    if op in ("log_session", "log_message"):
        return {"v": 1, "ok": True}
    return {"v": 1, "ok": False, "error": "unknown op"}


class FakeRPC:
    def __init__(self, handler=default_handler, port=0):
        """port: 0 for any free one; a given port brings a service back where it was."""
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.closed = False
        self.conns = []
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def ops(self, op=None):
        with self.lock:
            return [h for h, _ in self.requests if op is None or h.get("op") == op]

    def wait_op(self, op, n=1, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.ops(op)) >= n:
                return self.ops(op)
            time.sleep(0.02)
        return self.ops(op)

    def logged_messages(self, n=1, timeout=5.0):
        """The log_message requests policy got, in order: those sent on their own and those a
        log_session carried as "message" (smtp-edge holds the last one for the session's next
        call, docs/RPC.md), once there are n of them or the timeout passed."""
        deadline = time.time() + timeout
        while True:
            with self.lock:
                got = [h if h.get("op") == "log_message" else h["message"] for h, _ in self.requests
                       if h.get("op") == "log_message" or (h.get("op") == "log_session" and "message" in h)]
            if len(got) >= n or time.time() >= deadline:
                return got
            time.sleep(0.02)

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the other thread
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def _accept_loop(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.closed:
                c.close()
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _recv_exact(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, c):
        send_lock = threading.Lock()
        try:
            c.sendall(bytes([0, ord("S"), ord("P"), 0, 0, SP_REP, 0, 0]))
            self._recv_exact(c, 8)
            while True:
                (n,) = struct.unpack(">Q", self._recv_exact(c, 8))
                data = self._recv_exact(c, n)
                reqid, payload = data[:4], data[4:]
                hdr_bytes, _, body = payload.partition(b"\0")
                try:
                    hdr = json.loads(hdr_bytes)
                except ValueError:
                    hdr = {}
                with self.lock:
                    self.requests.append((hdr, body))
                threading.Thread(target=self._answer, args=(c, send_lock, reqid, hdr, body), daemon=True).start()
        except (EOFError, OSError):
            pass

    def _answer(self, c, send_lock, reqid, hdr, body):
        r = self.handler(hdr, body)
        while isinstance(r, tuple) and r[0] == "sleep":
            time.sleep(r[1])
            r = r[2]
        if r is None:
            return
        data = r[1] if isinstance(r, tuple) and r[0] == "raw" else json.dumps(r).encode()
        msg = reqid + data
        try:
            with send_lock:
                c.sendall(struct.pack(">Q", len(msg)) + msg)
        except OSError:
            pass


@pytest.fixture
def fake():
    """A FakeRPC for the test, closed after it (request it before the edge, so it outlives it)."""
    f = FakeRPC()
    yield f
    f.close()

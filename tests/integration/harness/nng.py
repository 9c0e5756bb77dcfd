"""The one nng REQ client of the tests: nng's SP-over-TCP wire format, spoken directly so the
tests need no Python nng binding. An 8-byte handshake ("\\0SP\\0", the protocol id: REQ0 0x30,
its peer REP0 0x31, two reserved bytes), then frames of a 64-bit big-endian length and the
payload; a REQ payload starts with a 32-bit request id with its high bit set, and the reply
carries the same id. Clement's RPC payload is a JSON header, optionally NUL and a body
(docs/RPC.md). Much faster than one tools/clement-rpc process per request;
test_policy.test_clement_rpc_tool checks that the real tool speaks the same protocol."""
import json
import socket
import struct

SP_REQ, SP_REP = 0x30, 0x31


class Req:
    """One REQ socket to url ("tcp://host:port") or to a port on 127.0.0.1."""

    def __init__(self, url, timeout=30.0):
        if isinstance(url, int):
            host, port = "127.0.0.1", url
        else:
            host, port = url[len("tcp://"):].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.sendall(b"\0SP\0" + struct.pack(">HH", SP_REQ, 0))
        peer = self._read(8)
        assert peer[:4] == b"\0SP\0" and struct.unpack(">H", peer[4:6])[0] == SP_REP, peer
        self.next_id = 1

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the service closed the connection")
            buf += chunk
        return buf

    def call_raw(self, hdr, body=None):
        """Send one request; returns the reply's (header dict, body bytes or None)."""
        payload = json.dumps(hdr).encode()
        if body is not None:
            payload += b"\0" + body
        rid = 0x80000000 | self.next_id
        self.next_id = (self.next_id + 1) & 0x7FFFFFFF or 1
        msg = struct.pack(">I", rid) + payload
        self.sock.sendall(struct.pack(">Q", len(msg)) + msg)
        while True:
            n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)
            if struct.unpack(">I", data[:4])[0] == rid:
                break
        head, sep, rest = data[4:].partition(b"\0")
        return json.loads(head), (rest if sep else None)

    def call(self, hdr, body=None):
        """Send one request; returns the reply header as a dict."""
        return self.call_raw(hdr, body)[0]

    def close(self):
        self.sock.close()

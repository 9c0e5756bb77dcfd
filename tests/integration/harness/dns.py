"""A real DNS server on loopback for the reputation tests (python3-dnslib).

It serves what the tests put in `records` ({name: [(type, value), ...]}, names without the
final dot, types "A", "AAAA", "PTR", "TXT"; a third element (type, value, ttl) sets the TTL, 300 s otherwise; "*.zone" answers for any name below zone), answers NXDOMAIN for any other name, and waits
`delay` seconds before answering names under one of `slow` (a suffix list; "" is every name): the slow-DNS case.
Every question is recorded in `asked` (so a test can check what was looked up, and that a
second session was answered from the resolver's cache). UDP and TCP on one port.
"""
import socket
import threading
import time

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from conftest import free_port


class _Resolver(BaseResolver):
    def __init__(self, owner):
        self.owner = owner

    def resolve(self, request, handler):
        o = self.owner
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with o.lock:
            o.asked.append((name, qtype))
            o.asked_at.setdefault(name, time.time())
            recs = o.records.get(name)
            labels = name.split(".")
            for i in range(1, len(labels)):
                if recs is None:
                    recs = o.records.get("*." + ".".join(labels[i:]))
            delay = next((d for suffix, d in o.slow.items()
                          if suffix == "" or name == suffix or name.endswith("." + suffix)), 0)
        if delay:
            time.sleep(delay)
        reply = request.reply()
        if recs is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        mk = {"A": A, "AAAA": AAAA, "PTR": PTR, "TXT": TXT}
        for t, v, *ttl in recs:
            if t == qtype:
                reply.add_answer(RR(request.q.qname, getattr(QTYPE, t), rdata=mk[t](v), ttl=ttl[0] if ttl else 300))
        return reply


class _Quiet(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")


class DnsServer:
    def __init__(self, records=None, slow=None):
        self.records = dict(records or {})
        self.slow = dict(slow or {})
        self.asked = []
        self.asked_at = {}  # name -> when it was first asked
        self.lock = threading.Lock()
        self.port = None
        self._servers = []

    def start(self):
        for _ in range(20):
            port = free_port()
            try:
                udp = DNSServer(_Resolver(self), address="127.0.0.1", port=port, logger=_Quiet())
                tcp = DNSServer(_Resolver(self), address="127.0.0.1", port=port, tcp=True, logger=_Quiet())
            except OSError:
                continue
            udp.server.daemon_threads = tcp.server.daemon_threads = True
            udp.start_thread()
            tcp.start_thread()
            self._servers = [udp, tcp]
            self.port = port
            return self
        raise RuntimeError("no free port for the DNS server")

    @property
    def spec(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        for s in self._servers:
            s.stop()
            s.server.server_close()
        self._servers = []

    def questions(self, suffix):
        with self.lock:
            return [n for n, _ in self.asked if n == suffix or n.endswith("." + suffix)]


def dead_port():
    """A UDP port on 127.0.0.1 where nothing answers (the DNS-down case)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""TLS session resumption for the benchmarks' own STARTTLS clients (RESUME=1), as a real MTA's
client resumes: Postfix keeps the sessions it was given (smtp_tls_session_cache_database) and
offers the last one again to the same server. Here the last session that carries a ticket is
kept per port and offered to the next connection to that port; the counts say how many
handshakes were resumptions, so a table can show that resumption really happened."""
import threading


class Resumer:
    def __init__(self, on):
        self.on = on
        self.lock = threading.Lock()
        self.last = {}
        self.resumed = 0
        self.full = 0
        self.by_port = {}  # port: [resumed, full] over the whole run

    def offer(self, port):
        """The session to offer on a new connection to port (None: a full handshake)."""
        if not self.on:
            return None
        with self.lock:
            return self.last.get(port)

    def keep(self, port, sock):
        """After a session's QUIT (its tickets have arrived by then): count the handshake and
        keep the session for the next connection."""
        if not self.on:
            return
        with self.lock:
            n = self.by_port.setdefault(port, [0, 0])
            if sock.session_reused:
                self.resumed += 1
                n[0] += 1
            else:
                self.full += 1
                n[1] += 1
            if sock.session is not None and sock.session.has_ticket:
                self.last[port] = sock.session

    def take_counts(self):
        """(resumed, full) since the last call, and start counting again."""
        with self.lock:
            r = (self.resumed, self.full)
            self.resumed = self.full = 0
            return r

    def totals(self, port):
        """(resumed, full) handshakes to port over the whole run."""
        with self.lock:
            return tuple(self.by_port.get(port, (0, 0)))

    def reset(self):
        """Forget the counts (after a warm-up), not the sessions."""
        with self.lock:
            self.by_port.clear()
            self.resumed = self.full = 0

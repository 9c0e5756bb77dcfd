"""See bench/eod-latency."""
import os
import pathlib
import socket
import ssl
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import Stack, load_avg, machine  # noqa: E402

N = int(os.environ.get("N", "20"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
CTX = ssl.create_default_context()
CTX.check_hostname, CTX.verify_mode = False, ssl.CERT_NONE  # the stack's self-signed certificate


def message(i, size):
    head = f"From: <s@source.example>\r\nTo: <u@bench.test>\r\nSubject: r {i}\r\nMessage-ID: <eod-{i}-{time.time_ns()}@x>\r\n\r\n"
    line = "the quarterly report shows revenue growth across all regions while costs"
    n, body = len(head), []
    while n < size:
        body.append(line)
        n += len(line) + 2
    return (head + "\r\n".join(body) + "\r\n").encode()


def session(port, size, tls, nodelay, split, count=N, resumer=None):
    """count messages in one session; seconds from the dot written to the 250 read, each.
    resumer (bench/lib/tlsresume.py) offers and keeps TLS sessions for resumption."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    if nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")

    def cmd(line, want=b"250"):
        if line:
            s.sendall(line)
        while True:
            r = f.readline()
            if not r:
                raise RuntimeError("connection closed")
            if r[3:4] != b"-":
                break
        if not r.startswith(want):
            raise RuntimeError(f"{line!r} -> {r!r}")
    cmd(None, b"220")
    cmd(b"EHLO mx.source.example\r\n")
    if tls:
        cmd(b"STARTTLS\r\n", b"220")
        s = CTX.wrap_socket(s, server_hostname="localhost", session=resumer.offer(port) if resumer else None)
        f = s.makefile("rb")
        cmd(b"EHLO mx.source.example\r\n")
    lat = []
    for i in range(count):
        cmd(b"MAIL FROM:<s@source.example>\r\n")
        cmd(b"RCPT TO:<u@bench.test>\r\n")
        cmd(b"DATA\r\n", b"354")
        m = message(i, size)
        if split:  # as bench/anchor's client: the body, then the dot in a second write
            s.sendall(m)
            t0 = time.monotonic()
            cmd(b".\r\n")
        else:
            t0 = time.monotonic()
            cmd(m + b".\r\n")
        lat.append(time.monotonic() - t0)
    cmd(b"QUIT\r\n", b"221")
    if tls and resumer:
        resumer.keep(port, s)
    s.close()
    return lat


def main():
    st = Stack({"CLEMENT_MAX_SESSIONS_PER_IP": "100"}).start()
    cells, loads = {}, [load_avg()]
    try:
        session(st.smtp_port, 10240, True, False, True)  # warm-up
        for _ in range(ROUNDS):
            for size in (10240, 102400):
                for tls in (False, True):
                    for nodelay in (False, True):
                        for split in (True, False):
                            cells.setdefault((size, tls, nodelay, split), []).append(
                                statistics.median(session(st.smtp_port, size, tls, nodelay, split)))
            loads.append(load_avg())
    finally:
        for p in st.stop():
            print("clement:", p[:400], file=sys.stderr)
    print(f"\n### One session, end of DATA -> 250 (ClamAV-only path)\n\n{machine()}; load average "
          f"{min(loads):.1f} to {max(loads):.1f}; {N} messages per cell and round, {ROUNDS} rounds; build "
          f"{os.environ.get('CLEMENT_BUILD', 'build')}\n")
    print("| size | TLS | client Nagle | dot written | p50 ms per round |")
    print("| ---: | --- | --- | --- | --- |")
    for (size, tls, nodelay, split), v in cells.items():
        print(f"| {size // 1024} KB | {'STARTTLS' if tls else 'plain'} | {'off (TCP_NODELAY)' if nodelay else 'on'} | "
              f"{'apart' if split else 'with the body'} | {', '.join(f'{x * 1e3:.1f}' for x in v)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

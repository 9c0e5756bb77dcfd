#!/usr/bin/env python3
"""pid1.py COMMAND [ARG...] - run COMMAND as pid 1 of a new PID namespace, as a container
runtime starts a service, so a test can start two replicas that see the same pid.

SIGTERM and SIGINT are passed on to COMMAND; the exit status is COMMAND's (128 + n when a
signal n ended it). As root only a PID namespace is made; otherwise a user namespace that maps
the caller to root comes with it (Debian allows unprivileged user namespaces)."""
import ctypes
import os
import signal
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000


def unshare_pid():
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWPID if uid == 0 else CLONE_NEWPID | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        sys.exit(f"pid1.py: unshare: {os.strerror(ctypes.get_errno())}")
    if uid != 0:
        for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"0 {uid} 1"),
                           ("/proc/self/gid_map", f"0 {gid} 1")):
            with open(path, "w") as f:
                f.write(text)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: pid1.py COMMAND [ARG...]")
    unshare_pid()
    child = os.fork()  # the first child of the new namespace is its pid 1
    if child == 0:
        try:
            os.execv(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, _f: os.kill(child, n))
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()

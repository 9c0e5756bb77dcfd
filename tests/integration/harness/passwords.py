"""The one password hasher of the tests, the browser stack and the benchmarks: the real
tools/clement-passwd (argon2id, as admin-api and policy check it), each password hashed once
per process (argon2id is slow on purpose)."""
import subprocess

from conftest import BIN

_HASH = {}


def hash_password(pw):
    """The stored form of pw, as clement-passwd writes it."""
    if pw not in _HASH:
        r = subprocess.run([str(BIN / "clement-passwd")], input=pw + "\n", capture_output=True, text=True,
                           check=True)
        _HASH[pw] = r.stdout.strip()
    return _HASH[pw]

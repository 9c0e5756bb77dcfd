"""Payloads the scanner tests and the content tests share: EICAR, a test pattern, zipped files."""
import io
import zipfile


EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTI" + b"VIRUS-TEST-FILE!$H+H*"


PATTERN = b"CLEMENT-TEST-PATTERN-7f3c9a1e-NOT-A-VIRUS"


def zipped(name, data):
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return z.getvalue()

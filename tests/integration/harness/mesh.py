"""Helpers for the mesh tests (test_banstats_mesh, test_smtp_mesh, test_mesh_nodes): test
certificates made with openssl, and the SHA-256 fingerprint that mesh_peers.cert_fingerprint
holds (docs/MESH.md section 2)."""
import hashlib
import socket
import ssl
import subprocess

from harness.smtp import Raw

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
SERVER_EXT = "subjectAltName=IP:127.0.0.1\n"
CLIENT_EXT = "extendedKeyUsage=clientAuth\n"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, cn="Test CA"):
    """ca.pem / ca.key in directory d."""
    openssl("req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", f"/CN={cn}", cwd=d)


def issue(d, name, ext, cn=None):
    """<name>.pem / <name>.key in d, signed by d's CA, with the extensions ext (text)."""
    (d / f"{name}.ext").write_text(ext)
    openssl("req", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn or name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def self_signed(d, name):
    """<name>.pem / <name>.key in d, self-signed (no CA at all)."""
    openssl("req", "-x509", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj",
            f"/CN={name}.test", cwd=d)


def fingerprint(pem_path):
    """64 lowercase hex digits: SHA-256 of the certificate's DER form."""
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def tls_ctx(cert=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def greeting_from(ip, port):
    """The greeting a client connecting from ip gets: (code, its last line). With the pregreet
    test on, a refusal follows the first "220-" line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(ip, 0)) as s:
        r = Raw.__new__(Raw)
        r.sock, r.buf = s, b""
        code, text = r.reply()
        return code, text.splitlines()[-1]

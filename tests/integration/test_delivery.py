"""clement-delivery: local Maildir (read back by Dovecot), quota, relay through smtp-sink and
misbehaving downstreams, outbound, quarantine round trip (issue #6)."""
import imaplib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import free_port, wait_port
from test_delivery_util import (SmtpSink, deliver_req, make_domain, make_group, make_user, maildir_new, route, rpc,
                           start_delivery)

MSG = (b"Received: from x by clement.test\r\nFrom: Alice <alice@sender.test>\r\nTo: bob@example.org\r\n"
       b"Subject: Hello Bob\r\nMessage-ID: <m1@sender.test>\r\n\r\nHi Bob,\r\nhow are you?\r\n")


@pytest.fixture
def local_setup(db):
    g = make_group(db, "local-g")
    d = make_domain(db, "example.org", g)
    bob = make_user(db, "bob", d)
    carol = make_user(db, "carol", d)
    return {"g": g, "d": d, "bob": bob, "carol": carol}


def start_dovecot(tmp, authdir, root, users):
    """A private Dovecot reading <root>/%d/%n over IMAP on a free port, as uid nobody (Dovecot
    refuses root for mail processes); returns (proc, port)."""
    tmp = pathlib.Path(tmp)
    port = free_port()
    os.chown(root, 65534, 65534)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), 65534, 65534)
    (authdir / "passwd").write_text("".join(f"{u}:{{PLAIN}}pw::::::\n" for u in users))
    os.chmod(authdir / "passwd", 0o644)
    conf = tmp / "dovecot.conf"
    conf.write_text(f"""
base_dir = {tmp}/dc-run
state_dir = {tmp}/dc-state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
mail_location = maildir:{root}/%d/%n
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {authdir}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={authdir}/home/%d/%n
}}
""")
    proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert wait_port(port), (tmp / "dovecot.log").read_text() if (tmp / "dovecot.log").exists() else "no log"
    return proc, port


def test_local_delivery_is_read_by_dovecot(db, services, tmp_path, local_setup):
    # Dovecot's auth and mail processes are not root: everything they read lives in a
    # world-traversable directory (pytest's tmp_path is root-only).
    authdir = pathlib.Path(tempfile.mkdtemp(prefix="clement-dc-"))
    os.chmod(authdir, 0o755)
    root = authdir / "mail"
    _, port = start_delivery(services, db, root)
    s = local_setup
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"])),
                               ("Carol@Example.org", route("local", s["g"], s["d"], s["carol"]))]), MSG)
    assert (r["action"], r["code"]) == ("accept", 250), r
    assert [x["status"] for x in r["rcpts"]] == ["received", "received"]
    for a in ("bob@example.org", "carol@example.org"):
        files = maildir_new(root, a)
        assert len(files) == 1 and files[0].read_bytes() == MSG
        assert files[0].name.endswith(f",S={len(MSG)}")
        assert list((root / "example.org" / a.split("@")[0] / "tmp").iterdir()) == []
    proc, iport = start_dovecot(tmp_path, authdir, root, ["bob@example.org"])
    try:
        im = imaplib.IMAP4("127.0.0.1", iport)
        im.login("bob@example.org", "pw")
        typ, data = im.select("INBOX")
        assert typ == "OK" and data[0] == b"1"
        typ, data = im.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == MSG
        im.logout()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(authdir, ignore_errors=True)


def test_local_over_quota_is_452_and_nothing_delivered(db, services, tmp_path, local_setup):
    root = tmp_path / "mail"
    s = local_setup
    db.execute("UPDATE users SET quota_bytes = %s WHERE id = %s", (len(MSG) + 10, s["carol"]))
    _, port = start_delivery(services, db, root)
    req = deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"])),
                       ("carol@example.org", route("local", s["g"], s["d"], s["carol"]))])
    assert rpc(port, req, MSG)["code"] == 250          # carol now holds len(MSG) bytes
    r = rpc(port, req, MSG)                            # a second copy passes her quota
    assert (r["action"], r["code"], r["enh"]) == ("defer", 452, "4.2.2"), r
    assert all(x["status"] == "failed" for x in r["rcpts"])
    # All-or-nothing: bob did not get the second copy either, and no tmp file is left.
    assert len(maildir_new(root, "bob@example.org")) == 1
    assert len(maildir_new(root, "carol@example.org")) == 1
    assert list((root / "example.org" / "bob" / "tmp").iterdir()) == []


def test_unusable_maildir_is_451(db, services, tmp_path, local_setup):
    root = tmp_path / "mail"
    root.mkdir()
    (root / "example.org").write_text("not a directory")   # the domain's directory cannot be created
    _, port = start_delivery(services, db, root)
    s = local_setup
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"]))]), MSG)
    assert (r["action"], r["code"]) == ("defer", 451), r


def test_bad_requests_get_error_replies(db, services, tmp_path, local_setup):
    _, port = start_delivery(services, db, tmp_path / "mail")
    s = local_setup
    assert rpc(port, {"v": 1, "op": "nope"}).get("ok") is False
    assert rpc(port, deliver_req([])).get("ok") is False
    mixed = deliver_req([("bob@example.org", route("local", s["g"])), ("x@y.test", route("relay", s["g"] + 1))])
    r = rpc(port, mixed, MSG)
    assert r.get("ok") is False and "mixed" in r["error"]
    assert rpc(port, deliver_req([("bob@example.org", route("local", s["g"]))])).get("ok") is False  # no body

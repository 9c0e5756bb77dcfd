"""smtp-edge reloads its TLS certificate without a restart (issue 16): when the files change
(an atomic rename, or a symlink swap as certbot does) or on SIGHUP. A session keeps the
certificate of its handshake and completes its message; new handshakes get the new one. A
pair that does not load (key of another certificate, not PEM, missing) is logged and the old
certificate stays in use."""
import hashlib
import os
import pathlib
import signal
import ssl
import subprocess

import pytest

from conftest import ROOT, wait_for
from harness import fakerpc
from harness.smtp import Raw, client_tls, install_rename, local_only, make_pair, message, start_edge, starttls

pytestmark = local_only


@pytest.fixture
def pairs(tmp_path):
    return make_pair(tmp_path / "a"), make_pair(tmp_path / "b")


def install_symlinks(live, archive, n, cert, key):
    """certbot's layout: live/*.pem are symlinks into archive/, swapped to the n-th version."""
    archive.mkdir(exist_ok=True)
    for name, data in (("key", key), ("cert", cert)):
        target = archive / f"{name}{n}.pem"
        target.write_bytes(data)
        tmp = live / f".{name}.pem.lnk"
        os.symlink(target, tmp)
        os.replace(tmp, live / f"{name}.pem")


def fp_now(e):
    r, fp = starttls(e)
    r.cmd("QUIT")
    r.close()
    return fp


def fp_465(e):
    r = Raw(e.host, e.smtps, tls=True)
    fp = hashlib.sha256(r.sock.getpeercert(binary_form=True)).hexdigest()
    assert r.reply()[0] == 220
    r.close()
    return fp


def edge_with(services, live, **env):
    return start_edge(services, fakerpc.FakeRPC(), CLEMENT_TLS_CERT=str(live / "cert.pem"),
                      CLEMENT_TLS_KEY=str(live / "key.pem"), **env)


def finish_message(r):
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(message() + ".\r\n")
    return r.reply()


@pytest.mark.parametrize("how", ["rename", "symlink"])
def test_changed_files_are_loaded_and_sessions_keep_theirs(services, tmp_path, pairs, how):
    (ca, ka, fa), (cb, kb, fb) = pairs
    live = tmp_path / "live"
    live.mkdir()
    if how == "rename":
        install_rename(live, ca, ka)
    else:
        install_symlinks(live, tmp_path / "archive", 1, ca, ka)
    e = edge_with(services, live, CLEMENT_TLS_RELOAD_S=1)
    old, fp = starttls(e)
    assert fp == fa
    if how == "rename":
        install_rename(live, cb, kb)
    else:
        install_symlinks(live, tmp_path / "archive", 2, cb, kb)
    assert wait_for(lambda: fp_now(e) == fb, timeout=10), "new handshakes never got the new certificate"
    assert fp_465(e) == fb  # implicit TLS too
    # the session from before the change still has its certificate and completes its message
    assert hashlib.sha256(old.sock.getpeercert(binary_form=True)).hexdigest() == fa
    code, text = finish_message(old)
    assert code == 250, text
    assert 'clement_edge_tls_reloads_total{result="ok"} 1' in e.metrics()
    assert f"event=tls_reloaded why=files_changed cert={live / 'cert.pem'} sha256={fb}" in e.svc.log()


def test_sighup_reloads(services, tmp_path, pairs):
    (ca, ka, fa), (cb, kb, fb) = pairs
    live = tmp_path / "live"
    live.mkdir()
    install_rename(live, ca, ka)
    e = edge_with(services, live, CLEMENT_TLS_RELOAD_S=0)  # no timer: only the signal reloads
    old, fp = starttls(e)
    assert fp == fa
    install_rename(live, cb, kb)
    assert not wait_for(lambda: fp_now(e) == fb, timeout=2.5), "reloaded without SIGHUP"
    e.svc.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: fp_now(e) == fb, timeout=10), "SIGHUP did not load the new certificate"
    assert finish_message(old)[0] == 250
    assert "why=sighup" in e.svc.log()


def test_bad_pair_keeps_the_old_certificate(services, tmp_path, pairs):
    (ca, ka, fa), (cb, kb, fb) = pairs
    live = tmp_path / "live"
    live.mkdir()
    install_rename(live, ca, ka)
    e = edge_with(services, live, CLEMENT_TLS_RELOAD_S=1)
    assert fp_now(e) == fa
    failures = 0
    bad = [("the key of another certificate", cb, ka), ("a certificate that is not PEM", b"not a certificate\n", ka)]
    for what, cert, key in bad:
        install_rename(live, cert, key)
        failures += 1
        assert wait_for(lambda: e.svc.log().count("event=tls_reload_failed") >= failures, timeout=10), what
        assert fp_now(e) == fa, what
        assert fp_465(e) == fa, what
    os.unlink(live / "key.pem")  # a missing key: unreadable
    assert wait_for(lambda: e.svc.log().count("event=tls_reload_failed") >= 3, timeout=10)
    e.svc.proc.send_signal(signal.SIGHUP)  # SIGHUP with a bad pair: the same
    assert wait_for(lambda: e.svc.log().count("event=tls_reload_failed") >= 4, timeout=10)
    r, fp = starttls(e)
    assert fp == fa and finish_message(r)[0] == 250
    log = e.svc.log()
    assert "the certificate loaded before stays in use" in log and "PRIVATE KEY" not in log
    assert 'clement_edge_tls_reloads_total{result="failed"} 4' in e.metrics()
    install_rename(live, cb, kb)  # a good pair again is taken
    assert wait_for(lambda: fp_now(e) == fb, timeout=10)

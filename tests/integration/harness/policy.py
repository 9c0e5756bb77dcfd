"""Policy as smtp-edge asks it: one RPC helper, its reply as an SMTP client reads it, start_policy."""
from conftest import rpc_url
from harness.nng import Req


_peers = {}


def rpc(url, **hdr):
    """One request; the reply header as a dict. A rcpt has a HELO name unless the test gives
    one (helo=None: none), as smtp-edge's always has: policy judges it there."""
    base = {"v": 1, "sid": "T1", "ip": "192.0.2.10", "port": 40000, "listener": "smtp"}
    if hdr.get("op") == "rcpt":
        base["helo"] = "client.test"
    hdr = dict(base, **hdr)
    hdr = {k: v for k, v in hdr.items() if v is not None}
    for attempt in range(2):
        try:
            if url not in _peers:
                _peers[url] = Req(url, timeout=10)
            return _peers[url].call(hdr)
        except (OSError, ConnectionError):
            _peers.pop(url).close() if url in _peers else None
            if attempt:
                raise


def reply(r):
    """What the SMTP client would read."""
    return f"{r['code']} {r['enh']} {r['text']}".replace("  ", " ")


def start_policy(services, db_url, **extra):
    url = rpc_url()
    env = {"CLEMENT_POLICY_LISTEN": url, "CLEMENT_DB_URL": db_url, "CLEMENT_POLICY_WORKERS": "4",
           "CLEMENT_POLICY_LOG_FLUSH_MS": "200"}
    env.update({k: str(v) for k, v in extra.items()})
    svc = services.start("policy", env)
    return url, svc


NEW_GROUP_CONTENT = {"dmarc_reject": True, "quarantine": 6}

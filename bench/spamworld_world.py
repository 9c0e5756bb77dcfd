"""The spam world of bench/spamworld (issue 19): senders, their domains, their DNS and their
messages, all generated here, all on 127.0.0.0/8.

Every sender class has its own /24 of loopback source addresses (127.20.C.0/24 for ham,
127.30.C.0/24 for spam; never 127.0.0.1). The world's DNS publishes, for those addresses and
for every sender domain: PTR and A (forward-confirmed where the class has FCrDNS), the
blocklist and allowlist zones, and MX, SPF, DKIM (an RSA key generated per signing domain) and
DMARC (p=reject, p=none or none) records. Every message carries a unique token (header
X-World-Token and in its text) so that an accepted message can be found where it landed.

The lists, in Postfix postscreen_dnsbl_sites syntax, are SITES below; the weights copy the
README's example (a zen-like list *3, a barracuda-like list *2, a dnswl-like allowlist *-2)
and THRESHOLD is Clement's default CLEMENT_DNSBL_THRESHOLD.
"""
import base64
import datetime
import io
import pathlib
import random
import subprocess
import sys
import zipfile
from email.utils import format_datetime, make_msgid

try:
    import dkim
except ImportError:  # a python3 other than Debian's (pyenv): Debian's python3-dkim anyway
    sys.path.append("/usr/lib/python3/dist-packages")
    import dkim

ZEN, BARRA, DNSWL = "zen.bl.spamworld.org", "b.bl.spamworld.org", "list.wl.spamworld.org"
SITES = f"{ZEN}=127.0.0.[2..11]*3, {BARRA}=127.0.0.2*2, {DNSWL}=127.0.[0..255].[1..3]*-2"
THRESHOLD = 3
RCPT_DOMAIN = "bench.test"
USERS = ["u", "alice", "bob", "carol", "dave"]
FRIEND = "friend@homelab-world.net"  # in alice's "always accept" list (a user directive)

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# EICAR, split so this file is not itself a test virus for a scanner reading the repository.
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# (label, kind, count, description) in the order of the report; the counts are those _build makes.
CLASSES = [
    ("ham.plain", "ham", 10, "FCrDNS, SPF pass, DKIM-signed, DMARC-aligned, plain text"),
    ("ham.multipart", "ham", 10, "as ham.plain, multipart/alternative text+HTML"),
    ("ham.list", "ham", 10, "mailing list: envelope and DKIM of the list, From: of the author (p=none)"),
    ("ham.list-rewrite", "ham", 8, "list rewrites From: of a p=reject author to the list's address"),
    ("ham.list-preject", "ham", 8, "list keeps From: of a p=reject author, adds a footer (author DKIM broken)"),
    ("ham.bounce", "ham", 8, "DSN with MAIL FROM:<> to a real user"),
    ("ham.always", "ham", 6, "friend on a PBL-listed home IP, in the user's always-accept list"),
    ("ham.esp", "ham", 10, "ESP newsletter: DNSWL IP (some also on the *2 list), shouting subject, tracking links"),
    ("ham.forwarded", "ham", 8, "forwarded: SPF fails (p=reject author domain), author's DKIM intact"),
    ("ham.smallfirm", "ham", 8, "small firm: no PTR, HELO SERVER01 (not FQDN), SPF pass, no DKIM"),
    ("ham.transactional", "ham", 10, "password resets and receipts, DKIM, p=reject domain"),
    ("ham.reply-attach", "ham", 8, "human reply with a PDF attachment"),
    ("spam.pregreet", "spam", 25, "botnet on listed IPs (zen+b) talking before the greeting"),
    ("spam.listed", "spam", 25, "listed IPs (zen, b or both) that behave"),
    ("spam.forgery", "spam", 20, "forgery of a p=reject bank from clean IPs, no DKIM, SPF fail"),
    ("spam.gtube", "spam", 10, "GTUBE from throwaway domains with valid SPF"),
    ("spam.content", "spam", 20, "shouting subject, no Date/Message-ID, HTML-only deceptive links, SPF pass"),
    ("spam.dictionary", "spam", 15, "dictionary attack: 5 random recipients per session"),
    ("spam.snowshoe", "spam", 25, "snowshoe: 25 fresh clean IPs with FCrDNS/SPF/DKIM, one identical message"),
    ("spam.virus", "spam", 8, "EICAR attached"),
    ("spam.virus-zip", "spam", 8, "EICAR in a zip"),
]

LOREM = ("Thanks for the notes from Tuesday. I went through the figures again and the second quarter "
         "looks fine; the only open point is the delivery date for the Lyon order, which moved by a week. "
         "Could you check with the warehouse and let me know before Friday? I will update the sheet then.")


def ptr_name(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def rev(ip):
    return ".".join(reversed(ip.split(".")))


class Message:
    def __init__(self, cls, kind, i, ip, helo, mail_from, rcpts, data, pregreet=False):
        self.cls, self.kind, self.i = cls, kind, i
        self.ip, self.helo, self.mail_from, self.rcpts = ip, helo, mail_from, rcpts
        self.data, self.pregreet = data, pregreet
        self.token = None


class World:
    def __init__(self, tmp, seed=19):
        self.tmp = pathlib.Path(tmp)
        self.rnd = random.Random(seed)
        self.records = {}  # name -> [(type, value)]
        self.keys = {}  # domain -> private key PEM
        self.messages = []
        self._build()
        made = {c: sum(1 for m in self.messages if m.cls == c) for c, _, _, _ in CLASSES}
        if any(made[c] != n for c, _, n, _ in CLASSES):
            raise RuntimeError(f"spamworld: CLASSES and the messages made differ: {made}")

    # ---- DNS ----------------------------------------------------------------------------
    def rr(self, name, typ, value):
        self.records.setdefault(name.lower(), []).append((typ, value))

    def host(self, ip, name, fcrdns=True):
        self.rr(ptr_name(ip), "PTR", name)
        if fcrdns:
            self.rr(name, "A", ip)

    def list_ip(self, ip, zone, answer):
        self.rr(f"{rev(ip)}.{zone}", "A", answer)
        self.rr(f"{rev(ip)}.{zone}", "TXT", f"listed in {zone} ({answer})")

    def domain(self, d, spf_net=None, dmarc=None, dkim_key=True, mx_ip=None):
        """MX and its A, SPF for spf_net (a /24 or a list), a DKIM key, DMARC p=dmarc."""
        self.rr(d, "MX", f"mx.{d}")
        self.rr(f"mx.{d}", "A", mx_ip or "127.99.0.1")
        if spf_net:
            nets = spf_net if isinstance(spf_net, list) else [spf_net]
            self.rr(d, "TXT", "v=spf1 " + " ".join(f"ip4:{n}" for n in nets) + " -all")
        if dmarc:
            self.rr(f"_dmarc.{d}", "TXT", f"v=DMARC1; p={dmarc}; rua=mailto:dmarc@{d}")
        if dkim_key:
            key = self.tmp / f"dkim-{d}.key"
            subprocess.run(["openssl", "genrsa", "-out", str(key), "1024"], check=True, capture_output=True)
            der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                                 capture_output=True).stdout
            self.keys[d] = key.read_bytes()
            self.rr(f"sw1._domainkey.{d}", "TXT", "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())

    # ---- messages -----------------------------------------------------------------------
    def sign(self, data, d):
        sig = dkim.sign(data, b"sw1", d.encode(), self.keys[d],
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                                         b"content-type", b"list-id", b"list-unsubscribe", b"reply-to"])
        return sig.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + data

    def headers(self, frm, to, subject, domain, date=True, msgid=True, extra=()):
        h = [f"From: {frm}", f"To: {to}", f"Subject: {subject}"]
        if date:
            h.append("Date: " + format_datetime(datetime.datetime.now(datetime.timezone.utc)))
        if msgid:
            h.append("Message-ID: " + make_msgid(domain=domain))
        h.extend(extra)
        h.append("MIME-Version: 1.0")
        return h

    @staticmethod
    def crlf(lines, body):
        text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
        if not text.endswith("\r\n"):
            text += "\r\n"
        return text.encode()

    def add(self, cls, kind, i, ip, helo, mail_from, rcpts, build, pregreet=False):
        token = f"SW-{cls}-{i:03d}-{self.rnd.getrandbits(40):010x}"
        data = build(token)
        m = Message(cls, kind, i, ip, helo, mail_from, rcpts, data, pregreet)
        m.token = token
        self.messages.append(m)

    def _build(self):
        r = self.rnd
        D = self.domain
        # Domains. Names under real TLDs (Rspamd needs a public suffix to find the DMARC
        # organisational domain); they exist only in the world's DNS.
        corps = [("northwind-world.com", "reject"), ("contoso-world.com", "none"), ("fabrikam-world.net", None),
                 ("tailspin-world.org", "reject")]
        for n, (d, p) in enumerate(corps):
            D(d, f"127.20.{1 + n}.0/24", p)
        D("lists-world.org", "127.20.5.0/24", "none")
        D("hackers-world.net", "127.20.200.0/24", "none")  # authors on a list
        D("bigbank-world.com", "127.20.201.0/24", "reject")  # also the forged bank
        D("homelab-world.net", "127.20.7.0/24", None, dkim_key=False)
        D("brand-world.com", "127.20.8.0/24", "reject")  # the ESP's customer
        D("esp-world.net", "127.20.8.0/24", "none")
        D("uni-world.org", "127.20.9.0/24", "reject")  # forwarding university
        D("smallfirm-world.com", "127.20.10.0/24", None, dkim_key=False)
        D("shop-world.com", "127.20.11.0/24", "reject")
        D("promo-world.biz", "127.30.7.0/24", "none")  # the snowshoe
        throwaway = [f"deals{n}-world.biz" for n in range(6)]
        for d in throwaway:
            D(d, "127.30.0.0/16", None, dkim_key=False)
        rcpt = lambda: f"{r.choice(USERS)}@{RCPT_DOMAIN}"  # noqa: E731

        def plain(frm, to, subj, dom, body, extra=()):
            return self.crlf(self.headers(frm, to, subj, dom, extra=extra) +
                             ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"], body)

        def ip_of(c, i, base=20):
            return f"127.{base}.{c}.{10 + i}"

        # ham.plain / ham.multipart
        for cls, c in (("ham.plain", 1), ("ham.multipart", 2)):
            for i in range(10):
                d, _ = corps[(i + c) % 4]
                ip = f"127.20.{1 + (i + c) % 4}.{10 + i + 20 * c}"
                self.host(ip, f"mail{i}.{d}")
                to = rcpt()
                frm = f"Jean Martin <jean.martin{i}@{d}>"

                def build(tok, d=d, to=to, frm=frm, cls=cls):
                    subj = f"Lyon order, week {r.randint(10, 50)}"
                    if cls == "ham.plain":
                        m = plain(frm, to, subj, d, f"Hello,\n\n{LOREM}\n\nRef {tok}\n\nJean\n")
                    else:
                        b = f"b{tok}"
                        body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n\nHello,\n\n{LOREM}\n\nRef {tok}\n"
                                f"\n--{b}\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>Hello,</p>"
                                f"<p>{LOREM}</p><p>Ref {tok}</p></body></html>\n\n--{b}--\n")
                        m = self.crlf(self.headers(frm, to, subj, d) +
                                      [f'Content-Type: multipart/alternative; boundary="{b}"'], body)
                    return self.sign(m.replace(b"MIME-Version", f"X-World-Token: {tok}\r\nMIME-Version".encode(), 1),
                                     d)
                self.add(cls, "ham", i, ip, f"mail{i}.{d}", f"jean.martin{i}@{d}", [to], build)

        # ham.list, ham.list-rewrite, ham.list-preject: the list server 127.20.5.x
        for cls, n in (("ham.list", 10), ("ham.list-rewrite", 8), ("ham.list-preject", 8)):
            for i in range(n):
                ip = f"127.20.5.{10 + i + {'ham.list': 0, 'ham.list-rewrite': 20, 'ham.list-preject': 40}[cls]}"
                self.host(ip, f"lists{i}.lists-world.org")
                to = rcpt()

                def build(tok, to=to, cls=cls, i=i):
                    lh = ["List-Id: Developers <dev.lists-world.org>",
                          "List-Unsubscribe: <mailto:dev-leave@lists-world.org>",
                          "List-Post: <mailto:dev@lists-world.org>", "Precedence: list", f"X-World-Token: {tok}"]
                    subj = f"[dev] Re: build failure on arm64 ({i})"
                    text = f"The patch below fixes it for me.\n\n{LOREM}\n\nRef {tok}\n"
                    footer = "\n-- \ndev mailing list\nhttps://lists-world.org/dev\n"
                    if cls == "ham.list":
                        m = plain(f"Kim Lee <kim{i}@hackers-world.net>", "dev@lists-world.org", subj,
                                  "hackers-world.net", text + footer, lh)
                    elif cls == "ham.list-rewrite":
                        m = plain("'Ana Silva' via dev <dev@lists-world.org>", "dev@lists-world.org", subj,
                                  "lists-world.org", text + footer,
                                  lh + [f"Reply-To: Ana Silva <ana{i}@bigbank-world.com>"])
                    else:
                        orig = self.sign(plain(f"Ana Silva <ana{i}@bigbank-world.com>", "dev@lists-world.org", subj,
                                               "bigbank-world.com", text, lh[-1:]), "bigbank-world.com")
                        # The list adds its headers and its footer: the author's body hash breaks.
                        hdr, body = orig.split(b"\r\n\r\n", 1)
                        m = hdr + b"\r\n" + "\r\n".join(lh[:-1]).encode() + b"\r\n\r\n" + body + \
                            footer.replace("\n", "\r\n").encode()
                    return self.sign(m, "lists-world.org")
                self.add(cls, "ham", i, ip, f"lists{i}.lists-world.org", f"dev-bounces+{i}@lists-world.org", [to],
                         build)

        # ham.bounce: DSNs from the corps' MTAs
        for i in range(8):
            d, _ = corps[i % 4]
            ip = f"127.20.{1 + i % 4}.{100 + i}"
            self.host(ip, f"mx{i}.{d}")
            to = rcpt()

            def build(tok, d=d, to=to):
                b = f"dsn{tok}"
                body = (f"--{b}\nContent-Type: text/plain\n\nThis is the mail system at host mx.{d}.\n\n"
                        f"I'm sorry to have to inform you that your message could not be delivered.\n"
                        f"<nobody@{d}>: user unknown. Ref {tok}\n\n--{b}\nContent-Type: message/delivery-status\n\n"
                        f"Reporting-MTA: dns; mx.{d}\n\nFinal-Recipient: rfc822; nobody@{d}\nAction: failed\n"
                        f"Status: 5.1.1\n\n--{b}\nContent-Type: text/rfc822-headers\n\nFrom: {to}\n"
                        f"To: nobody@{d}\nSubject: hello\n\n--{b}--\n")
                m = self.crlf(self.headers(f"Mail Delivery System <MAILER-DAEMON@{d}>", to,
                                           "Undelivered Mail Returned to Sender", d,
                                           extra=[f"X-World-Token: {tok}", "Auto-Submitted: auto-replied"]) +
                              [f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"'], body)
                return m
            self.add("ham.bounce", "ham", i, ip, f"mx{i}.{d}", "", [to], build)

        # ham.always: a friend's home server on a PBL-listed address, no PTR
        for i in range(6):
            ip = f"127.20.7.{10 + i}"
            self.list_ip(ip, ZEN, "127.0.0.10")

            def build(tok):
                return plain(f"Sam <{FRIEND}>", f"alice@{RCPT_DOMAIN}", "photos from Sunday", "homelab-world.net",
                             f"Hi Alice,\n\nthe photos are on my server, same password as last time.\n\nRef {tok}\n",
                             [f"X-World-Token: {tok}"])
            self.add("ham.always", "ham", i, ip, "homelab-world.net", FRIEND, [f"alice@{RCPT_DOMAIN}"], build)

        # ham.esp: newsletters
        for i in range(10):
            ip = f"127.20.8.{10 + i}"
            self.host(ip, f"o{i}.mta.esp-world.net")
            self.list_ip(ip, DNSWL, "127.0.15.2")
            if i % 3 == 0:
                self.list_ip(ip, BARRA, "127.0.0.2")
            to = rcpt()

            def build(tok, to=to, i=i):
                b = f"n{tok}"
                links = "".join(f'<p><a href="https://click.esp-world.net/t/{tok}/{k}">Shop now</a></p>'
                                for k in range(5))
                body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n\nOur biggest sale: 50% off everything."
                        f"\nhttps://click.esp-world.net/t/{tok}/0\nRef {tok}\n\n--{b}\nContent-Type: text/html; "
                        f"charset=utf-8\n\n<html><body><h1>HUGE SALE!!! 50% OFF EVERYTHING</h1>{links}"
                        f'<img src="https://open.esp-world.net/o/{tok}.gif" width="1" height="1">'
                        f"<p>Ref {tok}</p><p><a href=\"https://brand-world.com/unsub/{tok}\">Unsubscribe</a></p>"
                        f"</body></html>\n\n--{b}--\n")
                m = self.crlf(self.headers("Brand <news@brand-world.com>", to, "HUGE SALE!!! 50% OFF EVERYTHING",
                                           "brand-world.com",
                                           extra=[f"List-Unsubscribe: <https://brand-world.com/unsub/{tok}>",
                                                  "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                                  "Precedence: bulk", f"X-World-Token: {tok}"]) +
                              [f'Content-Type: multipart/alternative; boundary="{b}"'], body)
                return self.sign(self.sign(m, "esp-world.net"), "brand-world.com")
            self.add("ham.esp", "ham", i, ip, f"o{i}.mta.esp-world.net", f"bounce-{i}@brand-world.com", [to], build)

        # ham.forwarded: a university forwards its alumni's mail, unchanged (SPF fails)
        for i in range(8):
            ip = f"127.20.9.{10 + i}"
            self.host(ip, f"fwd{i}.uni-world.org")
            to = rcpt()

            def build(tok, to=to, i=i):
                return self.sign(plain(f"Prof. Ito <ito{i}@bigbank-world.com>", f"alumni{i}@uni-world.org",
                                       "Reunion dinner", "bigbank-world.com",
                                       f"Dear all,\n\nthe reunion dinner is on the 12th.\n\nRef {tok}\n",
                                       [f"X-World-Token: {tok}"]), "bigbank-world.com")
            self.add("ham.forwarded", "ham", i, ip, f"fwd{i}.uni-world.org", f"ito{i}@bigbank-world.com", [to],
                     build)

        # ham.smallfirm: no PTR, HELO SERVER01
        for i in range(8):
            ip = f"127.20.10.{10 + i}"
            to = rcpt()

            def build(tok, to=to, i=i):
                return plain(f"Office <office{i}@smallfirm-world.com>", to, "Invoice 2026-114", "smallfirm-world.com",
                             f"Good morning,\n\nplease find the details of invoice 2026-114 below.\nTotal: 1,240.00 EUR"
                             f"\n\nRef {tok}\n\nKind regards\n", [f"X-World-Token: {tok}"])
            self.add("ham.smallfirm", "ham", i, ip, "SERVER01", f"office{i}@smallfirm-world.com", [to], build)

        # ham.transactional
        for i in range(10):
            ip = f"127.20.11.{10 + i}"
            self.host(ip, f"out{i}.shop-world.com")
            to = rcpt()

            def build(tok, to=to, i=i):
                b = f"t{tok}"
                what = ("Reset your password", "Your receipt for order #%d" % (40000 + i))[i % 2]
                body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n\n{what}.\n"
                        f"https://shop-world.com/account/reset?t={tok}\nIf you did not ask, ignore this mail.\n"
                        f"Ref {tok}\n\n--{b}\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>{what}.</p>"
                        f'<p><a href="https://shop-world.com/account/reset?t={tok}">https://shop-world.com/account/'
                        f"reset</a></p><p>Ref {tok}</p></body></html>\n\n--{b}--\n")
                m = self.crlf(self.headers("Shop <noreply@shop-world.com>", to, what, "shop-world.com",
                                           extra=[f"X-World-Token: {tok}"]) +
                              [f'Content-Type: multipart/alternative; boundary="{b}"'], body)
                return self.sign(m, "shop-world.com")
            self.add("ham.transactional", "ham", i, ip, f"out{i}.shop-world.com", f"bounces+{i}@shop-world.com",
                     [to], build)

        # ham.reply-attach
        for i in range(8):
            d, _ = corps[i % 4]
            ip = f"127.20.{1 + i % 4}.{150 + i}"
            self.host(ip, f"smtp{i}.{d}")
            to = rcpt()

            def build(tok, d=d, to=to, i=i):
                b = f"a{tok}"
                pdf = base64.encodebytes(b"%PDF-1.4\n" + bytes(r.getrandbits(8) for _ in range(3000))).decode()
                body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\n\nHi,\n\nhere is the signed contract.\n\n"
                        f"> {LOREM}\n\nRef {tok}\n\n--{b}\nContent-Type: application/pdf; name=\"contract.pdf\"\n"
                        f"Content-Disposition: attachment; filename=\"contract.pdf\"\n"
                        f"Content-Transfer-Encoding: base64\n\n{pdf}\n--{b}--\n")
                m = self.crlf(self.headers(f"Lea Roux <lea{i}@{d}>", to, "Re: contract", d,
                                           extra=[f"In-Reply-To: <c{i}@{RCPT_DOMAIN}>",
                                                  f"References: <c{i}@{RCPT_DOMAIN}>", f"X-World-Token: {tok}"]) +
                              [f'Content-Type: multipart/mixed; boundary="{b}"'], body)
                return self.sign(m, d)
            self.add("ham.reply-attach", "ham", i, ip, f"smtp{i}.{d}", f"lea{i}@{d}", [to], build)

        # ---- spam ----
        def pills(tok, frm, to, dom):
            return plain(frm, to, "Cheap meds online, no prescription", dom,
                         f"Best prices on meds. Order now at http://pharma-deals.biz/?id={tok}\nRef {tok}\n",
                         [f"X-World-Token: {tok}"])

        for i in range(25):  # pregreet botnet
            ip = f"127.30.1.{10 + i}"
            self.host(ip, f"{ip.replace('.', '-')}.dyn.isp-world.net")
            self.list_ip(ip, ZEN, "127.0.0.4")
            self.list_ip(ip, BARRA, "127.0.0.2")
            to = rcpt()
            self.add("spam.pregreet", "spam", i, ip, "localhost", f"info@{throwaway[i % 6]}", [to],
                     lambda tok, to=to, i=i: pills(tok, f"info@{throwaway[i % 6]}", to, throwaway[i % 6]),
                     pregreet=True)
        for i in range(25):  # listed, polite
            ip = f"127.30.2.{10 + i}"
            self.host(ip, f"{ip.replace('.', '-')}.dyn.isp-world.net")
            if i % 4 != 1:
                self.list_ip(ip, ZEN, "127.0.0.2" if i % 2 else "127.0.0.11")
            if i % 4 in (1, 2):
                self.list_ip(ip, BARRA, "127.0.0.2")
            to = rcpt()
            self.add("spam.listed", "spam", i, ip, f"{ip.replace('.', '-')}.dyn.isp-world.net",
                     f"sales@{throwaway[i % 6]}", [to],
                     lambda tok, to=to, i=i: pills(tok, f"sales@{throwaway[i % 6]}", to, throwaway[i % 6]))
        for i in range(20):  # forgery of a p=reject bank
            ip = f"127.30.3.{10 + i}"
            if i % 2:
                self.host(ip, f"vps{i}.cloud-world.net")
            to = rcpt()

            def build(tok, to=to):
                return plain("BigBank Security <security@bigbank-world.com>", to, "Unusual sign-in to your account",
                             "bigbank-world.com",
                             f"Dear customer,\n\nwe noticed an unusual sign-in. Verify your account within 24 hours:\n"
                             f"http://bigbank-world.verify-login.biz/secure?id={tok}\n\nRef {tok}\n",
                             [f"X-World-Token: {tok}"])
            self.add("spam.forgery", "spam", i, ip, f"vps{i}.cloud-world.net", "security@bigbank-world.com", [to],
                     build)
        for i in range(10):  # GTUBE
            ip = f"127.30.4.{10 + i}"
            self.host(ip, f"mail.{throwaway[i % 6]}")
            to = rcpt()
            self.add("spam.gtube", "spam", i, ip, f"mail.{throwaway[i % 6]}", f"promo@{throwaway[i % 6]}", [to],
                     lambda tok, to=to, i=i: plain(f"promo@{throwaway[i % 6]}", to, "test", throwaway[i % 6],
                                                   f"{GTUBE}\nRef {tok}\n", [f"X-World-Token: {tok}"]))
        for i in range(20):  # content spam
            ip = f"127.30.5.{10 + i}"
            self.host(ip, f"mail.{throwaway[i % 6]}")
            to = rcpt()

            def build(tok, to=to, i=i):
                dom = throwaway[i % 6]
                h = [f"From: PayPal Service <service@{dom}>", f"To: {to}",
                     "Subject: URGENT!!! YOUR ACCOUNT WILL BE SUSPENDED", "MIME-Version: 1.0",
                     f"X-World-Token: {tok}", "Content-Type: text/html; charset=utf-8"]
                body = (f'<html><body><p>Dear Customer,</p><p>Your account has been LIMITED. Click '
                        f'<a href="http://198.51.100.7/paypal/login.php?id={tok}">https://www.paypal.com/signin</a>'
                        f" to restore access immediately or it will be CLOSED!!!</p><p>Ref {tok}</p></body></html>")
                return self.crlf(h, body)
            self.add("spam.content", "spam", i, ip, f"mail.{throwaway[i % 6]}", f"service@{throwaway[i % 6]}", [to],
                     build)
        for i in range(15):  # dictionary attack
            ip = f"127.30.6.{10 + i}"
            rc = [f"{r.choice(['info', 'sales', 'admin', 'jobs', 'john', 'mary', 'test', 'office', 'hr'])}"
                  f"{r.randint(1, 999)}@{RCPT_DOMAIN}" for _ in range(5)]
            self.add("spam.dictionary", "spam", i, ip, f"mail.{throwaway[i % 6]}", f"news@{throwaway[i % 6]}", rc,
                     lambda tok, rc=rc, i=i: pills(tok, f"news@{throwaway[i % 6]}", rc[0], throwaway[i % 6]))
        for i in range(25):  # snowshoe: one message, many fresh IPs
            ip = f"127.30.7.{10 + i}"
            self.host(ip, f"m{i}.promo-world.biz")
            to = rcpt()

            def build(tok, to=to):
                m = plain("Promo <offers@promo-world.biz>", to, "Your exclusive offer inside", "promo-world.biz",
                          "Congratulations! You have been selected for an exclusive offer on premium watches.\n"
                          "Claim it now: http://promo-world.biz/claim\n\nTo stop receiving these, reply STOP.\n"
                          f"Ref {tok}\n", [f"X-World-Token: {tok}"])
                return self.sign(m.replace(b"Message-ID: ", b"X-Old-Id: ", 1), "promo-world.biz")
            self.add("spam.snowshoe", "spam", i, ip, f"m{i}.promo-world.biz", "offers@promo-world.biz", [to], build)
        for cls, n, c in (("spam.virus", 8, 8), ("spam.virus-zip", 8, 9)):
            for i in range(n):
                ip = f"127.30.{c}.{10 + i}"
                self.host(ip, f"mail.{throwaway[i % 6]}")
                to = rcpt()

                def build(tok, to=to, cls=cls, i=i):
                    b = f"v{tok}"
                    if cls == "spam.virus":
                        att, name, ct = EICAR.encode(), "invoice.com", "application/octet-stream"
                    else:
                        buf = io.BytesIO()
                        with zipfile.ZipFile(buf, "w") as z:
                            z.writestr("invoice.com", EICAR)
                        att, name, ct = buf.getvalue(), "invoice.zip", "application/zip"
                    body = (f"--{b}\nContent-Type: text/plain\n\nPlease see the attached invoice.\nRef {tok}\n\n--{b}\n"
                            f"Content-Type: {ct}; name=\"{name}\"\nContent-Disposition: attachment; "
                            f"filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n"
                            f"{base64.encodebytes(att).decode()}\n--{b}--\n")
                    return self.crlf(self.headers(f"Accounts <billing@{throwaway[i % 6]}>", to, "Invoice overdue",
                                                  throwaway[i % 6], extra=[f"X-World-Token: {tok}"]) +
                                     [f'Content-Type: multipart/mixed; boundary="{b}"'], body)
                self.add(cls, "spam", i, ip, f"mail.{throwaway[i % 6]}", f"billing@{throwaway[i % 6]}", [to], build)

#!/usr/bin/env python3
"""Outbound delivery (issue 9) end to end, all on this machine.

postlite-smtpd takes mail from an authenticated user on its submission
port and its queue runner delivers it: routes come from a test DNS server
(ob_peers.DNSServer, which c-ares is pointed at through POSTLITE_QUEUE_DNS)
and receivers are scriptable SMTP servers on loopback addresses 127.0.0.2
and up, all on one port (POSTLITE_QUEUE_MX_PORT). Bounces are fetched from
the sender's mailbox with POP3 (postlite-pop3d).

Covers: MX preference and fallback to the next MX, the implicit MX, null
MX, NXDOMAIN, a temporary failure then success (retry with back-off), a
permanent failure -> RFC 3464 bounce in the sender's mailbox, none for the
null sender, a timeout, opportunistic STARTTLS on and off, the body on the
wire (dot-stuffing, CRLF only, otherwise byte-identical), DKIM checked by
Debian's dkimpy, kill -9 during delivery (at-least-once), the queue CLI,
and a smarthost with AUTH over STARTTLS and over implicit TLS.

Environment: POSTLITE_SMTPD, POSTLITE_POP3D, POSTLITE_CLI;
POSTLITE_OB_KEEP=1 keeps the temporary directory. Prints "ok - X"
or "not ok - X: why", then "N passed, N failed"; exit 1 on any failure.
"""

import email
import email.policy
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import ob_peers  # noqa: E402
from harness import HOST  # noqa: E402
from ob_peers import Behaviour, wait_for  # noqa: E402

HOSTNAME = "mail.example.test"
ALICE, ALICE_PW = "alice@example.test", "alice-Secret-1"
RELAY_USER, RELAY_PW = "office@provider.test", "relay-Secret-9"
WATCHDOG = 280

results = harness.Results()
check = results.add


def free_port(ips):
    """A port free on every address in ips."""
    for _ in range(50):
        s = socket.socket()
        s.bind((ips[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for ip in ips:
            t = socket.socket()
            try:
                t.bind((ip, port))
            except OSError:
                ok = False
            t.close()
        if ok:
            return port
    raise RuntimeError("no common free port")


def no_bare_cr_lf(b):
    return re.search(rb"\r(?!\n)|(?<!\r)\n", b) is None


class World:
    def __init__(self):
        exe = harness.executables()
        self.smtpd, self.pop3d, self.cli_exe = exe["smtpd"], exe["pop3d"], exe["cli"]
        self.d = harness.Daemons("postlite-ob-", "POSTLITE_OB_KEEP")
        self.tmp = t = self.d.tmp
        self.cert, self.key = harness.make_cert(t)
        os.chmod(self.key, 0o644)  # the receivers and smtpd (as nobody) read it
        self.user = harness.daemon_user(t)
        self.ctx = harness.tls_context(self.cert)
        self.secret = os.path.join(t, "relay.secret")
        with open(self.secret, "w") as f:
            f.write(RELAY_PW + "\n")
        self.sub, self.pop = harness.free_ports(2)

    def config(self, relay=None):
        self.conf = harness.write_conf(
            os.path.join(self.tmp, "postlite.conf"),
            server={"hostname": HOSTNAME, "data_dir": os.path.join(self.tmp, "data"),
                    "user": self.user},
            tls={"cert": self.cert, "key": self.key},
            smtp={"submission": "%s:%d" % (HOST, self.sub)},
            pop3={"listen": "%s:%d" % (HOST, self.pop)},
            relay=relay)
        return self.conf

    def cli(self, *args, stdin=None):
        return harness.postlite(self.cli_exe, self.conf, *args, stdin=stdin).decode()

    def start(self, name, exe, env):
        self.d.start(name, exe, self.conf, env=env,
                     ports=[self.sub if name == "smtpd" else self.pop])

    def stop(self, name, sig=signal.SIGTERM):
        return self.d.stop(name, sig, timeout=15)

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def send(self, rcpts, msg, sender=ALICE):
        s = smtplib.SMTP(HOST, self.sub, local_hostname="client.test", timeout=20)
        try:
            s.starttls(context=self.ctx)
            s.login(ALICE, ALICE_PW)
            s.sendmail(sender, rcpts, msg)
        finally:
            s.quit()

    def mailbox(self):
        """alice's messages over POP3 + STLS, as bytes."""
        p = poplib.POP3(HOST, self.pop, timeout=20)
        try:
            p.stls(context=self.ctx)
            p.user(ALICE)
            p.pass_(ALICE_PW)
            n = len(p.list()[1])
            return [b"\r\n".join(p.retr(i + 1)[1]) for i in range(n)]
        finally:
            p.quit()


def message(to, subject, extra=b""):
    return (b"From: Alice <alice@example.test>\r\n"
            b"To: <" + to.encode() + b">\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Message-ID: <" + subject.encode().replace(b" ", b"-") + b"@example.test>\r\n"
            b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"\r\n"
            b"Hello.\r\n"
            b".a line starting with a dot\r\n"
            b"..two dots\r\n"
            b"caf\xc3\xa9 8-bit text   with   spaces  \r\n"
            b"\r\n" + extra + b"the end\r\n")


def dsn_of(raw):
    """(status values, final recipients, content type) of a bounce."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    status, finals = [], []
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            for block in part.get_payload():
                if block.get("Status"):
                    status.append(block.get("Status"))
                if block.get("Final-Recipient"):
                    finals.append(block.get("Final-Recipient"))
    return status, finals, m.get_content_type(), m.get_param("report-type")


def dkim_verify(w, body, txt):
    """dkimpy's verdict on a message as received, with txt as the key."""
    path = os.path.join(w.tmp, "signed.eml")
    with open(path, "wb") as f:
        f.write(body)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
    return subprocess.run(
        [py, "-c", "import dkim,sys\n"
         "txt=sys.argv[2].encode()\n"
         "ok=dkim.verify(open(sys.argv[1],'rb').read(),"
         "dnsfunc=lambda n,timeout=5: txt)\n"
         "sys.exit(0 if ok else 1)", path, txt],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def main():
    signal.alarm(WATCHDOG)
    w = World()
    ips = ["127.0.0.%d" % i for i in range(2, 12)]
    port = free_port(ips)
    zone = {
        "pref.test": {"MX": [(20, "mx1.test"), (10, "mx-dead.test")]},
        "mx-dead.test": {"A": ["127.0.0.4"]},
        "mx1.test": {"A": ["127.0.0.2"]},
        "nomx.test": {"A": ["127.0.0.3"]},
        "nullmx.test": {"MX": [(0, ".")]},
        "temp.test": {"MX": [(10, "mx-temp.test")]},
        "mx-temp.test": {"A": ["127.0.0.5"]},
        "perm.test": {"MX": [(10, "mx-perm.test")]},
        "mx-perm.test": {"A": ["127.0.0.6"]},
        "slow.test": {"MX": [(10, "mx-slow.test")]},
        "mx-slow.test": {"A": ["127.0.0.7"]},
        "crash.test": {"MX": [(10, "mx-crash.test")]},
        "mx-crash.test": {"A": ["127.0.0.8"]},
        "brokentls.test": {"A": ["127.0.0.9"]},
        "tlsnext.test": {"MX": [(10, "mx-tlsbroken.test"), (20, "nomx.test")]},
        "mx-tlsbroken.test": {"A": ["127.0.0.10"]},
        "drip.test": {"A": ["127.0.0.11"]},
    }
    dns = ob_peers.DNSServer(zone)
    peers = ob_peers.SMTPServers(w.cert, w.key)
    temp_seen = []

    def temp_rcpt(addr, s):
        temp_seen.append(addr)
        return "451 4.3.0 try later" if len(temp_seen) == 1 else None

    crash_sessions = []

    peers.add("127.0.0.2", port, Behaviour())
    peers.add("127.0.0.3", port, Behaviour(tls=True))
    peers.add("127.0.0.5", port, Behaviour(rcpt=temp_rcpt))
    peers.add("127.0.0.6", port, Behaviour(
        rcpt=lambda a, s: "550 5.1.1 <%s>: no such user" % a
        if a.startswith("nobody") else None))
    peers.add("127.0.0.7", port, Behaviour(greet=False))
    crash = Behaviour(stall_dot=30)
    peers.add("127.0.0.8", port, crash)
    peers.add("127.0.0.9", port, Behaviour(tls=True, tls_break=True,
                                           smtputf8=False))
    peers.add("127.0.0.11", port, Behaviour(drip=True))
    peers.add("127.0.0.10", port, Behaviour(
        tls=True, tls_break=True, rcpt=lambda a, s: "421 4.3.2 closing"))

    w.config()
    w.cli("init")
    w.cli("domain", "add", "example.test")
    w.cli("user", "add", ALICE, "--password-stdin", stdin=(ALICE_PW + "\n").encode())
    keygen = w.cli("dkim", "keygen", "example.test")
    txt = "".join(re.findall(r'"([^"]*)"', keygen))
    check("dkim keygen prints a DKIM1 record",
          txt.startswith("v=DKIM1; k=rsa; p=") and "._domainkey.example.test." in keygen,
          keygen)
    check("postlite dns shows the DKIM record",
          "._domainkey.example.test." in w.cli("dns", "example.test"))

    env = {"POSTLITE_QUEUE_DNS": dns.addr, "POSTLITE_QUEUE_MX_PORT": str(port),
           "POSTLITE_QUEUE_POLL": "1", "POSTLITE_QUEUE_BACKOFF": "1,2",
           "POSTLITE_QUEUE_TIMEOUT": "3", "POSTLITE_QUEUE_CA_FILE": w.cert}
    w.start("smtpd", w.smtpd, env)
    w.start("pop3d", w.pop3d, {})

    # -- MX preference, fallback, byte-identical body, DKIM ------------------
    m1 = message("bob@pref.test", "pref")
    w.send(["bob@pref.test", ALICE], m1)
    got = wait_for(lambda: peers.delivered("127.0.0.2", port), 15)
    check("MX preference: the dead MX 10 is tried, MX 20 delivers", got,
          w.log("smtpd")[-2000:])
    if got:
        s = peers.delivered("127.0.0.2", port)[0]
        check("envelope", s.mail.startswith("MAIL FROM:<alice@example.test>")
              and s.rcpts == ["bob@pref.test"], repr((s.mail, s.rcpts)))
        check("BODY=8BITMIME and SIZE offered and used",
              "BODY=8BITMIME" in s.mail and "SIZE=" in s.mail, s.mail)
        check("no TLS where none is offered", not s.tls)
        check("no bare CR or LF on the wire", no_bare_cr_lf(bytes(s.raw)))
        check("dot-stuffed on the wire",
              b"\r\n..a line starting" in s.data and b"\r\n...two dots" in s.data)
        body = ob_peers.unstuff(s.data)
        check("message leaves byte-identical after our trace header",
              body.endswith(m1) and b"Return-Path:" not in body,
              repr(body[:400]))
        check("DKIM-Signature first", body.startswith(b"DKIM-Signature:"))
        v = dkim_verify(w, body, txt)
        check("DKIM signature verified by dkimpy", v.returncode == 0,
              v.stdout.decode(errors="replace")[-500:])
    local = w.mailbox()
    check("local recipient of the same message delivered locally",
          any(b"Subject: pref" in m for m in local))
    check("dead MX was tried first", "127.0.0.4" in w.log("smtpd"))

    # -- implicit MX with opportunistic STARTTLS ------------------------------
    w.send(["carol@nomx.test"], message("carol@nomx.test", "nomx"))
    got = wait_for(lambda: peers.delivered("127.0.0.3", port), 15)
    check("no MX: the domain's own address (implicit MX)", got)
    if got:
        check("opportunistic STARTTLS used when offered",
              peers.delivered("127.0.0.3", port)[0].tls)

    # -- lines over 998 octets: broken with CRLF SPACE, signed as sent ------
    w.send(["leo@nomx.test"], message("leo@nomx.test", "long",
                                      extra=b"L" * 5000 + b"\r\n"))
    leo = lambda: [x for x in peers.delivered("127.0.0.3", port)
                   if x.rcpts == ["leo@nomx.test"]]
    wait_for(leo, 15)
    if leo():
        body = ob_peers.unstuff(leo()[0].data)
        longest = max(len(x) for x in leo()[0].data.split(b"\r\n"))
        v = dkim_verify(w, body, txt)
        check("a 5000-octet line leaves as lines of at most 998, DKIM intact",
              longest <= 998 and b"L" * 5000 not in body
              and b"L" * 5000 in body.replace(b"\r\n ", b"")
              and v.returncode == 0,
              "longest %d; %s" % (longest, v.stdout.decode(errors="replace")[-300:]))
    else:
        check("a 5000-octet line leaves as lines of at most 998", False)

    # -- STARTTLS offered but broken: one plaintext try (RFC 7435) -----------
    w.send(["kim@brokentls.test"], message("kim@brokentls.test", "brokentls"))
    wait_for(lambda: peers.delivered("127.0.0.9", port), 15)
    got = peers.delivered("127.0.0.9", port)
    check("TLS handshake fails: delivered in plaintext on the retry",
          got and not got[0].tls and len(peers.sessions[("127.0.0.9", port)]) == 2,
          repr([(x.tls, x.data is not None) for x in peers.sessions[("127.0.0.9", port)]]))

    # -- the plaintext retry is for that host only: the next MX gets TLS -------
    w.send(["tom@tlsnext.test"], message("tom@tlsnext.test", "tlsnext"))
    tom = lambda: [x for x in peers.delivered("127.0.0.3", port)
                   if x.rcpts == ["tom@tlsnext.test"]]
    wait_for(tom, 15)
    tried = peers.sessions[("127.0.0.10", port)]
    check("after a TLS failure and its plaintext retry, the next MX gets "
          "STARTTLS", tom() and tom()[0].tls and len(tried) == 2,
          repr(([x.tls for x in tom()], len(tried))))

    # -- a reply that trickles in forever: given up at the reply timeout (3 s
    # here), counted from the command, not extended by each line ----------
    w.send(["dan@drip.test"], message("dan@drip.test", "drip"))
    drip = peers.sessions[("127.0.0.11", port)]
    wait_for(lambda: drip and drip[0].held is not None, 15)
    check("a trickling reply is given up at the reply timeout",
          drip and drip[0].held is not None and drip[0].held < 6,
          repr([x.held for x in drip]))
    qid = re.search(r"^(\d+) .*\n\s+<dan@drip.test>", w.cli("queue", "list"),
                    re.M)
    if qid:  # it would only be retried, and expire later in this test
        w.cli("queue", "delete", qid.group(1))

    # -- SMTPUTF8: sent on when offered, a non-ASCII address needs it ----------
    s = smtplib.SMTP(HOST, w.sub, local_hostname="client.test", timeout=20)
    s.starttls(context=w.ctx)
    s.login(ALICE, ALICE_PW)
    s.sendmail(ALICE, ["lu@nomx.test"], message("lu@nomx.test", "utf8"),
               mail_options=["SMTPUTF8"])
    before = len(w.mailbox())
    s.sendmail(ALICE, ["l\u00fc@brokentls.test"],
               message("lu@brokentls.test", "utf8 refused"),
               mail_options=["SMTPUTF8"])
    s.quit()
    utf8 = lambda: [x for x in peers.delivered("127.0.0.3", port)
                    if x.rcpts == ["lu@nomx.test"]]
    wait_for(utf8, 15)
    got = utf8()
    check("MAIL ... SMTPUTF8 passed on to a server that offers it",
          got and "SMTPUTF8" in got[0].mail, repr(got and got[0].mail))
    wait_for(lambda: len(w.mailbox()) > before, 15, step=0.5)
    st = [x for b in w.mailbox()[before:] for x in dsn_of(b)[0]]
    check("non-ASCII address to a server without SMTPUTF8 bounces 5.6.7",
          st == ["5.6.7"], repr(st))

    # -- temporary failure, then success ---------------------------------------
    w.send(["dave@temp.test"], message("dave@temp.test", "temp"))
    got = wait_for(lambda: peers.delivered("127.0.0.5", port), 20)
    check("4xx then retry delivers", got and len(temp_seen) >= 2, repr(temp_seen))
    check("delivered once", len(peers.delivered("127.0.0.5", port)) == 1)

    # -- permanent failures: bounces ------------------------------------------
    before = len(w.mailbox())
    w.send(["nobody@perm.test", "ok@perm.test"], message("x@perm.test", "perm"))
    w.send(["erin@nullmx.test"], message("erin@nullmx.test", "nullmx"))
    w.send(["frank@nxdomain.test"], message("frank@nxdomain.test", "nx"))
    # RFC 5321 6.3 loop guard: too many Received: fields -> bounce
    hops = b"".join(b"Received: from hop%d.test by hop%d.test; "
                    b"Thu, 01 Jan 2026 00:00:00 +0000\r\n" % (i, i + 1)
                    for i in range(31))
    w.send(["loop@pref.test"], hops + message("loop@pref.test", "loop"))
    wait_for(lambda: len(w.mailbox()) >= before + 4, 20, step=0.5)
    bounces = w.mailbox()[before:]
    reports = [dsn_of(b) for b in bounces]
    check("four bounces in the sender's mailbox", len(bounces) == 4,
          "%d new messages" % len(bounces))
    check("bounces are multipart/report delivery-status",
          reports and all(r[2] == "multipart/report" and r[3] == "delivery-status"
                          for r in reports), repr(reports))
    statuses = sorted(s for r in reports for s in r[0])
    check("550 5.1.1 -> Status 5.1.1", "5.1.1" in statuses, repr(statuses))
    check("null MX -> Status 5.1.10", "5.1.10" in statuses, repr(statuses))
    check("NXDOMAIN -> Status 5.1.2", "5.1.2" in statuses, repr(statuses))
    check("too many Received: -> Status 5.4.6 (loop)", "5.4.6" in statuses,
          repr(statuses))
    check("the looping message was never sent",
          not any(s.rcpts == ["loop@pref.test"]
                  for s in peers.sessions[("127.0.0.2", port)]))
    check("the accepted recipient of the same message was delivered",
          any(s.rcpts == ["ok@perm.test"] for s in peers.delivered("127.0.0.6", port)))
    check("bounces come with the null sender",
          all(b.startswith(b"Return-Path: <>") for b in bounces))
    check("bounce shows the original headers",
          all(b"text/rfc822-headers" in b for b in bounces))

    # -- no bounce for the null sender ----------------------------------------
    before = len(w.mailbox())
    try:
        w.send(["nobody@perm.test"], message("nobody@perm.test", "null"), sender="")
        wait_for(lambda: len([s for s in peers.sessions[("127.0.0.6", port)]
                              if not s.rcpts and s.mail == "MAIL FROM:<>"]), 10)
        time.sleep(2)
        check("no bounce for the null sender", len(w.mailbox()) == before)
    except smtplib.SMTPException as e:
        check("null sender accepted at submission", False, repr(e))

    # -- timeout, queue list and delete ----------------------------------------
    w.send(["gina@slow.test"], message("gina@slow.test", "slow"))
    wait_for(lambda: "timeout" in w.log("smtpd"), 15)
    check("a silent server times out", "timeout" in w.log("smtpd"))
    listing = w.cli("queue", "list")
    check("queue list shows the deferred message", "<gina@slow.test>" in listing,
          listing)
    qid = re.search(r"^(\d+) .*\n\s+<gina@slow.test>", listing, re.M)
    if qid:
        w.cli("queue", "delete", qid.group(1))
        check("queue delete removes it",
              "<gina@slow.test>" not in w.cli("queue", "list"))

    # -- kill -9 during delivery: at-least-once -------------------------------
    w.send(["hank@crash.test"], message("hank@crash.test", "crash"))
    got = wait_for(lambda: any(s.data for s in peers.sessions[("127.0.0.8", port)]), 15)
    check("delivery reached the final dot", got)
    w.stop("smtpd", signal.SIGKILL)
    crash.stall_dot = 0
    w.start("smtpd", w.smtpd, env)
    got = wait_for(lambda: peers.delivered("127.0.0.8", port), 20)
    check("after kill -9 the message is delivered again (at-least-once)", got)
    wait_for(lambda: "queue is empty" in w.cli("queue", "list"), 10)
    listing = w.cli("queue", "list")
    check("queue empty at the end", "queue is empty" in listing, listing)
    w.stop("smtpd")

    # -- the lifetime runs out: bounce with 4.4.7 -----------------------------
    w.start("smtpd", w.smtpd, dict(env, POSTLITE_QUEUE_LIFETIME="4"))
    before = len(w.mailbox())
    w.send(["ida@slow.test"], message("ida@slow.test", "expire"))
    wait_for(lambda: len(w.mailbox()) > before, 30, step=0.5)
    new = w.mailbox()[before:]
    st = [s for b in new for s in dsn_of(b)[0]]
    check("expired message bounces with Status 4.4.7", st == ["4.4.7"],
          repr(st))
    listing = w.cli("queue", "list")
    check("expired message left the queue", "ida@slow.test" not in listing,
          listing)

    # -- a bounce that cannot be stored (the sender's mailbox is full): the
    # usual backoff, and given up at the lifetime, not retried every
    # backoff_min forever (found by a review) -----------------------------
    w.cli("quota", "set", ALICE, "1")
    perm = peers.sessions[("127.0.0.6", port)]
    tries = lambda: [x for x in perm if b"nobody3@perm.test" in bytes(x.raw)]
    w.send(["nobody3@perm.test"], message("nobody3@perm.test", "full"))
    wait_for(lambda: "nobody3@perm.test" not in w.cli("queue", "list")
             and tries(), 20, step=0.5)
    time.sleep(2)  # no session after it left
    check("an unstorable bounce: retried on the backoff, dropped at the "
          "lifetime", "nobody3@perm.test" not in w.cli("queue", "list")
          and 1 <= len(tries()) <= 5
          and "not stored after the queue lifetime" in w.log("smtpd"),
          "%d sessions; %s" % (len(tries()), w.cli("queue", "list")))
    w.cli("quota", "set", ALICE, "none")
    w.stop("smtpd")

    # -- smarthost: AUTH over STARTTLS, then over implicit TLS ----------------
    for mode in ("starttls", "implicit"):
        rport = harness.free_ports(1)[0]
        b = Behaviour(tls=mode == "starttls", implicit=mode == "implicit",
                      auth=(RELAY_USER, RELAY_PW), require_tls_auth=True)
        peers.add(HOST, rport, b)
        w.config({"host": "localhost:%d" % rport, "tls": mode, "user": RELAY_USER,
                  "password_file": w.secret})
        w.start("smtpd", w.smtpd, env)
        w.send(["ivan@far-away.test"], message("ivan@far-away.test", "relay " + mode))
        got = wait_for(lambda: peers.delivered(HOST, rport), 15)
        ok = got and peers.delivered(HOST, rport)[0]
        check("smarthost %s: delivered with AUTH over TLS" % mode,
              ok and ok.tls and ok.auth == RELAY_USER and ok.rcpts == ["ivan@far-away.test"],
              w.log("smtpd")[-1500:])
        rc = w.stop("smtpd")
        check("smtpd with the runner exits 0 on SIGTERM (%s)" % mode, rc == 0,
              "exit %r: %s" % (rc, w.log("smtpd")[-1500:]))

    w.stop("pop3d")
    failed = results.summary()
    if failed:
        print(w.log("smtpd")[-4000:])
    elif not os.environ.get("POSTLITE_OB_KEEP"):
        shutil.rmtree(w.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""postlite-smtpd with real clients: smtplib, swaks, msmtp and raw sockets.

Two smtpd instances share one store: "main" (generous limits: listeners
25/587/465-style on free loopback ports) and "tight" (small limits: 64 KiB
messages, 3 recipients, 8 connections, 2 per address, a 10 s idle
timeout). pop3d (POP3S) reads back what was stored. Covers issue 3's
integration list: smtplib plain, STARTTLS, 465, AUTH PLAIN/LOGIN; swaks
--pipeline, --tls, --tlsc, --auth; msmtp; SMTP smuggling variants; STARTTLS
injection on 25 and 587; an open-relay matrix; every limit; and the peak
RSS growth of smtpd for a 40 MiB message (printed, and bounded unless the
daemon runs under a sanitizer).

Environment: POSTLITE_SMTPD, POSTLITE_POP3D, POSTLITE_CLI (tests/meson.build
sets them). POSTLITE_SMTP_KEEP=1 keeps the temporary directory. Prints
"ok - NAME" or "not ok - NAME: reason" per check; exits non-zero if any
failed (then with the tails of the daemon logs).
"""

import base64
import os
import poplib
import re
import smtplib
import ssl
import subprocess
import sys
import time

import harness
from harness import HOST, Fatal

HOSTNAME = "smtp-test.postlite.test"
IO_TIMEOUT = 15
WATCHDOG = 280

USERS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-2",
}
ALICE, BOB = "alice@example.test", "bob@example.test"
REMOTE = "sender@remote.test"
RSS_LIMIT_MIB = 8  # issue 3: "a few MiB" for a 40 MiB message


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Raw(harness.Client):
    """An SMTP client over a raw socket: exact bytes, exact replies."""

    timeout = IO_TIMEOUT

    def __init__(self, port, src=HOST, tls_ctx=None):
        super().__init__(port, source=src)
        if tls_ctx is not None:
            self.sock = tls_ctx.wrap_socket(self.sock, server_hostname="localhost")

    def reply(self):
        """One reply, possibly multi-line: (code, text of all lines)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"".join(lines)

    def cmd(self, text):
        self.send(text.encode() + b"\r\n" if isinstance(text, str) else text + b"\r\n")
        return self.reply()

    def expect(self, text, code):
        got, msg = self.cmd(text)
        assert got == code, "%r -> %r, want %d" % (text, msg, code)
        return msg

    def closed(self):
        """True if the server closed the connection (EOF within the timeout)."""
        try:
            self.sock.settimeout(IO_TIMEOUT)
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True


class Test:
    def __init__(self):
        self.d = harness.Daemons("postlite-smtp-", "POSTLITE_SMTP_KEEP")
        self.results = harness.Results("# smtp")
        self.rss_note = None

    # ---- setup ----------------------------------------------------------

    def write_conf(self, name, ports, extra):
        return harness.write_conf(
            os.path.join(self.d.tmp, name + ".conf"),
            server={"hostname": HOSTNAME, "data_dir": os.path.join(self.d.tmp, "data"),
                    "user": self.user, "log_level": "debug"},
            tls={"cert": self.cert, "key": self.key},
            smtp=dict({"listen": "%s:%d" % (HOST, ports[0]),
                       "submission": "%s:%d" % (HOST, ports[1]),
                       "submissions": "%s:%d" % (HOST, ports[2])}, **extra),
            pop3={"pop3s": "%s:%d" % (HOST, ports[3])})

    def setup(self):
        self.exe = harness.executables()
        self.cert, self.key = harness.make_cert(self.d.tmp)
        self.user = harness.daemon_user(self.d.tmp)
        if self.user == "nobody":
            os.chmod(self.key, 0o644)  # nobody reads it after the drop
        p = harness.free_ports(8)
        self.p25, self.p587, self.p465, self.p995 = p[:4]
        self.t25, self.t587, self.t465 = p[4:7]
        main = self.write_conf("main", p[:4], {"max_message_size": "48M"})
        tight = self.write_conf("tight", p[4:8], {
            "max_message_size": "64K", "max_recipients": "3",
            "max_connections": "8", "timeout": "10"})
        harness.make_store(self.exe["cli"], main, USERS)
        self.ctx = harness.tls_context(self.cert)
        self.d.start("smtpd", self.exe["smtpd"], main, ports=[self.p25, self.p587, self.p465])
        self.d.start("smtpd-tight", self.exe["smtpd"], tight, ports=[self.t25])
        self.d.start("pop3d", self.exe["pop3d"], main, ports=[self.p995])
        time.sleep(0.2)  # the probe connections go away

    # ---- helpers ----------------------------------------------------------

    def fetch(self, user, token):
        """The stored copy (POP3S) of the message holding token."""
        deadline = time.monotonic() + 10
        while True:
            try:
                p = poplib.POP3_SSL(HOST, self.p995, context=self.ctx, timeout=IO_TIMEOUT)
                break
            except (OSError, poplib.error_proto):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            p.user(user)
            p.pass_(USERS[user])
            n = len(p.list()[1])
            for i in range(n, 0, -1):
                lines = p.retr(i)[1]
                msg = b"\r\n".join(lines) + b"\r\n"
                if token.encode() in msg:
                    return msg
        finally:
            p.quit()
        raise AssertionError("no message with %r in %s's mailbox" % (token, user))

    def message(self, token, extra=b""):
        return (b"From: test\r\nSubject: " + token.encode() + b"\r\n\r\n" +
                b"body of " + token.encode() + b"\r\n" + extra)

    def trace(self, msg):
        """The Return-Path and Received lines in front of the message."""
        head = msg.split(b"\r\nFrom: test", 1)[0]
        return head.decode(errors="replace")

    def smtp(self, port, **kw):
        return smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=IO_TIMEOUT, **kw)

    def smtps(self, port, **kw):
        return smtplib.SMTP_SSL(HOST, port, local_hostname="client.test", context=self.ctx,
                                timeout=IO_TIMEOUT, **kw)

    # ---- smtplib ------------------------------------------------------------

    def t_smtplib_plain(self):
        with self.smtp(self.p25) as s:
            code, _ = s.ehlo()
            assert code == 250
            for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                        "smtputf8", "chunking", "starttls"):
                assert s.has_extn(ext), "EHLO lacks %s: %r" % (ext, s.esmtp_features)
            assert not s.has_extn("auth"), "AUTH advertised on port 25"
            assert s.esmtp_features["size"] == str(48 * 1024 * 1024)
            s.sendmail(REMOTE, [ALICE], self.message("plain-25"))
        t = self.trace(self.fetch(ALICE, "plain-25"))
        assert t.startswith("Return-Path: <%s>\r\nReceived: from client.test" % REMOTE), t
        assert re.search(r"by %s \(postlite\) with ESMTP id " % re.escape(HOSTNAME), t), t

    def t_smtplib_starttls(self):
        with self.smtp(self.p25) as s:
            s.starttls(context=self.ctx)
            s.ehlo()
            assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
            s.sendmail(REMOTE, [ALICE], self.message("starttls-25"))
        t = self.trace(self.fetch(ALICE, "starttls-25"))
        assert re.search(r"\(using TLSv1\.[23] \S+\)", t), t
        assert " with ESMTPS id " in t, t

    def t_smtplib_587_plain(self):
        with self.smtp(self.p587) as s:
            s.ehlo()
            assert not s.has_extn("auth"), "AUTH advertised before TLS"
            s.starttls(context=self.ctx)
            s.ehlo()
            assert s.has_extn("auth") and "PLAIN" in s.esmtp_features["auth"].split()
            s.login(ALICE, USERS[ALICE])  # smtplib picks PLAIN before LOGIN? it tries CRAM-MD5, PLAIN, LOGIN
            s.sendmail(ALICE, [BOB], self.message("auth-587"))
        t = self.trace(self.fetch(BOB, "auth-587"))
        assert t.startswith("Return-Path: <%s>" % ALICE) and " with ESMTPSA id " in t, t

    def t_smtplib_587_login(self):
        with self.smtp(self.p587) as s:
            s.starttls(context=self.ctx)
            s.ehlo()
            s.user, s.password = BOB, USERS[BOB]
            code, msg = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            assert code == 235, (code, msg)
            s.sendmail(BOB, [ALICE], self.message("login-587"))
        self.fetch(ALICE, "login-587")

    def t_smtplib_465(self):
        with self.smtps(self.p465) as s:
            s.ehlo()
            assert s.has_extn("auth") and not s.has_extn("starttls")
            s.user, s.password = ALICE, USERS[ALICE]
            code, msg = s.auth("PLAIN", s.auth_plain)
            assert code == 235, (code, msg)
            s.sendmail(ALICE, [ALICE, BOB], self.message("plain-465"))
        t = self.trace(self.fetch(BOB, "plain-465"))
        assert " with ESMTPSA id " in t and "(using TLSv1." in t, t

    def t_policy(self):
        """587: 538 before TLS, 530 for MAIL; 25: AUTH 503; 465: MAIL
        before AUTH 530; sender ownership 553; relaying with AUTH: 250, the
        outbound queue takes it (issue 9)."""
        r = Raw(self.p587)
        try:
            r.reply()
            r.expect("EHLO c", 250)
            r.expect("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])), 538)
            r.expect("MAIL FROM:<%s>" % ALICE, 530)
        finally:
            r.close()
        r = Raw(self.p25)
        try:
            r.reply()
            r.expect("EHLO c", 250)
            r.expect("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])), 503)
        finally:
            r.close()
        with self.smtps(self.p465) as s:
            s.ehlo()
            code, msg = s.mail(ALICE)
            assert code == 530, (code, msg)
            s.login(ALICE, USERS[ALICE])
            code, msg = s.mail(BOB)
            assert code == 553 and b"5.7.1" in msg, (code, msg)
            code, msg = s.mail(ALICE)
            assert code == 250, (code, msg)
            code, msg = s.rcpt("friend@remote.test")
            assert code == 250, "authenticated relay -> %d %r" % (code, msg)

    def t_auth_failures(self):
        """Wrong password and unknown user: one reply (535 5.7.8), one
        pause; from their own addresses so the throttle stays clear."""
        times = {}
        for who, src in (("wrong", "127.0.0.21"), ("unknown", "127.0.0.22")):
            user = ALICE if who == "wrong" else "nobody@example.test"
            r = Raw(self.p465, src=src, tls_ctx=self.ctx)
            try:
                r.reply()
                r.expect("EHLO c", 250)
                t0 = time.monotonic()
                code, msg = r.cmd("AUTH PLAIN " + b64("\0%s\0not-the-password" % user))
                times[who] = time.monotonic() - t0
                assert code == 535 and b"5.7.8" in msg, (who, code, msg)
            finally:
                r.close()
        assert all(0.9 <= t < 3 for t in times.values()), "pauses %r" % times
        assert abs(times["wrong"] - times["unknown"]) < 0.5, "pauses differ: %r" % times

    def t_no_credentials_logged(self):
        """At log_level = debug, so every command's line is checked."""
        with open(self.d.logs["smtpd"], "rb") as f:
            log = f.read()
        assert b"mail from=<" in log, "log_level = debug shows no MAIL lines"
        for pw in list(USERS.values()) + ["not-the-password"]:
            assert pw.encode() not in log, "a password is in the log"
        for u, pw in USERS.items():
            for blob in (b64("\0%s\0%s" % (u, pw)), b64(pw)):
                assert blob.encode() not in log, "base64 credentials in the log"

    # ---- swaks and msmtp ------------------------------------------------------

    def swaks(self, *args):
        cmd = ["swaks", "--server", HOST, "--helo", "swaks.test", "--timeout", "20",
               "--tls-ca-path", self.cert] + list(args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, "swaks %s exited %d:\n%s" % (" ".join(args), p.returncode, out[-1500:])
        return out

    def t_swaks_pipeline(self):
        out = self.swaks("--port", str(self.p25), "--pipeline", "--from", REMOTE,
                         "--to", ALICE, "--header", "Subject: swaks-pipeline")
        assert "<** " not in out, out[-1000:]
        self.fetch(ALICE, "swaks-pipeline")

    def t_swaks_tls_auth(self):
        for mech in ("PLAIN", "LOGIN"):
            token = "swaks-tls-" + mech
            self.swaks("--port", str(self.p587), "--tls", "--auth", mech,
                       "--auth-user", ALICE, "--auth-password", USERS[ALICE],
                       "--from", ALICE, "--to", BOB, "--header", "Subject: " + token)
            assert " with ESMTPSA id " in self.trace(self.fetch(BOB, token))

    def t_swaks_tlsc(self):
        self.swaks("--port", str(self.p465), "--tlsc", "--auth", "PLAIN",
                   "--auth-user", BOB, "--auth-password", USERS[BOB], "--pipeline",
                   "--from", BOB, "--to", ALICE, "--header", "Subject: swaks-tlsc")
        self.fetch(ALICE, "swaks-tlsc")

    def t_msmtp(self):
        for port, starttls, token in ((self.p587, "on", "msmtp-587"), (self.p465, "off", "msmtp-465")):
            conf = os.path.join(self.d.tmp, "msmtprc-%d" % port)
            with open(conf, "w") as f:
                f.write("defaults\ntls on\ntls_trust_file %s\ntls_starttls %s\n"
                        "account test\nhost localhost\nport %d\nauth on\nuser %s\n"
                        "password %s\nfrom %s\naccount default : test\n"
                        % (self.cert, starttls, port, ALICE, USERS[ALICE], ALICE))
            os.chmod(conf, 0o600)
            msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nvia msmtp\r\n" % (ALICE, BOB, token)
            p = subprocess.run(["msmtp", "-C", conf, BOB], input=msg.encode(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            assert p.returncode == 0, "msmtp (%s) exited %d: %s" % (
                token, p.returncode, p.stdout.decode(errors="replace"))
            self.fetch(BOB, token)

    # ---- raw protocol --------------------------------------------------------

    def t_bdat(self):
        r = Raw(self.p25)
        try:
            r.reply()
            r.expect("EHLO c", 250)
            body = self.message("bdat-raw", b".a dot line stays\r\n")
            half = len(body) // 2
            r.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\n" +
                   b"BDAT %d\r\n" % half + body[:half] +
                   b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
            for want in (250, 250, 250, 250):
                code, msg = r.reply()
                assert code == want, msg
            r.expect("QUIT", 221)
        finally:
            r.close()
        assert b"\r\n.a dot line stays\r\n" in self.fetch(ALICE, "bdat-raw")

    SMUGGLE = [b"\n.\n", b"\n.\r\n", b"\r.\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r",
               b"\r\n.\r\r\n", b"\r\n\0.\r\n", b"\r\n.\0\r\n"]

    def t_smuggling(self):
        for fake in self.SMUGGLE:
            r = Raw(self.p25)
            try:
                r.reply()
                r.expect("EHLO c", 250)
                r.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
                for want in (250, 250, 354):
                    assert r.reply()[0] == want
                r.send(b"Subject: smuggle-first\r\n\r\nx" + fake +
                       b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                       b"Subject: smuggle-second\r\n\r\nevil\r\n.\r\nNOOP\r\n")
                code, msg = r.reply()
                assert code == 554, "%r -> %r" % (fake, msg)
                code, msg = r.reply()
                assert code == 250 and b"2.0.0 Ok" in msg and b"queued" not in msg, \
                    "%r: second reply %r (a smuggled transaction?)" % (fake, msg)
            finally:
                r.close()
        p = poplib.POP3_SSL(HOST, self.p995, context=self.ctx, timeout=IO_TIMEOUT)
        try:
            p.user(ALICE)
            p.pass_(USERS[ALICE])
            for i in range(1, len(p.list()[1]) + 1):
                top = b"\r\n".join(p.top(i, 0)[1])
                assert b"smuggle-" not in top, "a smuggling test message was stored"
        finally:
            p.quit()

    def t_starttls_injection(self):
        for port, inject in ((self.p25, b"MAIL FROM:<evil@remote.test>\r\n"),
                             (self.p587, b"AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])).encode()
                              + b"\r\n")):
            r = Raw(port)
            try:
                r.reply()
                r.expect("EHLO c", 250)
                r.send(b"STARTTLS\r\n" + inject)
                code, msg = r.reply()
                if code != 220:
                    continue  # refusing STARTTLS with bytes behind it is correct too
                assert not r.buf, "plaintext after 220: %r" % r.buf
                r.sock = self.ctx.wrap_socket(r.sock, server_hostname="localhost")
                code, msg = r.cmd("MAIL FROM:<%s>" % ALICE)
                assert code == 503, "port %d: the injected command ran: %r" % (port, msg)
            finally:
                r.close()

    def t_open_relay(self):
        r = Raw(self.p25)
        try:
            r.reply()
            r.expect("EHLO relaytest.test", 250)
            r.expect("MAIL FROM:<antispam@example.test>", 250)
            for rcpt in ("relaytest@remote.test", "relaytest%remote.test@example.test",
                         '"relaytest@remote.test"@example.test', "@example.test:relaytest@remote.test",
                         "remote.test!relaytest@example.test", "relaytest@[127.0.0.1]",
                         "relaytest@remote.test@example.test"):
                code, msg = r.cmd("RCPT TO:<%s>" % rcpt)
                assert 500 <= code <= 599, "RCPT TO:<%s> -> %r: open relay" % (rcpt, msg)
        finally:
            r.close()

    # ---- limits (the "tight" instance) ----------------------------------------

    def t_limit_size(self):
        with self.smtp(self.t25) as s:
            s.ehlo()
            assert s.esmtp_features["size"] == str(64 * 1024)
            code, msg = s.mail(REMOTE, ["SIZE=%d" % (64 * 1024 + 1)])
            assert code == 552 and b"5.3.4" in msg, (code, msg)
            s.rset()
            # No SIZE= this time (sendmail would send it): refused after
            # the data, read to its end, nothing stored.
            assert s.mail(REMOTE)[0] == 250 and s.rcpt(ALICE)[0] == 250
            code, msg = s.data(self.message("too-big", b"x" * 998 + b"\r\n") * 70)
            assert code == 552 and b"5.3.4" in msg, (code, msg)
            code, _ = s.noop()
            assert code == 250, "session unusable after 552"

    def t_limit_recipients(self):
        with self.smtp(self.t25) as s:
            s.ehlo()
            s.mail(REMOTE)
            codes = [s.rcpt(ALICE)[0] for _ in range(4)]
            assert codes == [250, 250, 250, 452], codes

    def t_limit_lines(self):
        r = Raw(self.t25)
        try:
            r.reply()
            r.expect(b"NOOP " + b"x" * 506, 500)
            r.expect("EHLO c", 250)
            r.send(b"MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
            for want in (250, 250, 354):
                assert r.reply()[0] == want
            r.send(b"y" * 20000 + b"\r\n.\r\n")
            code, msg = r.reply()
            assert code == 554 and b"5.6.0" in msg, msg
            r.expect("NOOP", 250)
        finally:
            r.close()

    def t_limit_errors_http(self):
        r = Raw(self.t25)
        try:
            r.reply()
            for i in range(9):
                r.expect("XYZZY", 500)
            code, msg = r.cmd("XYZZY")
            assert code == 500
            code, msg = r.reply()
            assert code == 421, msg
            assert r.closed(), "still open after 421"
        finally:
            r.close()
        r = Raw(self.t25)
        try:
            r.reply()
            r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            code, msg = r.reply()
            assert 500 <= code <= 599, msg
            assert r.closed(), "still open after an HTTP request"
        finally:
            r.close()

    def t_limit_connections(self):
        """8 in all, 2 per address (a quarter): the third from one address
        and the ninth overall get 421 4.7.0 at the greeting."""
        open_ = []
        try:
            for src in ("127.0.0.31", "127.0.0.31"):
                r = Raw(self.t25, src=src)
                open_.append(r)
                assert r.reply()[0] == 220
            r = Raw(self.t25, src="127.0.0.31")
            code, msg = r.reply()
            r.close()
            assert code == 421 and b"4.7.0" in msg, msg
            for port, src in ((self.t25, "127.0.0.32"), (self.t25, "127.0.0.32"),
                              (self.t587, "127.0.0.33"), (self.t587, "127.0.0.33"),
                              (self.t587, "127.0.0.34"), (self.t587, "127.0.0.34")):
                r = Raw(port, src=src)
                open_.append(r)
                assert r.reply()[0] == 220
            r = Raw(self.t25, src="127.0.0.35")
            code, msg = r.reply()
            r.close()
            assert code == 421 and b"too many connections" in msg, msg
        finally:
            for r in open_:
                r.close()
        time.sleep(0.3)
        r = Raw(self.t25, src="127.0.0.31")  # places freed
        try:
            assert r.reply()[0] == 220
        finally:
            r.close()

    def t_limit_connections_465(self):
        """Implicit TLS, 2 per address: the third connection from one
        address is closed at accept, before any handshake (a ClientHello
        gets no byte back, and the log says why); another address is still
        served."""
        open_ = []
        try:
            for _ in range(2):
                r = Raw(self.t465, src="127.0.0.36", tls_ctx=self.ctx)
                open_.append(r)
                assert r.reply()[0] == 220
            for _ in range(3):  # however often it tries
                got = harness.hello_answer(self.t465, self.ctx, "127.0.0.36")
                assert got == b"", "the server answered a ClientHello: %r" % got[:40]
            r = Raw(self.t465, src="127.0.0.37", tls_ctx=self.ctx)
            open_.append(r)
            assert r.reply()[0] == 220
        finally:
            for r in open_:
                r.close()
        with open(self.d.logs["smtpd-tight"], "rb") as f:
            log = f.read()
        refused = log.count(b"refused ip=127.0.0.36 listener=submissions: "
                            b"too many connections from this address")
        assert refused == 3, "%d refusals logged, want 3" % refused
        time.sleep(0.3)
        r = Raw(self.t465, src="127.0.0.36", tls_ctx=self.ctx)  # places freed
        try:
            assert r.reply()[0] == 220
        finally:
            r.close()

    def t_limit_timeout(self):
        r = Raw(self.t25, src="127.0.0.41")
        try:
            r.reply()
            r.expect("EHLO c", 250)
            t0 = time.monotonic()
            r.sock.settimeout(30)
            code, msg = r.reply()
            waited = time.monotonic() - t0
            assert code == 421 and b"4.4.2" in msg, msg
            assert 9 <= waited <= 15, "timeout after %.1f s, want ~10" % waited
            assert r.closed()
        finally:
            r.close()

    # ---- memory -----------------------------------------------------------------

    def hwm_kib(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def sanitized(self, pid):
        with open("/proc/%d/maps" % pid) as f:
            return any("libasan" in line or "libubsan" in line for line in f)

    def t_rss_40mib(self):
        """In an smtpd of its own: a password check (yescrypt, 16 MiB)
        would raise the peak first and hide the message's share."""
        port = harness.free_ports(1)[0]
        conf = harness.write_conf(
            os.path.join(self.d.tmp, "rss.conf"),
            server={"hostname": HOSTNAME, "data_dir": os.path.join(self.d.tmp, "data"),
                    "user": self.user},
            smtp={"listen": "%s:%d" % (HOST, port), "max_message_size": "48M"})
        try:
            self.d.start("smtpd-rss", self.exe["smtpd"], conf, ports=[port])
        except Fatal as e:
            raise AssertionError("smtpd-rss: %s" % e)
        pid = self.d.pid("smtpd-rss")
        self.p25_saved, self.p25 = self.p25, port
        try:
            self.rss_run(pid)
        finally:
            self.p25 = self.p25_saved

    def rss_run(self, pid):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
        big = line * (40 * 1024 * 1024 // len(line) + 1)
        with self.smtp(self.p25) as s:  # warm up: buffers, SQLite caches
            s.sendmail(REMOTE, [BOB], self.message("rss-warmup", line * 20000))
        before = self.hwm_kib(pid)
        with self.smtp(self.p25) as s:
            s.sendmail(REMOTE, [BOB], self.message("rss-data", big))
        after_data = self.hwm_kib(pid)
        r = Raw(self.p25)
        try:
            r.reply()
            r.expect("EHLO c", 250)
            r.expect("MAIL FROM:<>", 250)
            r.expect("RCPT TO:<bob@example.test>", 250)
            body = self.message("rss-bdat", big)
            chunk = 1024 * 1024
            for off in range(0, len(body), chunk):
                part = body[off:off + chunk]
                last = off + chunk >= len(body)
                r.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b"") + part)
            for off in range(0, len(body), chunk):
                code, msg = r.reply()
                assert code == 250, msg
        finally:
            r.close()
        after_bdat = self.hwm_kib(pid)
        growth = (after_bdat - before) / 1024
        self.rss_note = ("smtpd peak RSS (VmHWM) %.1f MiB before, %.1f MiB after a %.0f MiB DATA "
                         "message, %.1f MiB after the same by BDAT: growth %.1f MiB"
                         % (before / 1024, after_data / 1024, len(big) / 2 ** 20,
                            after_bdat / 1024, growth))
        print("# " + self.rss_note, flush=True)
        if self.sanitized(pid):
            print("# (sanitizer build: RSS not bounded here)", flush=True)
            return
        assert growth <= RSS_LIMIT_MIB, "peak RSS grew %.1f MiB (limit %d)" % (growth, RSS_LIMIT_MIB)

    # ---- end ---------------------------------------------------------------------

    def t_sigterm(self):
        codes = self.d.stop_all()
        bad = {n: "still running" if c is None else c for n, c in codes.items() if c != 0}
        assert not bad, "exit after SIGTERM: %r" % bad

    def main(self):
        checks = [
            ("smtplib on 25: EHLO extensions, no AUTH, delivery, trace", self.t_smtplib_plain),
            ("smtplib on 25 with STARTTLS: ESMTPS and the TLS version", self.t_smtplib_starttls),
            ("smtplib on 587: STARTTLS then AUTH (smtplib's choice), ESMTPSA", self.t_smtplib_587_plain),
            ("smtplib on 587: AUTH LOGIN", self.t_smtplib_587_login),
            ("smtplib on 465: implicit TLS, AUTH PLAIN", self.t_smtplib_465),
            ("policy: 538/530 before TLS, AUTH 503 on 25, 553 sender, 451 relay", self.t_policy),
            ("AUTH failures: same 535 5.7.8 and pause for known and unknown users",
             self.t_auth_failures),
            ("swaks --pipeline on 25", self.t_swaks_pipeline),
            ("swaks --tls --auth PLAIN and LOGIN on 587", self.t_swaks_tls_auth),
            ("swaks --tlsc --auth on 465", self.t_swaks_tlsc),
            ("msmtp on 587 (STARTTLS) and 465", self.t_msmtp),
            ("BDAT chunks (raw)", self.t_bdat),
            ("SMTP smuggling variants: one 554, nothing stored", self.t_smuggling),
            ("STARTTLS injection on 25 and 587", self.t_starttls_injection),
            ("open-relay matrix on 25", self.t_open_relay),
            ("limit: max_message_size (552 5.3.4, session usable)", self.t_limit_size),
            ("limit: max_recipients (452 4.5.3)", self.t_limit_recipients),
            ("limit: command and text line lengths (500 5.5.2, 554 5.6.0)", self.t_limit_lines),
            ("limit: error counter (421) and HTTP first line", self.t_limit_errors_http),
            ("limit: connections in all and per address (421 4.7.0)", self.t_limit_connections),
            ("limit: per address on 465: closed before the TLS handshake",
             self.t_limit_connections_465),
            ("limit: idle timeout (421 4.4.2)", self.t_limit_timeout),
            ("memory: 40 MiB message by DATA and BDAT", self.t_rss_40mib),
            ("no credentials in the smtpd log (at debug level)", self.t_no_credentials_logged),
            ("daemons exit 0 on SIGTERM", self.t_sigterm),
            ("no sanitizer reports", self.d.assert_no_sanitizer_reports),
        ]
        self.results.run(self.setup, "setup", checks, WATCHDOG)
        self.d.cleanup(failed=self.results.failed())
        return self.results.summary()


if __name__ == "__main__":
    sys.exit(Test().main())

#!/usr/bin/env python3
"""End-to-end test: real postlite daemons on free loopback ports, real clients.

Sets up a temporary config, certificate and store with the admin CLI, starts
postlite-smtpd and postlite-pop3d in the foreground, sends with smtplib to
the port-25-style listener and fetches with poplib and with raw sockets over
POP3S and over POP3 + STLS, comparing the message byte for byte.

Environment: POSTLITE_SMTPD, POSTLITE_POP3D, POSTLITE_CLI (paths of the built
programs; tests/meson.build sets them). POSTLITE_E2E_KEEP=1 keeps the
temporary directory. Python standard library only.

Prints "ok - NAME" or "not ok - NAME: reason" per check and exits non-zero if
any failed (then with the tails of the daemons' logs).
"""

import os
import poplib
import pwd
import re
import smtplib
import sys
import time

import harness
from harness import HOST, Fatal

HOSTNAME = "e2e.postlite.test"  # [server] hostname: must appear in Received:
IO_TIMEOUT = 10                 # seconds, every socket operation
START_TIMEOUT = 10              # seconds until the listeners accept
STOP_TIMEOUT = 10               # seconds for exit after SIGTERM
WATCHDOG = 55                   # seconds for the whole script

USERS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-2",
}
ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@remote.test"


# ---- the messages ---------------------------------------------------------

def message_one():
    """The main message, CRLF line ends throughout, with every awkward line."""
    long_line = b"L" + b"0123456789" * 98 + b"E"  # 982 octets
    lines = [
        b"From: Sender <sender@remote.test>",
        b"To: alice@example.test, bob@example.test",
        b"Subject: postlite e2e \xc3\xa9t\xc3\xa9",  # raw UTF-8 in a header
        b"Message-ID: <e2e-1@remote.test>",
        b"Date: Thu, 01 Jan 2026 00:00:00 +0000",
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: 8bit",
        b"",
        b".starts with one dot",
        b"..starts with two dots",
        b".",
        b"...",
        b". a dot and a space",
        b" .space then dot",
        b"",
        b"",
        b"Latin-1: caf\xe9 na\xefve \xa9 \xff\xfe end",
        b"UTF-8: caf\xc3\xa9 na\xc3\xafve \xc2\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
        b"tab\there and trailing space ",
        long_line,
        b"." + long_line[:900],
        b"From the start of a line (mbox would mangle this)",
        b"last line before a final dot line",
        b".",
    ]
    return b"\r\n".join(lines) + b"\r\n"


def message_two():
    return (b"From: sender@remote.test\r\n"
            b"To: alice@example.test\r\n"
            b"Subject: second\r\n"
            b"Message-ID: <e2e-2@remote.test>\r\n"
            b"\r\n"
            b"Second message, for alice only.\r\n"
            b"..\r\n")


def dot_stuff(data):
    """RFC 1939 3: a line beginning with '.' is sent with another '.' first."""
    return re.sub(rb"(?m)^\.", b"..", data)


# ---- helpers ----------------------------------------------------------------

class RawPOP3(harness.POP3):
    timeout = IO_TIMEOUT

    def login(self, user):
        return super().login(user, USERS[user])


# ---- the test run -----------------------------------------------------------

class E2E:
    def __init__(self):
        self.d = harness.Daemons("postlite-e2e-", "POSTLITE_E2E_KEEP")
        self.results = harness.Results("# e2e")
        self.msg1 = message_one()
        self.msg2 = message_two()
        self.stored = {}  # (user, n) -> the exact message POP3 must return

    # -- setup --

    def setup(self):
        exe = harness.executables()
        t = self.d.tmp
        self.cert, self.key = harness.make_cert(t)
        self.user = harness.daemon_user(t)
        ports = harness.free_ports(5)
        self.smtp_port, sub_port, subs_port, self.pop3_port, self.pop3s_port = ports
        self.conf = harness.write_conf(
            os.path.join(t, "postlite.conf"),
            server={"hostname": HOSTNAME, "data_dir": os.path.join(t, "data"), "user": self.user},
            tls={"cert": self.cert, "key": self.key},
            smtp={"listen": "%s:%d" % (HOST, self.smtp_port),
                  "submission": "%s:%d" % (HOST, sub_port),
                  "submissions": "%s:%d" % (HOST, subs_port)},
            pop3={"listen": "%s:%d" % (HOST, self.pop3_port),
                  "pop3s": "%s:%d" % (HOST, self.pop3s_port)})
        harness.make_store(exe["cli"], self.conf, USERS)
        users = harness.postlite(exe["cli"], self.conf, "user", "list").decode(errors="replace")
        for user in USERS:
            if user not in users:
                raise Fatal("user list does not show %s: %r" % (user, users))
        self.ctx = harness.tls_context(self.cert)
        self.d.start("smtpd", exe["smtpd"], self.conf, timeout=START_TIMEOUT,
                     ports=[self.smtp_port, sub_port, subs_port])
        self.d.start("pop3d", exe["pop3d"], self.conf, timeout=START_TIMEOUT,
                     ports=[self.pop3_port, self.pop3s_port])

    # -- privileges --

    def t_privileges(self):
        """DESIGN.md: started as root, the daemons bind and then run as
        [server] user; without root they simply stay who they are."""
        pw = pwd.getpwnam(self.user)
        for name, p in self.d.procs.items():
            # Every thread (the worker pools included), not only the
            # main one: a thread left behind as root would undo the drop.
            # The port accepts (kernel backlog) before the daemon has
            # dropped privileges and started its workers: wait for them.
            deadline = time.monotonic() + 10
            while True:
                tasks = os.listdir("/proc/%d/task" % p.pid)
                if len(tasks) > 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert len(tasks) > 1, "%s has no worker threads?" % name
            for tid in tasks:
                with open("/proc/%d/task/%s/status" % (p.pid, tid)) as f:
                    status = dict(l.split(":", 1) for l in f if ":" in l)
                uids = status["Uid"].split()
                gids = status["Gid"].split()
                assert uids == [str(pw.pw_uid)] * 4, "%s thread %s runs with uids %s, want %s (%s)" % (
                    name, tid, uids, pw.pw_uid, self.user)
                assert gids == [str(pw.pw_gid)] * 4, "%s thread %s runs with gids %s, want %s" % (
                    name, tid, gids, pw.pw_gid)
                if os.geteuid() == 0:
                    groups = status.get("Groups", "").split()
                    assert "0" not in groups, "%s keeps supplementary group 0: %s" % (name, groups)

    # -- SMTP --

    def smtp(self):
        s = smtplib.SMTP(HOST, self.smtp_port, local_hostname="client.test",
                         timeout=IO_TIMEOUT)
        return s

    def t_smtp_ehlo(self):
        with self.smtp() as s:
            code, msg = s.ehlo()
            assert code == 250, "EHLO -> %d %r" % (code, msg)
            code, msg = s.noop()
            assert code == 250, "NOOP -> %d %r" % (code, msg)
            code, msg = s.rset()
            assert code == 250, "RSET -> %d %r" % (code, msg)

    def t_smtp_send_two_recipients(self):
        with self.smtp() as s:
            s.ehlo()
            opts = ["BODY=8BITMIME"] if s.has_extn("8bitmime") else []
            refused = s.sendmail(SENDER, [ALICE, BOB], self.msg1, mail_options=opts)
            assert not refused, "refused: %r" % refused

    def t_smtp_unknown_user_550(self):
        with self.smtp() as s:
            try:
                s.sendmail(SENDER, ["nobody@example.test"], self.msg2)
            except smtplib.SMTPRecipientsRefused as e:
                code, msg = e.recipients["nobody@example.test"]
                assert code == 550, "RCPT unknown user -> %d %r, want 550" % (code, msg)
            else:
                raise AssertionError("unknown local user accepted")

    def t_smtp_no_relay(self):
        with self.smtp() as s:
            try:
                s.sendmail(SENDER, ["someone@elsewhere.example"], self.msg2)
            except smtplib.SMTPRecipientsRefused as e:
                code, msg = e.recipients["someone@elsewhere.example"]
                assert 500 <= code <= 599, "RCPT non-local -> %d %r, want 5xx" % (code, msg)
            else:
                raise AssertionError("non-local recipient accepted: open relay")

    def t_smtp_mixed_recipients(self):
        """One good, one unknown recipient: the message reaches the good one."""
        with self.smtp() as s:
            refused = s.sendmail(SENDER, ["ghost@example.test", ALICE], self.msg2)
            assert set(refused) == {"ghost@example.test"}, "refused: %r" % refused
            assert refused["ghost@example.test"][0] == 550, "refused: %r" % refused

    def raw_smtp_reply(self, r):
        """One (possibly multi-line) SMTP reply: (code, all lines)."""
        lines = []
        for _ in range(100):
            line = r.line()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
        return int(lines[-1][:3]), b"".join(lines)

    def t_smtp_bare_lf_cr_refused(self):
        """DESIGN.md: DATA ends only on CRLF.CRLF; bare LF and bare CR in
        DATA are refused with a 5xx (SMTP smuggling). Sent to alice, so a
        wrongly delivered message also breaks the exact counts below."""
        for name, body in (
            ("bare LF", b"Subject: smuggle\r\n\r\nbare LF\n.\nMAIL FROM:<evil@remote.test>\r\n"),
            ("bare CR", b"Subject: smuggle\r\n\r\nbare CR\r.\rMAIL FROM:<evil@remote.test>\r\n"),
        ):
            r = RawPOP3(self.smtp_port)  # its line reader serves SMTP just as well
            s = r.sock
            try:
                code, text = self.raw_smtp_reply(r)
                assert code == 220, "greeting %r" % text
                for cmd, want in ((b"EHLO client.test", 250), (b"MAIL FROM:<sender@remote.test>", 250),
                                  (b"RCPT TO:<alice@example.test>", 250), (b"DATA", 354)):
                    s.sendall(cmd + b"\r\n")
                    code, text = self.raw_smtp_reply(r)
                    assert code == want, "%s: %s -> %r" % (name, cmd.decode(), text)
                s.sendall(body + b".\r\n")
                code, text = self.raw_smtp_reply(r)
                assert 500 <= code <= 599, "%s in DATA -> %r, want 5xx" % (name, text)
            finally:
                r.drop()

    # -- POP3 helpers --

    def expected(self, user, n):
        """The message as first fetched (and checked) by the pop3s poplib
        check; every other fetch must return exactly these octets."""
        if (user, n) not in self.stored:
            raise AssertionError("no reference copy of %s #%d (the pop3s poplib check failed)" % (user, n))
        return self.stored[(user, n)]

    def check_received(self, fetched, sent, sender=SENDER):
        """fetched must be the trace header the server adds followed by
        exactly `sent`: an optional "Return-Path: <sender>" (RFC 5321 4.4:
        added at final delivery), then Received: lines (continuations
        folded with white space), the first naming [server] hostname."""
        assert fetched.endswith(sent), "fetched message does not end with the sent bytes (%d vs %d octets): %s" % (
            len(fetched), len(sent), first_diff(fetched[-len(sent):] if len(fetched) >= len(sent) else fetched, sent))
        prefix = fetched[:len(fetched) - len(sent)]
        assert prefix.endswith(b"\r\n"), "prefix %r" % prefix
        lines = prefix[:-2].split(b"\r\n")
        if lines[0].lower().startswith(b"return-path:"):
            want = b"Return-Path: <" + sender.encode() + b">"
            assert lines[0] == want, "%r, want %r" % (lines[0], want)
            lines = lines[1:]
        assert lines and lines[0].startswith(b"Received: from"), "trace header %r" % prefix[:200]
        received = b"\r\n".join(lines)
        for line in lines:
            assert line.startswith(b"Received:") or line[:1] in (b" ", b"\t"), \
                "unexpected header line before the message: %r" % line
            assert b"\n" not in line and b"\r" not in line, "bare CR/LF in %r" % line
        assert re.search(rb"\bby " + re.escape(HOSTNAME.encode()) + rb"\b", received), \
            "Received: does not say 'by %s': %r" % (HOSTNAME, received)
        return prefix

    # -- POP3 checks --

    def t_pop3_plaintext_login_refused(self):
        r = RawPOP3.connect(self.pop3_port)
        try:
            resp = r.cmd("USER " + ALICE)
            if resp.startswith(b"+OK"):
                resp = r.cmd("PASS " + USERS[ALICE])
                assert resp.startswith(b"-ERR"), "PASS before TLS -> %r" % resp
            else:
                assert resp.startswith(b"-ERR"), "USER before TLS -> %r" % resp
            try:
                resp = r.cmd("STAT")
            except (AssertionError, EOFError, OSError):
                return  # closing the connection after the refusal is fine too
            assert resp.startswith(b"-ERR"), "STAT after refused login -> %r" % resp
        finally:
            r.drop()

    def t_pop3s_poplib_retr(self):
        for user, want in ((ALICE, [self.msg1, self.msg2]), (BOB, [self.msg1])):
            p = poplib.POP3_SSL(HOST, self.pop3s_port, context=self.ctx, timeout=IO_TIMEOUT)
            try:
                p.user(user)
                p.pass_(USERS[user])
                count, size = p.stat()
                assert count == len(want), "%s: STAT says %d messages, want %d" % (user, count, len(want))
                total = 0
                for i, sent in enumerate(want, 1):
                    resp, lines, octets = p.retr(i)
                    fetched = b"\r\n".join(lines) + b"\r\n"
                    self.check_received(fetched, sent)
                    self.stored[(user, i)] = fetched
                    total += len(fetched)
                assert size == total, "%s: STAT size %d, messages total %d" % (user, size, total)
            finally:
                p.quit()

    def t_pop3s_raw_retr(self):
        self.raw_retr_all(lambda: RawPOP3.connect(self.pop3s_port, self.ctx))

    def t_stls_poplib_retr(self):
        p = poplib.POP3(HOST, self.pop3_port, timeout=IO_TIMEOUT)
        try:
            caps = p.capa()
            assert "STLS" in caps, "CAPA before TLS lacks STLS: %r" % caps
            p.stls(context=self.ctx)
            p.user(ALICE)
            p.pass_(USERS[ALICE])
            for i in (1, 2):
                resp, lines, octets = p.retr(i)
                fetched = b"\r\n".join(lines) + b"\r\n"
                want = self.expected(ALICE, i)
                assert fetched == want, "message %d over STLS differs: %s" % (i, first_diff(fetched, want))
        finally:
            p.quit()

    def t_stls_raw_retr(self):
        def connect():
            r = RawPOP3.connect(self.pop3_port)
            r.ok("STLS")
            r.upgrade(self.ctx)
            return r
        self.raw_retr_all(connect)

    def raw_retr_all(self, connect):
        for user, n in ((ALICE, 2), (BOB, 1)):
            r = connect()
            try:
                r.login(user)
                for i in range(1, n + 1):
                    want = self.expected(user, i)
                    head = r.ok("RETR %d" % i)
                    body = r.multi()
                    assert body == dot_stuff(want) + b".\r\n", \
                        "%s RETR %d on the wire differs: %s" % (user, i, first_diff(body, dot_stuff(want) + b".\r\n"))
                    m = re.match(rb"\+OK (\d+)", head)
                    if m:  # RFC 1939 suggests the size; when given it must be right
                        assert int(m.group(1)) == len(want), "RETR says %s octets, want %d" % (m.group(1), len(want))
                r.ok("QUIT")
            finally:
                r.drop()

    def t_pop3_list_size(self):
        r = RawPOP3.connect(self.pop3s_port, self.ctx)
        try:
            r.login(ALICE)
            body = r.multi() if r.ok("LIST") else b""
            got = [tuple(map(int, l.split())) for l in body.split(b"\r\n")[:-2]]
            want = [(i, len(self.expected(ALICE, i))) for i in (1, 2)]
            assert got == want, "LIST %r, want %r" % (got, want)
            for i, size in want:
                resp = r.ok("LIST %d" % i)
                assert resp == b"+OK %d %d\r\n" % (i, size), "LIST %d -> %r, want size %d" % (i, resp, size)
            resp = r.cmd("LIST 3")
            assert resp.startswith(b"-ERR"), "LIST 3 (no such message) -> %r" % resp
            resp = r.ok("STAT")
            assert resp == b"+OK 2 %d\r\n" % sum(s for _, s in want), "STAT -> %r" % resp
            r.ok("QUIT")
        finally:
            r.drop()

    def t_pop3_top(self):
        r = RawPOP3.connect(self.pop3s_port, self.ctx)
        try:
            r.login(ALICE)
            want = self.expected(ALICE, 1)
            head, _, body = want.partition(b"\r\n\r\n")
            r.ok("TOP 1 0")
            got = r.multi()
            expect = dot_stuff(head + b"\r\n\r\n") + b".\r\n"
            assert got == expect, "TOP 1 0: %s" % first_diff(got, expect)
            r.ok("TOP 1 3")
            got = r.multi()
            first3 = b"".join(l + b"\r\n" for l in body.split(b"\r\n")[:3])
            expect = dot_stuff(head + b"\r\n\r\n" + first3) + b".\r\n"
            assert got == expect, "TOP 1 3: %s" % first_diff(got, expect)
            r.ok("QUIT")
        finally:
            r.drop()

    def uidls(self, user):
        r = RawPOP3.connect(self.pop3s_port, self.ctx)
        try:
            r.login(user)
            r.ok("UIDL")
            lines = r.multi().split(b"\r\n")[:-2]
            out = {}
            for l in lines:
                n, uid = l.split(b" ", 1)
                out[int(n)] = uid
            one = r.ok("UIDL 1")
            assert one == b"+OK 1 " + out[1] + b"\r\n", "UIDL 1 -> %r vs %r" % (one, out[1])
            r.ok("QUIT")
            return out
        finally:
            r.drop()

    def t_pop3_uidl_stable(self):
        a = self.uidls(ALICE)
        b = self.uidls(ALICE)
        assert a == b, "UIDL changed between sessions: %r then %r" % (a, b)
        assert sorted(a) == [1, 2], "UIDL lists %r" % a
        assert len(set(a.values())) == 2, "UIDLs not unique: %r" % a
        for uid in a.values():
            assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7e for c in uid), "bad UIDL %r (RFC 1939 7)" % uid
        self.alice_uidl = a

    def t_pop3_in_use(self):
        first = RawPOP3.connect(self.pop3s_port, self.ctx)
        try:
            first.login(ALICE)
            second = RawPOP3.connect(self.pop3s_port, self.ctx)
            try:
                second.ok("USER " + ALICE)
                resp = second.cmd("PASS " + USERS[ALICE])
                assert resp.startswith(b"-ERR [IN-USE]"), "second login -> %r, want -ERR [IN-USE]" % resp
            finally:
                second.drop()
            first.ok("QUIT")
        finally:
            first.drop()
        # After QUIT the lock is free again.
        again = RawPOP3.connect(self.pop3s_port, self.ctx)
        try:
            again.login(ALICE)
            again.ok("QUIT")
        finally:
            again.drop()

    def login_retrying(self, user):
        """Logs in; a drop is noticed by the server asynchronously, so allow
        [IN-USE] for up to 3 s after one."""
        deadline = time.monotonic() + 3
        while True:
            r = RawPOP3.connect(self.pop3s_port, self.ctx)
            r.ok("USER " + user)
            resp = r.cmd("PASS " + USERS[user])
            if resp.startswith(b"+OK"):
                return r
            r.drop()
            if not resp.startswith(b"-ERR [IN-USE]") or time.monotonic() > deadline:
                raise AssertionError("login -> %r" % resp)
            time.sleep(0.1)

    def t_pop3_dele_drop_keeps(self):
        r = RawPOP3.connect(self.pop3s_port, self.ctx)
        r.login(ALICE)
        r.ok("DELE 1")
        resp = r.cmd("RETR 1")
        assert resp.startswith(b"-ERR"), "RETR of a deleted message -> %r" % resp
        r.drop()  # no QUIT: nothing may be deleted
        r = self.login_retrying(ALICE)
        try:
            resp = r.ok("STAT")
            assert resp.startswith(b"+OK 2 "), "after DELE + drop: STAT -> %r" % resp
            # RSET undoes a DELE within the session too.
            r.ok("DELE 2")
            r.ok("RSET")
            resp = r.ok("STAT")
            assert resp.startswith(b"+OK 2 "), "after DELE + RSET: STAT -> %r" % resp
            r.ok("QUIT")
        finally:
            r.drop()

    def t_pop3_dele_quit_removes(self):
        r = self.login_retrying(ALICE)
        try:
            r.ok("DELE 1")
            r.ok("QUIT")
        finally:
            r.drop()
        r = self.login_retrying(ALICE)
        try:
            want = self.expected(ALICE, 2)
            resp = r.ok("STAT")
            assert resp == b"+OK 1 %d\r\n" % len(want), "after DELE 1 + QUIT: STAT -> %r" % resp
            r.ok("RETR 1")
            body = r.multi()
            assert body == dot_stuff(want) + b".\r\n", "remaining message: %s" % first_diff(body, dot_stuff(want) + b".\r\n")
            resp = r.ok("UIDL 1")
            old = getattr(self, "alice_uidl", {}).get(2)
            if old is not None:
                assert resp == b"+OK 1 " + old + b"\r\n", "UIDL of the kept message changed: %r, was %r" % (resp, old)
            r.ok("QUIT")
        finally:
            r.drop()
        # bob's reference to the shared message is untouched.
        r = self.login_retrying(BOB)
        try:
            want = self.expected(BOB, 1)
            resp = r.ok("STAT")
            assert resp == b"+OK 1 %d\r\n" % len(want), "bob: STAT -> %r" % resp
            r.ok("RETR 1")
            body = r.multi()
            assert body == dot_stuff(want) + b".\r\n", "bob's copy: %s" % first_diff(body, dot_stuff(want) + b".\r\n")
            r.ok("QUIT")
        finally:
            r.drop()

    def t_stls_discards_pipelined(self):
        """Bytes sent after STLS before the handshake must never be executed
        (RFC 2595 / the STARTTLS injection class of bugs)."""
        r = RawPOP3(self.pop3_port)
        s = r.sock
        try:
            r.line()
            s.sendall(b"STLS\r\nUSER " + ALICE.encode() + b"\r\n")
            resp = r.line()
            if resp.startswith(b"-ERR"):
                return  # refusing STLS with bytes after it is also correct
            assert resp.startswith(b"+OK"), "STLS -> %r" % resp
            assert not r.buf, "plaintext after +OK to STLS: %r" % r.buf
            r.sock = self.ctx.wrap_socket(s, server_hostname=HOST)
            # Had the injected USER run, this PASS would log in (or its +OK
            # would arrive first): only one -ERR is right.
            resp = r.cmd("PASS " + USERS[ALICE])
            assert resp.startswith(b"-ERR"), "first reply after the handshake to PASS: %r (the injected USER ran)" % resp
            resp = r.cmd("STAT")
            assert resp.startswith(b"-ERR"), "STAT -> %r: logged in through the injected USER" % resp
        finally:
            r.drop()

    # -- shutdown --

    def t_sigterm_exit_0(self):
        codes = self.d.stop_all(timeout=STOP_TIMEOUT)
        bad = {k: v for k, v in codes.items() if v != 0}
        assert not bad, "exit codes after SIGTERM (None = still running after %ds): %r" % (STOP_TIMEOUT, bad)

    # -- driver --

    def main(self):
        checks = [
            ("daemons run as [server] user", self.t_privileges),
            ("smtp: EHLO, NOOP, RSET", self.t_smtp_ehlo),
            ("smtp: message to alice and bob accepted", self.t_smtp_send_two_recipients),
            ("smtp: unknown local user refused with 550 at RCPT", self.t_smtp_unknown_user_550),
            ("smtp: non-local domain refused with 5xx (no relay)", self.t_smtp_no_relay),
            ("smtp: good + unknown recipient delivers to the good one", self.t_smtp_mixed_recipients),
            ("smtp: bare LF / bare CR in DATA refused with 5xx", self.t_smtp_bare_lf_cr_refused),
            ("pop3: USER/PASS refused before TLS", self.t_pop3_plaintext_login_refused),
            ("pop3s (poplib): both mailboxes hold Received: + the sent bytes", self.t_pop3s_poplib_retr),
            ("pop3s (raw): RETR octets exact, dot-stuffed", self.t_pop3s_raw_retr),
            ("pop3+stls (poplib): CAPA has STLS, RETR identical", self.t_stls_poplib_retr),
            ("pop3+stls (raw): RETR octets exact, dot-stuffed", self.t_stls_raw_retr),
            ("pop3+stls: pipelined bytes after STLS discarded", self.t_stls_discards_pipelined),
            ("pop3: LIST/STAT sizes equal the message octets", self.t_pop3_list_size),
            ("pop3: TOP", self.t_pop3_top),
            ("pop3: UIDL stable across sessions", self.t_pop3_uidl_stable),
            ("pop3: second login to a mailbox gets -ERR [IN-USE]", self.t_pop3_in_use),
            ("pop3: DELE + dropped connection deletes nothing", self.t_pop3_dele_drop_keeps),
            ("pop3: DELE + QUIT removes alice's copy only", self.t_pop3_dele_quit_removes),
            ("daemons exit 0 on SIGTERM", self.t_sigterm_exit_0),
            ("no sanitizer reports in the daemon logs", self.d.assert_no_sanitizer_reports),
        ]
        self.results.run(self.setup, "setup: config, store, users, daemons up", checks, WATCHDOG)
        self.d.cleanup(failed=self.results.failed())
        return self.results.summary()


def first_diff(a, b):
    """Where two byte strings first differ, with some context."""
    if a == b:
        return "identical"
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    lo = max(0, i - 40)
    return "lengths %d/%d, first difference at octet %d: got %r want %r" % (
        len(a), len(b), i, a[lo:i + 40], b[lo:i + 40])


if __name__ == "__main__":
    sys.exit(E2E().main())

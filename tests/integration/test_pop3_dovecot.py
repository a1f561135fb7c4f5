#!/usr/bin/env python3
"""Differential test: one scripted POP3 dialogue against postlite-pop3d and
against Dovecot's pop3d (Debian's dovecot-core + dovecot-pop3d, started
here on free loopback ports with a temporary config, like
shared/bench/anchors/dovecot.sh), comparing the sequence of +OK/-ERR and
the message bytes of every multi-line response.

Both servers hold the same messages: they are delivered to postlite through
its smtpd, read back (Received: header included) and written into Dovecot's
Maildir, so RETR/TOP must return identical octets.

Skips (exit 77, with a message) when Dovecot is not installed (scripts/deps
installs it) or when not run as root (Dovecot's privilege separation).

Intended differences, each checked as a difference so that a change on
either side is noticed (see DIFFERENCES below):
  1. "NOOP x" (and any argument to an argument-less command): postlite
     refuses it (-ERR, popa3d-style strict arguments); Dovecot ignores the
     argument (+OK).
  2. Bad commands before login: Dovecot's login process hangs up after 3
     ("-ERR Too many invalid bad commands."); postlite allows 10 before
     login (clients probe with unknown commands), then hangs up.
  3. UTF8 before login: postlite implements RFC 6856 (+OK); Dovecot
     does not know the command (-ERR). CAPA also differs: postlite lists
     UTF8, EXPIRE NEVER and IMPLEMENTATION, which Dovecot does not; they are
     compared as sets with these three taken out.
  4. CAPA: Dovecot also lists "CAPA" (not a capability RFC 2449 defines)
     and, before TLS, an empty "SASL" line; postlite lists SASL PLAIN only
     where AUTH would be accepted. Both are left out of the comparison.
  5. AUTH PLAIN with bad base64: Dovecot adds [AUTH]; postlite keeps
     [AUTH] for refused credentials (RFC 3206 4) and answers a malformed
     response with a plain -ERR.
  6. Bad commands after login: both hang up, postlite after 20 (like
     Dovecot's 20) -- not exercised here beyond the script's few.
  7. UIDL values and reply texts: each server makes its own (postlite's
     UIDL is the entry id and a random salt, "17.3f9c...", never reused
     even after restoring an older backup); only the message numbers of
     UIDL/LIST listings and the +OK/-ERR of each reply are compared.
Not a difference: a line over 255 octets. postlite refuses it (-ERR, RFC
2449 4) and goes on; Dovecot accepts longer lines (its limit is larger) and
parses them ("LIST AAA...": -ERR too, but for another reason) -- the same
status.
Everything else -- message numbers, deleted messages, TOP, UIDL/LIST
listings (numbers), RSET, QUIT, AUTH PLAIN and "*", STLS rules, [AUTH] and
[IN-USE] codes -- must be the same.
"""

import base64
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_pop3 as tp  # noqa: E402  (postlite's daemons, users, messages)

USER = "alice@example.test"
PW = tp.USERS[USER]


def skip(why):
    print("skip - differential test against Dovecot: %s" % why)
    print("0 passed, 0 failed")
    sys.exit(77)


class Dovecot:
    """Dovecot's pop3d in d's directory, started and stopped by d (a
    harness.Daemons) as "dovecot"."""

    def __init__(self, d):
        self.d = d
        self.dir = os.path.join(d.tmp, "dovecot")
        self.cert, self.key = d.cert, d.key
        self.pop3_port, self.pop3s_port = harness.free_ports(2)
        self.maildir = os.path.join(self.dir, "mail", "alice", "Maildir")

    def start(self):
        d = self.dir
        for sub in ("run", "state", "mail/alice/Maildir/new",
                    "mail/alice/Maildir/cur", "mail/alice/Maildir/tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.dirname(d), 0o755)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "users"), "w") as f:
            f.write("%s:{PLAIN}%s:65534:65534::%s/mail/alice::\n" % (USER, PW, d))
        os.chmod(os.path.join(d, "users"), 0o644)
        # Dovecot needs a key it can read after dropping privileges.
        shutil.copy(self.cert, os.path.join(d, "cert.pem"))
        shutil.copy(self.key, os.path.join(d, "key.pem"))
        dh = "ssl_dh = </usr/share/dovecot/dh.pem" if os.path.exists("/usr/share/dovecot/dh.pem") else ""
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("""# written by tests/integration/test_pop3_dovecot.py
instance_name = postlite-diff-%d
base_dir = %s/run
state_dir = %s/state
log_path = %s/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%s/cert.pem
ssl_key = <%s/key.pem
%s
# As postlite: no password before TLS. Dovecot trusts connections from
# the server's own address, so the plain-port checks connect from
# 127.0.0.2 (see Raw.connect(source=...)).
disable_plaintext_auth = yes
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = 100
pop3_uidl_format = %%08Xu%%08Xv
# RFC 1939 8: one session per maildrop, as postlite ([IN-USE]).
pop3_lock_session = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %s/users
}
userdb {
  driver = passwd-file
  args = username_format=%%u %s/users
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %d
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = %d
    ssl = yes
  }
}
""" % (os.getpid(), d, d, d, d, d, dh, d, d, self.pop3_port, self.pop3s_port))
        p = subprocess.run(["dovecot", "-c", conf, "-n"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if p.returncode != 0:
            raise harness.Fatal("dovecot -n: %s" % p.stdout.decode(errors="replace")[-500:])
        self.d.start("dovecot", "dovecot", conf, fg="-F", timeout=20,
                     ports=[self.pop3_port, self.pop3s_port])

    def put(self, n, data):
        """Message n into the Maildir, exactly these octets."""
        name = "%d.M%dP%d.postlite-diff" % (1700000000 + n, n, os.getpid())
        tmpf = os.path.join(self.maildir, "tmp", name)
        with open(tmpf, "wb") as f:
            f.write(data)
        os.rename(tmpf, os.path.join(self.maildir, "new", name))
        subprocess.run(["chown", "-R", "nobody:nogroup", os.path.join(self.dir, "mail")], check=True)


def code(line):
    """'+OK', '-ERR' or '+' with an RFC 2449 response code if any."""
    s = line.decode(errors="replace").rstrip("\r\n")
    head = s.split(" ", 1)[0]
    rest = s[len(head):].lstrip()
    if rest.startswith("[") and "]" in rest:
        head += " " + rest[:rest.index("]") + 1]
    return head


# CAPA lines only one side has (differences 3 and 5).
CAPA_EXTRA = {"UTF8", "EXPIRE NEVER", "IMPLEMENTATION postlite", "CAPA", "SASL"}

# A dialogue: (label, command, kind). kind: line | multi (body compared
# exactly) | list (body compared) | uidl (message numbers compared) |
# capa (as a set) | tls (STLS, then the handshake) | raw (bytes as is).
TRANSACTION = [
    ("STAT", "STAT", "line"), ("LIST", "LIST", "list"), ("UIDL", "UIDL", "uidl"),
    ("LIST 1", "LIST 1", "line"), ("UIDL 2", "UIDL 2", "line"),
    ("RETR 1", "RETR 1", "multi"), ("RETR 2", "RETR 2", "multi"),
    ("RETR 3", "RETR 3", "multi"),
    ("TOP 1 0", "TOP 1 0", "multi"), ("TOP 2 1", "TOP 2 1", "multi"),
    ("TOP 3 100", "TOP 3 100", "multi"),
    ("LIST 4294967297", "LIST 4294967297", "line"), ("RETR 0", "RETR 0", "line"),
    ("TOP 1 -1", "TOP 1 -1", "line"), ("RETR 9", "RETR 9", "line"),
    ("RETR +1", "RETR +1", "line"), ("LIST 1 2", "LIST 1 2", "line"),
    ("RETR 01", "RETR 01", "multi"),
    ("DELE 1", "DELE 1", "line"), ("DELE 1 again", "DELE 1", "line"),
    ("RETR deleted", "RETR 1", "line"), ("LIST deleted", "LIST 1", "line"),
    ("UIDL deleted", "UIDL 1", "line"), ("TOP deleted", "TOP 1 0", "line"),
    ("STAT after DELE", "STAT", "line"), ("LIST after DELE", "LIST", "list"),
    ("RSET", "RSET", "line"), ("STAT after RSET", "STAT", "line"),
    ("unknown", "XYZZ", "line"), ("USER in TRANSACTION", "USER x", "line"),
    ("STLS in TRANSACTION", "STLS", "line"), ("AUTH in TRANSACTION", "AUTH PLAIN", "line"),
    ("CAPA in TRANSACTION", "CAPA", "capa"),
    ("NOOP", "NOOP", "line"), ("NOOP x", "NOOP x", "line"),
    ("DELE 2", "DELE 2", "line"), ("QUIT", "QUIT", "line"),
]

IR = base64.b64encode(b"\0" + USER.encode() + b"\0" + PW.encode()).decode()
DIALOGUES = [
    # The plain port from 127.0.0.2: credentials refused before TLS, STLS,
    # then the whole TRANSACTION script.
    ("plain", [("CAPA before TLS", "CAPA", "capa"), ("USER before TLS", "USER " + USER, "line"),
               ("PASS before TLS", "PASS " + PW, "line"),
               ("AUTH before TLS", "AUTH PLAIN " + IR, "line"),
               ("UTF8", "UTF8", "line"),
               ("STLS", "STLS", "tls"), ("CAPA after TLS", "CAPA", "capa"),
               ("STLS again", "STLS", "line"),
               ("USER", "USER " + USER, "line"), ("PASS", "PASS " + PW, "line")]
     + TRANSACTION),
    # 995: AUTH PLAIN without an initial response, "*", a wrong password,
    # then AUTH PLAIN with one; a second session meanwhile.
    ("tls", [("AUTH PLAIN", "AUTH PLAIN", "line"), ("AUTH *", "*", "line"),
             ("AUTH bad base64", "AUTH PLAIN !!!!", "line"),
             ("wrong password", "USER " + USER, "line"), ("PASS wrong", "PASS wrong", "line"),
             ("AUTH PLAIN ir", "AUTH PLAIN " + IR, "line"),
             ("second session", "@second", "line"),
             ("STAT (message 2 gone)", "STAT", "line"), ("UIDL", "UIDL", "uidl"),
             ("QUIT", "QUIT", "line")]),
    # Bad commands before login (difference 2).
    ("tls", [("bad 1", "XYZZ", "line"), ("bad 2", "XYZZ", "line"),
             ("bad 3", "XYZZ", "line"), ("after 3 bad", "CAPA", "capa")]),
]

# label -> (postlite, Dovecot): the intended differences (see above).
DIFFERENCES = {
    "NOOP x": ("+OK?-ERR", None),
    "AUTH bad base64": ("-ERR", "-ERR [AUTH]"),
    "UTF8": ("+OK", "-ERR"),
    # Dovecot's "-ERR Too many invalid bad commands." before it hangs up.
    "after 3 bad": ("+OK", "-ERR"),
}


def run_dialogue(port, kind, steps, ctx, second_port):
    """Runs steps; returns [(label, result)]."""
    tls = ctx if kind == "tls" else None
    src = "127.0.0.2" if kind == "plain" else None
    r = tp.Raw.connect(port, tls, source=src)
    out = []
    try:
        for label, cmd, how in steps:
            try:
                if cmd == "@second":
                    s2 = tp.Raw.connect(second_port, ctx)
                    try:
                        s2.ok("USER " + USER)
                        res = code(s2.cmd("PASS " + PW))
                    finally:
                        s2.close()
                    out.append((label, res))
                    continue
                line = r.cmd(cmd)
                res = code(line)
                if line.startswith(b"+OK") and how in ("multi", "list", "uidl", "capa"):
                    body = r.multi()
                    if how == "uidl":
                        res += " " + " ".join(l.split(b" ")[0].decode()
                                              for l in body.split(b"\r\n")[:-2])
                    elif how == "capa":
                        caps = set(l.decode() for l in body.split(b"\r\n")[:-2])
                        res += " " + ",".join(sorted(caps - CAPA_EXTRA))
                    else:
                        res += " " + body.decode("latin-1")
                if how == "tls" and line.startswith(b"+OK"):
                    r.sock = ctx.wrap_socket(r.sock, server_hostname="localhost")
            except (EOFError, ConnectionError, OSError):
                res = "closed"
            out.append((label, res))
            if res == "closed":
                break
    finally:
        r.close()
    return out


def main():
    if os.geteuid() != 0:
        skip("needs root (Dovecot's privilege separation)")
    if not shutil.which("dovecot") or not os.path.exists("/usr/lib/dovecot/pop3"):
        skip("dovecot-core/dovecot-pop3d not installed (scripts/deps installs them)")
    d = tp.Daemons(prefix="postlite-diff-")
    res = harness.Results()
    try:
        d.setup()
        dc = Dovecot(d)
        dc.start()
        msgs = [tp.message("diff one", 2),
                b"Subject: two\r\n\r\nBody two\r\n.\r\nline3\r\n",
                b"Subject: three\r\nX-8bit: caf\xc3\xa9\r\n\r\n\xff\xfe bytes\r\n..\r\n"]
        for m in msgs:
            d.deliver(USER, m)
        r = d.pop3s()
        r.login(USER)
        for i in range(1, len(msgs) + 1):
            r.ok("RETR %d" % i)
            dc.put(i, tp.unstuff(r.multi()))
        r.ok("QUIT")
        r.close()
        # Dovecot's certificate names localhost too.
        ctx = harness.tls_context(d.cert)
        ctx.check_hostname = False
        for kind, steps in DIALOGUES:
            ours = run_dialogue(d.pop3_port if kind == "plain" else d.pop3s_port,
                                kind, steps, ctx, d.pop3s_port)
            theirs = run_dialogue(dc.pop3_port if kind == "plain" else dc.pop3s_port,
                                  kind, steps, ctx, dc.pop3s_port)
            for i in range(max(len(ours), len(theirs))):
                label = (ours + theirs)[i][0] if i < len(ours) else theirs[i][0]
                a = ours[i][1] if i < len(ours) else "(none)"
                b = theirs[i][1] if i < len(theirs) else "(none)"
                if label in DIFFERENCES:
                    wa, wb = DIFFERENCES[label]
                    def is_(x, w):  # x is w, maybe with a listing after it
                        return x == w or x.startswith(w + " +") or \
                            (x.startswith(w + " ") and w in ("+OK",))
                    good = is_(a, wa) and (wb is None or is_(b, wb))
                    if label == "NOOP x":
                        good = a.startswith("-ERR") and b.startswith("+OK")
                    tag = "intended difference"
                else:
                    good = a == b
                    tag = "same"
                if good:
                    res.add("%s: %s (%s)" % (label, a.split("\r\n")[0][:60], tag), True)
                else:
                    res.add(label, False, "postlite %r, Dovecot %r" % (a[:300], b[:300]))
    except harness.Fatal as e:
        res.add("setup", False, e)
    finally:
        d.stop_all()
        log = os.path.join(d.tmp, "dovecot", "dovecot.log")
        if res.failed() and os.path.exists(log):
            print("--- last lines of %s\n%s" % (log, harness.tail(log, 15)))
        d.cleanup(failed=res.failed())
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())

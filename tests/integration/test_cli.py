#!/usr/bin/env python3
"""Runs the built `postlite` admin CLI (path in $POSTLITE_CLI) against a
temporary config and data_dir, and checks exit codes, output and the files
it leaves behind. Ends with "N passed, N failed"; exits 1 on any failure."""

import json
import os
import pty
import pwd
import select
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

CLI = os.environ.get("POSTLITE_CLI", "build/store/postlite")
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", file=sys.stderr)


def write_config(tmp, user, data="data"):
    path = os.path.join(tmp, f"postlite-{user}.conf")
    with open(path, "w") as f:
        f.write("[server]\n"
                "hostname = mail.example.test\n"
                f"data_dir = {os.path.join(tmp, data)}\n"
                f"user = {user}\n")
    return path


def run(conf, *args, stdin=None):
    argv = [CLI] + (["-c", conf] if conf else []) + list(args)
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def expect(name, result, code, out=None, err=None):
    rc, o, e = result
    check(name + " exit", rc == code, f"rc={rc} want {code} stderr={e!r}")
    if out is not None:
        check(name + " stdout", o == out, f"{o!r} want {out!r}")
    if err is not None:
        check(name + " stderr", err in e, f"{e!r} lacks {err!r}")
    if code != 0 and code != 2:
        check(name + " one line", e.count("\n") == 1, repr(e))


def run_tty(conf, args, answers):
    """Runs the CLI on a pseudo-terminal, answering each password prompt."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(CLI, [CLI, "-c", conf] + args)
    out = b""
    answered = 0
    deadline = time.time() + 30
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        # Answer each prompt once it is out (the CLI flushes typed-ahead
        # input when it turns echo off).
        if answered < len(answers) and out.count(b"password:") > answered:
            os.write(fd, answers[answered])
            answered += 1
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def main(tmp):
    conf = write_config(tmp, "postlite-no-such-user")
    data = os.path.join(tmp, "data")
    db = os.path.join(data, "postlite.db")

    expect("no command", run(conf), 2)
    expect("unknown command", run(conf, "frobnicate"), 2)
    expect("unknown verb", run(conf, "domain", "frob"), 2)
    expect("missing operand", run(conf, "domain", "add"), 2)
    expect("extra operand", run(conf, "domain", "list", "x"), 2)
    expect("version", run(None, "-V"), 0)
    expect("missing config", run(os.path.join(tmp, "nope.conf"), "init"),
           78)
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[server]\nno_such_key = 1\n")
    expect("bad config", run(bad, "init"), 78, err="bad.conf:2")

    expect("before init", run(conf, "domain", "list"), 1,
           err="postlite init")
    expect("init", run(conf, "init"), 0)
    expect("init again", run(conf, "init"), 0)
    check("data_dir mode", stat.S_IMODE(os.stat(data).st_mode) == 0o750)
    check("db mode", stat.S_IMODE(os.stat(db).st_mode) == 0o660)

    expect("domain add", run(conf, "domain", "add", "Example.ORG"), 0,
           out="")
    expect("domain add 2", run(conf, "domain", "add", "b.example"), 0)
    expect("domain dup", run(conf, "domain", "add", "example.org."), 1,
           err="postlite: domain example.org: already exists")
    expect("domain bad", run(conf, "domain", "add", "no spaces"), 1,
           err="malformed")
    expect("domain list", run(conf, "domain", "list"), 0,
           out="b.example\nexample.org\n")

    pw = b"correct horse\n"
    expect("user add", run(conf, "user", "add", "Alice@Example.org",
                           "--password-stdin", stdin=pw), 0)
    expect("user add opt first", run(conf, "user", "add", "--password-stdin",
                                     "bob@example.org", stdin=b"pw\r\n"), 0)
    expect("user add dup", run(conf, "user", "add", "alice@example.org",
                               "--password-stdin", stdin=pw), 1,
           err="already exists")
    expect("user add empty", run(conf, "user", "add", "carol@example.org",
                                 "--password-stdin", stdin=b"\n"), 1,
           err="empty password")
    expect("user add eof", run(conf, "user", "add", "carol@example.org",
                               "--password-stdin", stdin=b""), 1)
    expect("user add no tty", run(conf, "user", "add", "carol@example.org",
                                  stdin=b"pw\n"), 2, err="--password-stdin")
    expect("user add nonlocal", run(conf, "user", "add", "x@elsewhere.test",
                                    "--password-stdin", stdin=pw), 1,
           err="not a local domain")
    expect("user add bad", run(conf, "user", "add", "not-an-address",
                               "--password-stdin", stdin=pw), 1,
           err="malformed")
    expect("user list", run(conf, "user", "list"), 0,
           out="alice@example.org\nbob@example.org\n")
    expect("user passwd", run(conf, "user", "passwd", "bob@example.org",
                              "--password-stdin", stdin=b"new\n"), 0)
    expect("user passwd unknown", run(conf, "user", "passwd",
                                      "eve@example.org", "--password-stdin",
                                      stdin=b"new\n"), 1, err="not found")
    expect("user disable", run(conf, "user", "disable", "bob@example.org"), 0)
    expect("user enable", run(conf, "user", "enable", "bob@example.org"), 0)
    expect("domain remove busy", run(conf, "domain", "remove",
                                     "example.org"), 1, err="still has 2")
    expect("user remove", run(conf, "user", "remove", "bob@example.org"), 0)
    expect("user remove again", run(conf, "user", "remove",
                                    "bob@example.org"), 1, err="not found")
    expect("domain remove", run(conf, "domain", "remove", "b.example"), 0)
    expect("domain remove gone", run(conf, "domain", "remove", "b.example"),
           1, err="not found")

    rc, out = run_tty(conf, ["user", "add", "tty@example.org"],
                      [b"s3cret\n", b"s3cret\n"])
    check("tty add", rc == 0, out)
    check("tty no echo", "s3cret" not in out, out)
    rc, out = run_tty(conf, ["user", "add", "tty2@example.org"],
                      [b"one\n", b"two\n"])
    check("tty mismatch", rc == 1 and "do not match" in out, out)

    # init makes a self-signed pair for [tls] when neither file exists.
    tlsdir = os.path.join(tmp, "tls")
    os.mkdir(tlsdir)
    cert, key = (os.path.join(tlsdir, n) for n in ("cert.pem", "key.pem"))
    conf_tls = os.path.join(tmp, "tls.conf")
    with open(conf_tls, "w") as f:
        f.write(f"[server]\nhostname = mail.example.test\n"
                f"data_dir = {data}\nuser = postlite-no-such-user\n"
                f"[tls]\ncert = {cert}\nkey = {key}\n")
    expect("init tls", run(conf_tls, "init"), 0, err="")
    check("cert made", os.path.exists(cert) and os.path.exists(key))
    check("key private", stat.S_IMODE(os.stat(key).st_mode) & 0o077 == 0)
    with open(cert) as f:
        check("cert is PEM", f.read().startswith("-----BEGIN CERTIFICATE"))
    before = os.stat(cert).st_mtime_ns
    expect("init tls again", run(conf_tls, "init"), 0)
    check("cert kept", os.stat(cert).st_mtime_ns == before)
    os.unlink(key)
    expect("init tls half", run(conf_tls, "init"), 0, err="warning")
    check("no key made", not os.path.exists(key))

    backup = os.path.join(tmp, "backup.db")
    expect("backup", run(conf, "backup", backup), 0)
    check("backup mode", stat.S_IMODE(os.stat(backup).st_mode) == 0o600)
    con = sqlite3.connect(backup)
    check("backup integrity",
          con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    users = [r[0] for r in con.execute("SELECT address FROM users "
                                       "ORDER BY address")]
    check("backup users", users == ["alice@example.org", "tty@example.org"],
          repr(users))
    con.close()
    expect("backup exists", run(conf, "backup", backup), 1,
           err="already exists")

    if os.geteuid() == 0:
        # Unknown [server] user: files stay root's (documented).
        check("root, no user: db root's", os.stat(db).st_uid == 0)
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            nobody = None
        if nobody:
            conf2 = write_config(tmp, "nobody", data="data2")
            data2 = os.path.join(tmp, "data2")
            expect("init as root", run(conf2, "init"), 0)
            for path in (data2, os.path.join(data2, "postlite.db")):
                st = os.stat(path)
                check("chown " + path, st.st_uid == nobody.pw_uid and
                      st.st_gid == nobody.pw_gid)
            expect("domain add as root",
                   run(conf2, "domain", "add", "example.org"), 0)
            for name in os.listdir(data2):
                st = os.stat(os.path.join(data2, name))
                check("owned " + name, st.st_uid == nobody.pw_uid)


MBOX = (b"From alice@old.example Tue Mar  5 10:00:00 2024\n"
        b"Return-Path: <alice@old.example>\n"
        b"Subject: first\n\nline one\n>From the quoted\n\n"
        b"From bob@old.example Wed Mar  6 11:30:00 2024\n"
        b"From: Bob <bob@old.example>\nSubject: second\n\n"
        b"body two\n\n")


def directory_verbs(tmp):
    """Issue 5's verbs: one block per verb, text and --json."""
    conf = write_config(tmp, "postlite-no-such-user", data="data5")
    db = os.path.join(tmp, "data5", "postlite.db")
    expect("5 init", run(conf, "init"), 0)
    expect("5 domain", run(conf, "domain", "add", "example.org"), 0)
    expect("5 domain 2", run(conf, "domain", "add", "b.example"), 0)
    for u in ("alice", "bob"):
        expect("5 user " + u, run(conf, "user", "add", u + "@example.org",
                                  "--password-stdin", stdin=b"pw\n"), 0)

    # domain list --json, user list --json
    rc, out, _ = run(conf, "domain", "list", "--json")
    check("domain list json", rc == 0 and [d["domain"] for d in
          json.loads(out)] == ["b.example", "example.org"], out)
    expect("json elsewhere", run(conf, "domain", "add", "x.example",
                                 "--json"), 2)
    rc, out, _ = run(conf, "user", "list", "--json")
    users = json.loads(out) if rc == 0 else []
    check("user list json", [u["address"] for u in users] ==
          ["alice@example.org", "bob@example.org"] and
          users[0]["disabled"] is False and users[0]["quota"] == 0, out)

    # user add|passwd --hash-stdin: an /etc/shadow or Dovecot hash
    # crypt.crypt("imported", "$6$saltsalt$")
    six = "$6$saltsalt$6vHbWReXMyJLhiFkk2g1zEPkOwQBoHgAakHGhehM8N4.A1PqMpvr5n4dbnpxDhzUBoLDGWLsdlOd4hCiSMjgz/"
    expect("hash add", run(conf, "user", "add", "imp@example.org",
                           "--hash-stdin", stdin=six.encode() + b"\n"), 0)
    expect("hash dovecot", run(conf, "user", "passwd", "imp@example.org",
                               "--hash-stdin",
                               stdin=b"{SHA512-CRYPT}" + six.encode()), 0)
    expect("hash bad", run(conf, "user", "add", "bad@example.org",
                           "--hash-stdin", stdin=b"{PLAIN}secret\n"), 1,
           err="crypt(3)")
    con = sqlite3.connect(db)
    h = con.execute("SELECT password FROM users WHERE address = ?",
                    ("imp@example.org",)).fetchone()[0]
    con.close()
    check("hash kept", h == six, h)

    # alias add|remove|list
    expect("alias add", run(conf, "alias", "add", "Team@example.org",
                            "alice@example.org"), 0, out="")
    expect("alias add 2", run(conf, "alias", "add", "team@example.org",
                              "bob@example.org"), 0)
    expect("alias catch-all", run(conf, "alias", "add", "@b.example",
                                  "bob@example.org"), 0)
    expect("alias dup", run(conf, "alias", "add", "team@example.org",
                            "bob@example.org"), 1, err="already exists")
    expect("alias no user", run(conf, "alias", "add", "team@example.org",
                                "eve@example.org"), 1, err="no such user")
    expect("alias shadows user", run(conf, "alias", "add",
                                     "alice@example.org", "bob@example.org"),
           1, err="a user has that address")
    expect("alias nonlocal", run(conf, "alias", "add", "x@else.example",
                                 "bob@example.org"), 1,
           err="not a local domain")
    expect("alias list", run(conf, "alias", "list"), 0,
           out="@b.example bob@example.org\n"
               "team@example.org alice@example.org\n"
               "team@example.org bob@example.org\n")
    rc, out, _ = run(conf, "alias", "list", "--json")
    check("alias list json", rc == 0 and json.loads(out)[0] ==
          {"alias": "@b.example", "target": "bob@example.org"}, out)
    expect("alias remove", run(conf, "alias", "remove", "team@example.org",
                               "alice@example.org"), 0)
    expect("alias remove all", run(conf, "alias", "remove", "@b.example",
                                   "*"), 0)
    expect("alias remove gone", run(conf, "alias", "remove", "@b.example",
                                    "*"), 1, err="not found")
    expect("alias list after", run(conf, "alias", "list"), 0,
           out="team@example.org bob@example.org\n")

    # quota set|show
    expect("quota domain", run(conf, "quota", "set", "example.org", "1M"), 0)
    expect("quota user", run(conf, "quota", "set", "bob@example.org",
                             "2G"), 0)
    expect("quota bad size", run(conf, "quota", "set", "bob@example.org",
                                 "lots"), 2)
    expect("quota unknown", run(conf, "quota", "set", "eve@example.org",
                                "1M"), 1, err="not found")
    expect("quota show", run(conf, "quota", "show", "alice@example.org"), 0,
           out="limit 1048576 bytes (domain default)\n"
               "used 0 bytes in 0 messages (0%)\n")
    rc, out, _ = run(conf, "quota", "show", "bob@example.org", "--json")
    check("quota show json", rc == 0 and json.loads(out) ==
          {"limit": 2 << 30, "own": True, "used": 0, "messages": 0}, out)
    expect("quota default", run(conf, "quota", "set", "bob@example.org",
                                "default"), 0)
    expect("quota none", run(conf, "quota", "set", "example.org", "none"), 0)
    expect("quota show none", run(conf, "quota", "show", "bob@example.org"),
           0, out="limit none (domain default)\n"
                  "used 0 bytes in 0 messages\n")

    # import mbox|maildir, then mailbox list
    mbox = os.path.join(tmp, "old.mbox")
    with open(mbox, "wb") as f:
        f.write(MBOX)
    expect("import mbox", run(conf, "import", "alice@example.org", "mbox",
                              mbox), 0,
           out="imported 2 messages into alice@example.org\n")
    md = os.path.join(tmp, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    # Later by its name's time, though written first.
    for name, sub, text in (("1700000200.M2.host", "new", b"Subject: m2\n"),
                            ("1700000100.M1.host:2,S", "cur",
                             b"Subject: m1\n\nhi\n")):
        with open(os.path.join(md, sub, name), "wb") as f:
            f.write(text)
    expect("import maildir", run(conf, "import", "bob@example.org",
                                 "maildir", md), 0)
    expect("import bad kind", run(conf, "import", "bob@example.org", "mh",
                                  md), 2)
    expect("import nobody", run(conf, "import", "eve@b.example", "mbox",
                                mbox), 1, err="no such user")
    rc, out, _ = run(conf, "mailbox", "list", "alice@example.org", "--json")
    msgs = json.loads(out) if rc == 0 else []
    check("mailbox list json", [(m["date"], m["sender"], m["subject"],
                                 m["size"]) for m in msgs] ==
          [("2024-03-05T10:00:00Z", "alice@old.example", "first", 79),
           ("2024-03-06T11:30:00Z", "Bob <bob@old.example>", "second", 58)],
          out)
    rc, out, _ = run(conf, "mailbox", "list", "bob@example.org")
    lines = out.splitlines()
    check("mailbox list", rc == 0 and lines[0].split() ==
          ["UIDL", "SIZE", "DATE", "SENDER", "SUBJECT"] and
          lines[1].endswith("m1") and "2023-11-14T22:15:00Z" in lines[1]
          and lines[2].endswith("m2"), out)
    expect("mailbox list unknown", run(conf, "mailbox", "list",
                                       "eve@example.org"), 1,
           err="not found")
    con = sqlite3.connect(db)
    body = b"".join(r[0] for r in con.execute(
        "SELECT c.data FROM chunks c JOIN entries e ON e.msg_id = c.msg_id "
        "JOIN mailboxes m ON m.id = e.mailbox_id JOIN users u "
        "ON u.id = m.user_id WHERE u.address = 'alice@example.org' "
        "ORDER BY e.id, c.seq LIMIT 1"))
    con.close()
    check("import bytes", body == b"Return-Path: <alice@old.example>\r\n"
          b"Subject: first\r\n\r\nline one\r\nFrom the quoted\r\n", body)

    # stats, verify
    rc, out, _ = run(conf, "stats", "--json")
    st = json.loads(out) if rc == 0 else {}
    check("stats json", st.get("users") == 3 and st.get("messages") == 4 and
          st.get("aliases") == 1 and st.get("schema_version", 0) >= 2, out)
    rc, out, _ = run(conf, "stats")
    check("stats", rc == 0 and "messages          4" in out, out)
    expect("verify", run(conf, "verify"), 0, out="store ok\n")
    con = sqlite3.connect(db)
    con.execute("UPDATE chunks SET data = x'00' WHERE id = "
                "(SELECT max(id) FROM chunks)")
    con.commit()
    con.close()
    rc, out, err = run(conf, "verify")
    check("verify damaged", rc == 3 and "damaged: message" in out and
          err.count("\n") == 1, (rc, out, err))


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="postlite-cli-")
    try:
        main(tmp)
        directory_verbs(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Upgrades a store made by schema version 1 (tests/fixtures/store-v1.sql,
kept as SQL text) with `postlite init` and checks that nothing was lost:
users log in... as far as the CLI shows (hashes kept), messages and their
pieces are intact, listings get their sender and subject, quotas count
what is there, the crashed delivery is gone, verify is clean, and a
second init changes nothing. A store from a newer postlite is refused.
Ends with "N passed, N failed"."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

CLI = os.environ.get("POSTLITE_CLI", "build/store/postlite")
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "fixtures", "store-v1.sql")
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name} {detail}")


def cli(conf, *args):
    p = subprocess.run([CLI, "-c", conf] + list(args), capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(tmp):
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    db = os.path.join(data, "postlite.db")
    con = sqlite3.connect(db, isolation_level=None)
    with open(FIXTURE) as f:
        con.executescript(f.read())
    before = {r[0]: r[1] for r in con.execute(
        "SELECT msg_id, group_concat(hex(data), '') FROM "
        "(SELECT * FROM chunks ORDER BY msg_id, seq) GROUP BY msg_id")}
    hashes = dict(con.execute("SELECT address, password FROM users"))
    con.close()
    conf = os.path.join(tmp, "postlite.conf")
    with open(conf, "w") as f:
        f.write(f"[server]\nhostname = mail.example.test\ndata_dir = {data}\n")

    rc, _, err = cli(conf, "user", "list")
    check("old store refused until init", rc == 1 and "postlite init" in err,
          err)
    rc, out, err = cli(conf, "init")
    check("init migrates", rc == 0, err)

    con = sqlite3.connect(db)
    check("version", con.execute("PRAGMA user_version").fetchone()[0] >= 2)
    check("integrity",
          con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    after = {r[0]: r[1] for r in con.execute(
        "SELECT msg_id, group_concat(hex(data), '') FROM "
        "(SELECT * FROM chunks ORDER BY msg_id, seq) GROUP BY msg_id")}
    check("bodies intact", after == {k: v for k, v in before.items()
                                     if k != 3}, repr(after.keys()))
    check("pending gone", con.execute(
        "SELECT count(*) FROM messages WHERE id = 3").fetchone()[0] == 0)
    check("hashes kept", dict(con.execute(
        "SELECT address, password FROM users")) == hashes)
    check("uidls kept", con.execute(
        "SELECT group_concat(id) FROM entries ORDER BY id").fetchone()[0]
        == "1,2,3")
    con.close()

    rc, out, err = cli(conf, "mailbox", "list", "alice@example.org",
                       "--json")
    msgs = json.loads(out) if rc == 0 else []
    check("listing filled in", [(m["uidl"], m["size"], m["sender"],
                                 m["subject"]) for m in msgs] ==
          [("1", 55, "s@remote.example", "hello"),
           ("3", 65636, "big@remote.example", "big")], out + err)
    check("old dates", msgs and msgs[0]["received"] == 1700000100, out)
    rc, out, _ = cli(conf, "quota", "show", "alice@example.org", "--json")
    check("counters", rc == 0 and json.loads(out)["used"] == 55 + 65636 and
          json.loads(out)["messages"] == 2, out)
    rc, out, err = cli(conf, "verify")
    check("verify", rc == 0, out + err)
    # The new directory works on the old data.
    rc, _, err = cli(conf, "alias", "add", "team@example.org",
                     "bob@example.org")
    check("alias on old store", rc == 0, err)
    rc, out, err = cli(conf, "init")
    check("init again", rc == 0, err)
    rc, out, _ = cli(conf, "stats", "--json")
    check("stats", rc == 0 and json.loads(out)["messages"] == 2, out)
    # Mail arriving after the migration gets a salted UIDL (schema v4);
    # the old entries keep theirs.
    mbox = os.path.join(tmp, "new.mbox")
    with open(mbox, "w") as f:
        f.write("From x@remote.example Thu Nov 26 10:00:00 2026\n"
                "From: x@remote.example\nSubject: new\n\nnew\n")
    rc, out, err = cli(conf, "import", "alice@example.org", "mbox", mbox)
    check("import after migration", rc == 0, out + err)
    rc, out, err = cli(conf, "mailbox", "list", "alice@example.org",
                       "--json")
    uidls = [m["uidl"] for m in json.loads(out)] if rc == 0 else []
    check("old UIDLs kept, new one salted", uidls[:2] == ["1", "3"] and
          len(uidls) == 3 and re.fullmatch(r"4\.[0-9a-f]{16}", uidls[2]),
          out + err)

    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    rc, _, err = cli(conf, "init")
    check("newer store refused", rc == 1 and "newer" in err, err)
    rc, _, err = cli(conf, "user", "list")
    check("newer store not opened", rc == 1 and "newer" in err, err)


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="postlite-migrate-")
    try:
        main(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""A full disk under the running daemons (issue 5).

1. The fault-injecting VFS (POSTLITE_FAULTVFS, LD_PRELOAD) fails every
   SQLite write while a flag file exists: DATA gets "452 4.3.1"; a POP3
   login or a QUIT after DELE gets "-ERR [SYS/TEMP]" and deletes nothing;
   once the flag goes, the same work succeeds (the mailbox is not left
   locked), and verify finds nothing wrong.
2. As root, a real full disk: the store on a 4 MiB tmpfs filled by a
   file; "452 4.3.1"; after the file goes, delivery works again and the
   store is intact. Skipped when not root.
A "451 4.3.0" where 452 4.3.1 is due is an xfail (smtpd does not map
NOSPACE yet). Ends with "N passed, N failed"."""

import os
import poplib
import subprocess

import store_harness as h


def expect_452(name, code, text):
    if code == 452 and text.startswith("4.3.1"):
        h.check(name, True)
    elif code == 451 and text.startswith("4.3.0"):
        h.xfail(name, "got 451 4.3.0: smtpd does not map STORE_NOSPACE "
                "to 452 4.3.1 yet")
    else:
        h.check(name, False, f"{code} {text}")


def vfs_part():
    so = os.environ.get("POSTLITE_FAULTVFS", "")
    if not so or not os.path.exists(so):
        print("# skip vfs part: POSTLITE_FAULTVFS not set")
        return
    s = h.Server("postlite-full-")
    flag = os.path.join(s.tmp, "disk-full")
    env = {"LD_PRELOAD": os.path.abspath(so),
           "POSTLITE_FAULTVFS_FULL": flag,
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
           ":verify_asan_link_order=0"}
    s.env["smtpd"] = env
    s.env["pop3d"] = env
    msg = b"Subject: full\r\n\r\n" + b"y" * 3000 + b"\r\n"
    try:
        s.setup()
        s.start("smtpd")
        s.start("pop3d")
        code, text = s.send(["alice@example.test"], msg)
        h.check("vfs: delivery before", code == 250, text)
        open(flag, "w").close()
        code, text = s.send(["alice@example.test"], msg)
        expect_452("vfs: DATA on a full disk -> 452 4.3.1", code, text)
        try:
            s.pop3("alice@example.test")
            h.check("vfs: login on a full disk -> -ERR [SYS/TEMP]", False,
                    "logged in")
        except poplib.error_proto as e:
            h.check("vfs: login on a full disk -> -ERR [SYS/TEMP]",
                    b"[SYS/TEMP]" in e.args[0], e.args[0])
        os.unlink(flag)
        code, text = s.send(["alice@example.test"], msg)
        h.check("vfs: delivery after space returns", code == 250, text)
        p = s.pop3("alice@example.test")
        n = len(p.list()[1])
        p.dele(1)
        open(flag, "w").close()
        try:
            r = p.quit()
            h.check("vfs: QUIT on a full disk -> -ERR [SYS/TEMP]", False, r)
        except poplib.error_proto as e:
            h.check("vfs: QUIT on a full disk -> -ERR [SYS/TEMP]",
                    b"[SYS/TEMP]" in e.args[0], e.args[0])
        os.unlink(flag)
        p = s.pop3("alice@example.test")
        h.check("vfs: nothing deleted, mailbox not left locked",
                len(p.list()[1]) == n, str(n))
        p.dele(1)
        h.check("vfs: QUIT after space returns", p.quit().startswith(b"+OK"))
        h.check("vfs: deleted then", len(s.messages("alice@example.test")) ==
                n - 1)
        v = s.cli("verify", ok=False)
        h.check("vfs: verify", v.returncode == 0, v.stdout + v.stderr)
    finally:
        if os.path.exists(flag):
            os.unlink(flag)
        s.cleanup()


def tmpfs_part():
    if os.geteuid() != 0:
        print("# skip tmpfs part: needs root to mount a tmpfs")
        return
    s = h.Server("postlite-tmpfs-")
    mnt = s.data
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0750",
                        "tmpfs", mnt], capture_output=True)
    if r.returncode != 0:
        print("# skip tmpfs part: mount: " + r.stderr.decode())
        s.cleanup()
        return
    filler = os.path.join(mnt, "filler")
    pw = __import__("pwd").getpwnam(s.user)
    os.chown(mnt, pw.pw_uid, pw.pw_gid)
    try:
        s.setup()
        s.start("smtpd")
        msg = b"Subject: t\r\n\r\n" + (b"z" * 998 + b"\r\n") * 100
        code, text = s.send(["alice@example.test"], msg)
        h.check("tmpfs: delivery before", code == 250, text)
        # Unbuffered: a partial last write leaves nothing for close()
        # to flush into the full disk.
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        codes = []
        for _ in range(3):  # the WAL may have room for one
            code, text = s.send(["alice@example.test"], msg)
            codes.append((code, text))
            if code != 250:
                break
        code, text = codes[-1]
        expect_452("tmpfs: DATA on a full disk -> 452 4.3.1", code, text)
        os.unlink(filler)
        code, text = s.send(["alice@example.test"], msg)
        h.check("tmpfs: delivery after space returns", code == 250, text)
        s.stop("smtpd")
        h.check("tmpfs: integrity", s.integrity() == "ok")
        v = s.cli("verify", ok=False)
        h.check("tmpfs: verify", v.returncode == 0, v.stdout + v.stderr)
        good = sum(1 for _, d in s.messages("alice@example.test")
                   if d.endswith(msg))
        h.check("tmpfs: accepted messages intact",
                good == 1 + sum(1 for c, _ in codes if c == 250) + 1,
                str(good))
    finally:
        s.cleanup()
        subprocess.run(["umount", "-l", mnt], capture_output=True)


if __name__ == "__main__":
    vfs_part()
    tmpfs_part()
    h.finish()

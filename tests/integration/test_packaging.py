#!/usr/bin/env python3
"""Packaging checks (issue 7). One part per run, named by argv[1]:

  units    systemd-analyze verify on the units (ExecStart pointed at the
           build's daemons), `systemd-analyze security --offline=true`
           exposure <= 2.0 per service, socket names = what the daemons take
  certbot  the certbot deploy hook: files, modes, group, reload command
  man      the man pages render without groff/man warnings
  dns      `postlite dns` through the CLI; named-checkzone when installed
  deb      scripts/build-deb (dpkg-buildpackage + lintian), install with
           dpkg, the files, the user, `postlite init` ran, the unprivileged
           daemons start from the installed files (socket activation on
           loopback), remove, purge (user, store, certificates gone)

Environment (set by tests/meson.build): POSTLITE_SOURCE_ROOT,
POSTLITE_UNIT_DIR (the configured .service files), POSTLITE_MAN_DIR,
POSTLITE_SMTPD, POSTLITE_POP3D, POSTLITE_CLI, POSTLITE_SKIP_DEB (set in
sanitizer trees: the package is built once, in the plain tree).

Ends with "N passed, N failed"; exit 1 on a failure, 77 (meson: skipped)
when the part cannot run here, after saying why."""

import glob
import grp
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("POSTLITE_SOURCE_ROOT",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.abspath(SRC)
UNIT_DIR = os.environ.get("POSTLITE_UNIT_DIR", "build/packaging")
MAN_DIR = os.environ.get("POSTLITE_MAN_DIR", "build/man")
SMTPD = os.path.abspath(os.environ.get("POSTLITE_SMTPD", "build/smtpd/postlite-smtpd"))
POP3D = os.path.abspath(os.environ.get("POSTLITE_POP3D", "build/pop3d/postlite-pop3d"))
CLI = os.path.abspath(os.environ.get("POSTLITE_CLI", "build/store/postlite"))
SKIP = 77

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok - {name} {detail}", flush=True)
    return cond


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(SKIP)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, **kw)


SOCKETS = {  # unit -> (FileDescriptorName, port, service)
    "postlite-smtp.socket": ("smtp", "25", "postlite-smtpd.service"),
    "postlite-submission.socket": ("submission", "587", "postlite-smtpd.service"),
    "postlite-submissions.socket": ("submissions", "465", "postlite-smtpd.service"),
    "postlite-pop3.socket": ("pop3", "110", "postlite-pop3d.service"),
    "postlite-pop3s.socket": ("pop3s", "995", "postlite-pop3d.service"),
}


def unit_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                k, v = line.split("=", 1)
                keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def part_units():
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze is not installed")
    ver = run(["systemd-analyze", "--version"]).stdout.split()
    if len(ver) < 2 or not ver[1].isdigit() or int(ver[1]) < 252:
        skip(f"systemd-analyze {ver[1:2]} has no security --offline (needs 252)")
    tmp = tempfile.mkdtemp(prefix="postlite-units-")
    try:
        daemons = {"postlite-smtpd.service": SMTPD, "postlite-pop3d.service": POP3D}
        for svc, exe in daemons.items():
            with open(os.path.join(UNIT_DIR, svc)) as f:
                text = f.read()
            # verify wants an executable ExecStart: the build's daemon.
            text = re.sub(r"^ExecStart=\S+", "ExecStart=" + exe, text, flags=re.M)
            with open(os.path.join(tmp, svc), "w") as f:
                f.write(text)
        for s in SOCKETS:
            shutil.copy(os.path.join(SRC, "packaging", "systemd", s), tmp)
        units = sorted(glob.glob(os.path.join(tmp, "*")))
        r = run(["systemd-analyze", "verify", "--man=no"] + units)
        check("systemd-analyze verify", r.returncode == 0 and not r.stderr.strip(),
              r.stdout + r.stderr)

        for svc in daemons:
            r = run(["systemd-analyze", "security", "--offline=true",
                     "--threshold=20", "--no-pager", os.path.join(tmp, svc)],
                    cwd=tmp)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
            score = float(m.group(1)) if m else 99.0
            print(f"# {svc}: exposure {score}", flush=True)
            check(f"{svc} exposure {score} <= 2.0", m and score <= 2.0 and
                  r.returncode == 0, r.stdout[-2000:] + r.stderr)

            k = unit_keys(os.path.join(tmp, svc))
            check(f"{svc} Type=notify", k.get("Type") == ["notify"], k.get("Type"))
            check(f"{svc} RestartPreventExitStatus=78",
                  k.get("RestartPreventExitStatus") == ["78"])
            check(f"{svc} reload is SIGHUP",
                  k.get("ExecReload") == ["/bin/kill -HUP $MAINPID"])
            check(f"{svc} runs -f with the config",
                  re.search(r" -f -c /\S+/postlite\.conf$", k["ExecStart"][0]) is not None,
                  k["ExecStart"])
            check(f"{svc} User=postlite, no capabilities",
                  k.get("User") == ["postlite"] and k.get("CapabilityBoundingSet") == [""])
            want = sorted(s for s, v in SOCKETS.items() if v[2] == svc)
            got = sorted(" ".join(k.get("Sockets", [])).split())
            check(f"{svc} Sockets=", got == want, f"{got} != {want}")
        for s, (name, port, svc) in SOCKETS.items():
            k = unit_keys(os.path.join(tmp, s))
            check(f"{s} FileDescriptorName={name}",
                  k.get("FileDescriptorName") == [name] and
                  k.get("ListenStream") == [port] and k.get("Service") == [svc],
                  str(k))
        # The names must be the ones the daemons claim (common/server.c
        # server_listen calls in the mains).
        mains = ""
        for p in ("smtpd/smtpd_main.c", "pop3d/pop3d_main.c"):
            with open(os.path.join(SRC, p)) as f:
                mains += f.read()
        for s, (name, _, _) in SOCKETS.items():
            check(f"daemon takes fd name {name}", f'"{name}"' in mains)
    finally:
        shutil.rmtree(tmp)


def make_cert(d, cn):
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
         "-keyout", os.path.join(d, "privkey.pem"),
         "-out", os.path.join(d, "fullchain.pem")], check=True)


def part_certbot():
    if not shutil.which("openssl"):
        skip("openssl is not installed")
    hook = os.path.join(SRC, "packaging", "certbot", "postlite-certbot-deploy")
    tmp = tempfile.mkdtemp(prefix="postlite-certbot-")
    try:
        lineage = os.path.join(tmp, "live", "mail.example.test")
        os.makedirs(lineage)
        make_cert(lineage, "mail.example.test")
        tls = os.path.join(tmp, "tls")
        log = os.path.join(tmp, "systemctl.log")
        fake = os.path.join(tmp, "systemctl")
        with open(fake, "w") as f:
            f.write(f'#!/bin/sh\necho "$@" >> {log}\n')
        os.chmod(fake, 0o755)
        group = grp.getgrgid(os.getgid()).gr_name
        env = dict(os.environ, RENEWED_LINEAGE=lineage, POSTLITE_TLS_DIR=tls,
                   POSTLITE_GROUP=group, POSTLITE_SYSTEMCTL=fake)
        r = run([hook], env=env)
        check("hook exit 0", r.returncode == 0, r.stdout + r.stderr)
        for name, mode in (("fullchain.pem", 0o644), ("privkey.pem", 0o640)):
            p = os.path.join(tls, name)
            st = os.stat(p) if os.path.exists(p) else None
            check(f"{name} installed", st is not None)
            if not st:
                continue
            check(f"{name} mode {oct(mode)}", stat.S_IMODE(st.st_mode) == mode,
                  oct(stat.S_IMODE(st.st_mode)))
            check(f"{name} group {group}", st.st_gid == os.getgid())
            with open(p, "rb") as a, open(os.path.join(lineage, name), "rb") as b:
                check(f"{name} content", a.read() == b.read())
        st = os.stat(tls)
        check("tls dir 0750", stat.S_IMODE(st.st_mode) == 0o750)
        check("no temporary files left",
              sorted(os.listdir(tls)) == ["fullchain.pem", "privkey.pem"],
              os.listdir(tls))
        with open(log) as f:
            calls = f.read()
        check("both daemons reloaded", calls.strip() ==
              "try-reload-or-restart postlite-smtpd.service postlite-pop3d.service",
              repr(calls))
        # A renewal replaces the pair.
        make_cert(lineage, "mail.example.test")
        r = run([hook], env=env)
        with open(os.path.join(tls, "privkey.pem"), "rb") as a, \
                open(os.path.join(lineage, "privkey.pem"), "rb") as b:
            check("renewal replaces the key", r.returncode == 0 and a.read() == b.read())
        # Errors: no lineage, unreadable lineage, unknown group.
        r = run([hook], env=dict(env, RENEWED_LINEAGE=""))
        check("no RENEWED_LINEAGE refused", r.returncode == 2 and "RENEWED_LINEAGE" in r.stderr)
        r = run([hook], env=dict(env, RENEWED_LINEAGE=os.path.join(tmp, "nope")))
        check("missing lineage refused", r.returncode == 1 and "cannot read" in r.stderr)
        r = run([hook], env=dict(env, POSTLITE_GROUP="postlite-no-such-group"))
        check("unknown group refused", r.returncode == 1 and "no group" in r.stderr)
    finally:
        shutil.rmtree(tmp)


def part_man():
    if not shutil.which("man") or not shutil.which("groff"):
        skip("man or groff is not installed")
    pages = sorted(glob.glob(os.path.join(MAN_DIR, "*.[58]")))
    check("four man pages", len(pages) == 4, pages)
    for p in pages:
        r = run(["man", "--warnings=w", "-E", "UTF-8", "-l", p],
                env=dict(os.environ, MANWIDTH="80"))
        check(f"{os.path.basename(p)} renders without warnings",
              r.returncode == 0 and not r.stderr.strip() and "NAME" in r.stdout,
              r.stderr)
        with open(p) as f:
            check(f"{os.path.basename(p)} has no unfilled @VAR@",
                  re.search(r"@[A-Z]+@", f.read()) is None)


def part_dns():
    r = run([CLI, "-h"])
    if not re.search(r"^\s*dns DOMAIN", r.stdout, re.M):
        skip("the CLI has no dns verb yet (store/cli.c hook)")
    tmp = tempfile.mkdtemp(prefix="postlite-dns-")
    try:
        conf = os.path.join(tmp, "postlite.conf")
        with open(conf, "w") as f:
            f.write("[server]\nhostname = mail.example.test\n"
                    f"data_dir = {tmp}/data\n"
                    "[smtp]\nlisten = 0.0.0.0:25\nsubmission = 0.0.0.0:587\n"
                    "[pop3]\nlisten = [::]:110\n")
        r = run([CLI, "-c", conf, "dns", "Example.Test"])
        check("dns exit 0", r.returncode == 0, r.stderr)
        out = r.stdout
        check("MX line", re.search(r"^example\.test\.\s+3600 IN MX\s+10 mail\.example\.test\.$",
                                   out, re.M) is not None, out)
        check("submissions not offered", re.search(
            r"^_submissions\._tcp\.example\.test\.\s+3600 IN SRV\s+0 0 0 \.$", out, re.M)
            is not None)
        check("table present", "; Name" in out and "; @" in out)
        check("no store needed", not os.path.exists(os.path.join(tmp, "data")))
        r = run([CLI, "-c", conf, "dns", "not a domain"])
        check("bad domain: exit 1, one line", r.returncode == 1 and
              r.stderr.count("\n") == 1, r.stderr)
        r = run([CLI, "-c", conf, "dns"])
        check("no domain: usage", r.returncode == 2)
        if shutil.which("named-checkzone"):
            zone = os.path.join(tmp, "zone")
            with open(zone, "w") as f:
                f.write("$TTL 3600\n@ IN SOA ns.example.test. h.example.test. "
                        "1 7200 3600 1209600 3600\n@ IN NS ns.example.test.\n"
                        "ns IN A 192.0.2.1\nmail IN A 192.0.2.2\n" + out)
            r = run(["named-checkzone", "-i", "full", "example.test", zone])
            check("named-checkzone accepts the records", r.returncode == 0,
                  r.stdout + r.stderr)
        else:
            print("# named-checkzone not installed: zone syntax not checked")
    finally:
        shutil.rmtree(tmp)


def dpkg_status(pkg):
    r = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg])
    return r.stdout.strip() if r.returncode == 0 else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def greeting(port, deadline=20.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                return s.recv(512).decode(errors="replace")
        except OSError:
            time.sleep(0.1)
    return ""


def start_activated(tmp, exe, fdname, conf):
    """Runs an installed daemon the way its unit does: as postlite, no
    privilege, its socket passed by name (systemd-socket-activate)."""
    port = free_port()
    log = open(os.path.join(tmp, fdname + ".log"), "w")
    p = subprocess.Popen(
        ["setpriv", "--reuid=postlite", "--regid=postlite", "--init-groups",
         "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
         "systemd-socket-activate", "-l", f"127.0.0.1:{port}",
         f"--fdname={fdname}", exe, "-f", "-c", conf],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return p, port, log


def part_deb():
    if os.environ.get("POSTLITE_SKIP_DEB"):
        skip("package test runs in the plain build tree only")
    if os.geteuid() != 0:
        skip("installing a package needs root")
    for tool in ("dpkg-buildpackage", "apt-get", "git"):
        if not shutil.which(tool) and tool != "dpkg-buildpackage":
            skip(f"{tool} is not installed")
    if not os.path.isdir(os.path.join(SRC, ".git")) and not shutil.which("git"):
        skip("not a git work tree")
    if dpkg_status("postlite"):
        skip("a postlite package is installed on this machine already; "
             "not touching it (dpkg --purge postlite to let this test run)")
    try:
        pwd.getpwnam("postlite")
        skip("a user 'postlite' exists already; not touching it "
             "(left by an earlier run? deluser --system postlite)")
    except KeyError:
        pass
    if os.path.exists("/var/lib/postlite") or os.path.exists("/etc/postlite"):
        skip("/var/lib/postlite or /etc/postlite exists; not touching it")

    tmp = tempfile.mkdtemp(prefix="postlite-deb-")
    os.chmod(tmp, 0o755)
    procs = []
    try:
        t0 = time.time()
        r = run([os.path.join(SRC, "scripts", "build-deb"), "-o", tmp],
                timeout=900)
        print(r.stdout[-3000:], r.stderr[-3000:], sep="\n", flush=True)
        print(f"# build-deb (build + lintian) took {time.time() - t0:.1f}s")
        if not check("build-deb (dpkg-buildpackage + lintian, no errors)",
                     r.returncode == 0):
            return
        debs = glob.glob(os.path.join(tmp, "postlite_*.deb"))
        check("one postlite .deb", len(debs) == 1, debs)
        r = run(["dpkg-deb", "-c", debs[0]])
        listing = r.stdout
        expect = ["./usr/sbin/postlite-smtpd", "./usr/sbin/postlite-pop3d",
                  "./usr/bin/postlite", "./etc/postlite/postlite.conf",
                  "./usr/share/man/man8/postlite.8.gz",
                  "./usr/share/man/man8/postlite-smtpd.8.gz",
                  "./usr/share/man/man8/postlite-pop3d.8.gz",
                  "./usr/share/man/man5/postlite.conf.5.gz",
                  "./usr/share/postlite/postlite-certbot-deploy",
                  "./usr/lib/sysusers.d/postlite.conf",
                  "./usr/lib/tmpfiles.d/postlite.conf"]
        expect += ["./lib/systemd/system/" + u for u in
                   list(SOCKETS) + ["postlite-smtpd.service", "postlite-pop3d.service"]]
        for e in expect:
            check(f"package has {e}", re.search(r"\s" + re.escape(e) + "$", listing, re.M)
                  is not None)

        r = run(["dpkg", "-i", debs[0]], timeout=300,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        print(r.stdout[-2000:], r.stderr[-2000:], sep="\n", flush=True)
        if not check("dpkg -i", r.returncode == 0 and dpkg_status("postlite") == "installed"):
            return
        for e in expect:
            check(f"installed {e[1:]}", os.path.exists(e[1:]))
        try:
            pw = pwd.getpwnam("postlite")
        except KeyError:
            pw = None
        check("user postlite made", pw is not None)
        if not pw:
            return
        check("user postlite is a system user with no shell",
              pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin") and
              pw.pw_dir == "/var/lib/postlite", str(pw))
        st = os.stat("/var/lib/postlite")
        check("/var/lib/postlite 0750 postlite",
              st.st_uid == pw.pw_uid and stat.S_IMODE(st.st_mode) == 0o750,
              oct(st.st_mode))
        db = "/var/lib/postlite/postlite.db"
        check("postlite init ran (store owned by postlite)",
              os.path.exists(db) and os.stat(db).st_uid == pw.pw_uid)
        key = "/etc/postlite/tls/privkey.pem"
        if os.path.exists(key):
            st = os.stat(key)
            check("key 0640 root:postlite", st.st_uid == 0 and st.st_gid == pw.pw_gid
                  and stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode))
        else:
            check("self-signed key made by postlite init", False)
        r = run(["/usr/bin/postlite", "domain", "add", "example.test"])
        check("postlite domain add", r.returncode == 0, r.stderr)
        r = run(["/usr/bin/postlite", "domain", "list"])
        check("postlite domain list", r.stdout.split() == ["example.test"], r.stdout)
        r = run(["/usr/bin/postlite", "user", "add", "alice@example.test",
                 "--password-stdin"], input="correct horse\n")
        check("postlite user add", r.returncode == 0, r.stderr)
        r = run(["man", "-w", "postlite.conf"])
        check("man postlite.conf finds the page", r.returncode == 0)

        # The installed daemons as the units run them: user postlite, no
        # privilege, sockets passed by name, the installed store and key.
        if shutil.which("systemd-socket-activate") and shutil.which("setpriv"):
            conf = os.path.join(tmp, "postlite.conf")
            with open(conf, "w") as f:
                f.write("[server]\nhostname = mail.example.test\n"
                        "data_dir = /var/lib/postlite\nuser = postlite\n"
                        "[tls]\ncert = /etc/postlite/tls/fullchain.pem\n"
                        "key = /etc/postlite/tls/privkey.pem\n")
            os.chmod(conf, 0o644)
            for exe, name, want in (("/usr/sbin/postlite-smtpd", "smtp", "220 "),
                                    ("/usr/sbin/postlite-pop3d", "pop3", "+OK")):
                p, port, log = start_activated(tmp, exe, name, conf)
                procs.append((p, log))
                g = greeting(port)
                check(f"installed {os.path.basename(exe)} answers as postlite "
                      f"(socket {name})", g.startswith(want), repr(g))
        else:
            print("# systemd-socket-activate or setpriv missing: daemons not started")
        for p, log in procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
        procs = []

        r = run(["dpkg", "-r", "postlite"], timeout=300)
        check("dpkg -r", r.returncode == 0, r.stderr)
        check("remove keeps the store, config and user",
              os.path.exists(db) and os.path.exists("/etc/postlite/postlite.conf")
              and user_exists("postlite"))
        check("remove takes the programs", not os.path.exists("/usr/sbin/postlite-smtpd"))
        r = run(["dpkg", "--purge", "postlite"], timeout=300)
        check("dpkg --purge", r.returncode == 0, r.stderr)
        check("purge removes the store", not os.path.exists("/var/lib/postlite"))
        check("purge removes /etc/postlite", not os.path.exists("/etc/postlite"))
        check("purge removes the user", not user_exists("postlite"))
        check("purge removes the group", not group_exists("postlite"))
        check("package gone", dpkg_status("postlite") in ("", "not-installed"))
    finally:
        for p, log in procs:
            p.kill()
            p.wait()
            log.close()
        if dpkg_status("postlite") not in ("", "not-installed"):
            run(["dpkg", "--purge", "postlite"], timeout=300)
        shutil.rmtree(tmp, ignore_errors=True)


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


PARTS = {"units": part_units, "certbot": part_certbot, "man": part_man,
         "dns": part_dns, "deb": part_deb}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PARTS:
        print("usage: test_packaging.py " + "|".join(PARTS), file=sys.stderr)
        sys.exit(2)
    PARTS[sys.argv[1]]()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

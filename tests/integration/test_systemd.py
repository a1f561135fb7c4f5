#!/usr/bin/env python3
"""systemd integration without systemd: socket activation (LISTEN_FDS /
LISTEN_FDNAMES through systemd-socket-activate) and readiness notification
(READY=1 / STOPPING=1 datagrams to $NOTIFY_SOCKET)."""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import harness

SMTPD = os.environ.get("POSTLITE_SMTPD", "build/smtpd/postlite-smtpd")
POP3D = os.environ.get("POSTLITE_POP3D", "build/pop3d/postlite-pop3d")
CLI = os.environ.get("POSTLITE_CLI", "build/store/postlite")
results = harness.Results()
report = results.add


def notify_socket(d):
    path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)  # the daemon may have dropped to nobody
    s.settimeout(10)
    return s, path


def recv_state(s, want):
    deadline = time.time() + 10
    seen = []
    while time.time() < deadline:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        seen.append(msg)
        if want in msg.split("\n"):
            return True, seen
    return False, seen


def setup(d):
    user = harness.daemon_user(d)
    os.chmod(d, 0o755)
    # No addresses: the listeners come from systemd.
    conf = harness.write_conf(
        os.path.join(d, "postlite.conf"),
        server={"hostname": "mail.example.test", "data_dir": d + "/data", "user": user},
        smtp={"listen": ""}, pop3={"listen": ""})
    harness.make_store(CLI, conf, {"alice@example.test": "secret-pw"})
    return conf


def activate(d, conf, prog, names, log):
    ports = harness.free_ports(len(names))
    ns, npath = notify_socket(d) if not os.path.exists(
        os.path.join(d, "notify")) else (None, None)
    cmd = ["systemd-socket-activate"]
    for p in ports:
        cmd += ["-l", f"127.0.0.1:{p}"]
    cmd += ["--fdname=" + ":".join(names),
            "-E", f"NOTIFY_SOCKET={os.path.join(d, 'notify')}",
            prog, "-c", conf, "-f"]
    p = subprocess.Popen(cmd, stderr=log, stdout=log)
    time.sleep(0.3)
    return p, ports, ns


def main():
    if not shutil.which("systemd-socket-activate"):
        print("skip: systemd-socket-activate not installed")
        return 77
    with tempfile.TemporaryDirectory() as d:
        conf = setup(d)
        log = open(os.path.join(d, "daemon.log"), "w+")
        p, ports, ns = activate(d, conf, SMTPD, ["smtp", "submission"], log)
        try:
            # systemd-socket-activate starts the daemon on the first
            # connection and hands it both sockets.
            with smtplib.SMTP("127.0.0.1", ports[0], timeout=10) as s:
                code, _ = s.ehlo("client.example")
                report("smtp: inherited socket 'smtp' serves SMTP",
                       code == 250, code)
                s.sendmail("x@remote.example", ["alice@example.test"],
                           b"Subject: hi\r\n\r\nactivated\r\n")
                report("smtp: delivery through an inherited socket", True)
            ok, seen = recv_state(ns, "READY=1")
            report("smtpd sends READY=1", ok, seen)
            with smtplib.SMTP("127.0.0.1", ports[1], timeout=10) as s:
                code, msg = s.ehlo("client.example")
                report("submission: second inherited socket by name",
                       code == 250, (code, msg))
            p.send_signal(signal.SIGTERM)
            ok, seen = recv_state(ns, "STOPPING=1")
            report("smtpd sends STOPPING=1 on SIGTERM", ok, seen)
            rc = p.wait(timeout=20)
            report("smtpd exits 0", rc == 0, rc)
        except Exception as e:  # noqa: BLE001
            report("smtpd socket activation", False, repr(e))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if results.failed():
            log.seek(0)
            print(log.read()[-3000:])
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())

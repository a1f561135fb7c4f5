"""What the integration tests share: free loopback ports, a temporary
directory with a config, certificate and store, the daemons started there
(each with its log), raw line clients, and the "ok - NAME" bookkeeping.

A test starts daemons only through Daemons and stops only those: nothing
here signals a process it did not start. Standard library only.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

HOST = "127.0.0.1"


class Fatal(Exception):
    """Setup failed (or the watchdog fired): the remaining checks cannot run."""


class Skip(Exception):
    """A client is missing: the check does not apply here."""


# ---- setup ------------------------------------------------------------------

def free_ports(n):
    """n distinct ports free on HOST (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def executables():
    """{"smtpd", "pop3d", "cli"}: the absolute paths (the daemons run in the
    temporary directory) from POSTLITE_SMTPD, _POP3D, _CLI."""
    out = {}
    for name, var in (("smtpd", "POSTLITE_SMTPD"), ("pop3d", "POSTLITE_POP3D"),
                      ("cli", "POSTLITE_CLI")):
        v = os.environ.get(var)
        if not v or not os.access(v, os.X_OK):
            raise Fatal("%s is not set to an executable (%r)" % (var, v))
        out[name] = os.path.abspath(v)
    return out


def daemon_user(tmp):
    """The [server] user. Started as root, the daemons drop to it, and it
    must not be root (pop3d refuses it): nobody then, and nobody must reach
    the store in tmp (the CLI creates data_dir and hands it over)."""
    if os.geteuid() == 0:
        os.chmod(tmp, 0o711)
        return "nobody"
    return pwd.getpwuid(os.getuid()).pw_name


def make_cert(d):
    """A self-signed EC certificate for localhost and 127.0.0.1 in d:
    (cert path, key path), the key mode 0600."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
         "-keyout", key, "-out", cert],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if p.returncode != 0:
        raise Fatal("openssl req failed: %s" % p.stdout.decode(errors="replace"))
    os.chmod(key, 0o600)
    return cert, key


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    # Python 3.13 turns on strict X.509 checks a test certificate need not pass.
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return ctx


def write_conf(path, **sections):
    """A postlite config: write_conf(p, server={"hostname": ...}, smtp={...})
    writes [server], then [smtp], in the order given; None leaves one out."""
    with open(path, "w") as f:
        for name, keys in sections.items():
            if keys is not None:
                f.write("[%s]\n" % name)
                f.writelines("%s = %s\n" % kv for kv in keys.items())
                f.write("\n")
    return path


def postlite(cli, conf, *args, stdin=None):
    """Runs the admin CLI: its stdout, or Fatal with its stderr."""
    p = subprocess.run([cli, "-c", conf] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise Fatal("postlite %s exited %d: %s" % (" ".join(args), p.returncode,
                                                   p.stderr.decode(errors="replace").strip()))
    return p.stdout


def make_store(cli, conf, users, domain="example.test"):
    """postlite init, the domain, and users {address: password}."""
    postlite(cli, conf, "init")
    postlite(cli, conf, "domain", "add", domain)
    for user, pw in users.items():
        postlite(cli, conf, "user", "add", user, "--password-stdin",
                 stdin=pw.encode() + b"\n")


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(lines[-n:])


def wait_ports(ports, procs, timeout=10):
    """Until every port on HOST accepts; Fatal if one of procs {name: Popen}
    exits meanwhile."""
    deadline = time.monotonic() + timeout
    waiting = set(ports)
    while waiting:
        for name, p in procs.items():
            if p.poll() is not None:
                raise Fatal("%s exited with %d at start" % (name, p.returncode))
        for port in list(waiting):
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                waiting.discard(port)
            except OSError:
                pass
        if waiting and time.monotonic() > deadline:
            raise Fatal("ports %s do not accept after %ds" % (sorted(waiting), timeout))
        if waiting:
            time.sleep(0.05)


# ---- the daemons ------------------------------------------------------------

class Daemons:
    """The daemons a test starts, in a temporary directory of its own. Each
    writes NAME.log there; they are told to stop by PID, and only these."""

    def __init__(self, prefix, keep_var):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.keep_var = keep_var  # "1" in this variable keeps self.tmp
        self.procs = {}   # name -> Popen, while it runs
        self.logs = {}    # name -> log path, of every daemon ever started

    def log(self, name):
        return os.path.join(self.tmp, name + ".log")

    def start(self, name, exe, conf, ports=(), env=None, timeout=10, fg="-f"):
        """Starts `exe -c conf -f` (in the foreground) and waits until ports
        accept. fg: another program's foreground flag (dovecot: "-F")."""
        self.logs[name] = self.log(name)
        with open(self.logs[name], "ab") as lf:
            self.procs[name] = subprocess.Popen(
                [exe, "-c", conf, fg], stdin=subprocess.DEVNULL, stdout=lf,
                stderr=subprocess.STDOUT, cwd=self.tmp, env=dict(os.environ, **(env or {})))
        self.wait(ports, timeout)

    def wait(self, ports, timeout=10):
        wait_ports(ports, self.procs, timeout)

    def stop(self, name, sig=signal.SIGTERM, timeout=20):
        return self.stop_all(sig, timeout, [name]).get(name)

    def stop_all(self, sig=signal.SIGTERM, timeout=20, names=None):
        """Signals the daemons (all, or names), then waits for each:
        {name: exit code, or None if it had to be killed}."""
        procs = {n: self.procs.pop(n) for n in list(names or self.procs) if n in self.procs}
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(sig)
        codes = {}
        for name, p in procs.items():
            try:
                codes[name] = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                codes[name] = None
        return codes

    def pid(self, name):
        return self.procs[name].pid

    def assert_no_sanitizer_reports(self):
        pat = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                         r"runtime error:|WARNING: ThreadSanitizer)")
        for name, log in self.logs.items():
            with open(log, "rb") as f:
                text = f.read().decode(errors="replace")
            m = pat.search(text)
            assert not m, "%s log has a sanitizer report: %s" % (name, text[m.start():m.start() + 300])

    def print_tails(self, n=30):
        for name, log in sorted(self.logs.items()):
            print("--- last lines of %s (%s)" % (name, log))
            print(tail(log, n))

    def cleanup(self, failed=False):
        """Kills what still runs; with failed, prints the log tails; removes
        the directory unless keep_var says to keep it."""
        self.stop_all(signal.SIGKILL, 5)
        if failed:
            self.print_tails()
        if os.environ.get(self.keep_var) == "1":
            print("# kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---- results ------------------------------------------------------------------

class Results:
    """One line a check: "ok - NAME", "not ok - NAME: reason", "skip - NAME:
    why", and for a check marked xfail (a known gap) "xfail - ..." or, once
    it passes, "xpass - ..."; then the summary "LABEL: N passed, N failed"
    (skips and xfails count as passed; xpass as neither)."""

    def __init__(self, label=None):
        self.label = label  # None: the summary is "N passed, N failed"
        self.results = []   # (name, "ok" | "fail" | "skip" | "xfail" | "xpass")

    def add(self, name, ok, reason=""):
        self.results.append((name, "ok" if ok else "fail"))
        print("ok - %s" % name if ok else "not ok - %s: %s" % (name, reason), flush=True)
        return bool(ok)

    def check(self, name, fn, xfail=None):
        """Runs fn(): an exception is a failure, Skip a skip, and Fatal ends
        the run (it is raised on)."""
        try:
            fn()
        except Fatal:
            raise
        except Skip as e:
            self.results.append((name, "skip"))
            print("skip - %s: %s" % (name, e), flush=True)
            return
        except Exception as e:  # every failure is a result, not a crash
            reason = str(e) if isinstance(e, AssertionError) else "%s: %s" % (type(e).__name__, e)
            reason = reason.replace("\n", " | ")
            if xfail:
                self.results.append((name, "xfail"))
                print("xfail - %s: %s [%s]" % (name, reason, xfail), flush=True)
            else:
                self.add(name, False, reason)
            return
        if xfail:
            self.results.append((name, "xpass"))
            print("xpass - %s: passes now; drop the xfail mark (%s)" % (name, xfail), flush=True)
        else:
            self.add(name, True)

    def run(self, setup, setup_name, checks, watchdog):
        """setup(), reported as setup_name (None: only if it fails), then
        check() each (name, fn) or (name, fn, xfail) in checks, all within
        watchdog seconds. A failed setup skips the checks; the watchdog
        (Fatal) ends them."""
        def fire(signum, frame):
            raise Fatal("watchdog: the test took more than %d s" % watchdog)
        signal.signal(signal.SIGALRM, fire)
        signal.alarm(watchdog)
        try:
            try:
                setup()
            except Exception as e:
                self.add("setup", False, e)
                return
            if setup_name is not None:
                self.add(setup_name, True)
            for name, fn, *xfail in checks:
                self.check(name, fn, *xfail)
        except Fatal as e:
            self.results.append(("watchdog", "fail"))
            print("not ok - %s" % e, flush=True)
        finally:
            signal.alarm(0)

    def failed(self):
        return [n for n, r in self.results if r == "fail"]

    def summary(self):
        """Prints the summary line; the exit code."""
        failed = len(self.failed())
        passed = sum(1 for _, r in self.results if r in ("ok", "skip", "xfail"))
        print("%s%d passed, %d failed" % (self.label + ": " if self.label else "", passed, failed))
        return 1 if failed else 0


# ---- raw clients --------------------------------------------------------------

class Client:
    """A line protocol (SMTP, POP3) over a raw socket: the exact octets."""

    timeout = 15  # seconds, every read

    def __init__(self, port, ctx=None, source=None, host=HOST):
        s = socket.create_connection((host, port), timeout=self.timeout,
                                     source_address=(source, 0) if source else None)
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname=host)
        self.sock = s
        self.buf = b""

    def line(self, timeout=None):
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError("no line within %ds (have %r)" % (timeout, self.buf[:200]))
            if len(self.buf) > 100000:
                raise AssertionError("line too long (have %r)" % self.buf[:200])
            got = self.sock.recv(65536)
            if not got:
                raise EOFError("connection closed (have %r)" % self.buf[:200])
            self.buf += got
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, text):
        self.send(text.encode() + b"\r\n" if isinstance(text, str) else text + b"\r\n")
        return self.line()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def drop(self):
        """Close without QUIT (and without a TLS close_notify)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close()


def hello_answer(port, ctx, source=None, host=HOST, timeout=15):
    """Opens a raw TCP connection, sends a TLS ClientHello (made by ctx) and
    returns what the server sent back before closing: b"" when it closed
    (or reset) the connection without a byte, so without a handshake. A
    server that stays silent fails after timeout seconds."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    got = b""
    try:
        try:
            s.sendall(hello)
        except (BrokenPipeError, ConnectionResetError):
            return got  # closed before the hello was even taken
        while True:
            try:
                more = s.recv(65536)
            except ConnectionResetError:
                return got
            except socket.timeout:
                raise AssertionError("no answer and no close within %ds (have %r)"
                                     % (timeout, got[:40]))
            if not more:
                return got
            got += more
    finally:
        s.close()


class POP3(Client):
    """POP3 over a raw socket; POP3.connect() reads and checks the greeting."""

    @classmethod
    def connect(cls, port, ctx=None, source=None, host=HOST):
        r = cls(port, ctx, source, host)
        r.greeting = r.line()
        if not r.greeting.startswith(b"+OK"):
            raise AssertionError("greeting %r" % r.greeting)
        return r

    def ok(self, text):
        r = self.cmd(text)
        if not r.startswith(b"+OK"):
            shown = "PASS ..." if text.startswith("PASS") else text
            raise AssertionError("%s -> %r" % (shown, r))
        return r

    def multi(self):
        """The body of a multi-line response, exactly as sent, with the final '.' line."""
        out = []
        deadline = time.monotonic() + 3 * self.timeout
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("multi-line response did not end")
            line = self.line()
            out.append(line)
            if line == b".\r\n":
                return b"".join(out)

    def login(self, user, password):
        self.ok("USER " + user)
        return self.ok("PASS " + password)

    def upgrade(self, ctx):
        """TLS after +OK to STLS: no byte may have come after that reply."""
        if self.buf:
            raise AssertionError("bytes after the STLS reply: %r" % self.buf)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=HOST)

    def quit(self):
        r = self.cmd("QUIT")
        self.close()
        return r

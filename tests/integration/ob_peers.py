"""Peers for test_outbound.py: a small authoritative DNS server for the test
zones and scriptable SMTP receivers, all on loopback addresses.

Python standard library only. Both run in daemon threads of the test
process, so a test can read what they saw directly.
"""

import asyncio
import base64
import socket
import ssl
import struct
import threading
import time

# ---- DNS (RFC 1035) ---------------------------------------------------------

T_A, T_MX, T_TXT, T_AAAA = 1, 15, 16, 28


def _name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class DNSServer:
    """Answers A, AAAA, MX and TXT from `zone`: {name: {"A": [...],
    "AAAA": [...], "MX": [(pref, host)], "TXT": [str]}}. A name not in the
    zone is NXDOMAIN; a name without the type asked is NOERROR/NODATA;
    "SERVFAIL": True answers SERVFAIL. MX host "." is the null MX."""

    def __init__(self, zone, host="127.0.0.1"):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.addr = "%s:%d" % self.sock.getsockname()
        self.queries = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
                reply = self._answer(data)
                if reply:
                    self.sock.sendto(reply, peer)
            except OSError:
                return

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        i, labels = 12, []
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
            i += 1 + q[i]
        qtype, _ = struct.unpack("!HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        node = self.zone.get(name)
        rcode, answers = 0, []
        if node is None:
            rcode = 3
        elif node.get("SERVFAIL"):
            rcode = 2
        else:
            for rtype, key in ((T_A, "A"), (T_AAAA, "AAAA"), (T_MX, "MX"),
                               (T_TXT, "TXT")):
                if rtype != qtype:
                    continue
                for v in node.get(key, []):
                    if key == "A":
                        rdata = socket.inet_pton(socket.AF_INET, v)
                    elif key == "AAAA":
                        rdata = socket.inet_pton(socket.AF_INET6, v)
                    elif key == "MX":
                        rdata = struct.pack("!H", v[0]) + _name(v[1])
                    else:
                        b = v.encode()
                        rdata = b"".join(bytes([len(b[j:j + 255])]) + b[j:j + 255]
                                         for j in range(0, len(b), 255))
                    answers.append(b"\xc0\x0c" + struct.pack(
                        "!HHIH", rtype, 1, 60, len(rdata)) + rdata)
        hdr = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode,
                          1, len(answers), 0, 0)
        return hdr + question + b"".join(answers)


# ---- SMTP receivers ---------------------------------------------------------

class Session:
    def __init__(self, ip):
        self.ip = ip
        self.raw = bytearray()   # every byte the client sent
        self.tls = False
        self.auth = None
        self.ehlo = []
        self.mail = None
        self.rcpts = []          # accepted
        self.data = None         # the message as sent (dot-stuffed)
        self.done = False
        self.held = None         # drip: seconds until the client left


class Behaviour:
    """How one receiver answers. rcpt(addr, session) returns a reply line
    or None for "250 2.1.5 ok"; greet=False never greets (timeouts);
    stall_dot: seconds to wait before answering the final dot; drip:
    an endless multi-line greeting, a line every 0.5 s."""

    def __init__(self, tls=False, auth=None, rcpt=None, greet=True,
                 stall_dot=0, require_tls_auth=False, implicit=False,
                 tls_break=False, smtputf8=True, drip=False):
        self.tls = tls
        self.auth = auth              # (user, password) or None
        self.rcpt = rcpt
        self.greet = greet
        self.stall_dot = stall_dot
        self.require_tls_auth = require_tls_auth
        self.implicit = implicit
        self.tls_break = tls_break    # 220 to STARTTLS, then hang up
        self.smtputf8 = smtputf8
        self.drip = drip


class SMTPServers:
    """Runs receivers in one asyncio loop in a thread. add(ip, port, b)
    starts one; sessions[ip] lists what each saw."""

    def __init__(self, certfile=None, keyfile=None):
        self.loop = asyncio.new_event_loop()
        self.sessions = {}
        self.behaviour = {}
        self.ctx = None
        if certfile:
            self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ctx.load_cert_chain(certfile, keyfile)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def add(self, ip, port, b):
        self.behaviour[(ip, port)] = b
        self.sessions.setdefault((ip, port), [])

        async def start():
            return await asyncio.start_server(
                lambda r, w: self._handle(r, w, ip, port), ip, port,
                ssl=self.ctx if b.implicit else None)
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)

    def delivered(self, ip, port):
        return [s for s in self.sessions[(ip, port)] if s.data is not None
                and s.done]

    async def _handle(self, reader, writer, ip, port):
        b = self.behaviour[(ip, port)]
        s = Session(ip)
        s.tls = b.implicit
        self.sessions[(ip, port)].append(s)

        def send(line):
            writer.write(line.encode() + b"\r\n")

        async def readline():
            line = await asyncio.wait_for(reader.readline(), 30)
            s.raw += line
            return line

        try:
            if not b.greet:
                await asyncio.sleep(60)
                return
            if b.drip:
                t0 = time.monotonic()
                try:
                    while True:
                        send("220-still thinking")
                        await writer.drain()
                        try:
                            if not await asyncio.wait_for(reader.read(1), 0.5):
                                return
                        except asyncio.TimeoutError:
                            pass
                finally:
                    s.held = time.monotonic() - t0
            send("220 peer.test ESMTP test")
            while True:
                line = await readline()
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode(errors="replace")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    s.ehlo.append(cmd)
                    caps = ["peer.test", "PIPELINING", "SIZE 10000000",
                            "8BITMIME"] + (["SMTPUTF8"] if b.smtputf8 else [])
                    if b.tls and not s.tls:
                        caps.append("STARTTLS")
                    if b.auth and (s.tls or not b.require_tls_auth):
                        caps.append("AUTH PLAIN LOGIN")
                    for c in caps[:-1]:
                        send("250-" + c)
                    send("250 " + caps[-1])
                elif up == "STARTTLS" and b.tls and not s.tls:
                    send("220 2.0.0 go ahead")
                    await writer.drain()
                    if b.tls_break:
                        return
                    await writer.start_tls(self.ctx)
                    s.tls = True
                elif up.startswith("AUTH PLAIN "):
                    raw = base64.b64decode(cmd[11:])
                    _, user, pw = raw.split(b"\0")
                    ok = b.auth and (user.decode(), pw.decode()) == b.auth
                    s.auth = user.decode() if ok else None
                    send("235 2.7.0 ok" if ok else "535 5.7.8 bad")
                elif up.startswith("MAIL FROM:"):
                    if b.auth and not s.auth:
                        send("530 5.7.0 auth first")
                        continue
                    s.mail = cmd
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    addr = cmd[8:].strip().strip("<>").split(">")[0]
                    reply = b.rcpt(addr, s) if b.rcpt else None
                    if reply is None:
                        s.rcpts.append(addr)
                        reply = "250 2.1.5 ok"
                    send(reply)
                elif up == "DATA":
                    if not s.rcpts:
                        send("554 5.5.1 no valid recipients")
                        continue
                    send("354 go")
                    await writer.drain()
                    data = bytearray()
                    while True:
                        l = await readline()
                        if not l:
                            return
                        if l == b".\r\n":
                            break
                        data += l
                    s.data = bytes(data)
                    if b.stall_dot:
                        await asyncio.sleep(b.stall_dot)
                    send("250 2.0.0 queued")
                    s.done = True
                elif up == "QUIT":
                    send("221 2.0.0 bye")
                    await writer.drain()
                    return
                elif up == "RSET" or up == "NOOP":
                    send("250 2.0.0 ok")
                else:
                    send("502 5.5.2 what")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, ssl.SSLError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass


def unstuff(data):
    """RFC 5321 4.5.2: the message as it was before dot-stuffing."""
    out = []
    for line in data.split(b"\r\n"):
        out.append(line[1:] if line.startswith(b".") else line)
    return b"\r\n".join(out)


def wait_for(cond, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()

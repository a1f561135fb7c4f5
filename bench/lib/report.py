#!/usr/bin/env python3
"""Turns bench/run's raw result lines into one Markdown table.

Input lines: server=NAME case=CASE key=value ... (several repetitions of a
case are summarised by their median). Output: the table (measure, postlite,
anchor, postlite/anchor, target, verdict) and a few notes.
"""
import statistics
import sys


def load(path):
    data = {}
    for line in open(path):
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if "server" in kv and "case" in kv:
            data.setdefault((kv["server"], kv["case"]), []).append(kv)
    return data


D = load(sys.argv[1])


def val(server, case, key):
    rows = D.get((server, case), [])
    xs = []
    for r in rows:
        try:
            x = float(r[key])
        except (KeyError, ValueError):
            continue
        if x == x:  # not nan
            xs.append(x)
    return statistics.median(xs) if xs else None


def fmt(x, unit=""):
    if x is None:
        return "—"
    if abs(x) >= 100:
        s = "{:,.0f}".format(x)
    elif abs(x) >= 10:
        s = "%.1f" % x
    elif abs(x) >= 1:
        s = "%.2f" % x
    else:
        s = "%.3f" % x
    return s + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


ROWS = []
NOTES = []


def row(measure, pl, an, target="", ok=None, unit="", anchor_name=""):
    r = ratio(pl, an)
    verdict = "" if ok is None else ("met" if ok else "**missed**")
    ROWS.append("| %s | %s | %s | %s | %s | %s |" % (
        measure, fmt(pl, unit), (anchor_name + " " if anchor_name and an is not None else "") + fmt(an, unit),
        "—" if r is None else ("%.2f×" % r), target, verdict))


def section(title):
    ROWS.append("| **%s** | | | | | |" % title)


KIB = 1024.0
# ---- SMTP ----------------------------------------------------------------
section("SMTP durable acceptance (250 after fsync), msgs/s")
targets = {("4k", "1", "newconn"): 5, ("4k", "20", "newconn"): 10,
           ("100k", "20", "newconn"): 5}
cases = [(s, c, p) for s in ("4k", "100k") for c in ("1", "20")
         for p in ("newconn", "persistent")]
for s, c, p in cases:
    case = "smtp-%s-c%s-%s" % (s, c, p)
    pl, pf = val("postlite", case, "msgs_per_s"), val("postfix", case, "msgs_per_s")
    t = targets.get((s, c, p))
    label = "%s KiB, %s conn%s, %s" % (s[:-1], c, "s" if c != "1" else "",
                                       "new connection per message" if p == "newconn"
                                       else "persistent connections")
    r = ratio(pl, pf)
    row(label, pl, pf, "≥ %d× Postfix" % t if t else "",
        None if not t or r is None else r >= t)
section("server CPU per message (ms, from /proc; Postfix: includes its delivery)")
for s, c, p in cases:
    case = "smtp-%s-c%s-%s" % (s, c, p)
    pl = val("postlite", case, "server_cpu_ms_per_msg")
    pf = val("postfix", case, "server_cpu_ms_per_msg")
    t = s == "4k"
    row("%s KiB, %s conn%s, %s" % (s[:-1], c, "s" if c != "1" else "",
                                    "new conn." if p == "newconn" else "persistent"),
        pl, pf, "≤ 0.3 ms" if t else "",
        None if not t or pl is None else pl <= 0.3)
section("fsyncs: messages per fsync+fdatasync (group commit)")
for s, c, p in cases:
    if s != "4k":
        continue
    case = "smtp-%s-c%s-%s" % (s, c, p)
    row("4 KiB, %s conn%s, %s" % (c, "s" if c != "1" else "",
                                   "new conn." if p == "newconn" else "persistent"),
        val("postlite", case, "msgs_per_sync"), val("postfix", case, "msgs_per_sync"),
        "grows with concurrency" if c == "20" else "")
section("where an SMTP message waits (client-side mean ms per message)")
for case, label in (("smtp-4k-c1-persistent", "1 conn"), ("smtp-4k-c20-persistent", "20 conns")):
    for ph, what in (("eod", "end of data → 250 (the durable commit)"), ("rcpt", "RCPT → 250")):
        row("4 KiB, %s, persistent: %s" % (label, what), val("postlite", case, ph + "_ms"),
            val("postfix", case, ph + "_ms"))
row("disk: 4 KiB append + fdatasync, p50 µs (same for both)", val("disk", "fsync-append", "p50_us"), None)
row("disk: 4 KiB append + fdatasync, per second", val("disk", "fsync-append", "per_s"), None)
row("disk: sequential write, %s MiB in 1 MiB writes + fdatasync, MB/s (median)"
    % fmt(val("disk", "fsync-seqwrite", "mib")), val("disk", "fsync-seqwrite", "MB_per_s"), None)
section("disk writes during SMTP (bytes the server's process tree wrote, /proc/PID/io; "
        "Postfix: until delivered, queue file and Maildir)")
DISK_CASES = [("smtp-%s-c20-%s" % (s, p), "%s KiB, 20 conns, %s" % (s[:-1], "new conn." if p == "newconn" else "persistent"),
               int(s[:-1]))
              for s in ("4k", "100k") for p in ("newconn", "persistent")]
for case, label, kib in DISK_CASES:
    pl, pf = val("postlite", case, "disk_kib_per_msg"), val("postfix", case, "disk_kib_per_msg")
    row("%s: KiB written per message (%s)" % (label, "× message size: %s / %s"
                                               % (fmt(None if pl is None else pl / kib),
                                                  fmt(None if pf is None else pf / kib))), pl, pf)
for case, label, kib in DISK_CASES:
    row("%s: disk write MB/s during the case" % label, val("postlite", case, "disk_write_MB_per_s"),
        val("postfix", case, "disk_write_MB_per_s"))
for case, label, kib in DISK_CASES:
    if kib == 100:
        row("%s: KiB per message on the whole device (+ ext4 journal, + other writers)" % label,
            val("postlite", case, "dev_kib_per_msg"), val("postfix", case, "dev_kib_per_msg"))
section("load client CPU per message (ms; the same C client for both)")
for case, label in (("smtp-4k-c20-newconn", "4 KiB, 20 conns, new conn."),
                    ("smtp-4k-c1-persistent", "4 KiB, 1 conn, persistent")):
    row(label, val("postlite", case, "client_cpu_ms_per_msg"),
        val("postfix", case, "client_cpu_ms_per_msg"))

# ---- POP3 ------------------------------------------------------------------
section("POP3 full fetch (LIST + RETR all), msgs/s")
for case, label in (("pop3-fetch-plain", "plain"), ("pop3-fetch-995", "995 (TLS)"),
                    ("pop3-fetch-dele-plain", "plain, with DELE"),
                    ("pop3-fetch-dele-995", "995, with DELE")):
    pl, dc = val("postlite", case, "msgs_per_s"), val("dovecot", case, "msgs_per_s")
    cpl = val("postlite", case, "server_cpu_ms_per_MiB")
    cdc = val("dovecot", case, "server_cpu_ms_per_MiB")
    r, rc = ratio(pl, dc), ratio(cpl, cdc)
    ok = None if r is None else (r >= 2 or (rc is not None and rc <= 1 / 3.0))
    row(label, pl, dc, "≥ 2× Dovecot, or ≤ ⅓ its CPU/MiB", ok)
    row("  MiB/s, " + label, val("postlite", case, "MiB_per_s"), val("dovecot", case, "MiB_per_s"))
    row("  server CPU ms per MiB, " + label, cpl, cdc)
    row("  load client CPU s, " + label, val("postlite", case, "client_cpu_s"),
        val("dovecot", case, "client_cpu_s"))

section("POP3 login latency (connect to +OK of PASS, then QUIT; yescrypt both)")
for tls, label in (("stls", "110 + STLS"), ("implicit", "995")):
    case = "login-" + tls
    row("p50 ms, " + label, val("postlite", case, "p50_ms"), val("dovecot", case, "p50_ms"))
    row("server CPU ms per login, " + label, val("postlite", case, "server_cpu_ms_per_login"),
        val("dovecot", case, "server_cpu_ms_per_login"))

section("TLS: full handshakes (ECDSA P-256 certificate, X25519)")
for case, anchor, label in (("tls-465", "postfix", "465 (postlite-smtpd vs Postfix)"),
                            ("tls-995", "dovecot", "995 (postlite-pop3d vs Dovecot)")):
    row("handshakes/s, " + label, val("postlite", case, "handshakes_per_s"),
        val(anchor, case, "handshakes_per_s"))
    pl = val("postlite", case, "server_cpu_ms_per_handshake")
    row("server CPU ms per handshake, " + label, pl,
        val(anchor, case, "server_cpu_ms_per_handshake"), "≤ 1 ms",
        None if pl is None else pl <= 1.0)

for case, anchor, label in (("tls-465-resumed", "postfix", "465, resumed (session ticket)"),
                            ("tls-995-resumed", "dovecot", "995, resumed (session ticket)")):
    row("handshakes/s, " + label, val("postlite", case, "handshakes_per_s"),
        val(anchor, case, "handshakes_per_s"))
    row("server CPU ms per handshake, " + label, val("postlite", case, "server_cpu_ms_per_handshake"),
        val(anchor, case, "server_cpu_ms_per_handshake"))

# ---- memory ------------------------------------------------------------------
section("memory (MiB; RSS summed over each server's processes)")


def mib(server, case, key):
    v = val(server, case, key)
    return None if v is None else v / KIB


smtpd_rss, pop3d_rss = mib("postlite-smtpd", "mem-idle", "rss_kib"), mib("postlite-pop3d", "mem-idle", "rss_kib")
pf_rss, dc_rss = mib("postfix", "mem-idle", "rss_kib"), mib("dovecot", "mem-idle", "rss_kib")
row("idle RSS: postlite-smtpd vs Postfix", smtpd_rss, pf_rss)
row("idle RSS: postlite-pop3d vs Dovecot", pop3d_rss, dc_rss)
tot = None if smtpd_rss is None or pop3d_rss is None else smtpd_rss + pop3d_rss
atot = None if pf_rss is None or dc_rss is None else pf_rss + dc_rss
row("idle RSS, both daemons together", tot, atot, "≤ 6 MiB", None if tot is None else tot <= 6)
ptot = [mib(s, "mem-idle", "pss_kib") for s in ("postlite-smtpd", "postlite-pop3d", "postfix", "dovecot")]
if None not in ptot:
    row("idle PSS, both daemons together (shared pages split)", ptot[0] + ptot[1], ptot[2] + ptot[3],
        "≤ 6 MiB", ptot[0] + ptot[1] <= 6)
utot = [mib(s, "mem-idle", "uss_kib") for s in ("postlite-smtpd", "postlite-pop3d", "postfix", "dovecot")]
if None not in utot:
    row("idle USS, both daemons together (private pages only)", utot[0] + utot[1], utot[2] + utot[3])
case = "smtp-4k-c20-newconn"
pk = mib("postlite", case, "peak_rss_kib")
row("peak RSS during SMTP 4 KiB, 20 conns", pk, mib("postfix", case, "peak_rss_kib"),
    "≤ 16 MiB", None if pk is None else pk <= 16)
row("peak PSS during SMTP 4 KiB, 20 conns", mib("postlite", case, "peak_pss_kib"),
    mib("postfix", case, "peak_pss_kib"))
pf_n = val("postfix", case, "peak_nproc")
if pf_n:
    NOTES.append("Postfix ran %d processes at the peak of SMTP 4 KiB / 20 connections." % pf_n)
row("peak RSS during POP3 fetch (plain; the login's yescrypt takes 16 MiB)", mib("postlite", "pop3-fetch-plain", "peak_rss_kib"),
    mib("dovecot", "pop3-fetch-plain", "peak_rss_kib"))
for d, a, label in (("postlite-smtpd", "postfix", "SMTP"), ("postlite-pop3d", "dovecot", "POP3")):
    case = [c for (s, c) in D if s == d and c.startswith("idle-conns-") and not c.endswith("+0")]
    if not case:
        continue
    case = case[0]
    hp, ht = val(d, case, "held_plain"), val(d, case, "held_tls")
    ap, at = val(a, case, "held_plain"), val(a, case, "held_tls")
    row("%s: RSS holding %s idle plain + %s idle TLS conns" % (label, case.split("-")[2].split("+")[0],
                                                           case.split("+")[1]),
        mib(d, case, "rss_kib"), mib(a, case, "rss_kib"))
    row("  connections held (plain + TLS)", (hp or 0) + (ht or 0), (ap or 0) + (at or 0))
    kpc = val(d, case, "kib_per_plain_conn")
    row("  KiB per idle plain connection (RSS growth / held)", kpc, val(a, case, "kib_per_plain_conn"),
        "≤ 64 KiB", None if kpc is None else kpc <= 64)
    kpt = val(d, case, "kib_per_tls_conn")
    row("  KiB per idle TLS connection (RSS growth / held)", kpt, val(a, case, "kib_per_tls_conn"),
        "≤ 64 KiB + mbedTLS's 2 × 16 KiB records", None if kpt is None else kpt <= 64 + 33)
hold = [c for (s, c) in D if s == "postlite-smtpd" and c.startswith("idle-conns-") and c.endswith("+0")]
if hold:
    c = hold[0]
    n = int(c.split("-")[2].split("+")[0])
    held = val("postlite-smtpd", c, "held_plain")
    row("postlite-smtpd holding %s idle plain conns: held" % "{:,}".format(n), held, None,
        "%s held" % "{:,}".format(n), None if held is None else held >= n)
    row("  RSS (MiB), KiB per conn: %s" % fmt(val("postlite-smtpd", c, "kib_per_plain_conn")),
        mib("postlite-smtpd", c, "rss_kib"), None)
for d, a, case, label in (("postlite-smtpd", "postfix", "big-in", "40 MiB message in (SMTP)"),
                          ("postlite-pop3d", "dovecot", "big-out", "40 MiB message out (POP3 RETR)")):
    g = mib(d, case, "growth_kib")
    row("peak RSS growth, " + label, g, mib(a, case, "growth_kib"), "≤ 4 MiB per daemon",
        None if g is None else g <= 4)

print("| measure | postlite | anchor | postlite / anchor | target | verdict |")
print("|---|---|---|---|---|---|")
print("\n".join(ROWS))
print()
print("Anchor: Postfix for SMTP rows, Dovecot for POP3 rows. Ratios are "
      "postlite ÷ anchor: above 1 is better for rates, below 1 for CPU, "
      "latency and memory.")
# client-bound cases: the client used most of a core
for (srv, case), rows in sorted(D.items()):
    cs = val(srv, case, "client_cpu_s")
    secs = val(srv, case, "secs")
    if cs and secs and cs / secs > 0.7:
        NOTES.append("%s %s: the load client used %.0f%% of a core (client-bound)."
                     % (srv, case, 100 * cs / secs))
seq = val("disk", "fsync-seqwrite", "MB_per_s")
for case, label, kib in DISK_CASES:
    if kib != 100 or not seq:
        continue
    for srv in ("postlite", "postfix"):
        mbs = val(srv, case, "disk_write_MB_per_s")
        if mbs:
            NOTES.append("%s %s: wrote %.0f MB/s, %.0f%% of the disk's sequential write bandwidth (%.0f MB/s)."
                         % (srv, case, mbs, 100 * mbs / seq, seq))
d50 = val("disk", "fsync-append", "p50_us")
if d50 and d50 > 1000:
    NOTES.append("The disk was slow during this run (4 KiB append + fdatasync p50 = %.1f ms): "
                 "every durable rate above is bounded by it, for both servers "
                 "(one fsync per message and connection at best, without group commit)." % (d50 / 1000))
for n in NOTES:
    print("- " + n)

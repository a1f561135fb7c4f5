#!/usr/bin/env python3
"""kill -9 under load (issue 5): several smtplib clients deliver at once;
smtpd is SIGKILLed at a random moment, restarted, and again, for
POSTLITE_CRASH_CYCLES cycles (default 20) or POSTLITE_CRASH_SECONDS
(default 100). After every restart: PRAGMA integrity_check is ok, every
message that got a 250 is in the mailbox exactly once and byte for byte
(the body sent is what is stored after smtpd's trace headers), and no
message there is cut short. Prints cycles, acknowledged and lost (must
be 0). Ends with "N passed, N failed"."""

import hashlib
import os
import random
import re
import signal
import threading
import time

import store_harness as h

SENDERS = 5


def body(i):
    rnd = random.Random(i)
    size = rnd.choice((500, 5000, 70000, 200000))
    line = hashlib.sha256(b"%d" % i).hexdigest().encode()
    lines = (size // 66) + 1
    return (b"Subject: crash %d\r\nX-Test-Id: %d\r\n\r\n" % (i, i) +
            b"".join(line + b"%02d\r\n" % (k % 100) for k in range(lines)))


def main():
    cycles = int(os.environ.get("POSTLITE_CRASH_CYCLES", "20"))
    budget = float(os.environ.get("POSTLITE_CRASH_SECONDS", "100"))
    s = h.Server("postlite-crash-")
    acked, lock = {}, threading.Lock()
    counter = [0]
    lost_total = 0
    done = 0
    try:
        s.setup()
        t_end = time.monotonic() + budget
        for cycle in range(cycles):
            if time.monotonic() > t_end:
                break
            s.start("smtpd")
            stop = threading.Event()

            def sender():
                while not stop.is_set():
                    with lock:
                        i = counter[0]
                        counter[0] += 1
                    try:
                        code, _ = s.send(["alice@example.test"], body(i),
                                         timeout=20)
                    except Exception:
                        return  # the daemon died mid-transaction
                    if code == 250:
                        with lock:
                            acked[i] = True

            ts = [threading.Thread(target=sender) for _ in range(SENDERS)]
            for t in ts:
                t.start()
            time.sleep(random.uniform(0.05, 0.6))
            s.stop("smtpd", signal.SIGKILL)
            stop.set()
            for t in ts:
                t.join(timeout=30)
            done += 1
            # The daemon is dead: look at what the disk says.
            ok = s.integrity()
            seen = {}
            partial = 0
            for _, data in s.messages("alice@example.test"):
                m = re.search(rb"X-Test-Id: (\d+)", data)
                if not m:
                    partial += 1
                    continue
                i = int(m.group(1))
                seen[i] = seen.get(i, 0) + 1
                if not data.endswith(body(i)):
                    partial += 1
            lost = [i for i in acked if seen.get(i, 0) == 0]
            dup = [i for i, n in seen.items() if n > 1]
            lost_total += len(lost)
            if ok != "ok" or lost or dup or partial:
                h.check(f"cycle {cycle}: intact", False,
                        f"integrity={ok} lost={lost[:5]} dup={dup[:5]} "
                        f"partial={partial}")
        h.check(f"{done} cycles: integrity, none lost, none twice, none cut",
                h.failed == 0)
        h.check("cycles run", done >= min(cycles, 5), str(done))
        v = s.cli("verify", ok=False)
        h.check("verify after the last crash", v.returncode == 0,
                v.stdout.decode() + v.stderr.decode())
        print(f"# crash test: {done} cycles, {counter[0]} messages sent, "
              f"{len(acked)} acknowledged, {lost_total} lost")
    finally:
        s.cleanup()
    h.finish()


if __name__ == "__main__":
    main()

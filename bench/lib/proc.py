#!/usr/bin/env python3
"""Memory and CPU of whole process trees, from /proc (standard library only).

  proc.py mem  PID[,PID...]   rss_kib=.. pss_kib=.. uss_kib=.. nproc=..  (summed over
                              the PIDs and all their descendants)
  proc.py cpu  PID[,PID...]   CPU seconds used so far by the tree: utime +
                              stime of every live process plus cutime +
                              cstime (children it already reaped), so
                              short-lived helpers (Dovecot's login processes,
                              Postfix's cleanup) are counted too. Take the
                              difference of two readings.
  proc.py io   PID[,PID...]   bytes the tree caused to be written to storage
                              so far, from /proc/PID/io, summed like cpu:
                              write_bytes=.. cancelled_write_bytes=..
                              net_write_bytes=.. (write - cancelled). A
                              process's io already holds its reaped
                              children's, so Postfix's cleanup (queue
                              files) and virtual (Maildir) count, live or
                              gone. Take the difference of two readings.
  proc.py dev  DIR            bytes written so far to the block device that
                              holds DIR (/proc/diskstats; every writer on the
                              machine, and the file system's journal):
                              dev_write_bytes=.. (nan if no such device)
  proc.py pids PID[,PID...]   the tree's PIDs, comma separated
  proc.py peak PID[,PID...] --stop-file F [--interval 0.05] [--max-seconds S]
                              samples until F exists, then prints
                              peak_rss_kib=.. peak_pss_kib=.. peak_nproc=..
                              samples=..

write_bytes is charged when a page-cache page turns dirty (rewriting a page
that is still dirty is not counted again) and to the process that dirtied
it; ext4's journal is written by a kernel thread and is in no tree.

RSS counts shared pages once per process (it inflates multi-process servers);
PSS splits them between the sharers; USS counts only pages no other process
maps (what the process alone costs): all three are printed.
"""
import os
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        s = f.read()
    # the command name may hold spaces and ')': split after the last ')'
    return s[s.rfind(b")") + 2:].split()


def tree(roots):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(stat_fields(int(d))[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, stack = [], [r for r in roots if os.path.exists("/proc/%d" % r)]
    while stack:
        p = stack.pop()
        if p not in out:
            out.append(p)
            stack.extend(children.get(p, []))
    return out


def mem_of(pid):
    """(rss, pss, uss) in KiB; uss = Private_Clean + Private_Dirty."""
    rss = pss = uss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Rss":
                    rss = int(rest.split()[0])
                elif key == "Pss":
                    pss = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    uss += int(rest.split()[0])
    except OSError:
        pass
    return rss, pss, uss


def mem(roots):
    n = rss = pss = uss = 0
    for p in tree(roots):
        r, s, u = mem_of(p)
        if r:
            n += 1
            rss += r
            pss += s
            uss += u
    return n, rss, pss, uss


def cpu(roots):
    total = 0
    for p in tree(roots):
        try:
            total += sum(int(x) for x in stat_fields(p)[11:15])
        except (OSError, ValueError):
            pass
    return total / float(CLK_TCK)


def io(roots):
    w = c = 0
    for p in tree(roots):
        try:
            with open("/proc/%d/io" % p) as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key == "write_bytes":
                        w += int(rest)
                    elif key == "cancelled_write_bytes":
                        c += int(rest)
        except (OSError, ValueError):
            pass
    return w, c


def dev_written(path):
    """Bytes written to the block device holding path, or None."""
    st = os.stat(path)
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    try:
        with open("/proc/diskstats") as f:
            for line in f:
                x = line.split()
                if int(x[0]) == major and int(x[1]) == minor:
                    return int(x[9]) * 512  # sectors written, 512 bytes each
    except (OSError, ValueError, IndexError):
        pass
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[1] == "dev":
        b = dev_written(sys.argv[2])
        print("dev_write_bytes=%s" % ("nan" if b is None else b))
        return
    cmd, roots = sys.argv[1], [int(x) for x in sys.argv[2].split(",") if x]
    args = sys.argv[3:]
    if cmd == "mem":
        n, rss, pss, uss = mem(roots)
        print("rss_kib=%d pss_kib=%d uss_kib=%d nproc=%d" % (rss, pss, uss, n))
    elif cmd == "cpu":
        print("%.3f" % cpu(roots))
    elif cmd == "io":
        w, c = io(roots)
        print("write_bytes=%d cancelled_write_bytes=%d net_write_bytes=%d" % (w, c, w - c))
    elif cmd == "pids":
        print(",".join(str(p) for p in tree(roots)))
    elif cmd == "peak":
        stop, interval, max_s = None, 0.05, 900.0
        while args:
            k, v = args[0], args[1]
            args = args[2:]
            if k == "--stop-file":
                stop = v
            elif k == "--interval":
                interval = float(v)
            elif k == "--max-seconds":
                max_s = float(v)
        peak = [0, 0, 0]
        samples = 0
        end = time.monotonic() + max_s
        while time.monotonic() < end and not (stop and os.path.exists(stop)):
            n, rss, pss, _ = mem(roots)
            peak = [max(peak[0], rss), max(peak[1], pss), max(peak[2], n)]
            samples += 1
            time.sleep(interval)
        print("peak_rss_kib=%d peak_pss_kib=%d peak_nproc=%d samples=%d"
              % (peak[0], peak[1], peak[2], samples))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

# Helpers for bench/run (sourced by bash). Nothing here talks to anything
# but loopback, and nothing is ever killed by name: only by the PID we got
# when we started it.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
# kv "a=1 b=2" b: the value of one key in a loadgen result line
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }

# /proc readings (CPU, memory, I/O of a process tree); BENCH is set by the
# script that sources this file.
PROC="python3 $BENCH/lib/proc.py"
# cpu_of PID: the tree's CPU seconds so far
cpu_of() { $PROC cpu "$1"; }
# cpu_settled PID: the tree's CPU seconds once it has stopped rising (work
# a server defers past its last reply, such as postlite-pop3d giving space
# back after QUIT, still counts); at most 5 s.
cpu_settled() {
	local a b i
	b=$(cpu_of "$1")
	for i in $(seq 25); do
		sleep 0.2; a=$b; b=$(cpu_of "$1")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}

# wait_port PORT [TIMEOUT_S]: until 127.0.0.1:PORT accepts a connection.
wait_port() {
	local port=$1 t=${2:-20} i=0
	while [ "$i" -lt $((t * 10)) ]; do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# kill_pid_wait PID [TIMEOUT_S]: SIGTERM one process we started, wait for
# it, SIGKILL it after the timeout.
kill_pid_wait() {
	local pid=$1 t=${2:-10} i=0
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((t * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	return 0
}

# in_private_netns: this network namespace has no interface but lo.
in_private_netns() {
	[ "$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev | sort | tr '\n' ' ')" = "lo " ]
}

# private_netns "$0" "$@": from a script, unless it already runs in a private
# network namespace, exec it again in a new one; then bring loopback up.
private_netns() {
	if ! in_private_netns; then
		command -v unshare >/dev/null || die "unshare (util-linux) missing"
		exec unshare --net -- "$@"
	fi
	ip link set lo up
}

# count_maildir DIR: message files in DIR/new and DIR/cur.
count_maildir() {
	find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# wait_maildir DIR N TIMEOUT_S: until DIR holds at least N messages.
wait_maildir() {
	local d=$1 n=$2 t=$3 i=0
	while [ "$(count_maildir "$d")" -lt "$n" ] && [ "$i" -lt $((t * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ "$(count_maildir "$d")" -ge "$n" ]
}

clear_maildir() {
	find "$1/new" "$1/cur" -maxdepth 1 -type f -delete 2>/dev/null
	true
}

# Start and stop the three servers of the benchmark (sourced by bench/run).
# Each one runs from its own configuration under the work directory $W,
# listens on 127.0.0.1 high ports only, and is stopped by the PID we started.
#
#   postlite  smtpd: $PL_SMTP (MX), $PL_SUBS (465-style implicit TLS)
#             pop3d: $PL_POP3 (STLS), $PL_POP3S (implicit TLS)
#   Postfix   $PF_SMTP (MX), $PF_SUBS (smtpd_tls_wrappermode, implicit TLS);
#             virtual(8) delivers into $W/postfix/mail/<user>/Maildir
#   Dovecot   $DC_POP3 (STLS), $DC_POP3S (implicit TLS), serving the Maildir
#             that Postfix delivers into (the same messages)
#
# Users on every server: alice@example.org (the POP3 mailbox) and
# bob@example.org (receives the SMTP load), password $BENCH_PASS, hashed with
# yescrypt ($y$, libxcrypt's default cost) on both sides.

# ---- TLS: one ECDSA P-256 self-signed certificate for all three --------
make_cert() {
	mkdir -p "$W/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 7 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$W/tls/key.pem" -out "$W/tls/cert.pem" 2>/dev/null ||
		die "openssl req failed"
	# a throw-away key in a throw-away directory; the daemons read it
	# after dropping to nobody
	chmod 644 "$W/tls/key.pem" "$W/tls/cert.pem"
}

# ---- postlite -----------------------------------------------------------
PL_SMTPD_PID=""; PL_POP3D_PID=""
postlite_start() {
	local d=$W/postlite
	mkdir -p "$d"
	chmod 755 "$d"
	cat >"$d/postlite.conf" <<EOF
# written by bench/run: loopback-only benchmark instance
[server]
hostname = bench.example.org
data_dir = $d/data
user = nobody
# the plain-port POP3 fetch logs in without TLS (loopback only)
plaintext_auth_loopback = yes

[tls]
cert = $W/tls/cert.pem
key = $W/tls/key.pem

[smtp]
listen = 127.0.0.1:$PL_SMTP
submissions = 127.0.0.1:$PL_SUBS
max_message_size = 64M
max_connections = 20000

[pop3]
listen = 127.0.0.1:$PL_POP3
pop3s = 127.0.0.1:$PL_POP3S
max_connections = 20000
EOF
	"$PL_BIN/store/postlite" -c "$d/postlite.conf" init >"$d/init.log" 2>&1 ||
		{ cat "$d/init.log" >&2; die "postlite init failed"; }
	"$PL_BIN/store/postlite" -c "$d/postlite.conf" domain add example.org
	local u
	for u in alice bob; do
		printf '%s\n' "$BENCH_PASS" | "$PL_BIN/store/postlite" -c "$d/postlite.conf" \
			user add "$u@example.org" --password-stdin ||
			die "postlite user add failed"
	done
	"$PL_BIN/smtpd/postlite-smtpd" -c "$d/postlite.conf" -f >"$d/smtpd.log" 2>&1 </dev/null &
	PL_SMTPD_PID=$!
	"$PL_BIN/pop3d/postlite-pop3d" -c "$d/postlite.conf" -f >"$d/pop3d.log" 2>&1 </dev/null &
	PL_POP3D_PID=$!
	wait_port "$PL_SMTP" 20 && wait_port "$PL_POP3" 20 ||
		{ tail -n 5 "$d"/*.log >&2; die "postlite did not start"; }
	log "postlite-smtpd pid $PL_SMTPD_PID, postlite-pop3d pid $PL_POP3D_PID"
}
postlite_stop() {
	kill_pid_wait "$PL_SMTPD_PID" 15
	kill_pid_wait "$PL_POP3D_PID" 15
	PL_SMTPD_PID=""; PL_POP3D_PID=""
}

# ---- Postfix ------------------------------------------------------------
PF_PID=""
postfix_start() {
	local d=$W/postfix C=$W/postfix/conf
	mkdir -p "$C" "$d/spool" "$d/data" "$d/mail/alice/Maildir"/{new,cur,tmp} \
		"$d/mail/bob/Maildir"/{new,cur,tmp}
	chown -R nobody:nogroup "$d/mail"
	chown postfix "$d/data"
	chmod 755 "$d"
	printf 'alice@example.org alice/Maildir/\nbob@example.org bob/Maildir/\n' >"$C/vmailbox"
	cat >"$C/main.cf" <<EOF
# written by bench/run: loopback-only benchmark instance
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.example.org
mydomain = example.org
myorigin = bench.example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost =
# nothing may leave this machine: remote transports are hard errors
default_transport = error:benchmark instance, no remote delivery
relay_transport = error:benchmark instance, no remote delivery
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:no local(8) delivery in this instance
virtual_mailbox_domains = example.org
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$C/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = 67108864
virtual_mailbox_limit = 0
biff = no
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtpd_tls_chain_files = $W/tls/key.pem, $W/tls/cert.pem
smtpd_tls_security_level = may
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 0
EOF
	cat >"$C/master.cf" <<EOF
# written by bench/run: loopback-only benchmark instance
127.0.0.1:$PF_SMTP inet n - n - - smtpd
127.0.0.1:$PF_SUBS inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# postfix(1) reports errors only to a tty or syslog: give it a tty
	script -qec "postfix -c $C check" /dev/null >"$d/check.log" 2>&1 ||
		{ cat "$d/check.log" >&2; die "postfix check failed"; }
	script -qec "postfix -c $C start" /dev/null >"$d/start.log" 2>&1 ||
		{ cat "$d/start.log" >&2; die "postfix start failed"; }
	wait_port "$PF_SMTP" 20 || die "postfix did not open port $PF_SMTP"
	local i=0
	while [ -z "$PF_PID" ] && [ $i -lt 50 ]; do
		PF_PID=$(head -1 "$d/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
		sleep 0.1; i=$((i + 1))
	done
	log "postfix master pid $PF_PID"
}
postfix_stop() {
	[ -n "$PF_PID" ] || return 0
	if kill -0 "$PF_PID" 2>/dev/null; then
		postfix -c "$W/postfix/conf" stop >/dev/null 2>&1
		kill_pid_wait "$PF_PID" 15
	fi
	PF_PID=""
}
PF_MAILDIR_ALICE() { echo "$W/postfix/mail/alice/Maildir"; }
PF_MAILDIR_BOB() { echo "$W/postfix/mail/bob/Maildir"; }

# ---- Dovecot --------------------------------------------------------------
DC_PID=""
dovecot_start() {
	local d=$W/dovecot
	mkdir -p "$d/run" "$d/state"
	chmod 755 "$d"
	local hash
	hash=$("$LOADGEN" hash "$BENCH_PASS") || die "yescrypt hash failed"
	: >"$d/users"
	local u
	for u in alice bob; do
		printf '%s@example.org:{CRYPT}%s:65534:65534::%s/mail/%s::\n' \
			"$u" "$hash" "$W/postfix" "$u" >>"$d/users"
	done
	chmod 644 "$d/users"
	cat >"$d/dovecot.conf" <<EOF
# written by bench/run: loopback-only benchmark instance
instance_name = benchdovecot
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$W/tls/cert.pem
ssl_key = <$W/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = 100
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DC_POP3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $DC_POP3S
    ssl = yes
  }
}
EOF
	dovecot -c "$d/dovecot.conf" -n >/dev/null 2>"$d/check.log" ||
		{ cat "$d/check.log" >&2; die "dovecot config check failed"; }
	dovecot -c "$d/dovecot.conf" -F >"$d/stdout.log" 2>&1 </dev/null &
	DC_PID=$!
	wait_port "$DC_POP3" 20 || { tail -n 5 "$d"/*.log >&2; die "dovecot did not start"; }
	log "dovecot pid $DC_PID"
}
dovecot_stop() {
	kill_pid_wait "$DC_PID" 15
	DC_PID=""
}

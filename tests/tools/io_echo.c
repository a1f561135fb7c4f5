/* A tiny line protocol over the real I/O layer, for tests/integration/
 * test_io.py: it exercises listeners, implicit TLS, STARTTLS, back-pressure,
 * timeouts and shutdown without any mail protocol in the way.
 *
 *   io_echo CERT KEY TIMEOUT_SECS   (prints "ports PLAIN TLS" when ready)
 *
 * Commands: any line → "echo LINE"; STARTTLS → "ok starttls" then TLS;
 * BIG N → N bytes of 'x' lines produced under back-pressure; QUIT →
 * "bye" and close; TLS → prints the TLS description; PEER → what the
 * layer knows of the connection ("peer loopback=0|1 tls=0|1"); ID → "id N",
 * this connection's number; CAPS N → "caps BYTES", the buffer storage
 * connection N holds (conn_buffer_capacity), or "caps none" once it is
 * gone; TIMEOUT S → "timeout S", this connection's idle timeout. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "linereader.h"
#include "log.h"

struct echo {
	struct echo *next; /* all live connections, for CAPS */
	unsigned long id;
	struct conn *c;
	struct buf *in;
	struct linereader lr;
	unsigned long big_left; /* bytes of BIG output still to produce */
};

static struct echo *echoes;
static unsigned long next_id = 1;

static void produce(struct echo *e)
{
	static char line[1024];
	if (!line[0]) {
		memset(line, 'x', sizeof line - 2);
		line[sizeof line - 2] = '\r';
		line[sizeof line - 1] = '\n';
	}
	while (e->big_left > 0 && conn_pending(e->c) < SESSION_OUT_HIGH) {
		size_t n = e->big_left < sizeof line ? e->big_left : sizeof line;
		conn_write(e->c, line + sizeof line - n, n);
		e->big_left -= n;
	}
	if (e->big_left == 0)
		conn_write(e->c, "done\r\n", 6);
}

static void *on_open(struct conn *c, void *arg, struct buf *in)
{
	struct echo *e = calloc(1, sizeof *e);
	e->c = c;
	e->in = in;
	e->id = next_id++;
	e->next = echoes;
	echoes = e;
	linereader_init(&e->lr, 100);
	conn_write(c, "hello\r\n", 7);
	return e;
}

static void on_input(void *data)
{
	struct echo *e = data;
	while (e->big_left == 0) {
		struct lr_view v;
		enum lr_result r =
			linereader_next(&e->lr, e->in->data, e->in->len, &v);
		if (r == LR_NEED_MORE) {
			buf_consume(e->in, v.consumed);
			return;
		}
		char line[128];
		snprintf(line, sizeof line, "%.*s", (int)v.len, v.line);
		buf_consume(e->in, v.consumed);
		if (r != LR_LINE) {
			char msg[64];
			int n = snprintf(msg, sizeof msg, "error %s\r\n",
			                 lr_result_name(r));
			conn_write(e->c, msg, (size_t)n);
		} else if (strcmp(line, "STARTTLS") == 0) {
			conn_write(e->c, "ok starttls\r\n", 13);
			if (conn_starttls(e->c) != 0)
				conn_write(e->c, "no tls\r\n", 8);
			return;
		} else if (strcmp(line, "QUIT") == 0) {
			conn_write(e->c, "bye\r\n", 5);
			conn_close(e->c);
			return;
		} else if (strcmp(line, "TLS") == 0) {
			const char *d = conn_tls_desc(e->c);
			char msg[160];
			int n = snprintf(msg, sizeof msg, "tls %s\r\n",
			                 d ? d : "none");
			conn_write(e->c, msg, (size_t)n);
		} else if (strcmp(line, "PEER") == 0) {
			const struct session_peer *p = conn_peer(e->c);
			char msg[64];
			int n = snprintf(msg, sizeof msg,
			                 "peer loopback=%d tls=%d\r\n",
			                 p->local_loopback, p->tls);
			conn_write(e->c, msg, (size_t)n);
		} else if (strcmp(line, "ID") == 0) {
			char msg[48];
			int n = snprintf(msg, sizeof msg, "id %lu\r\n", e->id);
			conn_write(e->c, msg, (size_t)n);
		} else if (strncmp(line, "CAPS ", 5) == 0) {
			unsigned long id = strtoul(line + 5, NULL, 10);
			struct echo *o = echoes;
			while (o && o->id != id)
				o = o->next;
			char msg[48];
			int n = o ? snprintf(msg, sizeof msg, "caps %zu\r\n",
			                     conn_buffer_capacity(o->c))
			          : snprintf(msg, sizeof msg, "caps none\r\n");
			conn_write(e->c, msg, (size_t)n);
		} else if (strncmp(line, "TIMEOUT ", 8) == 0) {
			unsigned s = (unsigned)strtoul(line + 8, NULL, 10);
			conn_set_timeout(e->c, s);
			char msg[48];
			int n = snprintf(msg, sizeof msg, "timeout %u\r\n", s);
			conn_write(e->c, msg, (size_t)n);
		} else if (strncmp(line, "BIG ", 4) == 0) {
			e->big_left = strtoul(line + 4, NULL, 10);
			produce(e);
		} else {
			char msg[160];
			int n = snprintf(msg, sizeof msg, "echo %s\r\n", line);
			conn_write(e->c, msg, (size_t)n);
		}
	}
}

static void on_tls_ready(void *data)
{
	struct echo *e = data;
	linereader_init(&e->lr, 100);
	conn_write(e->c, "secure\r\n", 8);
}

static void on_drain(void *data)
{
	struct echo *e = data;
	if (e->big_left > 0) {
		produce(e);
		conn_resume(e->c);
	}
}

static void on_timeout(void *data)
{
	struct echo *e = data;
	conn_write(e->c, "timeout\r\n", 9);
}

static void on_closed(void *data)
{
	struct echo **pp = &echoes;
	while (*pp != data)
		pp = &(*pp)->next;
	*pp = ((struct echo *)data)->next;
	free(data);
}

static const struct conn_handler echo_handler = {
	.open = on_open,
	.input = on_input,
	.tls_ready = on_tls_ready,
	.drain = on_drain,
	.timeout = on_timeout,
	.closed = on_closed,
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: io_echo CERT KEY TIMEOUT\n");
		return 2;
	}
	log_init("io_echo", true);
	char err[512];
	struct server *srv = server_new("echo");
	server_tls_alpn(srv, "pop3"); /* any registered id will do here */
	if (server_tls_load(srv, argv[1], argv[2], err, sizeof err) != 0) {
		fprintf(stderr, "io_echo: %s\n", err);
		return 1;
	}
	/* Port 0: the kernel picks free ports; we print them. */
	struct listen_list plain = {.n = 1};
	struct sockaddr_in *sin = (struct sockaddr_in *)&plain.addr[0].sa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	plain.addr[0].salen = sizeof *sin;
	snprintf(plain.addr[0].text, sizeof plain.addr[0].text, "127.0.0.1:0");
	struct listen_list tls = plain;
	struct server_limits lim = {
		.input_max = 4096,
		.max_connections = 50,
		.timeout = (unsigned)atoi(argv[3]),
		.shutdown_grace = 3,
		.handshake_timeout = (unsigned)atoi(argv[3]),
	};
	if (server_listen(srv, "plain", &plain, false, &echo_handler, NULL,
	                  &lim, err, sizeof err) != 0 ||
	    server_listen(srv, "tls", &tls, true, &echo_handler, NULL, &lim,
	                  err, sizeof err) != 0) {
		fprintf(stderr, "io_echo: %s\n", err);
		return 1;
	}
	printf("ports %d %d\n", server_listen_port(srv, "plain"),
	       server_listen_port(srv, "tls"));
	fflush(stdout);
	server_run(srv);
	server_free(srv);
	return 0;
}

/* ebbflow-cni native shim: the executable container runtimes run for every
 * CNI call. It does no CNI work itself: it relays the CNI_* environment and
 * the network config on stdin to the node agent's unix socket (framing in
 * src/agent/cni-wire.ts, RAW_MAGIC), where the plugin logic runs, and prints
 * the agent's answer with its exit code. Starting a Node.js process per call
 * costs ~30 ms; this costs ~1 ms. When the agent cannot be reached it answers
 * like the plugin would: VERSION locally, STATUS code 50, others code 11. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_IN (1 << 20)
#define MAX_OUT (4 << 20)

extern char **environ;

static const char *VERSIONS = "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]";

/* json_string_field finds "key": "value" in a JSON text and copies value
 * (escapes other than \" and \\ are kept as they are; the fields read here,
 * a socket path and a version, contain none). Returns 0 when found. */
static int json_string_field(const char *json, const char *key, char *out, size_t outsz)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	for (p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
		const char *q = p + strlen(pat);
		size_t n = 0;

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != ':')
			continue;
		q++;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != '"')
			continue;
		for (q++; *q && *q != '"' && n + 1 < outsz; q++) {
			if (*q == '\\' && q[1])
				q++;
			out[n++] = *q;
		}
		out[n] = 0;
		return *q == '"' ? 0 : -1;
	}
	return -1;
}

static void fail(const char *version, int code, const char *msg, const char *details)
{
	printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"%s\",\"details\":\"%s\"}\n", version, code, msg, details);
	exit(1);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int main(void)
{
	static char in[MAX_IN + 1];
	static char out[MAX_OUT + 1];
	char version[32] = "1.0.0";
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = { 0 };
	const char *command = getenv("CNI_COMMAND");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 120 };
	size_t n = 0, m = 0;
	char **e;
	int fd;

	for (;;) {
		ssize_t r = read(0, in + n, MAX_IN - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) == MAX_IN)
			break;
	}
	in[n] = 0;
	json_string_field(in, "cniVersion", version, sizeof(version));
	if (!command || strcmp(command, "VERSION") != 0) {
		const char *c = in;

		while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
			c++;
		/* Without a JSON object there is no agentSocket to relay to. */
		if (*c != '{')
			fail(version, 6, "failed to decode the network config", "not a JSON object");
	}
	if (json_string_field(in, "agentSocket", sock_path, sizeof(sock_path)) != 0) {
		const char *node = getenv("EBBFLOW_NODE");
		char host[256] = "local";

		if (!node) {
			gethostname(host, sizeof(host) - 1);
			node = host;
		}
		snprintf(sock_path, sizeof(sock_path), "/run/ebbflow/%s/cni.sock", node);
	}
	memcpy(addr.sun_path, sock_path, sizeof(addr.sun_path) - 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (command && strcmp(command, "VERSION") == 0) {
			printf("{\"cniVersion\":\"%s\",\"supportedVersions\":%s}\n", version, VERSIONS);
			return 0;
		}
		if (command && strcmp(command, "STATUS") == 0)
			fail(version, 50, "agent not available", sock_path);
		fail(version, 11, "ebbflow agent not reachable, try again later", sock_path);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write_all(fd, "EBFRAW1\n", 8) < 0)
		fail(version, 11, "ebbflow agent not reachable, try again later", "write");
	for (e = environ; *e; e++) {
		if (strncmp(*e, "CNI_", 4) != 0 || strchr(*e, '\n'))
			continue;
		if (write_all(fd, *e, strlen(*e)) < 0 || write_all(fd, "\n", 1) < 0)
			fail(version, 11, "ebbflow agent not reachable, try again later", "write");
	}
	if (write_all(fd, "\n", 1) < 0 || write_all(fd, in, n) < 0)
		fail(version, 11, "ebbflow agent not reachable, try again later", "write");
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = read(fd, out + m, MAX_OUT - m);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(version, 11, "ebbflow agent did not answer, try again later", strerror(errno));
		if (r == 0 || (m += (size_t)r) == MAX_OUT)
			break;
	}
	out[m] = 0;
	{
		int code;
		char *body;

		if (strncmp(out, "EBFRAW ", 7) != 0 || !(body = strchr(out, '\n')))
			fail(version, 100, "bad answer from the ebbflow agent", "");
		code = atoi(out + 7);
		body++;
		if (*body) {
			fputs(body, stdout);
			if (body[strlen(body) - 1] != '\n')
				fputc('\n', stdout);
		}
		return code;
	}
}

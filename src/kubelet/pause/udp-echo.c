/* ebf-udp: the UDP server and client busybox lacks, for demos and tests in
 * the local busybox image (built statically next to the pause program).
 *   ebf-udp serve PORT [PORT...]      answer every datagram with its payload
 *   ebf-udp probe IP PORT TIMEOUT_MS  send one datagram; exit 0 if it comes
 *                                     back in time, 1 otherwise
 * The server answers from the socket the datagram arrived on, so replies
 * carry the port the client asked (conntrack sees a reply). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 16

static int serve(int argc, char **argv)
{
	struct pollfd fds[MAX_PORTS];
	int n = 0;

	for (int i = 0; i < argc && n < MAX_PORTS; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
		int port = atoi(argv[i]);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (port <= 0 || port > 65535 || fd < 0) {
			fprintf(stderr, "ebf-udp: bad port %s\n", argv[i]);
			return 2;
		}
		a.sin_port = htons((unsigned short)port);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			fprintf(stderr, "ebf-udp: bind %d: %s\n", port, strerror(errno));
			return 1;
		}
		fds[n].fd = fd;
		fds[n].events = POLLIN;
		n++;
	}
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			char buf[2048];
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t r;

			if (!(fds[i].revents & POLLIN))
				continue;
			r = recvfrom(fds[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (r >= 0)
				sendto(fds[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
		}
	}
}

static int probe(const char *ip, const char *port, const char *timeout)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct pollfd p;
	char buf[64];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_port = htons((unsigned short)atoi(port));
	if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "ebf-udp: bad address %s\n", ip);
		return 2;
	}
	/* A connected socket: only the peer's answer is received, and an ICMP
	 * unreachable fails the recv at once instead of waiting. */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || send(fd, "ebf-udp", 7, 0) != 7)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, atoi(timeout)) != 1)
		return 1;
	return recv(fd, buf, sizeof(buf), 0) == 7 && memcmp(buf, "ebf-udp", 7) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 2, argv + 2);
	if (argc == 5 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: ebf-udp serve PORT [PORT...] | ebf-udp probe IP PORT TIMEOUT_MS\n");
	return 2;
}

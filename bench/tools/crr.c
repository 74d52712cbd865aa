// crr: a TCP connect/request/response/close load generator and server for
// the Service load-balancing benchmark (netperf TCP_CRR style).
//
//   crr server --port P [--threads N] [--bind ADDR]
//   crr client --target IP:PORT[,IP:PORT...] --count N --duration-ms D
//              --concurrency C [--timeout-ms T] [--json]
//
// The client closes every connection with SO_LINGER 0 (RST), and the server
// waits for that close before closing its side, so neither end keeps
// TIME_WAIT state and back-to-back runs do not exhaust 4-tuples.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 65536
#define MAX_THREADS 256
#define MAX_SAMPLES_PER_THREAD (1u << 21)

static const char REQUEST[] = "GET / HTTP/1.1\r\nHost: crr\r\n\r\n";
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

static void die(const char *what) {
  fprintf(stderr, "crr: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *arg_value(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 2; i < argc - 1; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

static int arg_flag(int argc, char **argv, const char *name) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

static long arg_long(int argc, char **argv, const char *name, long dflt, long min, long max) {
  const char *v = arg_value(argc, argv, name, NULL);
  if (v == NULL) return dflt;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end != '\0' || n < min || n > max) {
    fprintf(stderr, "crr: %s must be an integer in [%ld, %ld]\n", name, min, max);
    exit(2);
  }
  return n;
}

/* ---------------------------------------------------------------- server */

struct server_cfg {
  struct sockaddr_in addr;
};

static void *server_thread(void *p) {
  struct server_cfg *cfg = p;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One listener per thread: the kernel spreads new connections over them.
  if (setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
  if (bind(ls, (struct sockaddr *)&cfg->addr, sizeof cfg->addr) < 0) die("bind");
  if (listen(ls, 4096) < 0) die("listen");
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) die("epoll_ctl");
  struct epoll_event evs[256];
  char buf[2048];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        for (;;) {
          int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) close(c);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        // Requests are one small segment: answer on the first bytes, then
        // wait for the client's close (EOF or RST) before closing.
        if (write(fd, RESPONSE, sizeof RESPONSE - 1) < 0) close(fd);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(fd);  // close() also removes fd from the epoll set
      }
    }
  }
  return NULL;
}

static int run_server(int argc, char **argv) {
  long port = arg_long(argc, argv, "--port", -1, 1, 65535);
  if (port < 0) {
    fprintf(stderr, "crr server: --port is required\n");
    return 2;
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  long threads = arg_long(argc, argv, "--threads", ncpu > 0 ? ncpu : 1, 1, MAX_THREADS);
  static struct server_cfg cfg;
  cfg.addr.sin_family = AF_INET;
  cfg.addr.sin_port = htons((uint16_t)port);
  const char *bind_ip = arg_value(argc, argv, "--bind", "0.0.0.0");
  if (inet_pton(AF_INET, bind_ip, &cfg.addr.sin_addr) != 1) {
    fprintf(stderr, "crr server: bad --bind %s\n", bind_ip);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  pthread_t tids[MAX_THREADS];
  for (long i = 0; i < threads; i++)
    if (pthread_create(&tids[i], NULL, server_thread, &cfg) != 0) die("pthread_create");
  fprintf(stdout, "listening %s:%ld threads=%ld\n", bind_ip, port, threads);
  fflush(stdout);
  for (long i = 0; i < threads; i++) pthread_join(tids[i], NULL);
  return 0;
}

/* ---------------------------------------------------------------- client */

struct client_shared {
  struct sockaddr_in targets[MAX_TARGETS];
  int ntargets;
  uint64_t count;
  uint64_t deadline_ns;
  int timeout_ms;
  atomic_uint_fast64_t next;  // connection ticket: bounds the count and picks the target
};

struct client_thread {
  struct client_shared *sh;
  pthread_t tid;
  uint64_t ok, errors, connect_errors, timeouts, dropped;
  uint32_t *connect_us, *crr_us;
  uint32_t nsamples, cap;
};

static int one_connection(struct client_shared *sh, const struct sockaddr_in *dst, uint32_t *connect_us,
                          uint32_t *crr_us, int *timed_out) {
  *timed_out = 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  struct timeval tv = {.tv_sec = sh->timeout_ms / 1000, .tv_usec = (sh->timeout_ms % 1000) * 1000};
  // SO_SNDTIMEO bounds a blocking connect(), SO_RCVTIMEO the response wait.
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint64_t t0 = now_ns();
  if (connect(s, (const struct sockaddr *)dst, sizeof *dst) < 0) {
    *timed_out = errno == EINPROGRESS || errno == EAGAIN || errno == ETIMEDOUT;
    close(s);
    return -2;
  }
  uint64_t t1 = now_ns();
  if (send(s, REQUEST, sizeof REQUEST - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof REQUEST - 1)) {
    close(s);
    return -1;
  }
  char buf[512];
  size_t got = 0, want = sizeof RESPONSE - 1;
  while (got < want) {
    ssize_t r = recv(s, buf + got, sizeof buf - got, 0);
    if (r <= 0) {
      *timed_out = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      close(s);
      return -1;
    }
    got += (size_t)r;
  }
  uint64_t t2 = now_ns();
  close(s);  // linger 0: RST, no TIME_WAIT
  *connect_us = (uint32_t)((t1 - t0) / 1000);
  *crr_us = (uint32_t)((t2 - t0) / 1000);
  return 0;
}

static void *client_thread_main(void *p) {
  struct client_thread *ct = p;
  struct client_shared *sh = ct->sh;
  for (;;) {
    uint64_t ticket = atomic_fetch_add(&sh->next, 1);
    if (ticket >= sh->count || now_ns() >= sh->deadline_ns) break;
    const struct sockaddr_in *dst = &sh->targets[ticket % (uint64_t)sh->ntargets];
    uint32_t c_us = 0, r_us = 0;
    int timed_out = 0;
    int rc = one_connection(sh, dst, &c_us, &r_us, &timed_out);
    if (rc == 0) {
      ct->ok++;
      if (ct->nsamples < ct->cap) {
        ct->connect_us[ct->nsamples] = c_us;
        ct->crr_us[ct->nsamples] = r_us;
        ct->nsamples++;
      } else {
        ct->dropped++;
      }
    } else {
      ct->errors++;
      if (rc == -2) ct->connect_errors++;
      if (timed_out) ct->timeouts++;
    }
  }
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t percentile(const uint32_t *sorted, uint64_t n, double q) {
  if (n == 0) return 0;
  uint64_t i = (uint64_t)(q * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

static int parse_targets(struct client_shared *sh, const char *list) {
  char *copy = strdup(list), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (sh->ntargets >= MAX_TARGETS) break;
    char *colon = strrchr(tok, ':');
    if (!colon) goto bad;
    *colon = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) goto bad;
    struct sockaddr_in *a = &sh->targets[sh->ntargets];
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, tok, &a->sin_addr) != 1) goto bad;
    sh->ntargets++;
  }
  free(copy);
  return sh->ntargets > 0 ? 0 : -1;
bad:
  fprintf(stderr, "crr client: bad target in --target\n");
  free(copy);
  return -1;
}

static int run_client(int argc, char **argv) {
  const char *targets = arg_value(argc, argv, "--target", NULL);
  if (!targets) {
    fprintf(stderr, "crr client: --target is required\n");
    return 2;
  }
  static struct client_shared sh;
  if (parse_targets(&sh, targets) < 0) return 2;
  sh.count = (uint64_t)arg_long(argc, argv, "--count", 10000, 1, 1000000000L);
  long duration_ms = arg_long(argc, argv, "--duration-ms", 10000, 1, 3600000L);
  long conc = arg_long(argc, argv, "--concurrency", 1, 1, MAX_THREADS);
  sh.timeout_ms = (int)arg_long(argc, argv, "--timeout-ms", 1000, 1, 60000);
  int json = arg_flag(argc, argv, "--json");
  signal(SIGPIPE, SIG_IGN);

  uint64_t per = sh.count / (uint64_t)conc + 1;
  uint32_t cap = per < MAX_SAMPLES_PER_THREAD ? (uint32_t)per : MAX_SAMPLES_PER_THREAD;
  struct client_thread *cts = calloc((size_t)conc, sizeof *cts);
  if (!cts) die("calloc");
  uint64_t start = now_ns();
  sh.deadline_ns = start + (uint64_t)duration_ms * 1000000ull;
  for (long i = 0; i < conc; i++) {
    cts[i].sh = &sh;
    // Allow for uneven ticket sharing between threads: each may take up to 2x its share.
    cts[i].cap = cap * 2 < MAX_SAMPLES_PER_THREAD ? cap * 2 : MAX_SAMPLES_PER_THREAD;
    cts[i].connect_us = malloc(sizeof(uint32_t) * cts[i].cap);
    cts[i].crr_us = malloc(sizeof(uint32_t) * cts[i].cap);
    if (!cts[i].connect_us || !cts[i].crr_us) die("malloc");
    if (pthread_create(&cts[i].tid, NULL, client_thread_main, &cts[i]) != 0) die("pthread_create");
  }
  uint64_t ok = 0, errors = 0, connect_errors = 0, timeouts = 0, dropped = 0, nsamples = 0;
  for (long i = 0; i < conc; i++) {
    pthread_join(cts[i].tid, NULL);
    ok += cts[i].ok;
    errors += cts[i].errors;
    connect_errors += cts[i].connect_errors;
    timeouts += cts[i].timeouts;
    dropped += cts[i].dropped;
    nsamples += cts[i].nsamples;
  }
  double seconds = (double)(now_ns() - start) / 1e9;
  uint32_t *conn = malloc(sizeof(uint32_t) * (nsamples ? nsamples : 1));
  uint32_t *crr = malloc(sizeof(uint32_t) * (nsamples ? nsamples : 1));
  if (!conn || !crr) die("malloc");
  uint64_t k = 0;
  for (long i = 0; i < conc; i++) {
    memcpy(conn + k, cts[i].connect_us, sizeof(uint32_t) * cts[i].nsamples);
    memcpy(crr + k, cts[i].crr_us, sizeof(uint32_t) * cts[i].nsamples);
    k += cts[i].nsamples;
  }
  qsort(conn, nsamples, sizeof(uint32_t), cmp_u32);
  qsort(crr, nsamples, sizeof(uint32_t), cmp_u32);
  double rate = seconds > 0 ? (double)ok / seconds : 0;
  if (json) {
    printf("{\"connections\":%llu,\"errors\":%llu,\"connect_errors\":%llu,\"timeouts\":%llu,"
           "\"seconds\":%.3f,\"rate\":%.1f,\"connect_p50_us\":%u,\"connect_p99_us\":%u,"
           "\"crr_p50_us\":%u,\"crr_p99_us\":%u,\"samples\":%llu,\"samples_dropped\":%llu,"
           "\"targets\":%d,\"concurrency\":%ld}\n",
           (unsigned long long)ok, (unsigned long long)errors, (unsigned long long)connect_errors,
           (unsigned long long)timeouts, seconds, rate, percentile(conn, nsamples, 0.50),
           percentile(conn, nsamples, 0.99), percentile(crr, nsamples, 0.50), percentile(crr, nsamples, 0.99),
           (unsigned long long)nsamples, (unsigned long long)dropped, sh.ntargets, conc);
  } else {
    printf("connections %llu errors %llu (connect %llu, timeouts %llu) in %.3f s: %.1f conn/s\n"
           "connect p50 %u us p99 %u us; connect+request+response p50 %u us p99 %u us\n",
           (unsigned long long)ok, (unsigned long long)errors, (unsigned long long)connect_errors,
           (unsigned long long)timeouts, seconds, rate, percentile(conn, nsamples, 0.50),
           percentile(conn, nsamples, 0.99), percentile(crr, nsamples, 0.50), percentile(crr, nsamples, 0.99));
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "server") == 0) return run_server(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "client") == 0) return run_client(argc, argv);
  fprintf(stderr,
          "usage: crr server --port P [--threads N] [--bind ADDR]\n"
          "       crr client --target IP:PORT[,IP:PORT...] --count N --duration-ms D --concurrency C\n"
          "                  [--timeout-ms T] [--json]\n");
  return 2;
}

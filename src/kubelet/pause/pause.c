/* ebbflow pause: the process that holds a pod sandbox's namespaces. Sleeps
 * until SIGTERM or SIGINT, exits 0 then; reaps any zombie re-parented to it
 * (it is PID 1 of the pod when the PID namespace is shared). Static, no libc
 * features beyond signals. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  struct sigaction sa;
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    static const char v[] = "ebbflow-pause 1\n";
    write(1, v, sizeof(v) - 1);
    return 0;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) return 1;
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &sa, NULL) < 0) return 2;
  for (;;) pause();
}

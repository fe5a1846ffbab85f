/* The kernel floor for an HTTP/1.1 keep-alive load: one epoll loop, prebuilt request bytes, one
 * send and one recv per response, no parsing beyond the first response's length, no stats.
 * Closed loop by default; with RATE > 0, request k is due at t0 + k/RATE and a timerfd armed for
 * the exact due instant sends it on a free connection (one wake per send, one per response).
 * Usage: floor PORT CONNS SECONDS [RATE]     Prints: "<completed> requests <late> late-sends". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>
static const char REQ[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int port = atoi(argv[1]), n = atoi(argv[2]), ep = epoll_create1(0), tfd = -1, one = 1, nfree = 0;
  double secs = atof(argv[3]), rate = argc > 4 ? atof(argv[4]) : 0, t0, end;
  long done = 0, k = 0, late = 0, resp_len = 0, *got = calloc(n, sizeof(long));
  int *freel = calloc(n, sizeof(int)), *fds = calloc(n, sizeof(int)); char buf[65536]; struct epoll_event ev, evs[256];
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  for (int i = 0; i < n; i++) {
    int s = fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ev.events = EPOLLIN; ev.data.u32 = i; epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    if (rate > 0) freel[nfree++] = s; else write(s, REQ, sizeof REQ - 1);
  }
  t0 = now(), end = t0 + secs; /* the clock starts once every connection is open */
  if (rate > 0) {
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ev.events = EPOLLIN; ev.data.u32 = n; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  }
  for (;;) {
    if (rate > 0) { /* send everything due, then arm the timer for the next due instant */
      double t = now();
      for (; t0 + k / rate <= t && nfree > 0 && t0 + k / rate < end; k++, nfree--) {
        if (t - (t0 + k / rate) > 100e-6) late++;
        write(freel[nfree - 1], REQ, sizeof REQ - 1);
      }
      double due = t0 + k / rate; struct itimerspec its = {0}; /* disarmed while none is free */
      if (nfree) { its.it_value.tv_sec = (time_t)due; its.it_value.tv_nsec = (long)((due - (time_t)due) * 1e9); }
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int m = epoll_wait(ep, evs, 256, 100);
    if (now() >= end) break;
    for (int e = 0; e < m; e++) {
      int i = evs[e].data.u32, s = i < n ? fds[i] : tfd;
      if (i == n) { long x; read(tfd, &x, sizeof x); continue; }
      long r = read(s, buf, sizeof buf - 1);
      if (r <= 0) { fprintf(stderr, "connection %d closed\n", i); return 1; }
      buf[r > 0 ? r : 0] = 0;
      if (!resp_len) { char *h = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
        resp_len = (h - buf) + 4 + (cl ? atol(cl + 15) : 0); }
      if ((got[i] += r) < resp_len) continue;
      got[i] -= resp_len; done++;
      if (rate > 0) freel[nfree++] = s; else write(s, REQ, sizeof REQ - 1);
    }
  }
  printf("%ld requests %ld late-sends %.3f seconds\n", done, late, now() - t0);
  return 0;
}

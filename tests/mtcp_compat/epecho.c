/* An epoll echo server and client written the way mTCP applications are (mtcp_init, a thread
 * per core with mtcp_core_affinitize and mtcp_create_context, non-blocking sockets, an
 * edge-triggered mtcp_epoll loop), built against include/mtcp_api.h and mtcp_epoll.h only.
 *
 * Core 0 runs the server, core 1 the client; the client opens -c connections, sends -m
 * messages on each, and checks that every echoed byte is what it sent. Exit status 0 when
 * everything came back, 1 otherwise.
 *
 *   mtcp_epecho -f epecho.conf [-c CONNECTIONS] [-m MESSAGES] [-s SERVER_IP] */
#include <arpa/inet.h>
#include <errno.h>
#include <mtcp_api.h>
#include <mtcp_epoll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOW_NUM 4096
#define MAX_EVENTS 1024
#define PORT 8080
#define MSG_LEN 1200

static int g_conns = 100, g_msgs = 10;
static const char *g_server = "10.0.0.1";
static atomic_int done;
static atomic_int server_ready;

static void SignalHandler(int signum) {
  (void)signum;
  done = 1;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------- server ---------------- */

struct server_vars {
  char buf[MSG_LEN * 4];
  int len;
};

static struct server_vars svars[MAX_FLOW_NUM];
static atomic_int server_closed;

static void CloseConnection(mctx_t mctx, int ep, int sockid) {
  mtcp_epoll_ctl(mctx, ep, MTCP_EPOLL_CTL_DEL, sockid, NULL);
  mtcp_close(mctx, sockid);
  server_closed++;
}

static int HandleReadEvent(mctx_t mctx, int ep, int sockid) {
  struct server_vars *sv = &svars[sockid];
  for (;;) {
    int rd = (int)mtcp_read(mctx, sockid, sv->buf, sizeof(sv->buf));
    if (rd == 0) {
      CloseConnection(mctx, ep, sockid);
      return 0;
    }
    if (rd < 0) {
      if (errno == EAGAIN) return 0;
      CloseConnection(mctx, ep, sockid);
      return -1;
    }
    int off = 0;
    while (off < rd) {
      int wr = (int)mtcp_write(mctx, sockid, sv->buf + off, (size_t)(rd - off));
      if (wr < 0) {
        if (errno != EAGAIN) return -1;
        continue; /* the echo is small; the send buffer frees quickly */
      }
      off += wr;
    }
  }
}

static int AcceptConnection(mctx_t mctx, int ep, int listener) {
  int c = mtcp_accept(mctx, listener, NULL, NULL);
  if (c < 0) return -1;
  if (c >= MAX_FLOW_NUM) {
    mtcp_close(mctx, c);
    return 0;
  }
  struct mtcp_epoll_event ev;
  ev.events = MTCP_EPOLLIN | MTCP_EPOLLET;
  ev.data.sockid = c;
  mtcp_setsock_nonblock(mctx, c);
  mtcp_epoll_ctl(mctx, ep, MTCP_EPOLL_CTL_ADD, c, &ev);
  return c;
}

static void *RunServerThread(void *arg) {
  int core = *(int *)arg;
  mtcp_core_affinitize(core);
  mctx_t mctx = mtcp_create_context(core);
  if (!mctx) {
    fprintf(stderr, "Failed to create mtcp context!\n");
    server_ready = -1;
    return NULL;
  }
  int ep = mtcp_epoll_create(mctx, MAX_EVENTS);
  struct mtcp_epoll_event *events = calloc(MAX_EVENTS, sizeof(struct mtcp_epoll_event));
  int listener = mtcp_socket(mctx, AF_INET, SOCK_STREAM, 0);
  mtcp_setsock_nonblock(mctx, listener);
  struct sockaddr_in saddr;
  memset(&saddr, 0, sizeof saddr);
  saddr.sin_family = AF_INET;
  saddr.sin_addr.s_addr = INADDR_ANY;
  saddr.sin_port = htons(PORT);
  if (mtcp_bind(mctx, listener, (struct sockaddr *)&saddr, sizeof(struct sockaddr_in)) < 0 ||
      mtcp_listen(mctx, listener, 4096) < 0) {
    fprintf(stderr, "Failed to listen: %s\n", strerror(errno));
    server_ready = -1;
    return NULL;
  }
  struct mtcp_epoll_event ev;
  ev.events = MTCP_EPOLLIN | MTCP_EPOLLET;
  ev.data.sockid = listener;
  mtcp_epoll_ctl(mctx, ep, MTCP_EPOLL_CTL_ADD, listener, &ev);
  server_ready = 1;

  while (!done) {
    int nevents = mtcp_epoll_wait(mctx, ep, events, MAX_EVENTS, 100);
    if (nevents < 0) {
      if (errno != EINTR) perror("mtcp_epoll_wait");
      break;
    }
    int do_accept = 0;
    for (int i = 0; i < nevents; i++) {
      if (events[i].data.sockid == listener) {
        do_accept = 1;
      } else if (events[i].events & MTCP_EPOLLERR) {
        CloseConnection(mctx, ep, events[i].data.sockid);
      } else if (events[i].events & MTCP_EPOLLIN) {
        HandleReadEvent(mctx, ep, events[i].data.sockid);
      }
    }
    if (do_accept)
      while (AcceptConnection(mctx, ep, listener) >= 0) {
      }
  }
  mtcp_close(mctx, listener);
  mtcp_close(mctx, ep);
  free(events);
  mtcp_destroy_context(mctx);
  return NULL;
}

/* ---------------- client ---------------- */

struct client_vars {
  int connected;
  int msgs_done;
  int sent, recvd; /* bytes of the current message */
};

static struct client_vars cvars[MAX_FLOW_NUM];
static int client_failed;

static char MessageByte(int sockid, int msg, int i) {
  return (char)('a' + (sockid * 7 + msg * 3 + i) % 26);
}

static void SendMessage(mctx_t mctx, int sockid) {
  struct client_vars *cv = &cvars[sockid];
  char buf[MSG_LEN];
  for (int i = 0; i < MSG_LEN; i++) buf[i] = MessageByte(sockid, cv->msgs_done, i);
  while (cv->sent < MSG_LEN) {
    int wr = (int)mtcp_write(mctx, sockid, buf + cv->sent, (size_t)(MSG_LEN - cv->sent));
    if (wr < 0) return; /* EAGAIN: the rest goes on the next event */
    cv->sent += wr;
  }
}

static void *RunClientThread(void *arg) {
  int core = *(int *)arg;
  while (server_ready == 0) usleep(1000);
  if (server_ready < 0) {
    client_failed = 1;
    return NULL;
  }
  mtcp_core_affinitize(core);
  mctx_t mctx = mtcp_create_context(core);
  if (!mctx) {
    client_failed = 1;
    return NULL;
  }
  struct sockaddr_in daddr;
  memset(&daddr, 0, sizeof daddr);
  daddr.sin_family = AF_INET;
  daddr.sin_addr.s_addr = inet_addr(g_server);
  daddr.sin_port = htons(PORT);
  mtcp_init_rss(mctx, INADDR_ANY, 1, daddr.sin_addr.s_addr, daddr.sin_port);
  int ep = mtcp_epoll_create(mctx, MAX_EVENTS);
  struct mtcp_epoll_event *events = calloc(MAX_EVENTS, sizeof(struct mtcp_epoll_event));
  for (int i = 0; i < g_conns; i++) {
    int sockid = mtcp_socket(mctx, AF_INET, SOCK_STREAM, 0);
    if (sockid < 0 || sockid >= MAX_FLOW_NUM) {
      client_failed = 1;
      break;
    }
    memset(&cvars[sockid], 0, sizeof cvars[sockid]);
    mtcp_setsock_nonblock(mctx, sockid);
    if (mtcp_connect(mctx, sockid, (struct sockaddr *)&daddr, sizeof daddr) < 0 &&
        errno != EINPROGRESS) {
      perror("mtcp_connect");
      client_failed = 1;
      break;
    }
    struct mtcp_epoll_event ev;
    ev.events = MTCP_EPOLLOUT | MTCP_EPOLLIN | MTCP_EPOLLET;
    ev.data.sockid = sockid;
    mtcp_epoll_ctl(mctx, ep, MTCP_EPOLL_CTL_ADD, sockid, &ev);
  }
  int finished = 0;
  long start = now_ms();
  while (!client_failed && finished < g_conns && now_ms() - start < 60000) {
    int nevents = mtcp_epoll_wait(mctx, ep, events, MAX_EVENTS, 100);
    if (nevents < 0) {
      client_failed = 1;
      break;
    }
    for (int i = 0; i < nevents; i++) {
      int sockid = events[i].data.sockid;
      struct client_vars *cv = &cvars[sockid];
      if (events[i].events & MTCP_EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        mtcp_getsockopt(mctx, sockid, SOL_SOCKET, SO_ERROR, &err, &len);
        fprintf(stderr, "connection %d: %s\n", sockid, strerror(err));
        client_failed = 1;
        break;
      }
      if (!cv->connected && (events[i].events & MTCP_EPOLLOUT)) cv->connected = 1;
      if (!cv->connected) continue;
      SendMessage(mctx, sockid);
      char buf[MSG_LEN];
      for (;;) {
        int rd = (int)mtcp_read(mctx, sockid, buf, (size_t)(cv->sent - cv->recvd));
        if (rd <= 0) break;
        for (int k = 0; k < rd; k++)
          if (buf[k] != MessageByte(sockid, cv->msgs_done, cv->recvd + k)) client_failed = 1;
        cv->recvd += rd;
        if (cv->recvd == MSG_LEN) {
          cv->msgs_done++;
          cv->sent = cv->recvd = 0;
          if (cv->msgs_done == g_msgs) {
            mtcp_close(mctx, sockid);
            finished++;
            break;
          }
          SendMessage(mctx, sockid);
        }
      }
    }
  }
  if (finished != g_conns) client_failed = 1;
  printf("client: %d of %d connections echoed %d messages of %d bytes\n", finished, g_conns,
         g_msgs, MSG_LEN);
  /* Give the last FINs time to reach the server before this stack goes away. */
  long end = now_ms();
  while (server_closed < finished && now_ms() - end < 10000)
    mtcp_epoll_wait(mctx, ep, events, MAX_EVENTS, 10);
  mtcp_close(mctx, ep);
  free(events);
  mtcp_destroy_context(mctx);
  done = 1;
  return NULL;
}

int main(int argc, char **argv) {
  const char *conf_file = NULL;
  int o;
  while ((o = getopt(argc, argv, "f:c:m:s:")) != -1) {
    switch (o) {
      case 'f': conf_file = optarg; break;
      case 'c': g_conns = atoi(optarg); break;
      case 'm': g_msgs = atoi(optarg); break;
      case 's': g_server = optarg; break;
      default:
        fprintf(stderr, "usage: %s -f CONF [-c CONNS] [-m MSGS] [-s SERVER_IP]\n", argv[0]);
        return 2;
    }
  }
  if (g_conns <= 0 || g_conns > MAX_FLOW_NUM / 2 || g_msgs <= 0) {
    fprintf(stderr, "bad -c or -m\n");
    return 2;
  }
  if (mtcp_init(conf_file) < 0) {
    fprintf(stderr, "Failed to initialize mtcp\n");
    return 1;
  }
  struct mtcp_conf mcfg;
  mtcp_getconf(&mcfg);
  if (mcfg.num_cores < 2) {
    fprintf(stderr, "need num_cores >= 2 in %s\n", conf_file ? conf_file : "(defaults)");
    mtcp_destroy();
    return 1;
  }
  mcfg.num_cores = 2;
  if (mtcp_setconf(&mcfg) < 0) {
    fprintf(stderr, "mtcp_setconf failed\n");
    mtcp_destroy();
    return 1;
  }
  mtcp_register_signal(SIGINT, SignalHandler);

  pthread_t server, client;
  int cores[2] = {0, 1};
  pthread_create(&server, NULL, RunServerThread, &cores[0]);
  pthread_create(&client, NULL, RunClientThread, &cores[1]);
  pthread_join(client, NULL);
  done = 1;
  pthread_join(server, NULL);
  mtcp_destroy();
  printf("server: %d connections closed\n", server_closed);
  if (client_failed || server_closed != g_conns) {
    fprintf(stderr, "FAILED\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}

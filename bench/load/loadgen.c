/*
 * The bench load generator: thousands of clients on one epoll loop, so that the clients'
 * own cost is small and equal for every server under test (a Node client spends more per
 * message than the servers being measured). It speaks WebSocket (wirecam JSON and
 * MessagePack, plain ws peers, NATS over WebSocket, Socket.IO/Engine.IO v4) and plain TCP
 * lines. For each camera_update it counts the message, records the latency from the
 * timestamp the message carries, and remembers the client's last seq per camera.
 *
 * Usage: loadgen KIND HOST PORT CLIENTS PATH MIX SUBJECT
 *   KIND: wirecam | ws | tcp | nats | socketio;  MIX: 1 alternates JSON and MessagePack (wirecam)
 * stdin, one command per line; stdout, one JSON line per command:
 *   reset | report | final NAME=SEQ ... | quit
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CAMERAS 256
#define BUCKETS 600000 /* 0.1 ms buckets: one minute */

enum kind { K_WIRECAM, K_WS, K_TCP, K_NATS, K_SOCKETIO };

struct client {
  int fd;
  int connected;   /* TCP connected */
  int upgraded;    /* WebSocket handshake done (or plain TCP) */
  int closed;
  int msgpack;
  unsigned char *buf;
  size_t len, cap;
  char *text; /* NATS: protocol text carried across WebSocket frames */
  size_t text_len, text_cap;
  int64_t last_seq[MAX_CAMERAS];
};

static enum kind kind;
static const char *host, *path, *subject;
static int port, nclients, mix;
static struct client *clients;
static int epfd;
static uint32_t *hist;
static uint64_t messages, hist_count;
static double hist_max, window_start;
static int closed_count, connected_count;
static char camera_names[MAX_CAMERAS][72];
static int camera_count;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int camera_index(const char *name, size_t len) {
  for (int i = 0; i < camera_count; i++)
    if (strlen(camera_names[i]) == len && memcmp(camera_names[i], name, len) == 0) return i;
  if (camera_count == MAX_CAMERAS || len >= sizeof camera_names[0]) return -1;
  memcpy(camera_names[camera_count], name, len);
  camera_names[camera_count][len] = 0;
  return camera_count++;
}

static void record(struct client *c, const char *camera, size_t camera_len, int64_t seq, int64_t timestamp, double at) {
  int index = camera_index(camera, camera_len);
  if (index < 0) return;
  c->last_seq[index] = seq;
  messages++;
  double latency = at - (double)timestamp;
  long bucket = (long)(latency / 0.1);
  if (bucket < 0) bucket = 0;
  if (bucket >= BUCKETS) bucket = BUCKETS - 1;
  hist[bucket]++;
  hist_count++;
  if (latency > hist_max) hist_max = latency;
}

/* ---- JSON: only the three fields we need, found by key ---- */

static const char *find_key(const char *s, size_t n, const char *key) {
  size_t k = strlen(key);
  const char *end = s + n;
  for (const char *p = s; p + k <= end; p++) {
    p = memchr(p, key[0], end - p);
    if (!p || p + k > end) return NULL;
    if (memcmp(p, key, k) == 0) return p + k;
  }
  return NULL;
}

static void handle_json(struct client *c, const char *s, size_t n, double at) {
  if (!find_key(s, n, "\"type\":\"camera_update\"")) return;
  const char *cam = find_key(s, n, "\"camera\":\"");
  const char *seq = find_key(s, n, "\"seq\":");
  const char *ts = find_key(s, n, "\"timestamp\":");
  if (!cam || !seq || !ts) return;
  const char *cam_end = memchr(cam, '"', s + n - cam);
  if (!cam_end) return;
  record(c, cam, cam_end - cam, strtoll(seq, NULL, 10), strtoll(ts, NULL, 10), at);
}

/* ---- MessagePack: a reader for maps of strings, numbers, arrays ---- */

struct mp {
  const unsigned char *p, *end;
  int bad;
};

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

static int need(struct mp *m, size_t n) {
  if ((size_t)(m->end - m->p) < n) {
    m->bad = 1;
    return 0;
  }
  return 1;
}

/* Reads an integer if the next value is one; skips any other value. */
static int mp_value(struct mp *m, int64_t *integer, const char **str, size_t *str_len);

static void mp_skip_n(struct mp *m, uint64_t count) {
  for (uint64_t i = 0; i < count && !m->bad; i++) mp_value(m, NULL, NULL, NULL);
}

static int mp_value(struct mp *m, int64_t *integer, const char **str, size_t *str_len) {
  if (!need(m, 1)) return 0;
  unsigned char t = *m->p++;
  int64_t v = 0;
  size_t len = 0;
  if (t <= 0x7f) { v = t; goto is_int; }
  if (t >= 0xe0) { v = (int8_t)t; goto is_int; }
  if ((t & 0xe0) == 0xa0) { len = t & 0x1f; goto is_str; }
  if ((t & 0xf0) == 0x80) { mp_skip_n(m, 2 * (uint64_t)(t & 0x0f)); return 0; }
  if ((t & 0xf0) == 0x90) { mp_skip_n(m, t & 0x0f); return 0; }
  switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return 0;
    case 0xcc: if (!need(m, 1)) return 0; v = m->p[0]; m->p += 1; goto is_int;
    case 0xcd: if (!need(m, 2)) return 0; v = be(m->p, 2); m->p += 2; goto is_int;
    case 0xce: if (!need(m, 4)) return 0; v = be(m->p, 4); m->p += 4; goto is_int;
    case 0xcf: if (!need(m, 8)) return 0; v = (int64_t)be(m->p, 8); m->p += 8; goto is_int;
    case 0xd0: if (!need(m, 1)) return 0; v = (int8_t)m->p[0]; m->p += 1; goto is_int;
    case 0xd1: if (!need(m, 2)) return 0; v = (int16_t)be(m->p, 2); m->p += 2; goto is_int;
    case 0xd2: if (!need(m, 4)) return 0; v = (int32_t)be(m->p, 4); m->p += 4; goto is_int;
    case 0xd3: if (!need(m, 8)) return 0; v = (int64_t)be(m->p, 8); m->p += 8; goto is_int;
    case 0xca: if (need(m, 4)) m->p += 4; return 0;
    case 0xcb: if (need(m, 8)) m->p += 8; return 0;
    case 0xd9: if (!need(m, 1)) return 0; len = m->p[0]; m->p += 1; goto is_str;
    case 0xda: if (!need(m, 2)) return 0; len = be(m->p, 2); m->p += 2; goto is_str;
    case 0xdc: if (!need(m, 2)) return 0; { uint64_t n = be(m->p, 2); m->p += 2; mp_skip_n(m, n); } return 0;
    case 0xde: if (!need(m, 2)) return 0; { uint64_t n = be(m->p, 2); m->p += 2; mp_skip_n(m, 2 * n); } return 0;
    default: m->bad = 1; return 0;
  }
is_int:
  if (integer) *integer = v;
  return 1;
is_str:
  if (!need(m, len)) return 0;
  if (str) { *str = (const char *)m->p; *str_len = len; }
  m->p += len;
  return 2;
}

static void handle_msgpack(struct client *c, const unsigned char *p, size_t n, double at) {
  struct mp m = {p, p + n, 0};
  if (!need(&m, 1)) return;
  unsigned char t = *m.p++;
  uint64_t pairs;
  if ((t & 0xf0) == 0x80) pairs = t & 0x0f;
  else if (t == 0xde && need(&m, 2)) { pairs = be(m.p, 2); m.p += 2; }
  else return;
  const char *camera = NULL, *type = NULL;
  size_t camera_len = 0, type_len = 0;
  int64_t seq = -1, ts = -1;
  for (uint64_t i = 0; i < pairs && !m.bad; i++) {
    const char *key = NULL;
    size_t key_len = 0;
    if (mp_value(&m, NULL, &key, &key_len) != 2) return;
    int64_t integer = 0;
    const char *str = NULL;
    size_t str_len = 0;
    int got = mp_value(&m, &integer, &str, &str_len);
    if (key_len == 4 && memcmp(key, "type", 4) == 0 && got == 2) { type = str; type_len = str_len; }
    else if (key_len == 6 && memcmp(key, "camera", 6) == 0 && got == 2) { camera = str; camera_len = str_len; }
    else if (key_len == 3 && memcmp(key, "seq", 3) == 0 && got == 1) seq = integer;
    else if (key_len == 9 && memcmp(key, "timestamp", 9) == 0 && got == 1) ts = integer;
  }
  if (m.bad || !type || type_len != 13 || memcmp(type, "camera_update", 13) != 0 || !camera || seq < 0) return;
  record(c, camera, camera_len, seq, ts, at);
}

/* ---- WebSocket ---- */

static void send_all(struct client *c, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue; /* tiny control frames: spin */
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Client frames are masked; an all-zero mask leaves the payload as it is. */
static void ws_send(struct client *c, int opcode, const char *payload, size_t n) {
  unsigned char frame[4096];
  size_t at = 0;
  if (n > sizeof frame - 14) return;
  frame[at++] = 0x80 | opcode;
  if (n < 126) frame[at++] = 0x80 | n;
  else { frame[at++] = 0x80 | 126; frame[at++] = n >> 8; frame[at++] = n & 0xff; }
  memset(frame + at, 0, 4);
  at += 4;
  memcpy(frame + at, payload, n);
  send_all(c, frame, at + n);
}

static void nats_text(struct client *c, const char *data, size_t n, double at) {
  if (c->text_len + n > c->text_cap) {
    c->text_cap = (c->text_len + n) * 2;
    c->text = realloc(c->text, c->text_cap);
  }
  memcpy(c->text + c->text_len, data, n);
  c->text_len += n;
  size_t pos = 0;
  for (;;) {
    char *line_end = memmem(c->text + pos, c->text_len - pos, "\r\n", 2);
    if (!line_end) break;
    size_t line_len = line_end - (c->text + pos);
    if (line_len > 4 && memcmp(c->text + pos, "MSG ", 4) == 0) {
      const char *last_space = memrchr(c->text + pos, ' ', line_len);
      size_t size = strtoul(last_space + 1, NULL, 10);
      size_t payload_at = pos + line_len + 2;
      if (c->text_len < payload_at + size + 2) break;
      handle_json(c, c->text + payload_at, size, at);
      pos = payload_at + size + 2;
      continue;
    }
    if (line_len == 4 && memcmp(c->text + pos, "PING", 4) == 0) ws_send(c, 1, "PONG\r\n", 6);
    pos += line_len + 2;
  }
  memmove(c->text, c->text + pos, c->text_len - pos);
  c->text_len -= pos;
}

static void on_message(struct client *c, const unsigned char *p, size_t n, int binary, double at) {
  switch (kind) {
    case K_WIRECAM:
      if (binary) handle_msgpack(c, p, n, at);
      else handle_json(c, (const char *)p, n, at);
      break;
    case K_WS:
      handle_json(c, (const char *)p, n, at);
      break;
    case K_NATS:
      nats_text(c, (const char *)p, n, at);
      break;
    case K_SOCKETIO:
      if (n >= 2 && p[0] == '4' && p[1] == '2') handle_json(c, (const char *)p, n, at);
      else if (n == 1 && p[0] == '2') ws_send(c, 1, "3", 1);
      else if (n >= 1 && p[0] == '0') ws_send(c, 1, "40", 2);
      break;
    case K_TCP:
      break;
  }
}

/* Consumes complete frames from the client's buffer. */
static void ws_frames(struct client *c, double at) {
  size_t pos = 0;
  for (;;) {
    if (c->len - pos < 2) break;
    unsigned char b0 = c->buf[pos], b1 = c->buf[pos + 1];
    uint64_t length = b1 & 0x7f;
    size_t header = 2;
    if (length == 126) {
      if (c->len - pos < 4) break;
      length = be(c->buf + pos + 2, 2);
      header = 4;
    } else if (length == 127) {
      if (c->len - pos < 10) break;
      length = be(c->buf + pos + 2, 8);
      header = 10;
    }
    if (c->len - pos < header + length) break;
    const unsigned char *payload = c->buf + pos + header;
    int opcode = b0 & 0x0f;
    if (opcode == 1 || opcode == 2) on_message(c, payload, length, opcode == 2, at);
    else if (opcode == 9) ws_send(c, 0xa, (const char *)payload, length);
    else if (opcode == 8) c->closed = 1;
    pos += header + length;
  }
  if (pos > 0) {
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
  }
}

static void tcp_lines(struct client *c, double at) {
  size_t pos = 0;
  for (;;) {
    unsigned char *nl = memchr(c->buf + pos, '\n', c->len - pos);
    if (!nl) break;
    handle_json(c, (const char *)c->buf + pos, nl - (c->buf + pos), at);
    pos = nl - c->buf + 1;
  }
  if (pos > 0) {
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
  }
}

static void send_handshake(struct client *c, int index) {
  char request[1024];
  const char *protocol = "";
  if (kind == K_WIRECAM) protocol = mix && (index % 2 == 1) ? "Sec-WebSocket-Protocol: wirecam.v1.msgpack\r\n" : "Sec-WebSocket-Protocol: wirecam.v1.json\r\n";
  c->msgpack = kind == K_WIRECAM && mix && (index % 2 == 1);
  int n = snprintf(request, sizeof request,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                   path, host, port, protocol);
  send_all(c, request, (size_t)n);
}

static void after_upgrade(struct client *c) {
  if (kind == K_NATS) {
    char text[512];
    int n = snprintf(text, sizeof text, "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"echo\":false}\r\nSUB %s 1\r\n", subject);
    ws_send(c, 1, text, (size_t)n);
  }
}

static void close_client(struct client *c) {
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  if (!c->closed) c->closed = 1;
  closed_count++;
}

static void on_readable(struct client *c, double at) {
  for (;;) {
    if (c->cap - c->len < 65536) {
      c->cap = c->cap * 2 + 65536;
      c->buf = realloc(c->buf, c->cap);
    }
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r == 0) { close_client(c); return; }
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      close_client(c);
      return;
    }
    c->len += (size_t)r;
    if (!c->upgraded) {
      unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
      if (!end) continue;
      if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "loadgen: upgrade refused: %.*s\n", (int)(end - c->buf), c->buf);
        close_client(c);
        return;
      }
      size_t rest = c->len - (end + 4 - c->buf);
      memmove(c->buf, end + 4, rest);
      c->len = rest;
      c->upgraded = 1;
      connected_count++;
      after_upgrade(c);
    }
    if (kind == K_TCP) tcp_lines(c, at);
    else ws_frames(c, at);
    if (r < 65536) break;
  }
}

static int open_client(int index) {
  struct client *c = &clients[index];
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) return -1;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)index};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static double percentile(double p) {
  if (hist_count == 0) return 0;
  uint64_t rank = (uint64_t)((p / 100.0) * hist_count + 0.999999);
  uint64_t seen = 0;
  for (long i = 0; i < BUCKETS; i++) {
    seen += hist[i];
    if (seen >= rank) return (i + 1) * 0.1;
  }
  return hist_max;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* final NAME=SEQ NAME=SEQ ...: how many clients ended on every camera's final seq. */
static void check_final(char *args) {
  int correct = 0, indexes[MAX_CAMERAS], wanted = 0;
  int64_t seqs[MAX_CAMERAS];
  for (char *token = strtok(args, " \n"); token && wanted < MAX_CAMERAS; token = strtok(NULL, " \n")) {
    char *eq = strchr(token, '=');
    if (!eq) continue;
    int index = camera_index(token, eq - token);
    if (index < 0) continue;
    indexes[wanted] = index;
    seqs[wanted++] = strtoll(eq + 1, NULL, 10);
  }
  char first_wrong[256] = "";
  for (int i = 0; i < nclients; i++) {
    int ok = 1;
    for (int k = 0; k < wanted; k++) {
      if (clients[i].last_seq[indexes[k]] != seqs[k]) {
        ok = 0;
        if (!first_wrong[0])
          snprintf(first_wrong, sizeof first_wrong, "client %d camera %s: got %lld want %lld", i, camera_names[indexes[k]],
                   (long long)clients[i].last_seq[indexes[k]], (long long)seqs[k]);
      }
    }
    correct += ok;
  }
  printf("{\"correct\":%d,\"clients\":%d,\"firstWrong\":\"%s\"}\n", correct, nclients, first_wrong);
  fflush(stdout);
}

static void on_command(char *line) {
  if (strncmp(line, "reset", 5) == 0) {
    messages = 0;
    hist_count = 0;
    hist_max = 0;
    memset(hist, 0, BUCKETS * sizeof *hist);
    window_start = mono_s();
    printf("{\"reset\":true}\n");
  } else if (strncmp(line, "report", 6) == 0) {
    double seconds = mono_s() - window_start;
    printf("{\"messages\":%llu,\"seconds\":%.3f,\"perSecond\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f,"
           "\"clients\":%d,\"connected\":%d,\"closed\":%d,\"cpuSeconds\":%.3f}\n",
           (unsigned long long)messages, seconds, messages / seconds, percentile(50), percentile(99), hist_max, nclients,
           connected_count, closed_count, cpu_seconds());
  } else if (strncmp(line, "final", 5) == 0) {
    check_final(line + 5);
    return;
  } else if (strncmp(line, "quit", 4) == 0) {
    exit(0);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: loadgen KIND HOST PORT CLIENTS PATH MIX SUBJECT\n");
    return 2;
  }
  const char *k = argv[1];
  kind = !strcmp(k, "wirecam") ? K_WIRECAM : !strcmp(k, "ws") ? K_WS : !strcmp(k, "tcp") ? K_TCP : !strcmp(k, "nats") ? K_NATS : K_SOCKETIO;
  host = argv[2];
  port = atoi(argv[3]);
  nclients = atoi(argv[4]);
  path = argv[5];
  mix = atoi(argv[6]);
  subject = argv[7];
  hist = calloc(BUCKETS, sizeof *hist);
  clients = calloc((size_t)nclients, sizeof *clients);
  for (int i = 0; i < nclients; i++) {
    clients[i].fd = -1;
    for (int k2 = 0; k2 < MAX_CAMERAS; k2++) clients[i].last_seq[k2] = -1;
  }
  epfd = epoll_create1(0);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event stdin_ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &stdin_ev);

  int opened = 0, ready_said = 0;
  char command[65536];
  size_t command_len = 0;
  struct epoll_event events[512];
  window_start = mono_s();
  for (;;) {
    /* Connect in waves so the server's accept queue is never flooded. */
    while (opened < nclients && opened - (connected_count + closed_count) < 64) {
      if (open_client(opened) < 0) {
        fprintf(stderr, "loadgen: cannot open client %d: %s\n", opened, strerror(errno));
        return 1;
      }
      opened++;
    }
    if (!ready_said && connected_count + closed_count == nclients) {
      printf("{\"ready\":true,\"clients\":%d,\"connected\":%d}\n", nclients, connected_count);
      fflush(stdout);
      ready_said = 1;
    }
    int n = epoll_wait(epfd, events, 512, 100);
    double at = now_ms();
    for (int i = 0; i < n; i++) {
      uint32_t id = events[i].data.u32;
      if (id == UINT32_MAX) {
        ssize_t r = read(0, command + command_len, sizeof command - 1 - command_len);
        if (r == 0) return 0;
        if (r > 0) command_len += (size_t)r;
        char *nl;
        while ((nl = memchr(command, '\n', command_len))) {
          *nl = 0;
          on_command(command);
          size_t used = nl - command + 1;
          memmove(command, nl + 1, command_len - used);
          command_len -= used;
        }
        continue;
      }
      struct client *c = &clients[id];
      if (c->fd < 0) continue;
      if (!c->connected && (events[i].events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { fprintf(stderr, "loadgen: connect: %s\n", strerror(err)); close_client(c); continue; }
        c->connected = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        if (kind == K_TCP) { c->upgraded = 1; connected_count++; }
        else send_handshake(c, (int)id);
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, at);
    }
  }
}

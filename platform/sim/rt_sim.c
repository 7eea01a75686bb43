/* Applications as coroutines in virtual time, and runtime.h for the simulator (see rt_sim.h). */
#include "rt_sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "utcp/runtime.h"

#if defined(__SANITIZE_ADDRESS__)
#define RT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_ASAN 1
#endif
#endif
#ifdef RT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define TX_SLOTS 4
#define TX_SLOT_BYTES 16384
#define EINTR_RESUMES_MAX 100 /* waits answered EINTR before an app counts as stuck */

enum app_state { APP_NEW, APP_RUNNING, APP_WAITING, APP_DONE, APP_STUCK };

struct rt_host {
  struct rt_sim *rt;
  struct sim_node *node;
  struct utcp_ctx *ctx;
  struct utcp_ctx_config cfg;
  char *name;
  bool slot_busy[TX_SLOTS];
  uint8_t slot[TX_SLOTS][TX_SLOT_BYTES];
};

struct rt_app {
  struct rt_sim *rt;
  struct rt_host *host;
  char *name;
  rt_app_main_fn fn;
  int argc;
  char **argv;
  ucontext_t uc;
  uint8_t *map; /* guard page + stack */
  size_t map_len;
  uint8_t *stack;
  size_t stack_len;
  enum app_state state;
  int status;
  uint64_t wait_gen;  /* bumped by every wait: resume events of older waits are stale */
  bool wake_pending;  /* a resume for this wait is already scheduled */
  uint32_t eintr_resumes;
  bool inited, ctx_created; /* runtime.h state of this "process" */
  void *fake_stack;         /* ASan's fake stack of the suspended coroutine */
};

struct rt_sim {
  struct sim *sim;
  struct rt_host **hosts;
  size_t n_hosts;
  struct rt_app **apps;
  size_t n_apps;
  struct rt_app *current;
  ucontext_t main_uc;
  const void *main_bottom;
  size_t main_size;
  bool stopping;
};

/* The one runtime of the process: runtime.h calls take no handle, so they find it here. The
 * core stays free of globals; this is the platform layer. */
static struct rt_sim *g_rt;

/* ---- host: a node carrying a utcp context ---- */

static uint8_t *sink_alloc(void *arg, size_t cap) {
  struct rt_host *h = arg;
  if (cap > TX_SLOT_BYTES) return NULL;
  for (int i = 0; i < TX_SLOTS; i++) {
    if (!h->slot_busy[i]) {
      h->slot_busy[i] = true;
      return h->slot[i];
    }
  }
  return NULL;
}

static void sink_commit(void *arg, uint8_t *buf, size_t len) {
  struct rt_host *h = arg;
  int i = 0;
  while (i < TX_SLOTS && buf != h->slot[i]) i++;
  if (i == TX_SLOTS || !h->slot_busy[i]) {
    fprintf(stderr, "utcp-sim: host %s: commit of a buffer the sink did not hand out\n", h->name);
    abort();
  }
  h->slot_busy[i] = false;
  if (len > 0) sim_node_send(h->node, buf, len);
}

static void resume_event(struct sim *sim, struct sim_event *ev);

static void schedule_resume(struct rt_app *a, uint64_t at) {
  sim_schedule(a->rt->sim, at, resume_event, a, a->wait_gen);
}

/* Services the context; when it reported events, wakes the host's waiting applications. */
static void host_poll(struct rt_host *h, uint64_t now) {
  if (utcp_ctx_poll(h->ctx, now) == 0) return;
  struct rt_sim *rt = h->rt;
  for (size_t i = 0; i < rt->n_apps; i++) {
    struct rt_app *a = rt->apps[i];
    if (a->host != h || a->state != APP_WAITING || a->wake_pending) continue;
    a->wake_pending = true;
    schedule_resume(a, now);
  }
}

static void host_on_frame(struct sim_node *node, const uint8_t *frame, size_t len,
                          uint64_t now) {
  struct rt_host *h = sim_node_ctx(node);
  utcp_ctx_input(h->ctx, frame, len, now);
  host_poll(h, now);
}

static void host_on_timer(struct sim_node *node, uint64_t now) {
  host_poll(sim_node_ctx(node), now);
}

static uint64_t host_next_deadline(struct sim_node *node) {
  struct rt_host *h = sim_node_ctx(node);
  return utcp_ctx_next_deadline(h->ctx);
}

static const struct sim_node_ops host_ops = {
    .on_frame = host_on_frame,
    .on_timer = host_on_timer,
    .next_deadline = host_next_deadline,
    .fini = NULL, /* the runtime frees its hosts */
};

/* ---- platform hooks ---- */

static uint64_t hook_now(void *arg) {
  struct rt_host *h = arg;
  return sim_now(h->rt->sim);
}

static void yield_to_scheduler(struct rt_app *a) {
  struct rt_sim *rt = a->rt;
#ifdef RT_ASAN
  __sanitizer_start_switch_fiber(&a->fake_stack, rt->main_bottom, rt->main_size);
#endif
  swapcontext(&a->uc, &rt->main_uc);
#ifdef RT_ASAN
  __sanitizer_finish_switch_fiber(a->fake_stack, &rt->main_bottom, &rt->main_size);
#endif
}

/* utcp_platform.wait: yields the calling coroutine until its host's context reports events or
 * the deadline comes. Called outside a coroutine of this host it cannot wait: EDEADLK. */
static int hook_wait(void *arg, struct utcp_ctx *ctx, uint64_t deadline_ns) {
  struct rt_host *h = arg;
  struct rt_sim *rt = h->rt;
  struct rt_app *a = rt->current;
  if (a == NULL || a->host != h || h->ctx != ctx) return EDEADLK;
  uint64_t now = sim_now(rt->sim);
  a->wait_gen++;
  a->wake_pending = false;
  a->state = APP_WAITING;
  if (rt->stopping) {
    /* Answer EINTR, but through the scheduler, so an app that ignores it cannot spin. */
    if (a->eintr_resumes++ < EINTR_RESUMES_MAX) {
      a->wake_pending = true;
      schedule_resume(a, now);
    } else {
      a->state = APP_STUCK;
    }
  } else if (deadline_ns != UINT64_MAX) {
    schedule_resume(a, deadline_ns > now ? deadline_ns : now);
  }
  yield_to_scheduler(a);
  return rt->stopping ? EINTR : 0;
}

/* ---- coroutines ---- */

static void app_entry(void) {
  struct rt_sim *rt = g_rt;
  struct rt_app *a = rt->current;
#ifdef RT_ASAN
  __sanitizer_finish_switch_fiber(NULL, &rt->main_bottom, &rt->main_size);
#endif
  a->status = a->fn(a->argc, a->argv);
  a->state = APP_DONE;
#ifdef RT_ASAN
  __sanitizer_start_switch_fiber(NULL, rt->main_bottom, rt->main_size);
#endif
  setcontext(&rt->main_uc);
  abort(); /* not reached */
}

static void app_unmap(struct rt_app *a) {
  if (a->map == NULL) return;
#ifdef RT_ASAN
  ASAN_UNPOISON_MEMORY_REGION(a->stack, a->stack_len);
#endif
  munmap(a->map, a->map_len);
  a->map = NULL;
  a->stack = NULL;
}

/* Runs a coroutine until it waits or returns (scheduler side). */
static void app_run(struct rt_app *a) {
  struct rt_sim *rt = a->rt;
  rt->current = a;
  a->state = APP_RUNNING;
#ifdef RT_ASAN
  void *fake = NULL;
  __sanitizer_start_switch_fiber(&fake, a->stack, a->stack_len);
#endif
  swapcontext(&rt->main_uc, &a->uc);
#ifdef RT_ASAN
  __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
  rt->current = NULL;
  if (a->state == APP_DONE) app_unmap(a);
  /* The application's calls may have started timers or sent frames. */
  sim_node_update(a->host->node);
}

static void resume_event(struct sim *sim, struct sim_event *ev) {
  (void)sim;
  struct rt_app *a = ev->obj;
  if (ev->arg != a->wait_gen) return; /* an older wait's wake-up */
  if (a->state != APP_WAITING && a->state != APP_NEW) return;
  app_run(a);
}

/* ---- public ---- */

struct rt_sim *rt_sim_new(struct sim *sim) {
  if (g_rt != NULL) return NULL;
  struct rt_sim *rt = sim_xcalloc(1, sizeof *rt);
  rt->sim = sim;
  g_rt = rt;
  return rt;
}

void rt_sim_free(struct rt_sim *rt) {
  if (rt == NULL) return;
  for (size_t i = 0; i < rt->n_apps; i++) {
    struct rt_app *a = rt->apps[i];
    if (a->state != APP_DONE)
      fprintf(stderr, "utcp-sim: app %s on %s never returned; its coroutine is abandoned\n",
              a->name, a->host->name);
    app_unmap(a);
    free(a->argv);
    free(a->name);
    free(a);
  }
  for (size_t i = 0; i < rt->n_hosts; i++) {
    struct rt_host *h = rt->hosts[i];
    utcp_ctx_free(h->ctx);
    free(h->name);
    free(h);
  }
  free(rt->apps);
  free(rt->hosts);
  if (g_rt == rt) g_rt = NULL;
  free(rt);
}

struct rt_host *rt_sim_host_new(struct rt_sim *rt, const char *name,
                                const struct utcp_ctx_config *cfg) {
  struct rt_host *h = sim_xcalloc(1, sizeof *h);
  h->rt = rt;
  h->name = sim_xstrdup(name);
  h->cfg = *cfg;
  /* Seeds as for sim_stack_node_new: from an id taken before the node exists. */
  uint32_t seed_id = sim_next_id(rt->sim);
  h->cfg.stack.seed = sim_seed_derive(sim_seed(rt->sim), SIM_STREAM_NODE(seed_id));
  struct utcp_rng isn;
  sim_rng_init(rt->sim, &isn, SIM_STREAM_ISN(seed_id));
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = utcp_rng_next(&isn);
    for (int j = 0; j < 8; j++) h->cfg.stack.isn_key[i + j] = (uint8_t)(v >> (8 * j));
  }
  struct utcp_tx_sink sink = {.ctx = h, .alloc = sink_alloc, .commit = sink_commit};
  struct utcp_platform plat = {.arg = h, .now = hook_now, .wait = hook_wait};
  int rc = utcp_ctx_new(&h->cfg, NULL, &sink, &plat, sim_now(rt->sim), &h->ctx);
  if (rc < 0) {
    fprintf(stderr, "utcp-sim: host %s: cannot create its context: %s\n", name,
            utcp_strerror(rc));
    free(h->name);
    free(h);
    return NULL;
  }
  h->node = sim_node_new(rt->sim, name, &host_ops, h);
  rt->hosts = realloc(rt->hosts, (rt->n_hosts + 1) * sizeof *rt->hosts);
  if (rt->hosts == NULL) abort();
  rt->hosts[rt->n_hosts++] = h;
  sim_node_update(h->node);
  return h;
}

struct sim_node *rt_host_node(struct rt_host *h) { return h->node; }
struct utcp_ctx *rt_host_ctx(struct rt_host *h) { return h->ctx; }
const char *rt_host_name(const struct rt_host *h) { return h->name; }
struct rt_host *rt_sim_host_at(struct rt_sim *rt, size_t i) {
  return i < rt->n_hosts ? rt->hosts[i] : NULL;
}

struct rt_app *rt_sim_spawn(struct rt_sim *rt, struct rt_host *h, const char *name,
                            rt_app_main_fn fn, int argc, char **argv, size_t stack_bytes,
                            uint64_t at_ns) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (stack_bytes == 0) stack_bytes = RT_SIM_STACK_BYTES_DEFAULT;
  stack_bytes = (stack_bytes + page - 1) / page * page;
  struct rt_app *a = sim_xcalloc(1, sizeof *a);
  a->map_len = stack_bytes + page;
  void *m = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    free(a);
    return NULL;
  }
  a->map = m;
  mprotect(a->map, page, PROT_NONE); /* guard page below the stack (it grows down) */
  a->stack = a->map + page;
  a->stack_len = stack_bytes;
  a->rt = rt;
  a->host = h;
  a->name = sim_xstrdup(name);
  a->fn = fn;
  /* argv: one allocation holding the pointer array and the strings */
  size_t bytes = (size_t)(argc + 1) * sizeof(char *);
  for (int i = 0; i < argc; i++) bytes += strlen(argv[i]) + 1;
  a->argv = sim_xmalloc(bytes);
  char *p = (char *)(a->argv + argc + 1);
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(argv[i]) + 1;
    memcpy(p, argv[i], n);
    a->argv[i] = p;
    p += n;
  }
  a->argv[argc] = NULL;
  a->argc = argc;
  getcontext(&a->uc);
  a->uc.uc_stack.ss_sp = a->stack;
  a->uc.uc_stack.ss_size = a->stack_len;
  a->uc.uc_link = NULL;
  makecontext(&a->uc, app_entry, 0);
  a->state = APP_NEW;
  rt->apps = realloc(rt->apps, (rt->n_apps + 1) * sizeof *rt->apps);
  if (rt->apps == NULL) abort();
  rt->apps[rt->n_apps++] = a;
  schedule_resume(a, at_ns);
  return a;
}

bool rt_app_done(const struct rt_app *a) { return a->state == APP_DONE; }
int rt_app_status(const struct rt_app *a) { return a->status; }
const char *rt_app_name(const struct rt_app *a) { return a->name; }
struct rt_host *rt_app_host(const struct rt_app *a) { return a->host; }
struct rt_app *rt_sim_app_at(struct rt_sim *rt, size_t i) {
  return i < rt->n_apps ? rt->apps[i] : NULL;
}

size_t rt_sim_apps_running(const struct rt_sim *rt) {
  size_t n = 0;
  for (size_t i = 0; i < rt->n_apps; i++) n += rt->apps[i]->state != APP_DONE;
  return n;
}

void rt_sim_stop(struct rt_sim *rt) {
  rt->stopping = true;
  uint64_t now = sim_now(rt->sim);
  for (size_t i = 0; i < rt->n_apps; i++) {
    struct rt_app *a = rt->apps[i];
    if (a->state == APP_WAITING && !a->wake_pending) {
      a->wake_pending = true;
      schedule_resume(a, now);
    }
  }
}

struct rt_app *rt_sim_current(void) { return g_rt ? g_rt->current : NULL; }

/* ======================================================================================
 * include/utcp/runtime.h for the simulator: each application coroutine is a "process" with
 * its own init state; its core 0 is its host's context.
 * ====================================================================================== */

static int rt_fail(int e) {
  errno = e;
  return -1;
}

int utcp_init(const char *config_path) {
  struct rt_app *a = rt_sim_current();
  if (a == NULL) return rt_fail(EINVAL);
  if (a->inited) return rt_fail(EALREADY);
  /* The file (and UTCP_CONFIG) are read and checked with the reader every runtime uses; the
   * host's addresses and stack settings, though, come from the simulator's options (utcp-sim
   * apps), which built the host before the app started. */
  struct utcp_rt_config cfg;
  char err[256];
  if (utcp_rt_config_read(config_path, 0, NULL, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "%s\n", err);
    return rt_fail(EINVAL);
  }
  a->inited = true;
  return 0;
}

int utcp_init_config(const struct utcp_rt_config *cfg) {
  struct rt_app *a = rt_sim_current();
  if (a == NULL || cfg == NULL || cfg->num_cores < 1) return rt_fail(EINVAL);
  if (a->inited) return rt_fail(EALREADY);
  a->inited = true;
  return 0;
}

int utcp_get_config(struct utcp_rt_config *out) {
  struct rt_app *a = rt_sim_current();
  if (a == NULL || out == NULL || !a->inited) return rt_fail(EINVAL);
  memset(out, 0, sizeof *out);
  out->ctx = a->host->cfg;
  out->num_cores = 1;
  return 0;
}

struct utcp_ctx *utcp_create_context(int core) {
  struct rt_app *a = rt_sim_current();
  if (a == NULL || !a->inited) {
    errno = EINVAL;
    return NULL;
  }
  if (core != 0) {
    errno = ENODEV;
    return NULL;
  }
  if (a->ctx_created) {
    errno = EBUSY; /* as utcp_rt_threads: the core's context exists */
    return NULL;
  }
  a->ctx_created = true;
  return a->host->ctx;
}

void utcp_destroy_context(struct utcp_ctx *ctx) {
  /* The host owns its context (other apps on the host may use it, and TCP finishes closing in
   * the background after the app is gone, as after a process exits). */
  struct rt_app *a = rt_sim_current();
  if (a != NULL && ctx == a->host->ctx) a->ctx_created = false;
}

void utcp_destroy(void) {
  struct rt_app *a = rt_sim_current();
  if (a != NULL) a->inited = false;
}

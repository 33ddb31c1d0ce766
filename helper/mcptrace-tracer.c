/*
 * mcptrace-tracer: the only thing an unprivileged mcptrace server may run with privileges.
 *
 * It runs as root through sudo (a sudoers drop-in allows this binary and nothing else), or as
 * the server's user with file capabilities in its permitted set (caps mode). Either way it is
 * the security boundary, not the server: any process of that user can call it directly. So it
 *   - runs only the binaries named in a root-owned config (bpftrace, the allowed libbpf-tools,
 *     bpftrace's own .bt scripts), never a path or a shell the caller chooses;
 *   - accepts only the bpftrace options mcptrace uses, each spelt exactly (getopt would take
 *     "--inc" for "--include"), and no option that runs a command, includes a file or writes
 *     one (-c, --unsafe, -o, -I, --include, --emit-elf outside /dev/null) unless the operator
 *     set allow_unsafe=yes; a program text that reads files (#include, import, cat()) likewise;
 *   - builds the environment from scratch (LD_PRELOAD would run code with its privileges);
 *   - stays the tracer's parent and watches a lifeline, its stdin: when the server dies, even
 *     by SIGKILL, the pipe's write end closes, and the tracer gets SIGINT (its maps print),
 *     then SIGKILL after a grace period. A parent-death signal cannot do this: the kernel
 *     clears it on the exec of a setuid or file-capability binary (prctl(2)).
 *
 * Usage: mcptrace-tracer [--grace SECONDS] [--env NAME=NUMBER]... [--line-buffered] -- TARGET ARGS...
 * TARGET is "bpftrace" or the absolute path of a tool listed in the config.
 * Exit 126 means refused; the message on stderr says what and how to fix it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CONF_PATH
#define CONF_PATH "/etc/mcptrace/tracer.conf"
#endif
#define MAX_LIST 256
#define REFUSED 126

static const char *conf_bpftrace;
static const char *conf_chroot;
static const char *conf_tools[MAX_LIST];
static int n_tools;
static const char *conf_scripts[MAX_LIST];
static int n_scripts;
static int conf_caps[64];
static int n_caps;
static int allow_unsafe;
static const char *conf_stdbuf;
static const char *conf_sandbox; /* "systemd" or NULL */
static const char *conf_memory_max;
static const char *conf_cpu_quota;

static void refuse(const char *fix, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mcptrace-tracer: refused: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (fix) fprintf(stderr, "\nfix: %s", fix);
  fputc('\n', stderr);
  exit(REFUSED);
}

static int digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static const struct { const char *name; int cap; } CAPS[] = {
    {"bpf", 39}, {"perfmon", 38}, {"dac_read_search", CAP_DAC_READ_SEARCH}, {"dac_override", CAP_DAC_OVERRIDE},
    {"sys_resource", CAP_SYS_RESOURCE}, {"sys_admin", CAP_SYS_ADMIN}, {"sys_ptrace", CAP_SYS_PTRACE},
    {"ipc_lock", CAP_IPC_LOCK}, {"syslog", CAP_SYSLOG},
};

static void parse_caps(char *v) {
  for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ",")) {
    int found = 0;
    for (size_t i = 0; i < sizeof CAPS / sizeof *CAPS; i++)
      if (!strcmp(tok, CAPS[i].name) && n_caps < 64) conf_caps[n_caps++] = CAPS[i].cap, found = 1;
    if (!found) refuse("fix the caps= line of " CONF_PATH " (mcptrace setup privileges --apply writes it)", "unknown capability \"%s\" in " CONF_PATH, tok);
  }
}

/* The config must be root's alone: a user who could edit it could allow any binary. */
static void load_config(void) {
  int fd = open(CONF_PATH, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0)
    refuse("run: mcptrace setup privileges --apply (as root)", "cannot read %s: %s", CONF_PATH, strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
    refuse("chown root:root " CONF_PATH " && chmod 0644 " CONF_PATH, "%s must be a regular file owned by root and writable by root only", CONF_PATH);
  FILE *f = fdopen(fd, "r");
  char line[4096];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    char *eq = strchr(line, '=');
    if (!eq) refuse("each line is KEY=VALUE", "%s:%d: no '=' in \"%s\"", CONF_PATH, lineno, line);
    *eq = 0;
    char *k = line, *v = strdup(eq + 1);
    if (!strcmp(k, "bpftrace")) conf_bpftrace = v;
    else if (!strcmp(k, "tool") && n_tools < MAX_LIST) conf_tools[n_tools++] = v;
    else if (!strcmp(k, "script") && n_scripts < MAX_LIST) conf_scripts[n_scripts++] = v;
    else if (!strcmp(k, "chroot")) conf_chroot = *v ? v : NULL;
    else if (!strcmp(k, "caps")) parse_caps(v);
    else if (!strcmp(k, "allow_unsafe")) allow_unsafe = !strcmp(v, "yes");
    else if (!strcmp(k, "stdbuf")) conf_stdbuf = v;
    else if (!strcmp(k, "sandbox")) conf_sandbox = !strcmp(v, "systemd") ? v : NULL;
    else if (!strcmp(k, "memory_max")) conf_memory_max = v;
    else if (!strcmp(k, "cpu_quota")) conf_cpu_quota = v;
    /* mode=, helper=, user=, group=: read by the server and setup, not here. */
  }
  fclose(f);
}

static int listed(const char *p, const char **list, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(p, list[i])) return 1;
  return 0;
}

static int word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* `#include <linux/sched.h>`: a relative .h name in angle brackets, searched in the system
 * header directories only. A quoted or absolute name, or "..", could name any file. */
static int system_header(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  if (*p++ != '<' || *p == '/') return 0;
  const char *start = p;
  for (; *p && *p != '>'; p++)
    if (!word_char(*p) && *p != '/' && *p != '.' && *p != '-') return 0;
  if (*p != '>' || p - start < 3 || strncmp(p - 2, ".h", 2)) return 0;
  for (const char *d = start; d < p - 1; d++)
    if (d[0] == '.' && d[1] == '.') return 0;
  return 1;
}

/* A program that reads files with the tracer's privileges: #include, import, cat(). A match in
 * a comment or a string is refused too: refusing is the safe side of the doubt. */
static const char *reads_files(const char *prog) {
  for (const char *p = prog; *p; p++) {
    if (*p == '#') {
      const char *q = p + 1;
      while (*q == ' ' || *q == '\t') q++;
      if (!strncmp(q, "include", 7) && !system_header(q + 7)) return "#include of a file (only <dir/name.h> system headers)";
    }
    if ((p == prog || !word_char(p[-1])) && !strncmp(p, "import", 6) && !word_char(p[6])) return "import";
    if ((p == prog || !word_char(p[-1])) && !strncmp(p, "cat", 3)) {
      const char *q = p + 3;
      while (*q == ' ' || *q == '\t' || *q == '\n') q++;
      if (*q == '(') return "cat()";
    }
  }
  return NULL;
}

#define UNSAFE_FIX "it runs or reads what the tracer's privileges allow; the operator may set allow_unsafe=yes in " CONF_PATH ", which makes this user root-equivalent"

/* "type:..." as a probe pattern starts: letters, digits, _ or - before the first ':'. */
static int probe_typed(const char *s) {
  const char *c = strchr(s, ':');
  if (!c || c == s) return 0;
  for (const char *p = s; p < c; p++)
    if (!word_char(*p) && *p != '-') return 0;
  return 1;
}

/* Exactly the options mcptrace passes to bpftrace; anything else is refused. */
static void check_bpftrace_args(int argc, char **argv) {
  int program = 0, listing = 0, positional = 0, script = 0, operands = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    /* After "--" every word is an operand, but the first one is still the program file when
     * there is no -e: `bpftrace -- /etc/shadow` would read it. */
    if (!operands && !strcmp(a, "--")) { operands = 1; continue; }
    if (operands || a[0] != '-' || !a[1]) {
      /* Newer bpftrace lists the probes of a program FILE given to -l: a pattern may name a
       * path only after a probe type (uprobe:/usr/bin/bash:*), never be one. */
      if (listing && !program && strchr(a, '/') && !probe_typed(a))
        refuse("give -l a probe pattern such as tracepoint:sched:* or uprobe:/usr/bin/bash:*", "listing pattern \"%s\" names a file", a);
      if (!program && !listing && !script) {
        if (!listed(a, conf_scripts, n_scripts))
          refuse("pass the program with -e, or run one of the script= files in " CONF_PATH, "program file \"%s\" is not an allowed script", a);
        script = 1;
      } else positional++;
      continue;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "-v") || !strcmp(a, "-k") || !strcmp(a, "-kk") || !strcmp(a, "--no-warnings") ||
        !strcmp(a, "--info") || !strcmp(a, "--version") || !strcmp(a, "-V") || !strcmp(a, "--dry-run") || !strcmp(a, "-h") ||
        !strcmp(a, "--help") || !strcmp(a, "--usdt-file-activation"))
      continue;
    if (!strcmp(a, "-l") || !strcmp(a, "-lv")) { listing = 1; continue; }
    if (!next) refuse("give the option its value", "option %s needs a value", a);
    if (!strcmp(a, "-e")) {
      const char *why = reads_files(next);
      if (why && !allow_unsafe) refuse(UNSAFE_FIX, "the program uses %s", why);
      program = 1;
    } else if (!strcmp(a, "-f")) {
      if (strcmp(next, "json") && strcmp(next, "text")) refuse("use -f json or -f text", "output format \"%s\"", next);
    } else if (!strcmp(a, "-p")) {
      if (!digits(next)) refuse("give -p a process id", "-p \"%s\" is not a number", next);
    } else if (!strcmp(a, "-B")) {
      if (strcmp(next, "line") && strcmp(next, "full") && strcmp(next, "none")) refuse("use -B line, full or none", "-B \"%s\"", next);
    } else if (!strcmp(a, "-d")) {
      if (strcmp(next, "types")) refuse("only -d types is allowed", "-d \"%s\"", next);
    } else if (!strcmp(a, "--mode")) {
      if (strcmp(next, "codegen")) refuse("only --mode codegen is allowed", "--mode \"%s\"", next);
    } else if (!strcmp(a, "--emit-elf")) {
      if (strcmp(next, "/dev/null")) refuse("use --emit-elf /dev/null", "--emit-elf writes \"%s\" with the tracer's privileges", next);
    } else if (!strcmp(a, "-c") || !strcmp(a, "-o")) {
      if (!allow_unsafe) refuse(UNSAFE_FIX, "option %s %s", a, !strcmp(a, "-c") ? "runs a command" : "writes a file");
    } else if (!strcmp(a, "--unsafe")) {
      if (!allow_unsafe) refuse(UNSAFE_FIX, "--unsafe lets the program run commands");
      i--; /* takes no value */
    } else {
      refuse("mcptrace passes only the options it needs; run it through mcptrace", "bpftrace option \"%s\" is not allowed", a);
    }
    i++;
  }
  (void)positional;
}

/* how: 0 sets the inheritable set to the configured caps, 1 drops everything, 2 makes the
 * permitted set effective. */
static void set_caps(int how) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) return;
  if (how == 1) {
    memset(d, 0, sizeof d);
  } else if (how == 2) {
    d[0].effective = d[0].permitted, d[1].effective = d[1].permitted;
  } else {
    d[0].inheritable = d[1].inheritable = 0;
    for (int i = 0; i < n_caps; i++) d[conf_caps[i] / 32].inheritable |= 1u << (conf_caps[i] % 32);
  }
  if (syscall(SYS_capset, &h, d) != 0) {
    fprintf(stderr, "mcptrace-tracer: capset: %s\n", strerror(errno));
    _exit(127);
  }
}

static char *env_item(const char *k, const char *v) {
  char *s;
  if (asprintf(&s, "%s=%s", k, v) < 0) _exit(127);
  return s;
}

static const char *ENV_ALLOWED[] = {"BPFTRACE_PERF_RB_PAGES", "BPFTRACE_MAP_KEYS_MAX", "BPFTRACE_MAX_MAP_KEYS", "BPFTRACE_STRLEN",
                                    "BPFTRACE_MAX_STRLEN", "__BPFTRACE_NOTIFY_PROBES_ATTACHED", NULL};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int grace = 30, line_buffered = 0, i = 1;
  char *envp[32];
  int n_env = 0;
  envp[n_env++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) { i++; break; }
    if (!strcmp(argv[i], "--grace") && i + 1 < argc && digits(argv[i + 1]) && atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 600) {
      grace = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
      char *kv = argv[++i], *eq = strchr(kv, '=');
      int ok = 0;
      if (eq && digits(eq + 1))
        for (const char **n = ENV_ALLOWED; *n; n++)
          if ((size_t)(eq - kv) == strlen(*n) && !strncmp(kv, *n, eq - kv)) ok = 1;
      if (!ok) refuse("only numeric BPFTRACE_* settings may be passed", "environment \"%s\"", kv);
      if (n_env < 24) envp[n_env++] = kv;
    } else if (!strcmp(argv[i], "--line-buffered")) {
      line_buffered = 1;
    } else {
      refuse("usage: mcptrace-tracer [--grace S] [--env NAME=N]... [--line-buffered] -- TARGET ARGS...", "option \"%s\"", argv[i]);
    }
  }
  if (i >= argc) refuse("name what to run: bpftrace or a tool= path of " CONF_PATH, "nothing to run");
  load_config();
  const char *target = argv[i];
  const char *path;
  if (!strcmp(target, "bpftrace")) {
    if (!conf_bpftrace) refuse("add bpftrace=PATH to " CONF_PATH, "no bpftrace is configured");
    path = conf_bpftrace;
    check_bpftrace_args(argc - i - 1, argv + i + 1);
  } else if (target[0] == '/' && listed(target, conf_tools, n_tools)) {
    path = target;
  } else {
    refuse("only bpftrace and the tool= binaries of " CONF_PATH " run here (mcptrace setup privileges --apply lists the installed bcc tools)",
           "\"%s\" is not an allowed tracer", target);
  }
  if (line_buffered && conf_stdbuf) {
    envp[n_env++] = env_item("LD_PRELOAD", conf_stdbuf);
    envp[n_env++] = "_STDBUF_O=L";
  }
  envp[n_env] = NULL;

  /* What an exec needs: argv[0] becomes the configured path; the sandbox wraps it. */
  int n_args = argc - i;
  char **args = calloc(n_args + 16, sizeof *args);
  int a = 0;
  int sandboxed = conf_sandbox && access("/run/systemd/system", F_OK) == 0;
  if (sandboxed) {
    args[a++] = "/usr/bin/systemd-run";
    args[a++] = "--scope";
    args[a++] = "--quiet";
    args[a++] = "--collect";
    if (conf_memory_max) args[a++] = env_item("--property=MemoryMax", conf_memory_max);
    if (conf_cpu_quota) args[a++] = env_item("--property=CPUQuota", conf_cpu_quota);
    args[a++] = "--";
  }
  args[a++] = (char *)path;
  for (int k = 1; k < n_args; k++) args[a++] = argv[i + k];
  args[a] = NULL;

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGQUIT);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  pid_t child = fork();
  if (child < 0) { perror("mcptrace-tracer: fork"); return 127; }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    /* The caller's directory means nothing to the tracer, and a relative name there (bpftrace
     * 0.17 reads `-d types` as "-d" and a program file "types") must not resolve to its files. */
    if (chdir("/") != 0) _exit(127);
    /* chroot= is where the configured bpftrace lives (e.g. a newer one from a Debian root); the
     * tools run on the host. CAP_SYS_CHROOT must be effective for chroot(). */
    int enter = conf_chroot && path == conf_bpftrace;
    if (enter && geteuid() != 0) set_caps(2);
    if (enter && (chroot(conf_chroot) != 0 || chdir("/") != 0)) {
      fprintf(stderr, "mcptrace-tracer: chroot %s: %s\n", conf_chroot, strerror(errno));
      _exit(127);
    }
    if (geteuid() != 0) {
      /* caps mode: the tracer gets exactly the configured capabilities, as ambient ones, so they
       * survive the exec of a binary without file capabilities (and nothing else does). */
      set_caps(0);
      for (int k = 0; k < n_caps; k++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, conf_caps[k], 0, 0) != 0) {
          fprintf(stderr, "mcptrace-tracer: cannot raise capability %d: %s (is it in this file's permitted set? getcap %s)\n", conf_caps[k],
                  strerror(errno), "/proc/self/exe");
          _exit(127);
        }
    }
    execve(args[0], args, envp);
    fprintf(stderr, "mcptrace-tracer: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  /* The parent needs no privilege from here on. */
  if (geteuid() != 0) set_caps(1);

  /* Only a pipe or a socket is a lifeline: a command that ends by itself (a listing, a compile
   * check) may run with stdin on /dev/null, which would read as the server gone at once. */
  struct stat in;
  int lifeline = fstat(0, &in) == 0 && (S_ISFIFO(in.st_mode) || S_ISSOCK(in.st_mode));
  struct pollfd fds[2] = {{sfd, POLLIN, 0}, {0, POLLIN, 0}};
  double kill_at = 0, resend_at = 0;
  for (;;) {
    int timeout = -1;
    if (kill_at) {
      double t = now(), next = resend_at < kill_at ? resend_at : kill_at;
      timeout = next > t ? (int)((next - t) * 1000) + 1 : 0;
    }
    int n = poll(fds, lifeline ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) break;
    if (kill_at) {
      double t = now();
      if (t >= kill_at) kill(child, SIGKILL), kill_at = 0;
      else if (t >= resend_at) kill(child, SIGINT), resend_at = t + 1;
    }
    if (lifeline && (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
      char buf[256];
      ssize_t r = (fds[1].revents & POLLNVAL) ? 0 : read(0, buf, sizeof buf);
      if (r <= 0 && !(r < 0 && errno == EINTR)) {
        /* The server is gone: stop the tracer as it would have, then make sure. */
        lifeline = 0;
        kill(child, SIGINT);
        resend_at = now() + 1;
        kill_at = now() + grace;
      }
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) != sizeof si) continue;
      if (si.ssi_signo == SIGCHLD) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
          if (WIFSIGNALED(status)) {
            /* Die as the tracer died, so the server sees the same signal. */
            signal(WTERMSIG(status), SIG_DFL);
            sigprocmask(SIG_UNBLOCK, &mask, NULL);
            raise(WTERMSIG(status));
          }
          return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
        }
      } else {
        /* SIGHUP would lose the maps: the tracer gets SIGINT instead. */
        kill(child, si.ssi_signo == SIGHUP ? SIGINT : (int)si.ssi_signo);
      }
    }
  }
  kill(child, SIGKILL);
  return 127;
}

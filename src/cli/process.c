/* SPDX-License-Identifier: Apache-2.0 */
/* Process lifecycle (process.h; DESIGN.md §1): the control thread runs a libev loop that owns the
 * signals — TERM/INT fast stop, QUIT graceful drain, HUP reload, USR1 log reopen — while the worker
 * threads, started with every signal blocked, serve traffic. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "cli/process.h"
#include "cli/reload.h"
#include "config/declarative.h"
#include "config/dbless_persist.h"
#include "config/snapshot.h"
#include "config/upstream_tls.h"
#include "config/store_bridge.h"
#include "core/log_file.h"
#include "core/node_id.h"
#include "core/mem_trim.h"
#include "core/version.h"
#include "net/dns.h"
#include "proxy/proxy.h"
#include "sluice/log.h"

static struct sl_conf *run_conf;
static const char *run_conf_path;
static bool graceful_stop;
static bool draining;              /* a graceful stop is under way: another QUIT changes nothing */
static struct sl_store *run_store; /* database = sqlite: open for the life of the process */
static struct sl_config_mirror *run_mirror; /* its rows, shared with the Admin API's writes */

static void
pid_path(const char *prefix, char *buf, size_t len)
{
    snprintf(buf, len, "%s/pids/sluice.pid", prefix);
}

/* The running instance holds a write lock on its pid file for as long as it lives (write_pid_file),
 * so a pid file left by a crash or a SIGKILL is told apart from a live instance even after its pid
 * was reused by another process: `stop` must never signal a stranger, nor `start` refuse to run
 * because of one. */
pid_t
sl_cli_instance_pid(const char *prefix)
{
    char path[PATH_MAX];
    pid_path(prefix, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    long pid = strtol(buf, NULL, 10);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int locked = fcntl(fd, F_GETLK, &fl);
    close(fd);
    if (locked == 0) {
        /* nobody holds the lock: no instance runs, whatever process has that pid now */
        if (fl.l_type == F_UNLCK) {
            return 0;
        }
        return fl.l_pid > 0 ? fl.l_pid : (pid_t)pid; /* 0: a holder in another pid namespace */
    }
    /* a file system without record locks: the pid alone */
    if (pid <= 0 || pid > INT_MAX || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
        return 0;
    }
    return (pid_t)pid;
}

static int
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

int
sl_cli_prepare_prefix(const struct sl_conf *conf)
{
    char path[PATH_MAX];
    struct stat st;
    sl_cli_log(SL_CLI_VERBOSE, "preparing prefix directory at %s", conf->prefix);
    /* as Kong's prepare_prefix: a prefix that exists must be a directory, said plainly rather
     * than as a failure to create something under it */
    if (stat(conf->prefix, &st) == 0 && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "Error: %s is not a directory\n", conf->prefix);
        return -1;
    }
    if (mkdir_p(conf->prefix) < 0) {
        fprintf(stderr, "Error: could not create prefix directory %s: %s\n", conf->prefix,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/logs", conf->prefix);
    if (mkdir_p(path) < 0) {
        fprintf(stderr, "Error: could not create %s: %s\n", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/pids", conf->prefix);
    if (mkdir_p(path) < 0) {
        fprintf(stderr, "Error: could not create %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* database = sqlite: a new file is bootstrapped (zero setup); a database with pending migrations
 * or one that fails to open stops the start — never an empty configuration served silently. */
static struct sl_snapshot *
load_store_snapshot(const struct sl_conf *conf, char *err, size_t errlen)
{
    struct sl_store_err serr = {0};
    size_t pending = 0;
    if (run_store == NULL) {
        struct sl_store_opts opts = {.path = conf->sqlite_path, .auto_bootstrap = true};
        if (sl_store_open(&opts, &run_store, &serr) != SL_STORE_OK) {
            snprintf(err, errlen, "%s", serr.message ? serr.message : "cannot open the database");
            sl_store_err_clear(&serr);
            return NULL;
        }
    }
    if (sl_store_migrations_pending(run_store, &pending, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "%s", serr.message ? serr.message : "cannot read migrations");
        sl_store_err_clear(&serr);
        return NULL;
    }
    if (pending > 0) {
        snprintf(err, errlen,
                 "the database at %s has %zu pending migrations; run 'sluice migrations up'",
                 conf->sqlite_path, pending);
        return NULL;
    }
    if (run_mirror == NULL && (run_mirror = sl_config_mirror_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sl_config_mirror_reset(run_mirror); /* start and reload read everything */
    struct sl_config *cfg = sl_config_mirror_build(run_mirror, run_store, err, errlen);
    return cfg ? sl_snapshot_build(cfg, err, errlen) : NULL;
}

struct sl_config *
sl_cli_load_declarative(const struct sl_conf *conf, bool use_kept, bool log_warnings, char *err,
                        size_t errlen)
{
    char kept[4096] = "";
    const char *source = NULL; /* what messages call it: a path, or the key's name */
    bool from_string = false;
    if (conf->declarative_config[0] != '\0') {
        source = conf->declarative_config;
        if (conf->declarative_config_string_id != 0 && log_warnings) {
            sl_log(SL_LOG_WARN, "declarative_config_string is ignored: declarative_config is set");
        }
    } else if (conf->declarative_config_string_id != 0) {
        source = SL_CONF_DECLARATIVE_STRING_NAME; /* never the text: it may hold secrets */
        from_string = true;
    } else if (use_kept && sl_dbless_exists(conf->prefix) &&
               sl_dbless_path(conf->prefix, kept, sizeof(kept)) == 0) {
        source = kept;
    }
    if (source == NULL) {
        struct sl_config *cfg = sl_config_new_empty();
        if (cfg == NULL) {
            snprintf(err, errlen, "out of memory");
        }
        return cfg;
    }
    size_t head =
        (size_t)snprintf(err, errlen, "failed parsing declarative configuration %s:\n", source);
    if (head >= errlen) {
        head = 0;
    }
    char warn[4096] = "";
    struct sl_declarative_opts opts = {.warn = warn, .warnlen = sizeof(warn)};
    struct sl_config *cfg;
    if (from_string) {
        size_t len;
        const char *text = sl_conf_declarative_string(conf, &len);
        /* NULL only if another configuration was loaded after <conf> (conf.h) */
        cfg = text != NULL ? sl_declarative_load_string_opts(text, len, source, &opts, err + head,
                                                             errlen - head)
                           : NULL;
        if (text == NULL) {
            snprintf(err, errlen, "%s: its text is no longer available", source);
        }
    } else {
        cfg = sl_declarative_load_file_opts(source, &opts, err + head, errlen - head);
    }
    for (char *line = strtok(warn, "\n"); cfg && log_warnings && line; line = strtok(NULL, "\n")) {
        sl_log(SL_LOG_WARN, "%s: %s", source, line);
    }
    return cfg;
}

static struct sl_snapshot *load_config_snapshot(const struct sl_conf *conf, char *err,
                                                size_t errlen);

/* Loads the configuration the data plane will serve and compiles it into a snapshot, with
 * <conf>'s defaults for https services (their files read now). A failure leaves the previous
 * defaults in place, with the snapshot that was compiled with them. */
static struct sl_snapshot *
load_snapshot(const struct sl_conf *conf, char *err, size_t errlen)
{
    struct sl_upstream_tls_defaults *d = sl_upstream_tls_defaults_load(conf, err, errlen);
    if (d == NULL) {
        return NULL;
    }
    struct sl_upstream_tls_defaults *old = sl_snapshot_swap_upstream_tls_defaults(d);
    struct sl_snapshot *snap = load_config_snapshot(conf, err, errlen);
    if (snap == NULL) {
        sl_snapshot_swap_upstream_tls_defaults(old); /* gives <d> back */
        sl_upstream_tls_defaults_free(d);
    } else {
        sl_upstream_tls_defaults_free(old);
    }
    return snap;
}

static struct sl_snapshot *
load_config_snapshot(const struct sl_conf *conf, char *err, size_t errlen)
{
    struct sl_config *cfg;
    if (conf->database == SL_DB_POSTGRES) {
        snprintf(err, errlen, "database = postgres is not available yet (use sqlite or off)");
        return NULL;
    }
    if (conf->database == SL_DB_SQLITE) {
        return load_store_snapshot(conf, err, errlen);
    }
    cfg = sl_cli_load_declarative(conf, true, true, err, errlen);
    if (cfg == NULL) {
        return NULL;
    }
    return sl_snapshot_build(cfg, err, errlen);
}

static void
on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    if (draining && w->signum == SIGQUIT) {
        sl_log(SL_LOG_NOTICE, "signal %d (SIG%s) received, already draining", w->signum,
               sigabbrev_np(w->signum));
        return;
    }
    graceful_stop = w->signum == SIGQUIT;
    sl_log(SL_LOG_NOTICE, "signal %d (SIG%s) received, %s", w->signum, sigabbrev_np(w->signum),
           graceful_stop ? "draining (graceful quit)" : "stopping");
    ev_break(loop, EVBREAK_ALL);
}

/* During a graceful drain: ends the control loop once every worker is done. */
static void
on_drain_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    if (sl_proxy_stopped()) {
        ev_break(loop, EVBREAK_ALL);
    }
}

/* SIGHUP: reload (src/cli/reload.c). */
static void
on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct sl_reload_env env = {
        .running = run_conf,
        .conf_path = run_conf_path,
        .draining = draining,
        .load_snapshot = load_snapshot,
    };
    sl_cli_reload(loop, &env);
}

/* Every MEMORY_CHECK_S: memory freed after a burst of connections goes back to the system
 * (core/mem_trim.h). */
#define MEMORY_CHECK_S 2.0

static void
on_memory_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    unsigned long long active =
        atomic_load_explicit(&sl_proxy_stats.connections_active, memory_order_relaxed);
    /* the peak since the last check; it starts again from the connections open now */
    sl_mem_trim_tick(
        w->data, active,
        atomic_exchange_explicit(&sl_proxy_stats.connections_peak, active, memory_order_relaxed));
}

/* SIGUSR1: reopens the error log and the access log at their paths (after rotation: the renamed
 * files are released, new ones created), as nginx does. */
static void
reopen_logs(long sender)
{
    /* nginx's line, which log rotation scripts and Kong's 13-signals spec look for; the sender
     * tells who rotated (logrotate, an operator) when the rotation went wrong */
    if (sender > 0) {
        sl_log(SL_LOG_NOTICE, "signal %d (SIGUSR1) received from %ld, reopening logs", SIGUSR1,
               sender);
    } else {
        sl_log(SL_LOG_NOTICE, "signal %d (SIGUSR1) received, reopening logs", SIGUSR1);
    }
    if (sl_log_reopen() < 0) {
        sl_log(SL_LOG_ERR, "could not reopen the error log: %s", strerror(errno));
    }
    if (sl_access_log_reopen() < 0) {
        sl_log(SL_LOG_ERR, "could not reopen the access log: %s", strerror(errno));
    }
    char err[1200];
    if (sl_admin_logs_reopen(err, sizeof(err)) < 0) {
        sl_log(SL_LOG_ERR, "%s", err);
    }
}

/* SIGUSR1 through a signalfd of its own: libev's signal watchers do not pass on who sent it. */
static void
on_reopen_fd(struct ev_loop *loop, ev_io *w, int revents)
{
    struct signalfd_siginfo si;
    long sender = -1;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        sender = (long)si.ssi_pid; /* several queued USR1: one reopen is enough */
    }
    if (sender >= 0) {
        reopen_logs(sender);
    }
}

/* Fallback when no signalfd can be made. */
static void
on_reopen(struct ev_loop *loop, ev_signal *w, int revents)
{
    reopen_logs(0);
}

static int pid_fd = -1; /* the pid file, write-locked until the process exits */

/* Writes the pid file under a lock held for the life of the process (sl_cli_instance_pid); the file
 * appears at its path already locked and complete (written aside, then renamed). */
static int
write_pid_file(const struct sl_conf *conf)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    pid_path(conf->prefix, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        sl_log(SL_LOG_WARN, "could not lock the pid file: %s", strerror(errno));
    }
    char line[32];
    int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (write(fd, line, (size_t)len) != len || rename(tmp, path) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    pid_fd = fd;
    return 0;
}

/* Forks; the parent waits until the child reports that it serves (or why it could not). */
static int
daemonize(int *notify_fd)
{
    int pfd[2];
    if (pipe(pfd) < 0) {
        return -1;
    }
    /* what this command printed before (`restart`'s "Sluice stopped") goes out now: a buffer
     * copied into the child would end up in its /dev/null, and the parent leaves with _exit */
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid > 0) {
        close(pfd[1]);
        char msg[8192];
        ssize_t n, total = 0;
        while ((n = read(pfd[0], msg + total, sizeof(msg) - 1 - (size_t)total)) > 0) {
            total += n;
        }
        msg[total] = '\0';
        if (strcmp(msg, "ok") == 0) {
            /* `kong start` says so once the node serves */
            sl_cli_say("Sluice started");
            _exit(0);
        }
        fprintf(stderr, "Error: %s\n", total ? msg : "sluice failed to start");
        sl_cli_log_error_hint(); /* main never sees this exit */
        _exit(1);
    }
    close(pfd[0]);
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        /* stderr stays until the start is confirmed, then follows stdout */
        if (devnull > STDERR_FILENO) {
            close(devnull);
        }
    }
    *notify_fd = pfd[1];
    return 0;
}

static void
notify(int fd, const char *msg)
{
    if (fd >= 0) {
        ssize_t w = write(fd, msg, strlen(msg));
        (void)w;
        close(fd);
    }
}

/* A start that failed once threads may run: logged, and told to the waiting parent (daemon) or on
 * stderr (foreground). Returns the exit status. */
static int
start_failed(int notify_fd, const char *err)
{
    sl_log(SL_LOG_CRIT, "%s", err);
    if (notify_fd < 0) {
        fprintf(stderr, "Error: %s\n", err);
    }
    notify(notify_fd, err);
    return 1;
}

int
sl_cli_start(struct sl_conf *conf, const char *conf_path)
{
    char err[65536];
    run_conf = conf;
    run_conf_path = conf_path;
    if (sl_cli_prepare_prefix(conf) < 0) {
        return 1;
    }
    if (sl_cli_instance_pid(conf->prefix) > 0) {
        fprintf(stderr, "Error: Sluice is already running in %s\n", conf->prefix);
        return 1;
    }
    sl_log_set_level((enum sl_log_level)conf->log_level);
    /* The Admin API's certificates (made under the prefix when missing, as `kong prepare` does)
     * are checked before anything starts, so a bad one fails here with its message on stderr. */
    if (sl_admin_prepare_tls(conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "Error: %s\n", err);
        return 1;
    }
    /* The resolver's settings (a reload changes all but its servers); its hosts file is read at
     * the first lookup, in the build below. */
    sl_dns_configure(&conf->dns);
    struct sl_snapshot *snap = load_snapshot(conf, err, sizeof(err));
    if (snap == NULL) {
        fprintf(stderr, "Error: %s\n", err);
        return 1;
    }
    sl_snapshot_publish(snap);

    int notify_fd = -1;
    if (conf->daemon && daemonize(&notify_fd) < 0) {
        fprintf(stderr, "Error: could not daemonize: %s\n", strerror(errno));
        return 1;
    }
    if (conf->daemon && run_store != NULL) {
        /* A SQLite connection must not cross fork(): the child opens its own. */
        struct sl_store_opts opts = {.path = conf->sqlite_path};
        struct sl_store_err serr = {0};
        sl_store_close(run_store);
        run_store = NULL;
        if (sl_store_open(&opts, &run_store, &serr) != SL_STORE_OK) {
            snprintf(err, sizeof(err), "%s", serr.message ? serr.message : "database");
            sl_store_err_clear(&serr);
            notify(notify_fd, err);
            return 1;
        }
        if (run_mirror != NULL) {
            /* a new handle counts generations anew: reload the rows under it now, not at the
             * first Admin write (a failure only defers the load to that write) */
            char merr[512];
            if (sl_config_mirror_load(run_mirror, run_store, merr, sizeof(merr)) < 0) {
                sl_log(SL_LOG_WARN, "store: %s", merr);
            }
        }
    }
    struct sl_cli_log_fds logs;
    struct sl_proxy_settings *settings = sl_proxy_settings_new(conf);
    if (settings == NULL) {
        snprintf(err, sizeof(err), "out of memory");
    }
    if (settings == NULL || sl_cli_open_logs(conf, &logs, err, sizeof(err)) < 0) {
        if (notify_fd < 0) {
            fprintf(stderr, "Error: %s\n", err);
        }
        notify(notify_fd, err);
        return 1;
    }
    sl_cli_use_logs(conf, &logs);
    /* After the error log is open, so that a replaced or unwritable <prefix>/sluice.id is
     * warned about there; before the Admin API, which shows the id. */
    if (sl_node_id_setup(conf->node_id, conf->prefix) < 0) {
        snprintf(err, sizeof(err), "could not generate a node_id");
        return start_failed(notify_fd, err);
    }
    sl_proxy_settings_publish(settings);

    /* Workers inherit a mask with every handled signal blocked; the control loop receives them
     * through signalfd. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int n = conf->worker_processes;
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    /* The memory baseline is taken before the first connection (on_memory_check). */
    struct sl_mem_trim trim;
    sl_mem_trim_init(&trim);
    if (sl_proxy_start(conf, n, err, sizeof(err)) < 0) {
        return start_failed(notify_fd, err);
    }
    sl_snapshot_set_publish_hook(sl_proxy_config_published);
    struct ev_loop *loop = ev_default_loop(EVFLAG_SIGNALFD);
    /* After the fork and the workers: names the first snapshot holds start resolving now, and
     * requests for them wait until their first answer arrives. */
    if (sl_dns_start(loop, sl_proxy_dns_settled, err, sizeof(err)) < 0) {
        sl_proxy_stop(false, 0);
        return start_failed(notify_fd, err);
    }
    sl_admin_set_store(run_store);
    sl_admin_set_mirror(run_mirror);
    if (sl_admin_start(loop, conf, err, sizeof(err)) < 0) {
        sl_proxy_stop(false, 0);
        return start_failed(notify_fd, err);
    }
    if (write_pid_file(conf) < 0) {
        sl_log(SL_LOG_WARN, "could not write the pid file: %s", strerror(errno));
    }
    sl_log(SL_LOG_NOTICE, "sluice %s started: %d worker%s, prefix %s", SL_VERSION, n,
           n == 1 ? "" : "s", conf->prefix);
    if (notify_fd >= 0) {
        notify(notify_fd, "ok");
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
        /* A log sent to "stderr" holds a duplicate of the launcher's stderr: point it at the
         * daemon's (/dev/null), or whoever reads the launcher's output never sees its end. */
        if (strcmp(conf->proxy_error_log, "stderr") == 0) {
            sl_log_reopen();
        }
        if (strcmp(conf->proxy_access_log, "stderr") == 0 ||
            strcmp(conf->proxy_access_log, "stdout") == 0) {
            sl_access_log_reopen();
        }
        char rerr[1200];
        if (sl_admin_logs_reopen(rerr, sizeof(rerr)) < 0) {
            sl_log(SL_LOG_ERR, "%s", rerr);
        }
    }

    ev_signal sig_term, sig_int, sig_quit, sig_hup, sig_usr1;
    ev_signal_init(&sig_term, on_stop_signal, SIGTERM);
    ev_signal_init(&sig_int, on_stop_signal, SIGINT);
    ev_signal_init(&sig_quit, on_stop_signal, SIGQUIT);
    ev_signal_init(&sig_hup, on_reload, SIGHUP);
    ev_signal_init(&sig_usr1, on_reopen, SIGUSR1);
    ev_signal_start(loop, &sig_term);
    ev_signal_start(loop, &sig_int);
    ev_signal_start(loop, &sig_quit);
    ev_signal_start(loop, &sig_hup);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ev_io usr1_io;
    int usr1_fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC); /* SIGUSR1 is blocked above */
    if (usr1_fd >= 0) {
        ev_io_init(&usr1_io, on_reopen_fd, usr1_fd, EV_READ);
        ev_io_start(loop, &usr1_io);
    } else {
        ev_signal_start(loop, &sig_usr1);
    }
    ev_timer mem_timer;
    ev_timer_init(&mem_timer, on_memory_check, MEMORY_CHECK_S, MEMORY_CHECK_S);
    mem_timer.data = &trim;
    ev_timer_start(loop, &mem_timer);
    ev_run(loop, 0);
    ev_timer_stop(loop, &mem_timer);

    sl_admin_stop(loop);
    if (graceful_stop) {
        /* The resolver runs on this loop: it keeps turning while the workers drain, so that
         * requests waiting for a name's first answer get it and finish. A TERM now ends the
         * drain (on_stop_signal clears graceful_stop). */
        draining = true;
        sl_proxy_begin_stop(true, conf->quit_timeout_s * 1000);
        ev_timer drained;
        ev_timer_init(&drained, on_drain_check, 0.02, 0.02);
        ev_timer_start(loop, &drained);
        ev_run(loop, 0);
        ev_timer_stop(loop, &drained);
    }
    if (usr1_fd >= 0) { /* logs are still reopened during a drain */
        ev_io_stop(loop, &usr1_io);
        close(usr1_fd);
    }
    sl_proxy_stop(graceful_stop, conf->quit_timeout_s * 1000);
    sl_store_close(run_store);
    run_store = NULL;
    sl_config_mirror_free(run_mirror);
    run_mirror = NULL;
    sl_snapshot_clear();
    sl_dns_stop();
    char path[PATH_MAX];
    pid_path(conf->prefix, path, sizeof(path));
    unlink(path);
    if (pid_fd >= 0) {
        close(pid_fd);
        pid_fd = -1;
    }
    sl_log(SL_LOG_NOTICE, "sluice stopped");
    return 0;
}

static bool
wait_exit(pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            return true;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* `kong stop`, `quit`, `reload` and `health` first check the prefix: a mistyped -p says so. */
static bool
prefix_exists(const char *prefix)
{
    struct stat st;
    if (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode)) {
        return true;
    }
    fprintf(stderr, "Error: no such prefix: %s\n", prefix);
    return false;
}

int
sl_cli_check_instance(const struct sl_conf *conf)
{
    if (!prefix_exists(conf->prefix)) {
        return 1;
    }
    if (sl_cli_instance_pid(conf->prefix) == 0) {
        fprintf(stderr, "Error: Sluice is not running in %s\n", conf->prefix);
        return 1;
    }
    return 0;
}

int
sl_cli_signal(const struct sl_conf *conf, int sig, int wait_s)
{
    if (!prefix_exists(conf->prefix)) {
        return 1;
    }
    pid_t pid = sl_cli_instance_pid(conf->prefix);
    if (pid == 0) {
        fprintf(stderr, "Error: Sluice is not running in %s\n", conf->prefix);
        return 1;
    }
    char pidfile[PATH_MAX];
    pid_path(conf->prefix, pidfile, sizeof(pidfile));
    sl_cli_log(SL_CLI_VERBOSE, "sending %s signal to sluice running at %s", sigabbrev_np(sig),
               pidfile);
    if (kill(pid, sig) < 0) {
        fprintf(stderr, "Error: could not signal pid %ld: %s\n", (long)pid, strerror(errno));
        return 1;
    }
    if (wait_s <= 0) {
        sl_cli_say("Sluice %s", sig == SIGHUP ? "reloaded" : "signalled");
        return 0;
    }
    if (wait_exit(pid, wait_s)) {
        /* `kong quit` says how it ended: within the timeout, or not. */
        sl_cli_say("%s", sig == SIGQUIT ? "Sluice stopped (gracefully)" : "Sluice stopped");
        return 0;
    }
    /* `kong quit`: SIGTERM after the timeout (SIGKILL if even that is not obeyed). */
    sl_cli_say("Timeout, Sluice stopping forcefully");
    kill(pid, SIGTERM);
    if (!wait_exit(pid, 5)) {
        kill(pid, SIGKILL);
        wait_exit(pid, 2);
    }
    sl_cli_say("Sluice stopped forcefully");
    return 0;
}

int
sl_cli_health(const struct sl_conf *conf)
{
    if (!prefix_exists(conf->prefix)) {
        return 1;
    }
    pid_t pid = sl_cli_instance_pid(conf->prefix);
    if (pid == 0) {
        fprintf(stderr, "Error: Sluice is not running at %s\n", conf->prefix);
        return 1;
    }
    sl_cli_say("sluice.......running");
    sl_cli_say("%s", ""); /* Kong's log("") line jump */
    sl_cli_say("Sluice is healthy at %s", conf->prefix);
    return 0;
}

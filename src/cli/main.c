/* SPDX-License-Identifier: Apache-2.0 */
/* The `sluice` command (kong.md §7, renamed): start, stop, quit, reload, restart, health, check,
 * config parse, version. Errors print `Error: <message>` (then Kong's hint, see finish) and exit
 * non-zero; --v and --vv print what Kong's print (docs/cli.md). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "cli/db.h"
#include "cli/drain.h"
#include "cli/process.h"
#include "cli/reload.h"
#include "config/conf.h"
#include "config/declarative.h"
#include "core/json_alloc.h"
#include "core/version.h"
#include "sluice/log.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: sluice COMMAND [OPTIONS]\n\n"
            "The available commands are:\n"
            "  start [-c FILE] [-p PREFIX]     start Sluice\n"
            "  stop [-p PREFIX]                stop a running Sluice (fast)\n"
            "  quit [-p PREFIX] [-t SECONDS] [-w SECONDS]\n"
            "                                  stop gracefully, finishing in-flight requests\n"
            "  reload [-c FILE] [-p PREFIX]    reload sluice.conf run-time values and the "
            "declarative config\n"
            "  restart [-c FILE] [-p PREFIX]   stop, then start\n"
            "  health [-p PREFIX]              is Sluice running at PREFIX?\n"
            "  drain [-c FILE] [-p PREFIX]     make the Status API's /status/ready answer 503\n"
            "  check [FILE]                    validate a sluice.conf file\n"
            "                                  (default /etc/sluice/sluice.conf)\n"
            "  config init [FILE]              write an example declarative file (./kong.yml)\n"
            "  config parse FILE               validate a declarative configuration file\n"
            "  config db_import FILE [-c -p]   load a declarative file into the database\n"
            "  config db_export [FILE] [-c -p] write the database as a declarative file\n"
            "  migrations bootstrap|up|list|reset [-y] [-c FILE] [-p PREFIX]\n"
            "                                  manage the database schema\n"
            "  version [-a]                    print the version (-a: and its libraries')\n\n"
            "Options (every command):\n"
            "  --v                             verbose\n"
            "  --vv                            debug\n");
}

/* Kong's CLI ends an error with `Run with --v (verbose) or --vv (debug) for more details`. Errors
 * are printed as `Error: <message>` from main.c, process.c and db.c alike: stderr goes through this
 * filter so that main knows whether the command printed one, and adds the hint after it only then,
 * not after the exits that answer rather than fail (`migrations list`'s 3 and 5, a `reset` with
 * nothing to do), nor in a daemon's child, which hands its error to the parent. */
static bool error_printed;
static int error_tag_at; /* bytes of "Error: " matched at the start of the line; -1: not one */

static ssize_t
stderr_write(void *cookie, const char *buf, size_t len)
{
    static const char tag[] = "Error: ";
    const int taglen = (int)sizeof(tag) - 1;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            error_tag_at = 0;
        } else if (error_tag_at >= 0 && error_tag_at < taglen) {
            error_tag_at = buf[i] == tag[error_tag_at] ? error_tag_at + 1 : -1;
            error_printed = error_printed || error_tag_at == taglen;
        }
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(STDERR_FILENO, buf + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static void
watch_stderr(void)
{
    cookie_io_functions_t io = {.write = stderr_write};
    FILE *f = fopencookie(NULL, "w", io);
    if (f != NULL) {
        setvbuf(f, NULL, _IONBF, 0); /* as stderr: nothing held back from a crash or a fork */
        stderr = f;                  /* glibc's standard streams are plain variables */
    }
}

/* The exit of a command whose errors Kong reports through its CLI's error handler. */
static int
finish(int rc)
{
    if (rc != 0 && error_printed) {
        sl_cli_log_error_hint();
    }
    return rc;
}

/* Kong's global flags, accepted anywhere after the verb of every command: --v (verbose) and --vv
 * (debug). Given both, --v wins, as in kong/cmd/init.lua (`if args.v ... elseif args.vv`). They
 * are taken out of argv before the verbs
 * read their operands (`check --v FILE`); /proc/<pid>/cmdline, which reload and restart read, still
 * shows them. Returns the new argc. */
static int
take_verbosity(int argc, char **argv)
{
    bool v = false, vv = false;
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vv") == 0) {
            vv = true;
        } else if (strcmp(argv[i], "--v") == 0) {
            v = true;
        } else {
            argv[n++] = argv[i];
        }
    }
    argv[n] = NULL;
    sl_cli_log_set_level(v ? SL_CLI_VERBOSE : vv ? SL_CLI_DEBUG : SL_CLI_INFO);
    return n;
}

/* Kong's first lines: its version (--v), then the versions of what it runs on (--vv). */
static void
say_versions(void)
{
    sl_cli_log(SL_CLI_VERBOSE, "Sluice: %s", SL_VERSION);
    sl_cli_log(SL_CLI_DEBUG, "libev: %d.%d", ev_version_major(), ev_version_minor());
    sl_cli_log(SL_CLI_DEBUG, "OpenSSL: %s", OpenSSL_version(OPENSSL_VERSION));
    sl_cli_log(SL_CLI_DEBUG, "SQLite: %s", sqlite3_libversion());
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "Error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

struct cli_opts {
    const char *conf_path;
    const char *prefix;
    int timeout_s;
    int wait_s; /* quit -w: seconds to wait before the graceful stop begins */
    bool yes;
    bool trace;        /* --v/--vv lines for this load: the command's own, not a second look */
    char *const *rest; /* operands after the verb */
    int nrest;
};

static int
parse_opts(int argc, char **argv, struct cli_opts *o)
{
    static const struct option longopts[] = {
        {"conf", required_argument, NULL, 'c'},
        {"prefix", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"yes", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {"v", no_argument, NULL, 'v'},
        {"vv", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 0; /* a full restart of getopt: `reload` parses a second command line */
    while ((ch = getopt_long(argc, argv, "c:p:t:w:yh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->conf_path = optarg;
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 't': {
            /* `kong quit -t`: seconds, at least 1 (`-t 0` waits 1 s, as Kong's) */
            char *end;
            errno = 0;
            long t = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || errno != 0 || t < 0 || t > 86400) {
                fprintf(stderr, "Error: -t needs a number of seconds (0-86400), got '%s'\n",
                        optarg);
                return -2;
            }
            o->timeout_s = t > 0 ? (int)t : 1;
            break;
        }
        case 'w': {
            /* `kong quit -w`: seconds to wait before quitting (time for a load balancer to
             * take the node out) */
            char *end;
            errno = 0;
            long w = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || errno != 0 || w < 0 || w > 86400) {
                fprintf(stderr, "Error: -w needs a number of seconds (0-86400), got '%s'\n",
                        optarg);
                return -2;
            }
            o->wait_s = (int)w;
            break;
        }
        case 'y':
            o->yes = true;
            break;
        case 'h':
            return -3; /* `kong <verb> --help`: the usage, on stderr, and nothing else */
        case 'v':
        case 'V':
            /* taken out of the command line by take_verbosity; still seen here in the arguments
             * of a running instance, which reload and restart read from /proc */
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Kong's search order: -c, then /etc/sluice/sluice.conf, then /etc/sluice.conf, else defaults.
 * <say>: each place looked at in vain, with --v (as Kong's conf_loader). */
static const char *
find_conf(const char *given, bool say)
{
    if (given != NULL) {
        return given;
    }
    static const char *const candidates[] = {"/etc/sluice/sluice.conf", "/etc/sluice.conf"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (access(candidates[i], R_OK) == 0) {
            return candidates[i];
        }
        if (say) {
            sl_cli_log(SL_CLI_VERBOSE, "no config file found at %s", candidates[i]);
        }
    }
    return NULL;
}

/* Values --vv never prints (Kong's CONF_SENSITIVE, shown as `******`): passwords, a declarative
 * configuration given inline, and a TLS key given as its PEM text (or that text in base64) where a
 * file's path is expected; the path of a key file is shown. */
static bool
is_secret(const char *key, const char *value)
{
    size_t n = strlen(key);
    if ((n >= 9 && strcmp(key + n - 9, "_password") == 0) ||
        strcmp(key, "declarative_config_string") == 0) {
        return true;
    }
    return strstr(key, "cert_key") != NULL &&
           (strstr(value, "-----BEGIN") != NULL || strstr(value, "LS0tLS1CRUdJT") != NULL);
}

/* <v> between double quotes, as Kong prints a string, with what would break the line or reach the
 * terminal as a control sequence escaped. NULL when out of memory. */
static char *
quoted(const char *v)
{
    char *q = malloc(strlen(v) * 4 + 3);
    if (q == NULL) {
        return NULL;
    }
    char *w = q;
    *w++ = '"';
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
            *w++ = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            w += sprintf(w, "\\%03d", *p);
        } else {
            *w++ = (char)*p;
        }
    }
    *w++ = '"';
    *w = '\0';
    return q;
}

/* --vv: every key of a load, kept until the load succeeds (Kong prints its configuration once it
 * is valid), and each SLUICE_<KEY> printed as it is found. */
struct key_item {
    const char *key; /* static, in the key table of config/conf.c */
    char *value;     /* quoted(), or "******" quoted */
};

struct key_dump {
    struct key_item *items;
    size_t n, cap;
};

static void
on_conf_key(const struct sl_conf_key_value *kv, void *ctx)
{
    struct key_dump *d = ctx;
    if (kv->src == SL_CONF_SRC_ENV) {
        char env[96] = "SLUICE_";
        size_t w = strlen(env);
        for (const char *k = kv->key; *k && w < sizeof(env) - 1; k++) {
            env[w++] = (char)toupper((unsigned char)*k);
        }
        env[w] = '\0';
        char *q = quoted(is_secret(kv->key, kv->given) ? "******" : kv->given);
        sl_cli_log(SL_CLI_DEBUG, "%s ENV found with %s", env, q ? q : "(out of memory)");
        free(q);
    }
    if (kv->value[0] == '\0') {
        return; /* unset: Kong leaves such keys out */
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        void *items = realloc(d->items, cap * sizeof(d->items[0]));
        if (items == NULL) {
            return;
        }
        d->items = items;
        d->cap = cap;
    }
    d->items[d->n].key = kv->key;
    d->items[d->n].value = quoted(is_secret(kv->key, kv->value) ? "******" : kv->value);
    if (d->items[d->n].value != NULL) {
        d->n++;
    }
}

static int
by_key(const void *a, const void *b)
{
    return strcmp(((const struct key_item *)a)->key, ((const struct key_item *)b)->key);
}

/* Loads <path> (NULL: defaults) with the lines Kong's conf_loader prints: with --vv each
 * SLUICE_<KEY> found and every resolved key in alphabetical order, then with --v the prefix and
 * the database in use. */
static int
load_traced(struct sl_conf *conf, const char *path, const char *prefix, char *err, size_t errlen)
{
    struct key_dump dump = {0};
    bool debug = sl_cli_log_level() >= SL_CLI_DEBUG;
    if (debug) {
        sl_conf_observe_keys(on_conf_key, &dump);
    }
    int rc = sl_conf_load_with_prefix(conf, path, prefix, err, errlen);
    sl_conf_observe_keys(NULL, NULL);
    if (rc == 0 && dump.n > 0) {
        qsort(dump.items, dump.n, sizeof(dump.items[0]), by_key);
        for (size_t i = 0; i < dump.n; i++) {
            sl_cli_log(SL_CLI_DEBUG, "%s = %s", dump.items[i].key, dump.items[i].value);
        }
    }
    for (size_t i = 0; i < dump.n; i++) {
        free(dump.items[i].value);
    }
    free(dump.items);
    if (rc < 0) {
        return rc;
    }
    sl_cli_log(SL_CLI_VERBOSE, "prefix in use: %s", conf->prefix);
    switch (conf->database) {
    case SL_DB_SQLITE:
        sl_cli_log(SL_CLI_VERBOSE, "database in use: sqlite (%s)", conf->sqlite_path);
        break;
    case SL_DB_POSTGRES:
        sl_cli_log(SL_CLI_VERBOSE, "database in use: postgres (%s:%d/%s)", conf->pg_host,
                   conf->pg_port, conf->pg_database);
        break;
    default:
        if (conf->declarative_config[0] != '\0') {
            sl_cli_log(SL_CLI_VERBOSE, "database in use: off (declarative_config %s)",
                       conf->declarative_config);
        } else {
            sl_cli_log(SL_CLI_VERBOSE, "database in use: off");
        }
        break;
    }
    return 0;
}

/* Loads sluice.conf: defaults < file < SLUICE_<KEY> environment < -p. */
static int
load_conf(struct sl_conf *conf, const struct cli_opts *o)
{
    char err[8192];
    const char *path = find_conf(o->conf_path, o->trace);
    if (o->conf_path != NULL && access(o->conf_path, R_OK) != 0) {
        return fail("no file at: %s", o->conf_path);
    }
    if (!o->trace) {
        if (sl_conf_load_with_prefix(conf, path, o->prefix, err, sizeof(err)) < 0) {
            return fail("%s", err);
        }
        return 0;
    }
    if (path == NULL) {
        sl_cli_log(SL_CLI_VERBOSE, "no config file, skip loading");
    } else {
        sl_cli_log(SL_CLI_VERBOSE, "reading config file at %s", path);
    }
    if (load_traced(conf, path, o->prefix, err, sizeof(err)) < 0) {
        return fail("%s", err);
    }
    return 0;
}

static int
cmd_check(int argc, char **argv)
{
    /* `kong check <conf>` defaults to /etc/kong/kong.conf */
    const char *path = argc >= 2 ? argv[1] : "/etc/sluice/sluice.conf";
    struct sl_conf *conf = calloc(1, sizeof(*conf));
    char err[4096];
    if (conf == NULL) {
        return fail("%s", "out of memory");
    }
    if (access(path, R_OK) != 0) {
        free(conf);
        return fail("no file at: %s", path);
    }
    sl_cli_log(SL_CLI_VERBOSE, "reading config file at %s", path);
    int rc = load_traced(conf, path, NULL, err, sizeof(err));
    free(conf);
    if (rc < 0) {
        return fail("%s", err);
    }
    sl_cli_say("configuration at %s is valid", path);
    return 0;
}

/* `config parse`: parses and validates the declarative file <path>; 0, or 1 with every error
 * printed under `Error: Failed parsing:`. */
static int
check_declarative(const char *path)
{
    char *err = malloc(65536);
    if (err == NULL) {
        return fail("%s", "out of memory");
    }
    struct sl_config *cfg = sl_declarative_load_file(path, err, 65536);
    if (cfg == NULL) {
        fprintf(stderr, "Error: Failed parsing:\n%s\n", err);
    }
    int rc = cfg == NULL;
    sl_config_free(cfg);
    free(err);
    return rc;
}

/* DB-less: the declarative configuration <conf> names, file or declarative_config_string, as the
 * instance will load it; 0, or 1 with every error printed under `Error: failed parsing declarative
 * configuration <source>:` (never the string's text: it may hold secrets). */
static int
check_dbless_source(const struct sl_conf *conf)
{
    char *err = malloc(65536);
    if (err == NULL) {
        return fail("%s", "out of memory");
    }
    struct sl_config *cfg = sl_cli_load_declarative(conf, false, false, err, 65536);
    if (cfg == NULL) {
        fprintf(stderr, "Error: %s\n", err);
    }
    int rc = cfg == NULL;
    sl_config_free(cfg);
    free(err);
    return rc;
}

/* The options the instance <pid> was started with (its `start` or `restart` command line, from
 * /proc), with this process moved to its working directory and given its environment, so that
 * its sluice.conf and declarative file read as they do for it: true with <*started> set (its
 * strings point into *args, which the caller frees in any case), false when /proc does not show
 * them (nothing moved). */
static bool
adopt_instance(pid_t pid, struct cli_opts *started, char ***args)
{
    int argc = 0;
    *args = sl_cli_instance_args(pid, &argc);
    char cwd[64];
    snprintf(cwd, sizeof(cwd), "/proc/%ld/cwd", (long)pid);
    if (*args != NULL && argc >= 2 &&
        (strcmp((*args)[1], "start") == 0 || strcmp((*args)[1], "restart") == 0) &&
        parse_opts(argc - 1, *args + 1, started) == 0 && chdir(cwd) == 0) {
        sl_cli_instance_env(pid);
        return true;
    }
    return false;
}

/* `reload`: the instance at the prefix re-reads the sluice.conf it was started with (not the -c
 * given here, which only finds the prefix), from its working directory and with its environment,
 * then the declarative file that names. Like `kong reload`, both are validated first, under the
 * instance's arguments, directory and environment when /proc shows them (else this command's); on
 * errors nothing is signalled. */
static int
cmd_reload(const struct sl_conf *conf, const struct cli_opts *o)
{
    pid_t pid = sl_cli_instance_pid(conf->prefix);
    if (pid == 0) {
        return sl_cli_signal(conf, SIGHUP, 0); /* "not running" */
    }
    struct cli_opts check = {.conf_path = o->conf_path, .prefix = conf->prefix}; /* absolute */
    struct cli_opts started = {0};
    char **args = NULL;
    if (adopt_instance(pid, &started, &args)) {
        check.conf_path = started.conf_path;
    }
    /* what the instance will read: its sluice.conf as `check` reads one, and with database = off
     * the declarative_config it names (else its declarative_config_string), as `config parse`
     * reads one */
    struct sl_conf *fresh = calloc(1, sizeof(*fresh));
    int rc = fresh == NULL ? fail("%s", "out of memory") : load_conf(fresh, &check);
    if (rc == 0 && fresh->database == SL_DB_OFF) {
        rc = check_dbless_source(fresh);
    }
    free(fresh);
    free(args);
    return rc != 0 ? 1 : sl_cli_signal(conf, SIGHUP, 0);
}

/* `restart`: stop, then start. Like `kong restart -p PREFIX`, which starts again from the
 * configuration the node runs (<prefix>/.kong_env), a restart without -c starts the new instance
 * as the running one was started: its -c, working directory and environment (from /proc, as
 * `reload` reads them), through an exec so that the new instance shows them in /proc in turn (the
 * next reload or restart reads them there). The defaults would bring it back on other listeners
 * and another database. That configuration is loaded before the stop: one that no longer loads
 * leaves the instance running. */
static int
cmd_restart(struct sl_conf *conf, const struct cli_opts *o)
{
    pid_t pid = sl_cli_instance_pid(conf->prefix);
    if (pid > 0 && o->conf_path == NULL) {
        struct cli_opts started = {0};
        char **args = NULL;
        if (adopt_instance(pid, &started, &args)) {
            struct cli_opts again = {.conf_path = started.conf_path, .prefix = conf->prefix};
            /* kept for the life of the process, as is args: sl_cli_start keeps both */
            struct sl_conf *running = calloc(1, sizeof(*running));
            if (running == NULL) {
                free(args);
                return fail("%s", "out of memory");
            }
            if (load_conf(running, &again) != 0) {
                free(running);
                free(args);
                return 1;
            }
            if (sl_cli_signal(conf, SIGTERM, 10) != 0) {
                return 1;
            }
            char *argv[8] = {args[0], "start", "-p", running->prefix};
            int nargv = 4;
            if (started.conf_path != NULL) {
                argv[nargv++] = "-c";
                argv[nargv++] = (char *)started.conf_path;
            }
            /* the start says as much as this restart was asked to */
            if (sl_cli_log_level() != SL_CLI_INFO) {
                argv[nargv++] = sl_cli_log_level() == SL_CLI_DEBUG ? "--vv" : "--v";
            }
            fflush(stdout); /* "Sluice stopped" */
            execv("/proc/self/exe", argv);
            /* no exec: the same start in this process, only not shown in /proc */
            return sl_cli_start(running, find_conf(started.conf_path, false));
        }
        free(args);
    }
    /* nothing running is no error: Kong's restart ignores its stop's failure */
    if (pid > 0 && sl_cli_signal(conf, SIGTERM, 10) != 0) {
        return 1;
    }
    return sl_cli_start(conf, find_conf(o->conf_path, false));
}

/* `drain`: the running instance's Status API is asked to answer /status/ready with 503 (`kong
 * drain`, which reads the running node's configuration from its prefix). The listener is the one
 * the instance has: its status_listen, read from its own sluice.conf as `reload` reads it; with
 * no instance running, the configuration given here. */
static int
cmd_drain(const struct sl_conf *conf, const struct cli_opts *o)
{
    pid_t pid = sl_cli_instance_pid(conf->prefix);
    struct cli_opts check = {.conf_path = o->conf_path, .prefix = conf->prefix};
    struct cli_opts started = {0};
    char **args = NULL;
    struct sl_conf *running = NULL;
    int rc = 0;
    if (pid > 0 && adopt_instance(pid, &started, &args)) {
        check.conf_path = started.conf_path;
        running = calloc(1, sizeof(*running));
        rc = running == NULL ? fail("%s", "out of memory") : load_conf(running, &check);
    }
    if (rc == 0) {
        rc = sl_cli_drain(running != NULL ? running : conf);
    }
    free(running);
    free(args);
    return rc;
}

/* `config init [FILE]`: an example declarative file to start from (Kong writes ./kong.yml). */
static int
cmd_config_init(const char *file)
{
    static const char example[] =
        "# A Sluice (Kong 3.x) declarative configuration. Load it with database = off and\n"
        "# declarative_config = <this file>, or into the database with `sluice config db_import`.\n"
        "_format_version: \"3.0\"\n"
        "_transform: true\n"
        "\n"
        "services:\n"
        "- name: example-service\n"
        "  url: http://example.com\n"
        "  routes:\n"
        "  - name: example-route\n"
        "    paths:\n"
        "    - /mock\n"
        "\n"
        "# consumers:\n"
        "# - username: example-user\n";
    if (file == NULL) {
        file = "kong.yml";
    }
    if (access(file, F_OK) == 0) {
        return fail("%s already exists", file);
    }
    FILE *f = fopen(file, "w");
    if (f == NULL || fputs(example, f) == EOF || fclose(f) != 0) {
        return fail("could not write %s", file);
    }
    sl_cli_say("Created a new declarative configuration file at %s", file);
    return 0;
}

static int
cmd_config(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "parse") != 0) {
        return fail("%s", "usage: sluice config parse FILE");
    }
    if (check_declarative(argv[2]) != 0) {
        return 1;
    }
    sl_cli_say("parse successful");
    return 0;
}

int
main(int argc, char **argv)
{
    sl_json_alloc_init(NULL); /* before any JSON value exists */
    watch_stderr();
    argc = take_verbosity(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    say_versions();
    if (strcmp(cmd, "version") == 0) {
        if (argc >= 3 && (strcmp(argv[2], "-a") == 0 || strcmp(argv[2], "--all") == 0)) {
            /* `kong version -a`: the version, then the libraries it runs on */
            printf("Sluice: %s\nlibev: %d.%d\nOpenSSL: %s\nSQLite: %s\n", SL_VERSION,
                   ev_version_major(), ev_version_minor(), OpenSSL_version(OPENSSL_VERSION),
                   sqlite3_libversion());
            return 0;
        }
        printf("%s\n", SL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "check") == 0) {
        /* no hint: Kong's check lists the errors itself and exits (kong/cmd/check.lua) */
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "config") == 0 && argc >= 3 && strcmp(argv[2], "parse") == 0) {
        return finish(cmd_config(argc - 1, argv + 1));
    }
    if (strcmp(cmd, "config") == 0 && argc >= 3 && strcmp(argv[2], "init") == 0) {
        return finish(cmd_config_init(argc >= 4 ? argv[3] : NULL));
    }

    /* Verbs with an operand ("migrations up", "config db_import FILE") take it before the
     * options; options may also follow. */
    struct cli_opts o = {0};
    int skip = 1;
    if (strcmp(cmd, "migrations") == 0 || strcmp(cmd, "config") == 0) {
        skip = 2;
    }
    int parsed = argc < skip + 1 ? -1 : parse_opts(argc - skip, argv + skip, &o);
    if (parsed < 0) {
        if (parsed == -1 || parsed == -3) {
            usage(stderr);
        }
        return parsed == -3 ? 0 : 1;
    }
    o.rest = argv + skip + optind;
    o.nrest = argc - skip - optind;
    o.trace = true;
    /* The configuration lives as long as the process (workers read it until they stop). */
    static struct sl_conf conf_storage;
    struct sl_conf *conf = &conf_storage;
    bool signal_only =
        strcmp(cmd, "stop") == 0 || strcmp(cmd, "quit") == 0 || strcmp(cmd, "health") == 0;
    if (signal_only && o.prefix != NULL) {
        /* These verbs only need the prefix. Given with -p, a sluice.conf or a SLUICE_<KEY> value
         * that went bad after the start must not keep the operator from stopping the instance
         * (Kong's stop reads the prefix, not kong.conf). */
        char err[1024];
        if (sl_conf_load_buffer(conf, NULL, 0, NULL, o.prefix, false, err, sizeof(err)) < 0) {
            return finish(fail("%s", err));
        }
        sl_cli_log(SL_CLI_VERBOSE, "prefix in use: %s", conf->prefix);
    } else if (load_conf(conf, &o) != 0) {
        return finish(1);
    }
    if (strcmp(cmd, "start") == 0) {
        return finish(sl_cli_start(conf, find_conf(o.conf_path, false)));
    }
    if (strcmp(cmd, "stop") == 0) {
        return finish(sl_cli_signal(conf, SIGTERM, 10));
    }
    if (strcmp(cmd, "quit") == 0) {
        int t = o.timeout_s > 0 ? o.timeout_s : 10;
        if (o.wait_s > 0) {
            /* the instance must be there before the wait, not found missing after it */
            if (sl_cli_check_instance(conf) != 0) {
                return finish(1);
            }
            sleep((unsigned)o.wait_s);
        }
        return finish(sl_cli_signal(conf, SIGQUIT, t));
    }
    if (strcmp(cmd, "reload") == 0) {
        return finish(cmd_reload(conf, &o));
    }
    if (strcmp(cmd, "restart") == 0) {
        return finish(cmd_restart(conf, &o));
    }
    if (strcmp(cmd, "health") == 0) {
        return finish(sl_cli_health(conf));
    }
    if (strcmp(cmd, "drain") == 0) {
        return finish(cmd_drain(conf, &o));
    }
    if (strcmp(cmd, "migrations") == 0) {
        /* checked before the database is opened (which would create it and the prefix) */
        static const char *const verbs[] = {"bootstrap", "up", "list", "reset"};
        bool known = false;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
            known = known || strcmp(argv[2], verbs[i]) == 0;
        }
        if (!known) {
            return fail("No such command for migrations: %s", argv[2]); /* Kong's: no hint */
        }
        /* as Kong's: a `y` piped in by a script must not drop the database; only a terminal
         * answers the question, else --yes says so */
        if (strcmp(argv[2], "reset") == 0 && !o.yes && !isatty(STDIN_FILENO)) {
            return finish(
                fail("%s", "not a tty: invoke 'reset' non-interactively with the --yes flag"));
        }
        return finish(sl_cli_migrations(conf, argv[2], o.yes));
    }
    if (strcmp(cmd, "config") == 0 && strcmp(argv[2], "db_import") == 0) {
        if (o.nrest < 1) {
            return finish(fail("%s", "usage: sluice config db_import FILE"));
        }
        return finish(sl_cli_db_import(conf, o.rest[0]));
    }
    if (strcmp(cmd, "config") == 0 && strcmp(argv[2], "db_export") == 0) {
        return finish(sl_cli_db_export(conf, o.nrest > 0 ? o.rest[0] : NULL));
    }
    fprintf(stderr, "Error: unknown command '%s'\n\n", cmd); /* with the usage, no hint */
    usage(stderr);
    return 1;
}

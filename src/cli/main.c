/* SPDX-License-Identifier: Apache-2.0 */
/* The `sluice` command (kong.md §7, renamed): start, stop, quit, reload, restart, health, check,
 * config parse, version. Errors print `Error: <message>` and exit non-zero. */
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
#include "cli/process.h"
#include "cli/reload.h"
#include "config/conf.h"
#include "config/declarative.h"
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
            "  check [FILE]                    validate a sluice.conf file\n"
            "                                  (default /etc/sluice/sluice.conf)\n"
            "  config init [FILE]              write an example declarative file (./kong.yml)\n"
            "  config parse FILE               validate a declarative configuration file\n"
            "  config db_import FILE [-c -p]   load a declarative file into the database\n"
            "  config db_export [FILE] [-c -p] write the database as a declarative file\n"
            "  migrations bootstrap|up|list|reset [-y] [-c FILE] [-p PREFIX]\n"
            "                                  manage the database schema\n"
            "  version [-a]                    print the version (-a: and its libraries')\n");
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
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Kong's search order: -c, then /etc/sluice/sluice.conf, then /etc/sluice.conf, else defaults. */
static const char *
find_conf(const char *given)
{
    if (given != NULL) {
        return given;
    }
    static const char *const candidates[] = {"/etc/sluice/sluice.conf", "/etc/sluice.conf"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (access(candidates[i], R_OK) == 0) {
            return candidates[i];
        }
    }
    return NULL;
}

/* Loads sluice.conf: defaults < file < SLUICE_<KEY> environment < -p. */
static int
load_conf(struct sl_conf *conf, const struct cli_opts *o)
{
    char err[8192];
    const char *path = find_conf(o->conf_path);
    if (o->conf_path != NULL && access(o->conf_path, R_OK) != 0) {
        return fail("no file at: %s", o->conf_path);
    }
    if (sl_conf_load_with_prefix(conf, path, o->prefix, err, sizeof(err)) < 0) {
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
    int rc = sl_conf_load(conf, path, err, sizeof(err));
    free(conf);
    if (rc < 0) {
        return fail("%s", err);
    }
    printf("configuration at %s is valid\n", path);
    return 0;
}

/* Parses and validates the declarative file <path>; 0, or 1 with every error printed under
 * `Error: <what> <path>:` (`Error: Failed parsing:` when <what> is NULL, as `config parse` says).
 */
static int
check_declarative(const char *path, const char *what)
{
    char *err = malloc(65536);
    if (err == NULL) {
        return fail("%s", "out of memory");
    }
    struct sl_config *cfg = sl_declarative_load_file(path, err, 65536);
    int rc = cfg == NULL;
    if (cfg == NULL && what == NULL) {
        fprintf(stderr, "Error: Failed parsing:\n%s\n", err);
    } else if (cfg == NULL) {
        fprintf(stderr, "Error: %s %s:\n%s\n", what, path, err);
    }
    sl_config_free(cfg);
    free(err);
    return rc;
}

/* As check_declarative, for the text of <conf>'s declarative_config_string: errors are printed
 * under `Error: <what> declarative_config_string:`, never the text (it may hold secrets). */
static int
check_declarative_string(const struct sl_conf *conf, const char *what)
{
    size_t len;
    const char *text = sl_conf_declarative_string(conf, &len);
    if (text == NULL) { /* <conf> is not the configuration loaded last (conf.h) */
        return fail("%s: its text is no longer available", SL_CONF_DECLARATIVE_STRING_NAME);
    }
    char *err = malloc(65536);
    if (err == NULL) {
        return fail("%s", "out of memory");
    }
    struct sl_config *cfg =
        sl_declarative_load_string(text, len, SL_CONF_DECLARATIVE_STRING_NAME, err, 65536);
    if (cfg == NULL) {
        fprintf(stderr, "Error: %s %s:\n%s\n", what, SL_CONF_DECLARATIVE_STRING_NAME, err);
    }
    int rc = cfg == NULL;
    sl_config_free(cfg);
    free(err);
    return rc;
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
    int argc = 0;
    char **args = sl_cli_instance_args(pid, &argc);
    char cwd[64];
    snprintf(cwd, sizeof(cwd), "/proc/%ld/cwd", (long)pid);
    if (args != NULL && argc >= 2 &&
        (strcmp(args[1], "start") == 0 || strcmp(args[1], "restart") == 0) &&
        parse_opts(argc - 1, args + 1, &started) == 0 && chdir(cwd) == 0) {
        check.conf_path = started.conf_path;
        sl_cli_instance_env(pid);
    }
    /* what the instance will read: its sluice.conf as `check` reads one, and with database = off
     * the declarative_config it names (else its declarative_config_string), as `config parse`
     * reads one */
    struct sl_conf *fresh = calloc(1, sizeof(*fresh));
    int rc = fresh == NULL ? fail("%s", "out of memory") : load_conf(fresh, &check);
    if (rc == 0 && fresh->database == SL_DB_OFF && fresh->declarative_config[0] != '\0') {
        rc = check_declarative(fresh->declarative_config,
                               "failed parsing declarative configuration");
    } else if (rc == 0 && fresh->database == SL_DB_OFF &&
               fresh->declarative_config_string_id != 0) {
        rc = check_declarative_string(fresh, "failed parsing declarative configuration");
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
        int argc = 0;
        char **args = sl_cli_instance_args(pid, &argc);
        char cwd[64];
        snprintf(cwd, sizeof(cwd), "/proc/%ld/cwd", (long)pid);
        if (args != NULL && argc >= 2 &&
            (strcmp(args[1], "start") == 0 || strcmp(args[1], "restart") == 0) &&
            parse_opts(argc - 1, args + 1, &started) == 0 && chdir(cwd) == 0) {
            sl_cli_instance_env(pid);
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
            char *argv[] = {args[0], "start", "-p", running->prefix, NULL, NULL, NULL};
            if (started.conf_path != NULL) {
                argv[4] = "-c";
                argv[5] = (char *)started.conf_path;
            }
            fflush(stdout); /* "Sluice stopped" */
            execv("/proc/self/exe", argv);
            /* no exec: the same start in this process, only not shown in /proc */
            return sl_cli_start(running, find_conf(started.conf_path));
        }
        free(args);
    }
    /* nothing running is no error: Kong's restart ignores its stop's failure */
    if (pid > 0 && sl_cli_signal(conf, SIGTERM, 10) != 0) {
        return 1;
    }
    return sl_cli_start(conf, find_conf(o->conf_path));
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
    printf("Created a new declarative configuration file at %s\n", file);
    return 0;
}

static int
cmd_config(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "parse") != 0) {
        return fail("%s", "usage: sluice config parse FILE");
    }
    if (check_declarative(argv[2], NULL) != 0) {
        return 1;
    }
    printf("parse successful\n");
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
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
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "config") == 0 && argc >= 3 && strcmp(argv[2], "parse") == 0) {
        return cmd_config(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "config") == 0 && argc >= 3 && strcmp(argv[2], "init") == 0) {
        return cmd_config_init(argc >= 4 ? argv[3] : NULL);
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
            return fail("%s", err);
        }
    } else if (load_conf(conf, &o) != 0) {
        return 1;
    }
    if (strcmp(cmd, "start") == 0) {
        return sl_cli_start(conf, find_conf(o.conf_path));
    }
    if (strcmp(cmd, "stop") == 0) {
        return sl_cli_signal(conf, SIGTERM, 10);
    }
    if (strcmp(cmd, "quit") == 0) {
        int t = o.timeout_s > 0 ? o.timeout_s : 10;
        if (o.wait_s > 0) {
            /* the instance must be there before the wait, not found missing after it */
            if (sl_cli_check_instance(conf) != 0) {
                return 1;
            }
            sleep((unsigned)o.wait_s);
        }
        return sl_cli_signal(conf, SIGQUIT, t);
    }
    if (strcmp(cmd, "reload") == 0) {
        return cmd_reload(conf, &o);
    }
    if (strcmp(cmd, "restart") == 0) {
        return cmd_restart(conf, &o);
    }
    if (strcmp(cmd, "health") == 0) {
        return sl_cli_health(conf);
    }
    if (strcmp(cmd, "migrations") == 0) {
        /* checked before the database is opened (which would create it and the prefix) */
        static const char *const verbs[] = {"bootstrap", "up", "list", "reset"};
        bool known = false;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
            known = known || strcmp(argv[2], verbs[i]) == 0;
        }
        if (!known) {
            return fail("No such command for migrations: %s", argv[2]);
        }
        /* as Kong's: a `y` piped in by a script must not drop the database; only a terminal
         * answers the question, else --yes says so */
        if (strcmp(argv[2], "reset") == 0 && !o.yes && !isatty(STDIN_FILENO)) {
            return fail("%s", "not a tty: invoke 'reset' non-interactively with the --yes flag");
        }
        return sl_cli_migrations(conf, argv[2], o.yes);
    }
    if (strcmp(cmd, "config") == 0 && strcmp(argv[2], "db_import") == 0) {
        if (o.nrest < 1) {
            return fail("%s", "usage: sluice config db_import FILE");
        }
        return sl_cli_db_import(conf, o.rest[0]);
    }
    if (strcmp(cmd, "config") == 0 && strcmp(argv[2], "db_export") == 0) {
        return sl_cli_db_export(conf, o.nrest > 0 ? o.rest[0] : NULL);
    }
    fprintf(stderr, "Error: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 1;
}

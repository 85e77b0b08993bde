/* SPDX-License-Identifier: Apache-2.0 */
/* Database verbs (db.h). Messages follow Kong's CLI where it has one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/db.h"
#include "cli/process.h"
#include "config/declarative.h"
#include "config/store_bridge.h"
#include "sluice/log.h"

struct sl_store *
sl_cli_open_store(const struct sl_conf *conf, bool bootstrap)
{
    if (conf->database == SL_DB_OFF) {
        fprintf(stderr, "Error: database = off: there is no database to use\n");
        return NULL;
    }
    if (conf->database == SL_DB_POSTGRES) {
        fprintf(stderr, "Error: database = postgres is not available yet (use sqlite)\n");
        return NULL;
    }
    if (sl_cli_prepare_prefix(conf) < 0) {
        return NULL;
    }
    struct sl_store_opts opts = {.path = conf->sqlite_path, .auto_bootstrap = bootstrap};
    struct sl_store *st = NULL;
    struct sl_store_err err = {0};
    if (sl_store_open(&opts, &st, &err) != SL_STORE_OK) {
        fprintf(stderr, "Error: %s\n", err.message ? err.message : "cannot open the database");
        sl_store_err_clear(&err);
        return NULL;
    }
    return st;
}

static void
print_migration(void *ud, const char *name, bool executed)
{
    int *want_executed = ud;
    if ((bool)*want_executed == executed) {
        printf("  core: %s\n", name);
    }
}

static void
count_executed(void *ud, const char *name, bool executed)
{
    (void)name;
    *(size_t *)ud += executed;
}

int
sl_cli_migrations(const struct sl_conf *conf, const char *verb, bool yes)
{
    struct sl_store *st = sl_cli_open_store(conf, false);
    struct sl_store_err err = {0};
    enum sl_store_rc rc = SL_STORE_OK;
    int exit_code = 0; /* when rc is OK */
    if (st == NULL) {
        return 1;
    }
    if (strcmp(verb, "bootstrap") == 0) {
        bool already = false;
        sl_cli_say("Bootstrapping database...");
        rc = sl_store_migrations_bootstrap(st, &already, &err);
        if (rc == SL_STORE_OK) {
            sl_cli_say("%s", already ? "Database already bootstrapped" : "Database is up-to-date");
        }
    } else if (strcmp(verb, "up") == 0) {
        size_t n = 0;
        rc = sl_store_migrations_up(st, &n, &err);
        if (rc == SL_STORE_OK) {
            if (n) {
                sl_cli_say("%zu migrations processed", n);
                sl_cli_say("Database is up-to-date");
            } else {
                sl_cli_say("Database is already up-to-date");
            }
        }
    } else if (strcmp(verb, "list") == 0) {
        /* Kong's exit codes, which scripts test: 3 needs bootstrapping, 5 migrations to run
         * (Kong's "new migrations"; Sluice has no pending-until-finish state, Kong's 4), 0 none */
        size_t nexecuted = 0, npending = 0;
        rc = sl_store_migrations_list(st, count_executed, &nexecuted, &err);
        if (rc == SL_STORE_OK && nexecuted == 0) {
            sl_cli_say("Database needs bootstrapping; run 'sluice migrations bootstrap'");
            exit_code = 3;
        } else if (rc == SL_STORE_OK) {
            int executed = 1, pending = 0;
            sl_cli_say("Executed migrations:");
            rc = sl_store_migrations_list(st, print_migration, &executed, &err);
            if (rc == SL_STORE_OK) {
                rc = sl_store_migrations_pending(st, &npending, &err);
            }
            if (rc == SL_STORE_OK && npending) {
                sl_cli_say("\nPending migrations:");
                rc = sl_store_migrations_list(st, print_migration, &pending, &err);
            }
            if (rc == SL_STORE_OK && npending) {
                sl_cli_say("\nRun 'sluice migrations up' to proceed");
                exit_code = 5;
            }
        }
    } else if (strcmp(verb, "reset") == 0) {
        size_t nexecuted = 0;
        rc = sl_store_migrations_list(st, count_executed, &nexecuted, &err);
        if (rc == SL_STORE_OK && nexecuted == 0) {
            /* Kong's migrations_utils.reset: no question asked, nothing done, a failure */
            sl_cli_say("Database not bootstrapped, nothing to reset");
            sl_store_close(st);
            return 1;
        }
        if (rc == SL_STORE_OK && !yes) {
            char answer[16] = "";
            printf("Are you sure? This operation is irreversible. [y/n] ");
            fflush(stdout);
            if (fgets(answer, sizeof(answer), stdin) == NULL || answer[0] != 'y') {
                sl_cli_say("Canceled");
                sl_store_close(st);
                return 1;
            }
        }
        if (rc == SL_STORE_OK) {
            rc = sl_store_migrations_reset(st, &err);
        }
        if (rc == SL_STORE_OK) {
            sl_cli_say("Database successfully reset");
        }
    } else {
        fprintf(stderr, "Error: unknown migrations command '%s' (bootstrap, up, list, reset)\n",
                verb);
        sl_store_close(st);
        return 1;
    }
    if (rc != SL_STORE_OK) {
        fprintf(stderr, "Error: %s\n", err.message ? err.message : sl_store_rc_name(rc));
    }
    sl_store_err_clear(&err);
    sl_store_close(st);
    return rc == SL_STORE_OK ? exit_code : 1;
}

int
sl_cli_db_import(const struct sl_conf *conf, const char *file)
{
    char *err = malloc(65536);
    char *warn = malloc(65536);
    json_t *rows = NULL;
    if (err == NULL || warn == NULL) {
        free(err);
        free(warn);
        return 1;
    }
    struct sl_declarative_opts opts = {.warn = warn, .warnlen = 65536, .rows = &rows};
    struct sl_config *cfg = sl_declarative_load_file_opts(file, &opts, err, 65536);
    if (cfg == NULL) {
        fprintf(stderr, "Error: Failed parsing:\n%s\n", err);
        free(err);
        free(warn);
        return 1;
    }
    /* what is not imported (credentials of plugins not bundled, vaults...) is said, never dropped
     * silently; plugins themselves refuse the file (the loader's validate_plugins) */
    if (warn[0] != '\0') {
        fprintf(stderr, "%s\n", warn);
    }
    sl_cli_say("parse successful");
    struct sl_store *st = sl_cli_open_store(conf, true);
    int rc = 1;
    if (st != NULL) {
        if (sl_config_store_import(st, rows, err, 65536) < 0) {
            fprintf(stderr, "Error: Failed importing:\n%s\n", err);
        } else {
            sl_cli_say("import successful");
            rc = 0;
        }
        sl_store_close(st);
    }
    json_decref(rows);
    sl_config_free(cfg);
    free(err);
    free(warn);
    return rc;
}

int
sl_cli_db_export(const struct sl_conf *conf, const char *file)
{
    char err[4096];
    struct sl_store *st = sl_cli_open_store(conf, false);
    if (st == NULL) {
        return 1;
    }
    json_t *doc = sl_config_store_export(st, err, sizeof(err));
    sl_store_close(st);
    if (doc == NULL) {
        fprintf(stderr, "Error: %s\n", err);
        return 1;
    }
    if (file == NULL) {
        file = "kong.yml";
    }
    /* The file holds certificates' private keys: readable by its owner only, and never an existing
     * file (O_EXCL also refuses a symlink planted in its place). */
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            fprintf(stderr, "Error: %s already exists\n", file);
        } else {
            fprintf(stderr, "Error: %s: %s\n", file, strerror(errno));
        }
        json_decref(doc);
        return 1;
    }
    FILE *f = fdopen(fd, "w");
    /* JSON is YAML: the file loads back with declarative_config or db_import. */
    int rc = f != NULL ? json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    if (f != NULL) {
        rc = fputc('\n', f) == EOF ? -1 : rc;
        rc = fclose(f) != 0 ? -1 : rc;
    } else {
        close(fd);
    }
    json_decref(doc);
    if (rc != 0) {
        fprintf(stderr, "Error: could not write %s\n", file);
        unlink(file);
        return 1;
    }
    sl_cli_say("export successful: %s", file);
    return 0;
}

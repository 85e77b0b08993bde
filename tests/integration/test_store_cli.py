# SPDX-License-Identifier: Apache-2.0
"""The embedded SQLite store through the CLI (issue #3): migrations, db_import/db_export, `start` on
database = sqlite (the default) serving what the database holds, persistence across restarts, and a
corrupt database refusing to start."""

import json
import os

import requests

from lib.sluice import Sluice, cli, dump_yaml, kong, service

T = 10


def conf_args(s):
    return ["-c", s.conf_path, "-p", s.prefix]


def make(tmp_path, upstream, start=False):
    s = Sluice(tmp_path, kong(service("echo", upstream.port,
                                      [{"name": "r", "paths": ["/db"]}])),
               conf={"database": "sqlite", "declarative_config": None}, start=False)
    return s


def test_migrations_bootstrap_list_reset(tmp_path, upstream):
    s = make(tmp_path, upstream)
    r = cli("migrations", "list", *conf_args(s))
    assert r.returncode == 3 and "needs bootstrapping" in r.stdout  # Kong's exit code
    r = cli("migrations", "bootstrap", *conf_args(s))
    assert r.returncode == 0 and "Database is up-to-date" in r.stdout
    r = cli("migrations", "list", *conf_args(s))
    assert "Executed migrations:\n  core: 000_base_core" in r.stdout and "Pending" not in r.stdout
    r = cli("migrations", "up", *conf_args(s))
    assert r.returncode == 0 and "already up-to-date" in r.stdout
    r = cli("migrations", "reset", "-y", *conf_args(s))
    assert r.returncode == 0 and "reset" in r.stdout
    assert cli("migrations", "list", *conf_args(s)).returncode == 3


def test_db_import_then_start_serves_and_survives_restart(tmp_path, upstream):
    s = make(tmp_path, upstream)
    r = cli("config", "db_import", s.kong_path, *conf_args(s))
    assert r.returncode == 0, r.stderr
    assert "import successful" in r.stdout
    assert os.path.exists(os.path.join(s.prefix, "sluice.db"))
    # importing the same file again upserts it (Kong's load_into_db): one copy of each entity
    r = cli("config", "db_import", s.kong_path, *conf_args(s))
    assert r.returncode == 0 and "import successful" in r.stdout, r.stderr
    s.start()
    assert requests.get(s.url("/db/x"), timeout=T).status_code == 200
    s.stop()
    s.start()
    assert requests.get(s.url("/db/x"), timeout=T).status_code == 200
    s.stop()
    out = os.path.join(str(tmp_path), "export.yml")
    r = cli("config", "db_export", out, *conf_args(s))
    assert r.returncode == 0, r.stderr
    r = cli("config", "parse", out)
    assert r.returncode == 0 and "parse successful" in r.stdout


def test_start_bootstraps_a_new_database_by_itself(tmp_path, upstream):
    s = make(tmp_path, upstream)
    s.start()
    try:
        assert os.path.exists(os.path.join(s.prefix, "sluice.db"))
        r = requests.get(s.url("/db"), timeout=T)
        assert r.status_code == 404  # an empty configuration, on purpose: nothing was imported
    finally:
        s.stop()


def test_corrupt_database_refuses_to_start(tmp_path, upstream):
    s = make(tmp_path, upstream)
    os.makedirs(s.prefix, exist_ok=True)
    with open(os.path.join(s.prefix, "sluice.db"), "wb") as f:
        f.write(b"this is not a database" * 100)
    r = cli("start", *conf_args(s))
    assert r.returncode != 0
    assert r.stderr.startswith("Error: ") and "sluice.db" in r.stderr


def test_invalid_import_lists_errors_and_writes_nothing(tmp_path, upstream):
    s = make(tmp_path, upstream)
    bad = os.path.join(str(tmp_path), "bad.yml")
    with open(bad, "w") as f:
        f.write(dump_yaml({"_format_version": "3.0", "services": [{"name": "x", "port": 0}]}))
    r = cli("config", "db_import", bad, *conf_args(s))
    assert r.returncode != 0 and "required field missing" in r.stderr
    r = cli("migrations", "list", *conf_args(s))
    assert r.returncode == 3, r.stdout  # nothing was imported: the database was not bootstrapped


def test_a_write_by_another_process_is_compiled_at_the_next_admin_write(tmp_path, upstream):
    """Snapshots are compiled from an in-memory mirror of the store; a commit by another process
    (here `config db_import` next to the running node) moves SQLite's data_version, so the next
    Admin write reloads the mirror instead of publishing a configuration without it."""
    s = Sluice(tmp_path, kong(service("echo", upstream.port, [{"name": "r", "paths": ["/db"]}])),
               conf={"database": "sqlite", "declarative_config": None, "admin_listen": "auto"},
               start=False)
    assert cli("config", "db_import", s.kong_path, *conf_args(s)).returncode == 0
    s.start()
    try:
        check_foreign_import_is_compiled(s, tmp_path, upstream)
    finally:
        s.stop()


def check_foreign_import_is_compiled(s, tmp_path, upstream):
    assert requests.get(s.url("/db/x"), timeout=T).status_code == 200
    more = os.path.join(str(tmp_path), "more.yml")
    with open(more, "w") as f:
        f.write(dump_yaml(kong(service("other", upstream.port,
                                       [{"name": "ext", "paths": ["/ext"]}]))))
    r = cli("config", "db_import", more, *conf_args(s))
    assert r.returncode == 0, r.stderr
    # an unrelated write through the Admin API recompiles: the imported route is served with it
    r = requests.post(s.admin_url("/consumers"), json={"username": "bob"}, timeout=T)
    assert r.status_code == 201, r.text
    assert requests.get(s.url("/ext/y"), timeout=T).status_code == 200
    assert requests.get(s.url("/db/x"), timeout=T).status_code == 200


def exported(s, tmp_path, name):
    """The database as `config db_export` writes it: {table: {name or id: row}}."""
    path = os.path.join(str(tmp_path), name)
    r = cli("config", "db_export", path, *conf_args(s))
    assert r.returncode == 0, r.stderr
    with open(path) as f:
        doc = json.load(f)
    return {t: {x.get("name") or x["id"]: x for x in rows}
            for t, rows in doc.items() if not t.startswith("_")}


def test_db_import_upserts_as_kong(tmp_path, upstream):
    """Kong's spec/02-integration/02-cmd/11-config_spec.lua "config db_import is idempotent based
    on endpoint_key": load_into_db upserts each entity by its primary key, the same file twice
    leaves one copy; a changed field is updated in place; the import is one transaction, a failure
    changes nothing."""
    s = make(tmp_path, upstream)
    path = os.path.join(str(tmp_path), "kong2.yml")

    def imp(doc):
        with open(path, "w") as f:
            f.write(dump_yaml(doc))
        return cli("config", "db_import", path, *conf_args(s))

    doc = kong(service("foo", upstream.port, [{"name": "r1", "paths": ["/foo"]}]),
               service("bar", upstream.port, [{"name": "r2", "paths": ["/bar"]}]))
    for _ in range(2):
        r = imp(doc)
        assert r.returncode == 0 and "import successful" in r.stdout, r.stderr
    first = exported(s, tmp_path, "first.json")
    assert sorted(first["services"]) == ["bar", "foo"] and sorted(first["routes"]) == ["r1", "r2"]

    # an edited file updates the rows it names, under the same ids
    doc["services"][0]["retries"] = 2
    doc["services"][0]["routes"][0]["paths"] = ["/foo2"]
    r = imp(doc)
    assert r.returncode == 0, r.stderr
    second = exported(s, tmp_path, "second.json")
    assert sorted(second["services"]) == ["bar", "foo"] and sorted(second["routes"]) == ["r1", "r2"]
    assert second["services"]["foo"]["id"] == first["services"]["foo"]["id"]
    assert second["services"]["foo"]["retries"] == 2
    assert second["routes"]["r1"]["id"] == first["routes"]["r1"]["id"]
    assert second["routes"]["r1"]["paths"] == ["/foo2"]
    s.start()
    try:
        assert requests.get(s.url("/foo2/x"), timeout=T).status_code == 200
        assert requests.get(s.url("/foo/x"), timeout=T).status_code == 404
    finally:
        s.stop()

    # a name held by another id is a unique violation (Kong's upsert is by primary key), and
    # the changes before it in the same file are undone
    doc["services"][0]["retries"] = 9
    doc["services"][1] = {"id": "33333333-3333-4333-8333-333333333333", "name": "bar",
                          "url": "http://127.0.0.1:%d" % upstream.port}
    doc["consumers"] = [{"username": "new"}]  # a table written before services
    r = imp(doc)
    assert r.returncode != 0
    assert "in 'services': UNIQUE violation detected on '{name=\"bar\"}'" in r.stderr, r.stderr
    assert exported(s, tmp_path, "third.json") == second

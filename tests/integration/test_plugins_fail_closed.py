# SPDX-License-Identifier: Apache-2.0
"""No plugin is bundled yet, and a configuration that asks for one is refused wherever it comes
from, never served without it: a kong.yml whose route is protected by key-auth must not start an
open proxy. Kong refuses such files the same way (`plugin '<name>' not enabled; add it to the
'plugins' configuration property`, its plugins entity's subschema error) and refuses to start with
`<name> plugin is enabled but not installed` when kong.conf names a plugin it lacks. Each test runs
the real binary: `start`, SIGHUP, `POST /config`, `config db_import`, `check`, and the Admin API's
POST /plugins, whose only error for an unknown name is that one (Kong's Schema:validate stops
there)."""

import signal
import time

import pytest
import requests

from lib.sluice import Sluice, SluiceError, cli, dump_yaml, kong, port_open, service

T = 10
NOT_ENABLED = "plugin '%s' not enabled; add it to the 'plugins' configuration property"


def protected(port):
    """Kong's getting-started file: a route behind key-auth and a rate limit, a consumer with a
    key and a global plugin."""
    doc = kong(service("api", port, [{"name": "r", "paths": ["/"],
                                      "plugins": [{"name": "key-auth"}]}]))
    doc["services"][0]["plugins"] = [{"name": "rate-limiting", "config": {"minute": 5}}]
    doc["consumers"] = [{"username": "alice", "keyauth_credentials": [{"key": "secret"}],
                         "plugins": [{"name": "acl", "config": {"allow": ["x"]}}]}]
    doc["plugins"] = [{"name": "cors"}]
    return doc


EXPECTED_LINES = [
    "in 'plugins': in entry 1 of 'plugins': in 'name': " + NOT_ENABLED % "cors",
    "in 'services': in entry 1 of 'services': in 'plugins': in entry 1 of 'plugins': in 'name': "
    + NOT_ENABLED % "rate-limiting",
    "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': in 'plugins': "
    "in entry 1 of 'plugins': in 'name': " + NOT_ENABLED % "key-auth",
    "in 'consumers': in entry 1 of 'consumers': in 'plugins': in entry 1 of 'plugins': in "
    "'name': " + NOT_ENABLED % "acl",
]


def test_a_file_with_plugins_refuses_to_start_and_lists_each(upstream, tmp_path):
    s = Sluice(tmp_path, protected(upstream.port), start=False)
    with pytest.raises(SluiceError) as ei:
        s.start()
    assert s.returncode not in (None, 0)
    for line in EXPECTED_LINES:
        assert line in str(ei.value), (line, str(ei.value))
    assert not port_open(s.port)
    r = cli("config", "parse", s.kong_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[1:5] == EXPECTED_LINES, r.stderr


def test_empty_plugin_lists_are_fine(upstream, sluice_factory):
    doc = kong(service("api", upstream.port, [{"paths": ["/"], "plugins": []}]))
    doc["services"][0]["plugins"] = []
    doc["plugins"] = []
    s = sluice_factory(doc)
    assert requests.get(s.url("/"), timeout=T).status_code == 200


def test_reload_with_plugins_keeps_serving_the_old_config(upstream, sluice_factory):
    s = sluice_factory(kong(service("api", upstream.port, [{"name": "a", "paths": ["/a"]}])))
    doc = protected(upstream.port)
    doc["services"][0]["routes"][0]["paths"] = ["/b"]
    s.write_kong(doc)
    s.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while NOT_ENABLED % "key-auth" not in s.error_log() and time.time() < deadline:
        time.sleep(0.05)
    assert NOT_ENABLED % "key-auth" in s.error_log(), s.logs()
    assert s.alive()
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    assert requests.get(s.url("/b"), timeout=T).status_code == 404


def test_post_config_with_plugins_is_refused_and_the_running_config_stays(upstream,
                                                                          sluice_factory):
    s = sluice_factory(kong(service("api", upstream.port, [{"name": "a", "paths": ["/a"]}])),
                       {"admin_listen": "auto"})
    doc = protected(upstream.port)
    del doc["consumers"], doc["plugins"], doc["services"][0]["plugins"]
    r = requests.post(s.admin_url("/config"), json=doc, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "code": 14,
        "name": "invalid declarative configuration",
        "fields": {"services": [{"routes": [{"plugins": [{"name": NOT_ENABLED % "key-auth"}]}]}]},
        "message": "declarative config is invalid: {services={{routes={{plugins={{name=\"%s\"}}}}}}}"
                   % (NOT_ENABLED % "key-auth"),
    }
    r = requests.post(s.admin_url("/config?flatten_errors=1"), json=protected(upstream.port),
                      timeout=T)
    assert r.status_code == 400, r.text
    flat = r.json()["flattened_errors"]
    assert sorted((e["entity_type"], e["entity_name"], e["errors"][0]["message"])
                  for e in flat) == sorted(
        ("plugin", n, NOT_ENABLED % n) for n in ("cors", "rate-limiting", "key-auth", "acl"))
    assert requests.get(s.url("/a"), timeout=T).status_code == 200
    services = requests.get(s.admin_url("/services"), timeout=T).json()["data"]
    assert [x["name"] for x in services] == ["api"]
    routes = requests.get(s.admin_url("/routes"), timeout=T).json()["data"]
    assert [x["paths"] for x in routes] == [["/a"]]


def test_db_import_with_plugins_imports_nothing(upstream, tmp_path):
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"}, start=False)
    path = tmp_path / "import.yml"
    path.write_text(dump_yaml(protected(upstream.port)))
    r = cli("config", "db_import", str(path), "-c", s.conf_path, "-p", s.prefix)
    assert r.returncode == 1, (r.stdout, r.stderr)
    for line in EXPECTED_LINES:
        assert line in r.stderr, (line, r.stderr)
    s.start()
    try:
        for table in ("services", "routes", "consumers", "plugins"):
            got = requests.get(s.admin_url("/" + table), timeout=T).json()["data"]
            assert got == [], (table, got)
    finally:
        s.stop()


def test_admin_api_plugin_with_unknown_name_reports_only_the_name(tmp_path):
    """Kong's Schema:validate(): when the subschema (the plugin) cannot be determined, nothing else
    is validated, so neither the config's keys nor the protocols add errors."""
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "admin_listen": "auto"})
    try:
        r = requests.post(s.admin_url("/plugins"), json={
            "name": "key-auth", "config": {"key_names": [1]}, "protocols": ["ftp"]}, timeout=T)
        assert r.status_code == 400
        assert r.json() == {
            "code": 2, "name": "schema violation",
            "message": "schema violation (name: %s)" % (NOT_ENABLED % "key-auth"),
            "fields": {"name": NOT_ENABLED % "key-auth"}}
        r = requests.post(s.admin_url("/plugins"), json={"config": {}, "enabled": 5}, timeout=T)
        assert r.status_code == 400
        assert r.json()["fields"] == {"name": "required field missing"}
        assert requests.get(s.admin_url("/plugins"), timeout=T).json()["data"] == []
    finally:
        s.stop()


def test_conf_naming_a_plugin_that_is_not_installed_refuses_to_start(upstream, tmp_path):
    s = Sluice(tmp_path, kong(service("api", upstream.port, [{"paths": ["/"]}])),
               {"plugins": "bundled, key-auth"}, start=False)
    want = ("plugins has an invalid value: 'key-auth' (key-auth plugin is enabled but not "
            "installed; bundled, off or the names of installed plugins)")
    r = cli("check", s.conf_path)
    assert r.returncode == 1 and want in r.stderr, r.stderr
    with pytest.raises(SluiceError) as ei:
        s.start()
    assert want in str(ei.value)
    assert not port_open(s.port)
    s.write_conf(plugins="bundled, off")
    s.start()
    try:
        assert requests.get(s.url("/"), timeout=T).status_code == 200
    finally:
        s.stop()


def test_filter_chains_are_refused_as_kong_refuses_them_without_wasm(upstream, sluice_factory,
                                                                      tmp_path):
    """Kong's WASM filter chains change traffic as plugins do. With wasm off (Kong's default;
    Sluice has none) Kong keeps the entity and its check refuses each entry: "wasm support is not
    enabled" as the entry's @entity error."""
    doc = kong(service("api", upstream.port, [{"name": "r", "paths": ["/"]}]))
    doc["filter_chains"] = [{"name": "fc", "service": "api", "filters": [{"name": "f"}]}]
    s = Sluice(tmp_path, doc, start=False)
    with pytest.raises(SluiceError) as ei:
        s.start()
    assert ("in 'filter_chains': in entry 1 of 'filter_chains': wasm support is not enabled"
            in str(ei.value))
    assert not port_open(s.port)

    s = sluice_factory(kong(service("api", upstream.port, [{"name": "a", "paths": ["/a"]}])),
                       {"admin_listen": "auto"})
    doc["services"][0]["filter_chains"] = [{"filters": [{"name": "f"}]}]
    r = requests.post(s.admin_url("/config"), json=doc, timeout=T)
    assert r.status_code == 400, r.text
    entity = {"@entity": ["wasm support is not enabled"]}
    assert r.json()["fields"] == {"filter_chains": [entity],
                                  "services": [{"filter_chains": [entity]}]}
    assert requests.get(s.url("/a"), timeout=T).status_code == 200


def test_post_config_nests_an_upstream_entity_check_as_kong(sluice_factory):
    """An entity check of a record other than a service or a route (here an upstream's conditional
    on hash_on) is the entry's @entity error beside its field errors, as Kong nests it; it was a
    bare string in the entry's place, which hid the field error beside it."""
    s = sluice_factory(kong(), {"admin_listen": "auto"})
    r = requests.post(s.admin_url("/config"), json={
        "_format_version": "3.0", "upstreams": [{"name": "u", "hash_on": "header"}]}, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json()["fields"] == {"upstreams": [{
        "@entity": ["failed conditional validation given value of field 'hash_on'"],
        "hash_on_header": "required field missing"}]}

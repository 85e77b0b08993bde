# SPDX-License-Identifier: Apache-2.0
"""Kong's unit specs of the declarative format, rewritten against the real binary:

- spec/01-unit/01-db/10-declarative_spec.lua
- spec/01-unit/01-db/01-schema/11-declarative_config/01-validate_spec.lua   (validate)
- spec/01-unit/01-db/01-schema/11-declarative_config/02-process_auto_fields_spec.lua
- spec/01-unit/01-db/01-schema/11-declarative_config/03-flatten_spec.lua    (flatten)
- spec/01-unit/01-db/01-schema/11-declarative_config/05-error-flattening_spec.lua

What Kong checks on its Lua tables is observed here through `sluice config parse FILE` (the
validation messages), POST /config (the nested `fields` of the 400, the 201) and GET /services,
GET /routes (the flattened entities with their auto fields: ids, created_at, defaults, foreign
keys), and once through `sluice start` with `declarative_config`. Only services and routes are
asserted in detail: the other tables are accepted and ignored by Sluice (docs/configuration.md
§2.1). Cases about plugins, consumers, credentials, oauth2, targets, workspaces and consumer
groups (Enterprise) have no Sluice counterpart and are left out."""

import json
import os
import textwrap

import pytest
import requests

from lib.sluice import Sluice, cli, kong

T = 15


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    s = Sluice(tmp_path_factory.mktemp("declspec"), kong(), conf={"admin_listen": "auto"},
               name="declspec")
    yield s
    s.stop()


@pytest.fixture
def admin(node):
    return node.admin_url("").rstrip("/")


def doc(text):
    return textwrap.dedent(text).lstrip("\n")


def parse(tmp_path, text):
    """`sluice config parse` of <text>: (exit status, the error lines after "Failed parsing:")."""
    path = os.path.join(str(tmp_path), "kong.yml")
    with open(path, "w") as f:
        f.write(doc(text))
    r = cli("config", "parse", path)
    out = r.stdout + r.stderr
    if r.returncode == 0:
        assert "parse successful" in out
        return 0, []
    lines = out.splitlines()
    lines = lines[lines.index("Error: Failed parsing:") + 1:]
    # Kong's CLI ends the error with its hint (kong/cmd/init.lua)
    assert lines[-2:] == ["", "  Run with --v (verbose) or --vv (debug) for more details"], out
    return r.returncode, lines[:-2]


def accepted(tmp_path, text):
    rc, lines = parse(tmp_path, text)
    assert rc == 0, lines
    return True


def fields(admin, text):
    """POST /config of <text>: the 400's nested `fields`."""
    r = requests.post(admin + "/config", data=doc(text),
                      headers={"Content-Type": "application/yaml"}, timeout=T)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == 14 and body["name"] == "invalid declarative configuration"
    return body["fields"]


def load(admin, text):
    """POST /config of <text> (201), then the loaded services and routes as GET shows them."""
    r = requests.post(admin + "/config", data=doc(text),
                      headers={"Content-Type": "application/yaml"}, timeout=T)
    assert r.status_code == 201, r.text
    services = requests.get(admin + "/services", timeout=T).json()["data"]
    routes = requests.get(admin + "/routes", timeout=T).json()["data"]
    return ({s["name"] or s["id"]: s for s in services},
            {r["name"] or r["id"]: r for r in routes})


def is_uuid(v):
    import uuid
    try:
        return str(uuid.UUID(v)) == v
    except (TypeError, ValueError):
        return False


# ---- 10-declarative_spec.lua --------------------------------------------------------------------

def test_parse_string_converts_null(admin):
    """describe("parse_string") it("converts lyaml.null to ngx.null")"""
    _, routes = load(admin, """
        _format_version: "1.1"
        routes:
          - name: null
            paths:
            - /
    """)
    [route] = routes.values()
    assert route["name"] is None
    assert route["paths"] == ["/"]


def test_ttl_fields_are_accepted(tmp_path):
    """it("ttl fields are accepted in DB-less schema validation"): the keyauth credential's ttl
    belongs to a table Sluice ignores; the document, `services:` left empty, is accepted."""
    assert accepted(tmp_path, """
        _format_version: '2.1'
        consumers:
        - custom_id: ~
          id: e150d090-4d53-4e55-bff8-efaaccd34ec4
          tags: ~
          username: bar@example.com
        services:
        keyauth_credentials:
        - created_at: 1593624542
          id: 3f9066ef-b91b-4d1d-a05a-28619401c1ad
          tags: ~
          ttl: ~
          key: test
          consumer: e150d090-4d53-4e55-bff8-efaaccd34ec4
    """)


# ---- 01-validate_spec.lua -----------------------------------------------------------------------

def test_format_version_is_required_as_a_string(tmp_path):
    """describe("_format_version") it("requires version 1.1 or 2.1"), with 3.0"""
    assert parse(tmp_path, "_format_version: 1.1\n") == \
        (1, ["in '_format_version': expected a string"])
    assert parse(tmp_path, '_format_version: "foobar"\n') == \
        (1, ["in '_format_version': expected one of: 1.1, 2.1, 3.0"])
    for v in ("1.1", "2.1", "3.0"):
        assert accepted(tmp_path, '_format_version: "%s"\n' % v)


def test_comment_accepts_a_string(tmp_path):
    """describe("_comment") it("accepts a string")"""
    assert parse(tmp_path, '_format_version: "1.1"\n_comment: 1234\n') == \
        (1, ["in '_comment': expected a string"])
    assert accepted(tmp_path,
                    '_format_version: "1.1"\n_comment: "1234" # this is how yaml works!\n')
    assert parse(tmp_path, '_format_version: "1.1"\n_comment:\n  foo: bar\n') == \
        (1, ["in '_comment': expected a string"])
    assert accepted(tmp_path, '_format_version: "1.1"\n_comment: I am a happy comment!\n')


def test_ignore_accepts_an_array_of_anything(tmp_path):
    """describe("_ignore") it("accepts an array of anything")"""
    assert parse(tmp_path, '_format_version: "1.1"\n_ignore: 1234\n') == \
        (1, ["in '_ignore': expected an array"])
    assert accepted(tmp_path, '_format_version: "1.1"\n_ignore:\n- 1234\n')
    assert parse(tmp_path, '_format_version: "1.1"\n_ignore:\n  foo: bar\n  bla: 123\n') == \
        (1, ["in '_ignore': expected an array"])
    assert accepted(tmp_path, """
        _format_version: "1.1"
        _ignore:
        - foo: bar
          bla: 123
        - "Hello, world"
        - 1234
    """)


def test_format_errors_in_the_400_body(admin):
    """The same checks through POST /config: Kong's top-level fields."""
    assert fields(admin, "_format_version: 1.1\n") == {"_format_version": "expected a string"}
    assert fields(admin, '_format_version: "1.1"\n_comment:\n  foo: bar\n_ignore: 1\n') == \
        {"_comment": "expected a string", "_ignore": "expected an array"}


def test_services_accept_an_empty_list(tmp_path, admin):
    """core entities / services: it("accepts an empty list") (validate, process_auto_fields and
    flatten: nothing is loaded)"""
    text = '_format_version: "1.1"\nservices:\n'
    assert accepted(tmp_path, text)
    assert load(admin, text) == ({}, {})


def test_services_accept_entities(tmp_path):
    """services: it("accepts entities"), with _comment and _ignore on each"""
    assert accepted(tmp_path, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          _comment: my comment
          _ignore:
          - foo: bar
        - name: bar
          host: example.test
          port: 3000
          _comment: my comment
          _ignore:
          - foo: bar
    """)


def test_services_verify_required_fields(tmp_path, admin):
    """services: it("verifies required fields")"""
    text = """
        _format_version: "1.1"
        services:
        - name: foo
    """
    assert parse(tmp_path, text) == \
        (1, ["in 'services': in entry 1 of 'services': in 'host': required field missing"])
    assert fields(admin, text) == {"services": [{"host": "required field missing"}]}


def test_services_perform_regular_validations(admin):
    """services: it("performs regular validations") (Kong OSS's protocols)"""
    assert fields(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          retries: -1
          protocol: foo
          host: 1234
          port: 99999
          path: /foo//bar/
    """) == {"services": [{
        "host": "expected a string",
        "path": "must not have empty segments",
        "port": "value should be between 0 and 65535",
        "protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
        "retries": "value should be between 0 and 32767",
    }]}


def test_plugins_accept_an_empty_list(tmp_path):
    """plugins: it("accepts an empty list"), and in a service: (ignored by Sluice)"""
    assert accepted(tmp_path, '_format_version: "1.1"\nplugins:\n')
    assert accepted(tmp_path, """
        _format_version: "1.1"
        services:
        - name: foo
          plugins: []
          host: example.com
    """)


def test_routes_in_services_accept_an_empty_list_and_entities(tmp_path):
    """routes in services: it("accepts an empty list"), it("accepts entities")"""
    assert accepted(tmp_path, """
        _format_version: "1.1"
        services:
        - name: foo
          routes: []
          host: example.com
    """)
    assert accepted(tmp_path, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          routes:
            - paths:
              - /path
            - hosts:
              - example.com
            - methods: ["GET", "POST"]
        - name: bar
          host: example.test
          port: 3000
          routes:
            - paths:
              - /path
              hosts:
              - example.com
              methods: ["GET", "POST"]
    """)


def test_routes_in_services_verify_required_fields(tmp_path, admin):
    """routes in services: it("verifies required fields"): an entity check, nested as Kong's
    {"@entity": [...]} at the route's index."""
    text = """
        _format_version: "1.1"
        services:
        - name: foo
          url: https://example.com
          routes:
          - preserve_host: true
    """
    msg = ("must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is "
           "'https'")
    assert parse(tmp_path, text) == (1, [
        "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': " + msg])
    assert fields(admin, text) == {"services": [{"routes": [{"@entity": [msg]}]}]}


def test_routes_in_services_perform_regular_validations(admin):
    """routes in services: it("performs regular validations") (Kong 3.x's path message)"""
    assert fields(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          url: https://example.com
          routes:
          - name: foo
            paths:
            - bla
    """) == {"services": [{"routes": [{"paths": [
        "should start with: / (fixed path) or ~/ (regex path)"]}]}]}


def test_entity_check_keeps_the_field_errors_beside_it(admin):
    """05-error-flattening_spec's err_t: a service's conditional check and its field error in one
    object, a top-level route's check likewise."""
    assert fields(admin, """
        _format_version: "3.0"
        services:
        - name: mis-matched
          host: localhost
          protocol: tcp
          path: /path
        routes:
        - name: r
          protocols: [tcp]
          nope: 1
    """) == {
        "services": [{"@entity": ["failed conditional validation given value of field "
                                  "'protocol'"],
                      "path": "value must be null"}],
        "routes": [{"@entity": ["must set one of 'sources', 'destinations', 'snis' when "
                                "'protocols' is 'tcp', 'tls' or 'udp'"],
                    "nope": "unknown field"}],
    }


# ---- 02-process_auto_fields_spec.lua ------------------------------------------------------------

SERVICE_DEFAULTS = {"connect_timeout": 60000, "read_timeout": 60000, "write_timeout": 60000,
                    "retries": 5}
ROUTE_DEFAULTS = {"preserve_host": False, "regex_priority": 0, "strip_path": True,
                  "protocols": ["http", "https"], "https_redirect_status_code": 426,
                  "request_buffering": True, "response_buffering": True}


def subset(entity, expected):
    return {k: entity[k] for k in expected}


def test_auto_fields_of_services(admin):
    """services: it("accepts entities") and it("allows url shorthand"): port 80 and protocol
    http by default (an https service without a port keeps 80), the url expanded."""
    services, _ = load(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          _comment: my comment
          _ignore:
          - foo: bar
        - name: bar
          host: example.test
          port: 3000
        - name: baz
          # url shorthand also works, and expands into multiple fields
          url: https://example.com:8000/hello/world
    """)
    assert subset(services["foo"], dict(SERVICE_DEFAULTS, protocol="https", host="example.com",
                                        port=80, path=None)) == \
        dict(SERVICE_DEFAULTS, protocol="https", host="example.com", port=80, path=None)
    assert subset(services["bar"], dict(SERVICE_DEFAULTS, protocol=1, host=1, port=1)) == \
        dict(SERVICE_DEFAULTS, protocol="http", host="example.test", port=3000)
    assert subset(services["baz"], dict(protocol=1, host=1, port=1, path=1)) == \
        dict(protocol="https", host="example.com", port=8000, path="/hello/world")
    # the _comment and _ignore of the input are not entity fields
    assert "_comment" not in services["foo"] and "_ignore" not in services["foo"]


def test_auto_fields_of_routes_in_services(admin):
    """routes in services: it("accepts entities") (path_handling v1 given, the rest defaulted);
    plugins in routes in services: it("accepts an empty list")."""
    _, routes = load(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          routes:
            - path_handling: v1
              name: r1
              paths:
              - /path
            - name: r2
              hosts:
              - example.com
            - name: r3
              methods: ["GET", "POST"]
              plugins:
    """)
    for name in ("r1", "r2", "r3"):
        assert subset(routes[name], ROUTE_DEFAULTS) == ROUTE_DEFAULTS, name
    assert routes["r1"]["path_handling"] == "v1"
    assert routes["r2"]["path_handling"] == "v0"  # Kong's default
    assert routes["r1"]["paths"] == ["/path"] and routes["r2"]["hosts"] == ["example.com"]
    assert routes["r3"]["methods"] == ["GET", "POST"]


def test_auto_fields_when_started_from_the_file(tmp_path):
    """The same defaults when the file is the node's declarative_config (`sluice start`)."""
    s = Sluice(tmp_path, doc("""
        _format_version: "3.0"
        services:
        - name: foo
          host: example.com
          protocol: https
          routes:
          - name: r1
            paths: [/path]
    """), conf={"admin_listen": "auto"})
    try:
        a = s.admin_url("").rstrip("/")
        svc = requests.get(a + "/services/foo", timeout=T).json()
        assert subset(svc, SERVICE_DEFAULTS) == SERVICE_DEFAULTS and svc["port"] == 80
        route = requests.get(a + "/routes/r1", timeout=T).json()
        assert subset(route, ROUTE_DEFAULTS) == ROUTE_DEFAULTS
        assert route["service"] == {"id": svc["id"]}
    finally:
        s.stop()


# ---- 03-flatten_spec.lua ------------------------------------------------------------------------

def test_flatten_services_entities(admin):
    """services: it("accepts entities"): every field, unset ones null; a UUID id; created_at and
    updated_at set; tags kept."""
    services, _ = load(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          _comment: my comment
          _ignore:
          - foo: bar
        - name: bar
          host: example.test
          port: 3000
          _comment: my comment
          _ignore:
          - foo: bar
          tags: [hello, world]
    """)
    for svc in services.values():
        assert is_uuid(svc["id"])
        assert isinstance(svc["created_at"], int) and isinstance(svc["updated_at"], int)
        for k in ("path", "client_certificate", "tls_verify", "tls_verify_depth",
                  "ca_certificates"):
            assert svc[k] is None, k
        assert subset(svc, SERVICE_DEFAULTS) == SERVICE_DEFAULTS
    assert services["bar"]["tags"] == ["hello", "world"] and services["bar"]["port"] == 3000
    assert services["foo"]["tags"] is None and services["foo"]["port"] == 80


def test_flatten_field_names_like_entities(admin):
    """services: it("accepts field names with the same name as entities"): a route's `snis` is a
    field, not the snis table."""
    _, routes = load(admin, """
        _format_version: "1.1"
        routes:
        - name: foo
          path_handling: v1
          protocols: ["tls"]
          snis:
          - "example.com"
    """)
    route = routes["foo"]
    assert route["snis"] == ["example.com"] and route["protocols"] == ["tls"]
    assert route["service"] is None and route["paths"] is None and route["hosts"] is None
    assert route["path_handling"] == "v1" and route["https_redirect_status_code"] == 426


def test_flatten_fails_with_missing_foreign_relationships(tmp_path, admin):
    """plugins: it("fails with missing foreign relationships"), for a top-level route: Kong's
    validate_references() lists the unresolved references under the route's name."""
    text = """
        _format_version: "1.1"
        routes:
        - name: r1
          paths: [/]
          service: svc1
    """
    assert parse(tmp_path, text) == (1, [
        "in 'routes': in 'r1': invalid reference 'service: svc1' (no such entry in 'services')"])
    assert fields(admin, text) == {"routes": {"r1": [
        "invalid reference 'service: svc1' (no such entry in 'services')"]}}


def test_flatten_succeeds_with_present_foreign_relationships(admin):
    """plugins: it("succeeds with present foreign relationships"): a top-level route names its
    service; the flattened route holds it as {id = <service id>}."""
    services, routes = load(admin, """
        _format_version: "1.1"
        services:
          - name: svc1
            host: example.com
        routes:
          - name: r1
            path_handling: v1
            paths: [/]
            service: svc1
    """)
    assert routes["r1"]["service"] == {"id": services["svc1"]["id"]}
    assert subset(routes["r1"], ROUTE_DEFAULTS) == ROUTE_DEFAULTS


def test_flatten_routes_in_services(admin):
    """routes in services: it("accepts a single entity"), it("accepts multiple entities"): each
    route gets its parent as {id = ...}; an unnamed route gets an id and a null name."""
    services, routes = load(admin, """
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          routes:
            - path_handling: v1
              paths:
              - /path
              name: r1
            - path_handling: v1
              hosts:
              - example.com
              name: r2
            - methods: ["GET", "POST"]
        - name: bar
          host: example.test
          port: 3000
          routes:
            - path_handling: v1
              paths:
              - /path
              hosts:
              - example.com
              methods: ["GET", "POST"]
              name: r4
    """)
    foo, bar = services["foo"]["id"], services["bar"]["id"]
    assert routes["r1"]["service"] == {"id": foo} and routes["r2"]["service"] == {"id": foo}
    assert routes["r4"]["service"] == {"id": bar}
    unnamed = [r for k, r in routes.items() if k not in ("r1", "r2", "r4")]
    assert len(unnamed) == 1 and unnamed[0]["name"] is None and is_uuid(unnamed[0]["id"])
    assert unnamed[0]["service"] == {"id": foo} and unnamed[0]["methods"] == ["GET", "POST"]


NESTED_BY = """
    _format_version: "1.1"
    services:
    - id: 0fe87b4a-ce29-515a-88ec-8547e66550b9
      name: svc
      host: example.com
      routes:
      - name: nested
        paths: [/]
        service: %s
"""


@pytest.mark.parametrize("ref", ["0fe87b4a-ce29-515a-88ec-8547e66550b9", "svc",
                                 "{id: 0fe87b4a-ce29-515a-88ec-8547e66550b9}"])
def test_flatten_accepts_a_nested_entity_naming_its_parent(tmp_path, admin, ref):
    """basicauth_credentials: it("accepts as a nested entity by id") and it("accepts as a nested
    entity by username"), for a route nested in its service: repeating the parent is allowed."""
    assert accepted(tmp_path, NESTED_BY % ref)
    services, routes = load(admin, NESTED_BY % ref)
    assert routes["nested"]["service"] == {"id": "0fe87b4a-ce29-515a-88ec-8547e66550b9"}


@pytest.mark.parametrize("ref", ["00000000-0000-0000-0000-000000000000", "incorrect",
                                 "{name: svc}"])
def test_flatten_fails_as_a_nested_entity_by_incorrect_reference(tmp_path, admin, ref):
    """basicauth_credentials: it("fails as a nested entity by incorrect id") and it("fails as a
    nested entity by incorrect username"): a value naming no entity of the file (or not a primary
    key) is `value must be null` (one naming another entity is accepted: the entry keeps its
    parent, test_declarative_nested.py)."""
    assert parse(tmp_path, NESTED_BY % ref) == (1, [
        "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': "
        "in 'service': value must be null"])
    assert fields(admin, NESTED_BY % ref) == \
        {"services": [{"routes": [{"service": "value must be null"}]}]}


UNNESTED_BY = """
    _format_version: "1.1"
    services:
    - id: 0fe87b4a-ce29-515a-88ec-8547e66550b9
      name: svc
      host: example.com
    routes:
    - name: top
      paths: [/]
      service: %s
"""


@pytest.mark.parametrize("ref", ["0fe87b4a-ce29-515a-88ec-8547e66550b9", "svc"])
def test_flatten_accepts_an_unnested_entity_by_id_or_name(admin, ref):
    """basicauth_credentials: it("accepts as an unnested entity by id") and it("accepts as an
    unnested entity by username"), for a top-level route."""
    _, routes = load(admin, UNNESTED_BY % ref)
    assert routes["top"]["service"] == {"id": "0fe87b4a-ce29-515a-88ec-8547e66550b9"}


@pytest.mark.parametrize("ref", ["00000000-0000-0000-0000-000000000000", "incorrect"])
def test_flatten_fails_as_an_unnested_entity_by_incorrect_reference(admin, ref):
    """basicauth_credentials: it("fails as an unnested entity by incorrect id / username"): a
    route has no entity check on its service, so Kong's validate_references() reports it."""
    assert fields(admin, UNNESTED_BY % ref) == {"routes": {"top": [
        "invalid reference 'service: %s' (no such entry in 'services')" % ref]}}


def test_flatten_keeps_given_ids_and_created_at(admin):
    """15-off_spec's GET /config case and flatten's id handling: given ids and created_at are
    kept, the rest generated; the same document gives the same ids again."""
    text = """
        _format_version: "3.0"
        services:
        - name: given
          id: d885e256-1abe-5e24-80b6-8f68fe59ea8e
          created_at: 1566863706
          host: example.test
          routes:
          - paths: [/a]
    """
    services, routes = load(admin, text)
    assert services["given"]["id"] == "d885e256-1abe-5e24-80b6-8f68fe59ea8e"
    assert services["given"]["created_at"] == 1566863706
    [route] = routes.values()
    assert is_uuid(route["id"])
    _, again = load(admin, text)
    assert list(again.values())[0]["id"] == route["id"]


# ---- 05-error-flattening_spec.lua ---------------------------------------------------------------

def test_error_flattening_of_services_and_routes(admin):
    """The services-and-routes case of 05-error-flattening_spec (input with an invalid protocol,
    an unknown route field and an entity check): err_t as Kong nests it, then flattened."""
    config = {
        "_format_version": "3.0", "_transform": True,
        "services": [{
            "host": "localhost", "id": "cb019421-62c2-47a8-b714-d7567b114037", "name": "test",
            "port": 1234, "protocol": "nope", "tags": ["service-01"],
            "routes": [{"super_duper_invalid": True, "tags": ["route-01"]}],
        }],
    }
    r = requests.post(admin + "/config", data=json.dumps(config),
                      headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400
    assert r.json()["fields"] == {"services": [{
        "protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
        "routes": [{"@entity": ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' "
                                "when 'protocols' is 'https'"],
                    "super_duper_invalid": "unknown field"}],
    }]}
    r = requests.post(admin + "/config?flatten_errors=1", json=config, timeout=T)
    assert r.status_code == 400
    body = r.json()
    assert body["fields"] == {} and body["message"] == "declarative config is invalid: {}"
    got = {e["entity_type"]: e for e in body["flattened_errors"]}
    assert set(got) == {"route", "service"}
    assert got["route"]["entity"] == {"service": {"id": "cb019421-62c2-47a8-b714-d7567b114037"},
                                      "super_duper_invalid": True, "tags": ["route-01"]}
    assert got["route"]["entity_tags"] == ["route-01"]
    assert "entity_name" not in got["route"] and "entity_id" not in got["route"]
    assert sorted(got["route"]["errors"], key=lambda e: e["type"]) == [
        {"type": "entity", "message": "must set one of 'methods', 'hosts', 'headers', 'paths', "
                                      "'snis' when 'protocols' is 'https'"},
        {"type": "field", "field": "super_duper_invalid", "message": "unknown field"}]
    assert got["service"]["entity_id"] == "cb019421-62c2-47a8-b714-d7567b114037"
    assert got["service"]["entity_name"] == "test"
    assert "routes" not in got["service"]["entity"]
    assert got["service"]["errors"] == [{
        "type": "field", "field": "protocol",
        "message": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"}]

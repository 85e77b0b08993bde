# SPDX-License-Identifier: Apache-2.0
"""Kong's DB-less Admin API spec (spec/02-integration/04-admin_api/15-off_spec.lua, Kong 3.x),
rewritten against Sluice with `database = off`: the read-only entity endpoints, POST /config in
its forms (JSON document, YAML document, `config` string as JSON or YAML), check_hash, the 400
bodies (nested `fields`, `flattened_errors`), the 201 body and GET /config.

Kong's cases about consumers, plugins, certificates, upstreams/targets, vaults and credentials are
ported only as far as Sluice goes: those tables are accepted and ignored (docs/configuration.md
§2.1), so their own validation errors are not asserted. Left out: the 413 (LMDB map size), the
stream subsystem (no stream proxy), target health (no balancer), the unique-foreign and
cache-key plugin fixtures, and the timer-count regression (Prometheus)."""

import json
import uuid

import pytest
import requests

from lib.certs import self_signed
from lib.sluice import Sluice, kong

T = 15

SERVICE_PROTOCOL_ERROR = ("expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, "
                          "udp")


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One DB-less Sluice for the module, like Kong's lazy_setup; each test posts its own
    configuration (POST /config replaces everything)."""
    s = Sluice(tmp_path_factory.mktemp("offspec"), kong(), conf={"admin_listen": "auto"},
               name="offspec")
    yield s
    s.stop()


@pytest.fixture
def admin(node):
    return node.admin_url("").rstrip("/")


def post_config(a, body=None, path="/config", ctype="application/json", raw=None):
    if raw is not None:
        return requests.post(a + path, data=raw, headers={"Content-Type": ctype}, timeout=T)
    return requests.post(a + path, json=body, timeout=T)


def unindent(text):
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    pad = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return "\n".join(x[pad:] for x in lines) + "\n"


# ---- /routes ------------------------------------------------------------------------------------

ROUTE_405 = {"code": 12, "name": "operation unsupported",
             "message": "cannot create 'routes' entities when not using a database"}


@pytest.mark.parametrize("enc", ["form", "json"])  # Kong skips multipart here
def test_does_not_allow_to_create_a_route(admin, enc):
    """it_content_types("doesn't allow to creates a route")"""
    body = {"protocols": ["http"], "hosts": ["my.route.test"], "service": {"id": str(uuid.uuid4())}}
    if enc == "json":
        r = requests.post(admin + "/routes", json=body, timeout=T)
    else:
        r = requests.post(admin + "/routes", data={"protocols[]": "http",
                                                   "hosts[]": "my.route.test",
                                                   "service.id": body["service"]["id"]}, timeout=T)
    assert r.status_code == 405, r.text
    assert r.json() == ROUTE_405


@pytest.mark.parametrize("enc", ["form", "json"])
def test_does_not_allow_to_create_a_complex_route(admin, enc):
    """it_content_types("doesn't allow to creates a complex route")"""
    sid = str(uuid.uuid4())
    if enc == "json":
        r = requests.post(admin + "/routes", json={
            "protocols": ["http"], "methods": ["GET", "POST", "PATCH"],
            "hosts": ["foo.api.test", "bar.api.test"], "paths": ["/foo", "/bar"],
            "service": {"id": sid}}, timeout=T)
    else:
        r = requests.post(admin + "/routes", data=[
            ("protocols[]", "http"), ("methods[]", "GET"), ("methods[]", "POST"),
            ("methods[]", "PATCH"), ("hosts[]", "foo.api.test"), ("hosts[]", "bar.api.test"),
            ("paths[]", "/foo"), ("paths[]", "/bar"), ("service.id", sid)], timeout=T)
    assert r.status_code == 405, r.text
    assert r.json() == ROUTE_405


def test_routes_handles_invalid_offsets(admin):
    """describe("GET") it("handles invalid offsets")"""
    r = requests.get(admin + "/routes", params={"offset": "x"}, timeout=T)
    assert r.status_code == 400
    assert r.json() == {"code": 7, "name": "invalid offset",
                        "message": "'x' is not a valid offset: bad base64 encoding"}
    r = requests.get(admin + "/routes", params={"offset": "|potato|"}, timeout=T)
    assert r.status_code == 400
    body = r.json()
    body.pop("message")
    assert body == {"code": 7, "name": "invalid offset"}


def test_routes_returns_405_on_invalid_method(admin):
    """describe("/routes") it("returns HTTP 405 on invalid method")"""
    for method in ("DELETE", "PUT", "PATCH", "POST"):
        r = requests.request(method, admin + "/routes",
                             json={"paths": ["/"], "service": {"id": str(uuid.uuid4())}},
                             timeout=T)
        assert r.status_code == 405, method
        if method == "POST":
            assert r.json() == ROUTE_405
        else:
            assert r.json() == {"message": "Method not allowed"}, method


def test_route_returns_405_on_invalid_method(admin):
    """describe("/routes/{route}") it("returns HTTP 405 on invalid method")"""
    for method in ("PUT", "POST"):
        r = requests.request(method, admin + "/routes/" + str(uuid.uuid4()),
                             json={"paths": ["/"], "service": {"id": str(uuid.uuid4())}},
                             timeout=T)
        assert r.status_code == 405, method
        if method == "PUT":
            assert r.json() == {
                "code": 12, "name": "operation unsupported",
                "message": "cannot create or update 'routes' entities when not using a database"}
        else:
            assert r.json() == {"message": "Method not allowed"}


# ---- POST /config: the accepted forms -----------------------------------------------------------

def test_accepts_configuration_as_json_body(admin):
    """it("accepts configuration as JSON body")"""
    r = post_config(admin, {"_format_version": "1.1",
                            "consumers": [{"username": "bobby_in_json_body"}]})
    assert r.status_code == 201, r.text


def test_accepts_configuration_as_yaml_body(admin, node):
    """it("accepts configuration as YAML body"), with a service so that the load is visible"""
    r = post_config(admin, ctype="application/yaml", raw=unindent("""
        _format_version: "1.1"
        consumers:
          - username: "bobby_in_yaml_body"
        services:
          - name: yaml-body
            host: example.test
    """))
    assert r.status_code == 201, r.text
    assert requests.get(admin + "/services/yaml-body", timeout=T).status_code == 200


def test_accepts_a_json_string_under_config(admin):
    """it("accepts configuration as a JSON string under `config` JSON key")"""
    r = post_config(admin, {"config": """
            {
              "_format_version" : "1.1",
              "consumers" : [
                {
                  "username" : "bobby_in_json_under_config"
                }
              ],
              "services": [{"name": "json-under-config", "host": "example.test"}]
            }
            """})
    assert r.status_code == 201, r.text
    assert requests.get(admin + "/services/json-under-config", timeout=T).status_code == 200


def test_accepts_a_yaml_string_under_config(admin):
    """it("accepts configuration as a YAML string under `config` JSON key")"""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        consumers:
          - username: "bobby_in_yaml_under_config"
        services:
          - name: yaml-under-config
            host: example.test
    """)})
    assert r.status_code == 201, r.text
    assert requests.get(admin + "/services/yaml-under-config", timeout=T).status_code == 200


def test_accepts_configuration_containing_null(admin):
    """it("accepts configuration containing null as a YAML string")"""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        routes:
        - paths:
          - "/"
          service: null
    """)})
    assert r.status_code == 201, r.text
    routes = requests.get(admin + "/routes", timeout=T).json()["data"]
    assert len(routes) == 1 and routes[0]["service"] is None and routes[0]["paths"] == ["/"]


def test_config_response_is_keyed_by_id_without_workspace_fields(admin):
    """it("hides workspace related fields from /config response"): Kong answers the flattened
    entities, one map per entity type keyed by id, without ws_id (the consumers of the input are
    accepted and, in Sluice, ignored; its file-log and key-auth plugins are left out: Sluice
    bundles no plugin yet and refuses them, test_plugins_are_refused_not_ignored)."""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        services:
        - name: my-service
          id: 0855b320-0dd2-547d-891d-601e9b38647f
          url: https://example.com
          routes:
          - name: my-route
            id: 481a9539-f49c-51b6-b2e2-fe99ee68866c
            paths:
            - /
        consumers:
        - username: my-user
          id: 4b1b701d-de2b-5588-9aa2-3b97061d9f52
          keyauth_credentials:
          - key: my-key
            id: 487ab43c-b2c9-51ec-8da5-367586ea2b61
    """)})
    assert r.status_code == 201, r.text
    entities = r.json()
    assert "workspaces" not in entities
    service = entities["services"]["0855b320-0dd2-547d-891d-601e9b38647f"]
    route = entities["routes"]["481a9539-f49c-51b6-b2e2-fe99ee68866c"]
    assert "ws_id" not in service and "ws_id" not in route
    assert route["service"]["id"] == service["id"]
    # each entity as the Admin API shows it: every field, unset ones null
    assert service == requests.get(admin + "/services/my-service", timeout=T).json()
    assert route["hosts"] is None and route["name"] == "my-route"


def test_can_reload_the_same_configuration(admin):
    """it("can reload upstreams (regression test)"): the same document twice (its upstreams are
    ignored by Sluice; the unnamed service and route get the same ids both times)."""
    config = unindent("""
        _format_version: "1.1"
        services:
        - host: foo
          routes:
          - paths:
            - "/"
        upstreams:
        - name: "foo"
          targets:
          - target: 10.20.30.40
    """)
    first = post_config(admin, {"config": config})
    assert first.status_code == 201, first.text
    second = post_config(admin, {"config": config})
    assert second.status_code == 201, second.text
    assert set(first.json()["routes"]) == set(second.json()["routes"])


def test_returns_304_if_checking_hash_and_configuration_is_identical(admin):
    """it("returns 304 if checking hash and configuration is identical")"""
    config = unindent("""
        _format_version: "1.1"
        consumers:
        - username: bobby_tables
        services:
        - name: hash-check
          host: example.test
    """)
    r = post_config(admin, {"config": config}, path="/config?check_hash=1")
    assert r.status_code == 201, r.text
    r = post_config(admin, {"config": config}, path="/config?check_hash=1")
    assert r.status_code == 304


@pytest.mark.parametrize("where", ["json", "form"])
def test_check_hash_is_read_from_the_body_too(admin, where):
    """Kong reads check_hash from self.params: the query string or the body's own keys."""
    config = unindent("""
        _format_version: "3.0"
        services:
        - name: hash-in-%s
          host: example.test
    """ % where)
    send = (lambda: post_config(admin, {"config": config, "check_hash": 1})) if where == "json" \
        else (lambda: requests.post(admin + "/config", data={"config": config, "check_hash": "1"},
                                    timeout=T))
    assert send().status_code == 201
    assert send().status_code == 304


def test_returns_400_on_an_invalid_config_string(admin):
    """it("returns 400 on an invalid config string")"""
    r = post_config(admin, {"config": "bobby tables"})
    assert r.status_code == 400
    assert r.json() == {
        "code": 14,
        "fields": {"error": "failed parsing declarative configuration: expected an object"},
        "message": "declarative config is invalid: "
                   "{error=\"failed parsing declarative configuration: expected an object\"}",
        "name": "invalid declarative configuration",
    }


def test_returns_400_on_a_validation_error(admin):
    """it("returns 400 on a validation error")"""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        services:
        - port: -12
    """)})
    assert r.status_code == 400
    assert r.json() == {
        "code": 14,
        "fields": {"services": [{"host": "required field missing",
                                 "port": "value should be between 0 and 65535"}]},
        "message": "declarative config is invalid: "
                   "{services={{host=\"required field missing\","
                   "port=\"value should be between 0 and 65535\"}}}",
        "name": "invalid declarative configuration",
    }


def test_returns_400_on_a_primary_key_uniqueness_error(admin):
    """it("returns 400 on an primary key uniqueness error") (the routes' plugins of Kong's input
    are left out: Sluice bundles none and would list them as errors too)"""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        services:
        - id: 0855b320-0dd2-547d-891d-601e9b38647f
          name: foo
          host: example.com
          protocol: https
          routes:
          - name: foo
            methods: ["GET"]
        - id: 0855b320-0dd2-547d-891d-601e9b38647f
          name: bar
          host: example.test
          port: 3000
          routes:
          - name: bar
            paths:
            - /
    """)})
    assert r.status_code == 400
    msg = ("uniqueness violation: 'services' entity with primary key set to "
           "'0855b320-0dd2-547d-891d-601e9b38647f' already declared")
    assert r.json() == {
        "code": 14,
        "fields": {"services": [None, msg]},
        "message": "declarative config is invalid: {services={[2]=\"%s\"}}" % msg,
        "name": "invalid declarative configuration",
    }


def test_returns_400_on_an_endpoint_key_uniqueness_error(admin):
    """it("returns 400 on an endpoint key uniqueness error")"""
    r = post_config(admin, {"config": unindent("""
        _format_version: "1.1"
        services:
        - name: foo
          host: example.com
          protocol: https
          routes:
          - name: foo
            methods: ["GET"]
        - name: foo
          host: example.test
          port: 3000
          routes:
          - name: bar
            paths:
            - /
    """)})
    assert r.status_code == 400
    msg = "uniqueness violation: 'services' entity with name set to 'foo' already declared"
    assert r.json() == {
        "code": 14,
        "fields": {"services": [None, msg]},
        "message": "declarative config is invalid: {services={[2]=\"%s\"}}" % msg,
        "name": "invalid declarative configuration",
    }


def test_returns_400_when_given_no_input(admin):
    """it("returns 400 when given no input")"""
    r = requests.post(admin + "/config", timeout=T)
    assert r.status_code == 400
    assert r.json() == {"message": "expected a declarative configuration"}


def test_get_config_returns_back_the_configuration(admin):
    """describe("GET") it("returns back the configuration"), Kong's case exactly: a consumer; the
    id and created_at given are kept, updated_at is set, the row is complete with its nulls, a
    table without rows is left out, and the export says _format_version 3.0 and _transform
    false."""
    r = post_config(admin, {"_format_version": "1.1",
                            "consumers": [{"username": "bobo",
                                           "id": "d885e256-1abe-5e24-80b6-8f68fe59ea8e",
                                           "created_at": 1566863706}]})
    assert r.status_code == 201, r.text
    r = requests.get(admin + "/config", timeout=T)
    assert r.status_code == 200
    config = json.loads(r.json()["config"])  # JSON text, which is YAML
    assert config == {
        "_format_version": "3.0",
        "_transform": False,
        "consumers": [{"id": "d885e256-1abe-5e24-80b6-8f68fe59ea8e", "created_at": 1566863706,
                       "updated_at": config["consumers"][0]["updated_at"], "username": "bobo",
                       "custom_id": None, "tags": None}],
    }, config
    assert isinstance(config["consumers"][0]["updated_at"], int)


def test_get_config_exports_every_field_and_loads_back(admin):
    """The export holds what the data plane does not keep (a service's ca_certificates, the
    certificates, a route's service as a bare id, nulls) and gives the same export once posted
    again; timestamps do not move between two GETs."""
    ca_id = "00000000-0000-4000-8000-0000000000c1"
    doc = {"_format_version": "3.0",
           "ca_certificates": [{"id": ca_id, "cert": self_signed("ca.test", ca=True)[0]}],
           "services": [{"name": "svc", "host": "example.test", "protocol": "https",
                         "ca_certificates": [ca_id],
                         "routes": [{"name": "r", "paths": ["/r"]}]}]}
    r = post_config(admin, doc)
    assert r.status_code == 201, r.text
    first = requests.get(admin + "/config", timeout=T).json()["config"]
    config = json.loads(first)
    svc = config["services"][0]
    assert svc["name"] == "svc" and svc["path"] is None and "client_certificate" in svc
    assert svc["ca_certificates"] == [ca_id]
    assert [c["id"] for c in config["ca_certificates"]] == [ca_id]
    assert config["routes"][0]["service"] == svc["id"]
    assert requests.get(admin + "/config", timeout=T).json()["config"] == first
    r = post_config(admin, config)
    assert r.status_code == 201, r.text
    again = json.loads(requests.get(admin + "/config", timeout=T).json()["config"])
    assert again == config


def test_can_load_a_large_declarative_config(admin, node):
    """it("can load large declarative config (regression test)"): Kong posts its burst.yml
    fixture; here 2000 services with a route each."""
    doc = kong(*[{"name": "burst-%d" % i, "url": "http://127.0.0.1:9/",
                  "routes": [{"name": "burst-%d" % i, "paths": ["/burst/%d" % i]}]}
                 for i in range(2000)])
    r = post_config(admin, {"config": json.dumps(doc)})
    assert r.status_code == 201, r.text[:500]
    assert len(r.json()["services"]) == 2000 and len(r.json()["routes"]) == 2000
    assert requests.get(admin + "/routes/burst-1999", timeout=T).status_code == 200


# ---- POST /config?flatten_errors ---------------------------------------------------------------

class Tags:
    """Kong's tag helper: tags.service.next -> "service-01", tags.service.last -> the last one."""

    def __init__(self):
        self.count = {}

    def next(self, name):
        self.count[name] = self.count.get(name, 0) + 1
        return "%s-%02d" % (name, self.count[name])

    def last(self, name):
        return "%s-%02d" % (name, self.count[name])


def post_flattened(admin, config, flag="1"):
    config.setdefault("_format_version", "3.0")
    r = requests.post(admin + "/config?flatten_errors=%s" % flag, json=config, timeout=T)
    assert r.status_code == 400, r.text
    body = r.json()
    assert isinstance(body.get("flattened_errors"), list), body
    return body


def by_tag(tag, flattened):
    for item in flattened:
        if (item["entity"].get("tags") or [None])[0] == tag:
            return item
    return None


def sort_errors(errors):
    return sorted(errors, key=lambda e: (e["type"], e.get("field", ""), e["message"]))


def validate(expected, received):
    """Kong's validate(): entries correlated by their first tag; ids of the response are ignored
    unless the expectation names one; errors compared in any order; no extra entries."""
    received = list(received)
    for exp in expected:
        got = by_tag(exp["entity"]["tags"][0], received)
        assert got is not None, "missing entry: %r" % exp
        received.remove(got)
        got = dict(got)
        if "entity_id" not in exp:
            got.pop("entity_id", None)
        got_entity = dict(got.pop("entity"))
        exp = dict(exp)
        exp_entity = dict(exp.pop("entity"))
        for k in ("id", "service"):
            if k not in exp_entity:
                got_entity.pop(k, None)
        assert got_entity == exp_entity
        got["errors"] = sort_errors(got["errors"])
        exp["errors"] = sort_errors(exp["errors"])
        assert got == exp
    assert received == [], "unexpected entries: %r" % received


def test_flattened_errors_sanity(admin):
    """describe("[flattened errors]") it("sanity"): its services, routes, consumers and plugins
    part (the upstreams and vaults of Kong's input are in the document too; Sluice ignores vaults,
    and the upstream here is valid). Kong's i-dont-exist entry is Kong's to the letter; Sluice
    bundles no http-log, so its two http-log entries get the same error in place of Kong's config
    errors."""
    tags = Tags()
    t = tags.next
    services = [
        {"name": "nope", "host": "localhost", "port": 1234, "protocol": "nope",
         "tags": [t("service")],
         "routes": [
             {"name": "valid.route", "protocols": ["http", "https"], "methods": ["GET"],
              "hosts": ["test"], "tags": [t("route_service"), tags.last("service")]},
             {"name": "nope.route", "protocols": ["tcp"],
              "tags": [t("route_service"), tags.last("service")]}]},
        {"name": "mis-matched", "host": "localhost", "protocol": "tcp", "path": "/path",
         "tags": [t("service")],
         "routes": [{"name": "invalid", "protocols": ["http", "https"], "hosts": ["test"],
                     "methods": ["GET"], "tags": [t("route_service"), tags.last("service")]}]},
        {"name": "okay", "url": "http://localhost:1234", "tags": [t("service")],
         "routes": [{"name": "probably-valid", "protocols": ["http", "https"],
                     "methods": ["GET"], "hosts": ["test"],
                     "tags": [t("route_service"), tags.last("service")],
                     "plugins": [{"name": "http-log", "config": {"not_endpoint": "anything"},
                                  "tags": [t("route_service_plugin"),
                                           tags.last("route_service"), tags.last("service")]}]}]},
        {"name": "bad-service-plugins", "url": "http://localhost:1234", "tags": [t("service")],
         "plugins": [{"name": "i-dont-exist", "config": {},
                      "tags": [t("service_plugin"), tags.last("service")]}]},
        {"name": "invalid-id", "id": 123456, "url": "https://localhost:1234",
         "tags": [t("service"), "invalid-id"]},
        {"name": "invalid-tags", "url": "https://localhost:1234",
         "tags": [t("service"), "invalid-tags", [1, 2, 3], True]},
        {"name": "", "url": "https://localhost:1234",
         "tags": [t("service"), t("invalid_service_name")]},
        {"name": 1234, "url": "https://localhost:1234",
         "tags": [t("service"), t("invalid_service_name")]},
    ]
    config = {
        "consumers": [{"username": "valid_user", "tags": ["consumer-01"]},
                      {"username": "bobby_in_json_body", "not_allowed": True,
                       "tags": ["consumer-02"]}],
        "plugins": [{"name": "http-log", "config": {"http_endpoint": "invalid::#//url"},
                     "tags": [t("global_plugin")]}],
        "upstreams": [{"name": "ok", "hash_on": "ip"}],
        "vaults": [{"name": "env", "prefix": "test", "config": {"prefix": "SSL_"}}],
        "services": json.loads(json.dumps(services)),
    }
    not_enabled = "plugin '%s' not enabled; add it to the 'plugins' configuration property"
    expect = [
        {"entity_type": "plugin", "entity_name": "i-dont-exist",
         "entity": {"name": "i-dont-exist", "config": {},
                    "tags": ["service_plugin-01", "service-04"]},
         "entity_tags": ["service_plugin-01", "service-04"],
         "errors": [{"field": "name", "message": not_enabled % "i-dont-exist", "type": "field"}]},
        {"entity_type": "plugin", "entity_name": "http-log",
         "entity": {"name": "http-log", "config": {"not_endpoint": "anything"},
                    "tags": ["route_service_plugin-01", "route_service-04", "service-03"]},
         "entity_tags": ["route_service_plugin-01", "route_service-04", "service-03"],
         "errors": [{"field": "name", "message": not_enabled % "http-log", "type": "field"}]},
        {"entity_type": "plugin", "entity_name": "http-log",
         "entity": {"name": "http-log", "config": {"http_endpoint": "invalid::#//url"},
                    "tags": ["global_plugin-01"]},
         "entity_tags": ["global_plugin-01"],
         "errors": [{"field": "name", "message": not_enabled % "http-log", "type": "field"}]},
        {"entity_type": "consumer",
         "entity": {"not_allowed": True, "tags": ["consumer-02"],
                    "username": "bobby_in_json_body"},
         "entity_tags": ["consumer-02"],
         "errors": [{"field": "not_allowed", "message": "unknown field", "type": "field"}]},
        {"entity_type": "service", "entity": {"name": "", "tags": ["service-07",
                                                                   "invalid_service_name-01"],
                                              "url": "https://localhost:1234"},
         "entity_tags": ["service-07", "invalid_service_name-01"],
         "errors": [{"field": "name", "message": "length must be at least 1", "type": "field"}]},
        {"entity_type": "service", "entity": {"name": 1234, "tags": ["service-08",
                                                                     "invalid_service_name-02"],
                                              "url": "https://localhost:1234"},
         "entity_tags": ["service-08", "invalid_service_name-02"],
         "errors": [{"field": "name", "message": "expected a string", "type": "field"}]},
        {"entity_type": "service", "entity_name": "invalid-tags",
         "entity": {"name": "invalid-tags", "url": "https://localhost:1234",
                    "tags": ["service-06", "invalid-tags", [1, 2, 3], True]},
         "errors": [{"field": "tags.3", "message": "expected a string", "type": "field"},
                    {"field": "tags.4", "message": "expected a string", "type": "field"}]},
        {"entity_type": "service", "entity_name": "invalid-id",
         "entity": {"name": "invalid-id", "id": 123456, "url": "https://localhost:1234",
                    "tags": ["service-05", "invalid-id"]},
         "entity_tags": ["service-05", "invalid-id"],
         "errors": [{"field": "id", "message": "expected a string", "type": "field"}]},
        {"entity_type": "route", "entity_name": "nope.route",
         "entity": {"name": "nope.route", "protocols": ["tcp"],
                    "tags": ["route_service-02", "service-01"]},
         "entity_tags": ["route_service-02", "service-01"],
         "errors": [{"type": "entity",
                     "message": "must set one of 'sources', 'destinations', 'snis' when "
                                "'protocols' is 'tcp', 'tls' or 'udp'"}]},
        {"entity_type": "service", "entity_name": "nope",
         "entity": {"name": "nope", "host": "localhost", "port": 1234, "protocol": "nope",
                    "tags": ["service-01"]},
         "entity_tags": ["service-01"],
         "errors": [{"field": "protocol", "message": SERVICE_PROTOCOL_ERROR, "type": "field"}]},
        {"entity_type": "service", "entity_name": "mis-matched",
         "entity": {"name": "mis-matched", "host": "localhost", "protocol": "tcp",
                    "path": "/path", "tags": ["service-02"]},
         "entity_tags": ["service-02"],
         "errors": [{"field": "path", "message": "value must be null", "type": "field"},
                    {"type": "entity",
                     "message": "failed conditional validation given value of field "
                                "'protocol'"}]},
    ]
    validate(expect, post_flattened(admin, config)["flattened_errors"])


def test_flattens_nested_entity_field_errors(admin):
    """it("flattens nested, entity field errors"): a nested route's error is hoisted to its own
    entry (the service's client certificate and plugins of Kong's input are left out: Sluice
    implements neither)."""
    config = {"services": [{
        "name": "bad-routes", "url": "https://localhost:1234", "tags": ["service-01"],
        "routes": [
            {"hosts": ["test"], "paths": ["/"], "protocols": ["http"],
             "tags": ["service_route-01"]},
            {"hosts": ["invalid"], "paths": ["/"], "protocols": ["nope"],
             "tags": ["service_route-02"]},
        ]}]}
    validate([{
        "entity_type": "route",
        "entity": {"hosts": ["invalid"], "paths": ["/"], "protocols": ["nope"],
                   "tags": ["service_route-02"]},
        "entity_tags": ["service_route-02"],
        "errors": [{"field": "protocols", "message": "unknown type: nope", "type": "field"}],
    }], post_flattened(admin, config)["flattened_errors"])


def test_flattened_errors_preserve_ids_from_the_input(admin):
    """it("preserves IDs from the input")"""
    sid = "0175e0e8-3de9-56b4-96f1-b12dcb4b6691"
    flattened = post_flattened(admin, {"services": [{
        "id": sid, "name": "nope", "host": "localhost", "port": 1234, "protocol": "nope",
        "tags": ["service-01"]}]})["flattened_errors"]
    got = by_tag("service-01", flattened)
    assert got is not None
    assert got["entity_id"] == sid and got["entity"]["id"] == sid


def test_flattened_errors_preserve_foreign_keys_of_nested_entities(admin):
    """it("preserves foreign keys from nested entity collections")"""
    sid = "cb019421-62c2-47a8-b714-d7567b114037"
    flattened = post_flattened(admin, {"services": [{
        "id": sid, "name": "test", "host": "localhost", "port": 1234, "protocol": "nope",
        "tags": ["service-01"],
        "routes": [{"super_duper_invalid": True, "tags": ["route-01"]}]}]})["flattened_errors"]
    got = by_tag("route-01", flattened)
    assert got is not None
    assert got["entity"]["service"] == {"id": sid}
    # 05-error-flattening_spec: the route's unknown field beside its entity check
    assert sort_errors(got["errors"]) == sort_errors([
        {"field": "super_duper_invalid", "message": "unknown field", "type": "field"},
        {"type": "entity", "message": "must set one of 'methods', 'hosts', 'headers', 'paths', "
                                      "'snis' when 'protocols' is 'https'"}])


def test_flattened_errors_omit_invalid_entity_fields(admin):
    """it("omits top-level entity_* fields if they are invalid")"""
    flattened = post_flattened(admin, {"services": [{
        "id": 1234, "name": False, "tags": ["service-01", [1.5]],
        "url": "http://localhost:1234"}]})["flattened_errors"]
    got = by_tag("service-01", flattened)
    assert got is not None
    for k in ("entity_id", "entity_name", "entity_tags"):
        assert k not in got
    assert got["entity"]["id"] == 1234
    assert got["entity"]["name"] is False
    assert got["entity"]["tags"] == ["service-01", [1.5]]


def drain_input():
    tags = Tags()
    t = tags.next
    return {
        "_format_version": "3.0",
        "abnormal_extra_field": 123,
        "services": [
            {"name": "nope", "host": "localhost", "port": 1234, "protocol": "nope",
             "tags": [t("service")],
             "routes": [
                 {"name": "valid.route", "protocols": ["http", "https"], "methods": ["GET"],
                  "hosts": ["test"], "tags": [t("route_service"), tags.last("service")]},
                 {"name": "nope.route", "protocols": ["tcp"],
                  "tags": [t("route_service"), tags.last("service")]}]},
            {"name": "mis-matched", "host": "localhost", "protocol": "tcp", "path": "/path",
             "tags": [t("service")],
             "routes": [{"name": "invalid", "protocols": ["http", "https"], "hosts": ["test"],
                         "methods": ["GET"],
                         "tags": [t("route_service"), tags.last("service")]}]},
            {"name": "okay", "url": "http://localhost:1234", "tags": [t("service")],
             "routes": [{"name": "probably-valid", "protocols": ["http", "https"],
                         "methods": ["GET"], "hosts": ["test"],
                         "tags": [t("route_service"), tags.last("service")]}]},
        ],
    }


@pytest.mark.parametrize("flag", ["false", "off", "0"])
def test_unflattened_fields_nest_like_kong(admin, flag):
    """it("drains errors from the top-level fields object"), first half: without flattening
    (flatten_errors=off), the nested fields, an entity check as {"@entity": [...]} beside the
    entity's field errors, a valid nested route as null."""
    r = requests.post(admin + "/config?flatten_errors=" + flag, json=drain_input(), timeout=T)
    assert r.status_code == 400
    body = r.json()
    assert "flattened_errors" not in body
    assert body["fields"] == {
        "abnormal_extra_field": "unknown field",
        "services": [
            {"protocol": SERVICE_PROTOCOL_ERROR,
             "routes": [None, {"@entity": ["must set one of 'sources', 'destinations', 'snis' "
                                           "when 'protocols' is 'tcp', 'tls' or 'udp'"]}]},
            {"@entity": ["failed conditional validation given value of field 'protocol'"],
             "path": "value must be null"},
        ],
    }


@pytest.mark.parametrize("flag", ["1", "true", "TRUE", "on", "yes"])
def test_flattening_drains_the_fields_object(admin, flag):
    """it("drains errors from the top-level fields object"), second half: flattened, only the
    top-level error stays in fields (Kong's truthy() spellings of the flag)."""
    body = post_flattened(admin, drain_input(), flag=flag)
    assert body["fields"] == {"abnormal_extra_field": "unknown field"}
    assert body["message"] == \
        "declarative config is invalid: {abnormal_extra_field=\"unknown field\"}"
    # the three of Kong's four entries that are not plugins
    assert len(body["flattened_errors"]) == 3
    assert sorted(e["entity_name"] for e in body["flattened_errors"]) == \
        ["mis-matched", "nope", "nope.route"]


def test_flatten_errors_is_read_from_the_body_too(admin):
    """parse_config_post_opts(self.params): flatten_errors in the JSON object holding `config`."""
    r = post_config(admin, {"config": json.dumps(drain_input()), "flatten_errors": True})
    assert r.status_code == 400
    assert len(r.json()["flattened_errors"]) == 3


def test_flattened_duplicate_keeps_the_uniqueness_error(admin):
    """it("origin error do not loss when enable flatten_errors - (#12167)"), with services where
    Kong duplicates a consumer's username."""
    flattened = post_flattened(admin, {"services": [
        {"id": "a73dc9a7-93df-584d-97c0-7f41a1bbce3d", "name": "test-service-1",
         "host": "example.test", "tags": ["service-1"]},
        {"id": "a73dc9a7-93df-584d-97c0-7f41a1bbce32", "name": "test-service-1",
         "host": "example.test", "tags": ["service-2"]},
    ]})["flattened_errors"]
    validate([{
        "entity_type": "service",
        "entity_id": "a73dc9a7-93df-584d-97c0-7f41a1bbce32",
        "entity_name": "test-service-1",
        "entity_tags": ["service-2"],
        "entity": {"id": "a73dc9a7-93df-584d-97c0-7f41a1bbce32", "name": "test-service-1",
                   "host": "example.test", "tags": ["service-2"]},
        "errors": [{"type": "entity",
                    "message": "uniqueness violation: 'services' entity with name set to "
                               "'test-service-1' already declared"}],
    }], flattened)


def test_flattening_keeps_errors_that_name_no_entry(admin):
    """Kong's flatten_errors() puts back what it cannot correlate with an entry of the input: an
    unresolved reference is keyed by the route's name, so it stays in `fields` (as a list, the
    way validate_references() collects them)."""
    body = post_flattened(admin, {"routes": [{"name": "r1", "paths": ["/"],
                                              "service": "nope"}]})
    assert body["fields"] == {"routes": {"r1": [
        "invalid reference 'service: nope' (no such entry in 'services')"]}}
    assert body["flattened_errors"] == []


# ---- concurrency --------------------------------------------------------------------------------

def test_replaces_the_previous_configuration_every_time(admin):
    """describe("Admin API (concurrency tests)") it("succeeds with 200 and replaces previous cache
    if config fits in cache"): 100 rounds of two configurations, services where Kong uses
    consumers; each answer is visible at once (Sluice publishes before it answers)."""
    for k in range(1, 101):
        r = post_config(admin, {"config": json.dumps(kong({"name": "previous",
                                                           "host": "example.test"}))})
        assert r.status_code == 201, r.text
        doc = kong(*[{"name": "bobby-%d-%d" % (k, i), "host": "example.test"}
                     for i in range(1, 11)])
        r = post_config(admin, {"config": json.dumps(doc)})
        assert r.status_code == 201, r.text
        assert requests.get(admin + "/services/previous", timeout=T).status_code == 404
        r = requests.get(admin + "/services/bobby-%d-10" % k, timeout=T)
        assert r.status_code == 200 and r.json()["name"] == "bobby-%d-10" % k

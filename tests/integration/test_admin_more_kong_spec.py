# SPDX-License-Identifier: Apache-2.0
"""Kong's own Admin API specs for consumers, tags, foreign entities, arguments, listeners and CORS
(spec/02-integration/04-admin_api: 03-consumers_routes_spec, 14-tags_spec, 17-foreign-entity_spec,
21-truncated_arguments_spec, 25-max_safe_integer_spec, 01-admin_api_spec, 23-cors_spec; and
spec/01-unit/01-db/01-schema/14-consumers_spec through POST /consumers), rewritten against a real
Sluice on its default SQLite store (and DB-less where Kong's spec is). Each test names the `it(...)`
it ports. Cases that need plugins, Kong Manager (admin_gui_url) or Enterprise (sort_by) are not
ported."""

import json
import uuid

import pytest
import requests

from lib.ports import free_port
from lib.sluice import Sluice, kong, listening_ports

T = 15  # generous: the suite may share the machine with sanitizer runs

AT_LEAST_ONE = "at least one of these fields must be non-empty: 'custom_id', 'username'"
ENCODINGS = ["form", "multipart", "json"]  # Kong's it_content_types


def start(tmp_path_factory, name, **conf):
    c = {"database": "sqlite", "declarative_config": None, "admin_listen": "auto"}
    c.update(conf)
    s = Sluice(tmp_path_factory.mktemp(name), kong(), conf=c, name=name)
    return s, s.admin_url("").rstrip("/")


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """One Sluice on SQLite for the module; tests make their own, uniquely named entities."""
    s, a = start(tmp_path_factory, "morespec")
    yield a
    s.stop()


def send(a, method, path, body=None, enc="json"):
    """<body> as JSON, as a form (lists become repeated `k[]=` keys, dicts `k.sub=` keys) or as
    multipart parts with the same keys, like Kong's spec client. An empty multipart body is one
    closing delimiter (requests sends no multipart without parts)."""
    if enc == "json":
        return requests.request(method, a + path, json=body if body is not None else {}, timeout=T)
    pairs = []

    def flat(prefix, v):
        if isinstance(v, dict):
            for k, sub in v.items():
                flat("%s.%s" % (prefix, k), sub)
        elif isinstance(v, list):
            for sub in v:
                pairs.append((prefix + "[]", sub))
        else:
            pairs.append((prefix, "" if v is None else str(v)))
    for k, v in (body or {}).items():
        flat(k, v)
    if enc == "form":
        return requests.request(method, a + path, data=pairs, timeout=T,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    if not pairs:
        return requests.request(method, a + path, data=b"--xyz--\r\n", timeout=T,
                                headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    return requests.request(method, a + path, files=[(k, (None, v)) for k, v in pairs],
                            timeout=T)


_n = [0]


def gensym():
    """Kong's gensym: a name with a space, for the urlencoded cases."""
    _n[0] += 1
    return "abc def %d %s" % (_n[0], uuid.uuid4().hex[:6])


def new_consumer(a, **fields):
    body = {"username": gensym(), "custom_id": gensym()}
    body.update(fields)
    r = requests.post(a + "/consumers", json=body, timeout=T)
    assert r.status_code == 201, r.text
    return r.json()


def q(s):
    return requests.utils.quote(s, safe="")


# ---- 03-consumers_routes_spec: POST /consumers ------------------------------------------------

@pytest.mark.parametrize("enc", ENCODINGS)
def test_creates_a_consumer(admin, enc):
    """it_content_types("creates a Consumer")"""
    name = gensym()
    r = send(admin, "POST", "/consumers", {"username": name}, enc)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == name
    assert isinstance(body["created_at"], int) and isinstance(body["id"], str)


@pytest.mark.parametrize("enc", ENCODINGS)
def test_post_handles_invalid_input(admin, enc):
    """errors: it_content_types("handles invalid input")"""
    r = send(admin, "POST", "/consumers", {}, enc)
    assert r.status_code == 400, r.text
    assert r.json()["name"] == "schema violation"
    assert r.json()["fields"]["@entity"] == [AT_LEAST_ONE]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_post_conflicting_username_is_409(admin, enc):
    """errors: it_content_types("returns 409 on conflicting username"); the status line is
    nginx's `409 Conflict`."""
    c = new_consumer(admin)
    r = send(admin, "POST", "/consumers", {"username": c["username"]}, enc)
    assert r.status_code == 409, r.text
    assert r.reason == "Conflict"
    assert r.json()["name"] == "unique constraint violation"
    assert r.json()["message"] == "UNIQUE violation detected on '{username=\"%s\"}'" % c["username"]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_post_conflicting_custom_id_is_409(admin, enc):
    """errors: it_content_types("returns 400 on conflicting custom_id") (the spec wants 409)"""
    c = new_consumer(admin)
    r = send(admin, "POST", "/consumers", {"username": gensym(), "custom_id": c["custom_id"]}, enc)
    assert r.status_code == 409, r.text
    assert r.json()["name"] == "unique constraint violation"
    assert r.json()["message"] == \
        "UNIQUE violation detected on '{custom_id=\"%s\"}'" % c["custom_id"]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_415_on_invalid_and_missing_content_type(admin, method):
    """errors: it("returns 415 on invalid content-type"), it("returns 415 on missing content-type
    with body "), for POST /consumers and PATCH /consumers/{id}"""
    path = "/consumers" if method == "POST" else "/consumers/" + new_consumer(admin)["id"]
    r = requests.request(method, admin + path, data='{"hello": "world"}',
                         headers={"Content-Type": "invalid"}, timeout=T)
    assert r.status_code == 415 and r.content == b""
    r = requests.request(method, admin + path, data="invalid", timeout=T)
    assert r.status_code == 415 and r.content == b""


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_400_on_missing_body_with_application_json(admin, method):
    """errors: it("returns 400 on missing body with application/json"), POST and PATCH"""
    path = "/consumers" if method == "POST" else "/consumers/" + new_consumer(admin)["id"]
    r = requests.request(method, admin + path, headers={"Content-Type": "application/json"},
                         timeout=T)
    assert r.status_code == 400 and r.json() == {"message": "Cannot parse JSON body"}


@pytest.mark.parametrize("ctype", ["multipart/form-data", "application/x-www-form-urlencoded",
                                   None])
def test_400_on_missing_body_is_a_schema_violation(admin, ctype):
    """errors: it("returns 400 on missing body with multipart/form-data"), "... with
    multipart/x-www-form-urlencoded", "... with no content-type header": no body is an empty
    entity, whatever the form type (a multipart type without a boundary included)."""
    headers = {"Content-Type": ctype} if ctype else {}
    r = requests.post(admin + "/consumers", headers=headers, timeout=T)
    assert r.status_code == 400, r.text
    assert r.json()["name"] == "schema violation"
    assert r.json()["fields"]["@entity"] == [AT_LEAST_ONE]


# ---- 03-consumers_routes_spec: GET /consumers -------------------------------------------------

@pytest.fixture
def ten_consumers(tmp_path_factory):
    """Kong's GET describe truncates consumers and inserts 10: a store of its own."""
    s, a = start(tmp_path_factory, "consumers10")
    for _ in range(10):
        new_consumer(a)
    yield a
    s.stop()


def test_retrieves_the_first_page_and_paginates_a_set(ten_consumers):
    """it("retrieves the first page"), it("paginates a set")"""
    a = ten_consumers
    r = requests.get(a + "/consumers", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 10
    pages, offset = [], None
    for i in range(4):
        params = {"size": 3}
        if offset:
            params["offset"] = offset
        r = requests.get(a + "/consumers", params=params, timeout=T)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) == (3 if i < 3 else 1)
        if pages:
            assert page != pages[-1]
        offset = page.get("offset")
        pages.append(page)
    assert offset is None and pages[-1]["next"] is None
    ids = [c["id"] for p in pages for c in p["data"]]
    assert len(set(ids)) == 10


def test_next_keeps_the_page_size(ten_consumers):
    """Kong's get_collection_endpoint: `next` carries `&size=` when the request had it, so
    following it keeps the page size."""
    a = ten_consumers
    page = requests.get(a + "/consumers?size=3", timeout=T).json()
    assert page["next"].endswith("&size=3"), page["next"]
    seen = len(page["data"])
    while page["next"]:
        page = requests.get(a + page["next"], timeout=T).json()
        assert len(page["data"]) == (3 if page["next"] else 1)
        seen += len(page["data"])
    assert seen == 10


def test_filters_by_custom_id(admin):
    """it("allows filtering by custom_id"), it("allows filtering by uuid-like custom_id"),
    it("returns emtpy json array when consumer does not exist")"""
    for cid in (gensym(), str(uuid.uuid4())):
        c = new_consumer(admin, custom_id=cid)
        r = requests.get(admin + "/consumers?custom_id=" + q(cid), timeout=T)
        assert r.status_code == 200
        assert r.json()["data"] == [c]
    r = requests.get(admin + "/consumers?custom_id=does-not-exist", timeout=T)
    assert r.status_code == 200 and '"data":[]' in r.text


def test_405_on_invalid_method(admin):
    """it("returns 405 on invalid method")"""
    for m in ("DELETE", "PATCH"):
        r = requests.request(m, admin + "/consumers", json={}, timeout=T)
        assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}


# ---- 03-consumers_routes_spec: /consumers/{consumer} ------------------------------------------

def test_get_by_id_username_and_urlencoded_username(admin):
    """GET: it("retrieves by id"), it("retrieves by username"), it("retrieves by urlencoded
    username"), it("returns 404 if not found")"""
    c = new_consumer(admin, username="plain-%s" % uuid.uuid4().hex[:6])
    for key in (c["id"], c["username"]):
        r = requests.get(admin + "/consumers/" + key, timeout=T)
        assert r.status_code == 200 and r.json() == c
    spaced = new_consumer(admin)
    r = requests.get(admin + "/consumers/" + q(spaced["username"]), timeout=T)
    assert r.status_code == 200 and r.json() == spaced
    assert requests.get(admin + "/consumers/_inexistent_", timeout=T).status_code == 404


@pytest.mark.parametrize("enc", ENCODINGS)
def test_patch_by_id_and_by_username(admin, enc):
    """PATCH: it_content_types("updates by id"), it_content_types("updates by username"),
    it_content_types("updates by username and custom_id with previous values")"""
    for by in ("id", "username"):
        c = new_consumer(admin)
        name = gensym()
        r = send(admin, "PATCH", "/consumers/" + q(c[by]), {"username": name}, enc)
        assert r.status_code == 200, r.text
        assert r.json()["username"] == name and r.json()["id"] == c["id"]
        assert requests.get(admin + "/consumers/" + c["id"], timeout=T).json() == r.json()
    c = new_consumer(admin)
    r = send(admin, "PATCH", "/consumers/" + q(c["username"]),
             {"username": c["username"], "custom_id": c["custom_id"]}, enc)
    assert r.status_code == 200, r.text
    assert (r.json()["username"], r.json()["custom_id"], r.json()["id"]) == \
        (c["username"], c["custom_id"], c["id"])


@pytest.mark.parametrize("enc", ENCODINGS)
def test_patch_404_if_not_found(admin, enc):
    """PATCH errors: it_content_types("returns 404 if not found")"""
    r = send(admin, "PATCH", "/consumers/_inexistent_", {"username": gensym()}, enc)
    assert r.status_code == 404


@pytest.mark.parametrize("enc", ENCODINGS)
def test_put_creates_if_not_exists(admin, enc):
    """PUT: it_content_types("creates if not exists"), it_content_types("creates if not exists by
    username")"""
    cid, id_ = gensym(), str(uuid.uuid4())
    r = send(admin, "PUT", "/consumers/" + id_, {"custom_id": cid}, enc)
    assert r.status_code == 200, r.text
    assert r.json()["custom_id"] == cid and r.json()["id"] == id_
    name = gensym()
    r = send(admin, "PUT", "/consumers/" + q(name), {}, enc)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == name and r.json()["custom_id"] is None


@pytest.mark.parametrize("enc", ENCODINGS)
def test_put_replaces_if_found(admin, enc):
    """PUT: it_content_types("replaces if found"), it_content_types("replaces if found by
    username")"""
    c = new_consumer(admin)
    name = gensym()
    r = send(admin, "PUT", "/consumers/" + c["id"], {"username": name}, enc)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == name
    assert requests.get(admin + "/consumers/" + c["id"], timeout=T).json() == r.json()

    c = new_consumer(admin)
    cid = gensym()
    r = send(admin, "PUT", "/consumers/" + q(c["username"]), {"custom_id": cid}, enc)
    assert r.status_code == 200, r.text
    assert (r.json()["username"], r.json()["custom_id"]) == (c["username"], cid)
    r = send(admin, "PUT", "/consumers/" + q(c["username"]), {}, enc)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["username"], r.json()["custom_id"]) == \
        (c["id"], c["username"], None)


def test_put_handles_malformed_json_body(admin):
    """PUT errors: it("handles malformed JSON body")"""
    c = new_consumer(admin)
    r = requests.put(admin + "/consumers/" + c["id"], data='{"hello": "world"',
                     headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 400 and r.text == '{"message":"Cannot parse JSON body"}'


@pytest.mark.parametrize("enc", ENCODINGS)
def test_put_handles_invalid_input(admin, enc):
    """PUT errors: it_content_types("handles invalid input")"""
    r = send(admin, "PUT", "/consumers/" + str(uuid.uuid4()), {}, enc)
    assert r.status_code == 400, r.text
    assert r.json() == {"code": 2, "name": "schema violation",
                        "fields": {"@entity": [AT_LEAST_ONE]},
                        "message": "schema violation (%s)" % AT_LEAST_ONE}


def test_delete_by_id_and_by_username(admin):
    """DELETE: it("deletes by id"), it("deletes by username")"""
    for by in ("id", "username"):
        c = new_consumer(admin)
        r = requests.delete(admin + "/consumers/" + q(c[by]), timeout=T)
        assert r.status_code == 204 and r.content == b""
        assert requests.get(admin + "/consumers/" + c["id"], timeout=T).status_code == 404


# ---- spec/01-unit/01-db/01-schema/14-consumers_spec, through POST /consumers ------------------

def test_username_accepts_valid_names(admin):
    """consumers schema, username attribute: it("accepts valid names")"""
    for name in ("example", "EXAMPLE", "exa.mp.le", "3x4mp13", "3x4-mp-13", "3x4_mp_13",
                 "~3x4~mp~13", "~3..x4~.M-p~1__3_", "孔", "Конг", "🦍"):
        tagged = "%s-%s" % (name, uuid.uuid4().hex[:4])
        r = requests.post(admin + "/schemas/consumers/validate", json={"username": name},
                          timeout=T)
        assert r.status_code == 200, (name, r.text)
        r = requests.post(admin + "/consumers", json={"username": tagged}, timeout=T)
        assert r.status_code == 201 and r.json()["username"] == tagged, (name, r.text)


# ---- 14-tags_spec: /entities?tags= -----------------------------------------------------------

@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """The spec's lazy_setup: two consumers tagged "corp_ a", "consumer_ <i>" and 🦍."""
    s, a = start(tmp_path_factory, "tagspec")
    for i in (1, 2):
        tags = ["corp_ a", "consumer_ %d" % i, "🦍"]
        r = requests.post(a + "/consumers", json={"username": "adminapi-filter-by-tag-%d" % i,
                                                  "tags": tags}, timeout=T)
        assert r.status_code == 201 and r.json()["tags"] == tags
    yield a
    s.stop()


def test_filter_by_single_and_unicode_tag(tagged):
    """it("filter by single tag"), it("filter by single unicode tag")"""
    for arg, tag in (("corp_%20a", "corp_ a"), ("🦍", "🦍"), ("%F0%9F%A6%8D", "🦍")):
        r = requests.get(tagged + "/consumers?tags=" + arg, timeout=T)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) == 2
        assert all(tag in c["tags"] for c in r.json()["data"])


def test_filter_by_multiple_tags_with_and_or(tagged):
    """it("filter by multiple tags with AND"), it("filter by multiple tags with OR")"""
    r = requests.get(tagged + "/consumers?tags=corp_%20a,consumer_%201", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    assert sorted(r.json()["data"][0]["tags"]) == sorted(["corp_ a", "consumer_ 1", "🦍"])
    r = requests.get(tagged + "/consumers?tags=consumer_%202/consumer_%201", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 2


def test_errors_if_filter_mixes_and_or_or_has_invalid_bytes(tagged):
    """it("errors if filter by mix of AND and OR"), it("errors if filter by tag with invalid
    value"): a byte no tag may hold (\\xFF, a control character) is invalid filter syntax, as
    Kong's TAGS_AND_REGEX / TAGS_OR_REGEX; the body carries Kong's `options`."""
    for arg in ("consumer_%203,consumer_%202/consumer_%201",
                "consumer_%203/consumer_%202,consumer_%201", "%FF", "a%01b", "a,%7F"):
        r = requests.get(tagged + "/consumers?tags=" + arg, timeout=T)
        assert r.status_code == 400, (arg, r.text)
        assert r.json() == {"code": 11, "name": "invalid options",
                            "message": "invalid option (tags: invalid filter syntax)",
                            "options": {"tags": "invalid filter syntax"}}, arg


def test_more_than_five_tags_cannot_be_queried(tagged):
    """kong/db/dao/init.lua validate_options_value: 6 terms are "cannot query more than 5
    tags" (5 are fine)."""
    r = requests.get(tagged + "/consumers?tags=a/b/c/d/e", timeout=T)
    assert r.status_code == 200
    r = requests.get(tagged + "/consumers?tags=a,b,c,d,e,f", timeout=T)
    assert r.status_code == 400
    assert r.json()["message"] == "invalid option (tags: cannot query more than 5 tags)"


def test_returns_the_correct_next_arg(tagged):
    """it("returns the correct 'next' arg"): the tag filter percent-encoded in `next`, so that
    the link is a valid request target and following it keeps the filter."""
    r = requests.get(tagged + "/consumers?tags=corp_%20a&size=1", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    nxt = r.json()["next"]
    assert "tags=corp_%20a" in nxt and " " not in nxt, nxt
    r2 = requests.get(tagged + nxt, timeout=T)
    assert r2.status_code == 200 and len(r2.json()["data"]) == 1
    assert r2.json()["data"][0]["id"] != r.json()["data"][0]["id"]
    assert "corp_ a" in r2.json()["data"][0]["tags"]


# ---- 14-tags_spec: /tags ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tags_node(tmp_path_factory):
    """The /tags describe's lazy_setup: two consumers tagged "corp_ a" and "consumer_ <i>"."""
    s, a = start(tmp_path_factory, "tagsendpoint")
    for i in (1, 2):
        r = requests.post(a + "/consumers", json={"username": "adminapi-filter-by-tag-%d" % i,
                                                  "tags": ["corp_ a", "consumer_ %d" % i]},
                          timeout=T)
        assert r.status_code == 201
    yield a
    s.stop()


def test_tags_and_tags_by_tag(tags_node):
    """it("/tags"), it("/tags/:tags"), it("/tags/:tags with a not exist tag")"""
    r = requests.get(tags_node + "/tags", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 4
    r = requests.get(tags_node + "/tags/corp_%20a", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    assert {x["tag"] for x in r.json()["data"]} == {"corp_ a"}
    r = requests.get(tags_node + "/tags/does-not-exist", timeout=T)
    assert r.status_code == 200 and '"data":[]' in r.text


def test_tags_with_invalid_tag_value(tags_node):
    """it("/tags/:tags with invalid :tags value"): Kong's page_by_tag validates the tag as the
    tags field does (invalid unique tag)."""
    r = requests.get(tags_node + "/tags/%FF", timeout=T)
    assert r.status_code == 400, r.text
    assert r.json() == {"code": 10, "name": "invalid unique tag",
                        "message": "invalid utf-8 character sequence detected at position 1"}


def test_tags_ignore_the_tags_query(tags_node):
    """it("/tags ignores ?tags= query"), it("/tags/:tags ignores ?tags= query")"""
    for arg in ("not_a_tag", "invalid@tag", "a,b/c"):
        r = requests.get(tags_node + "/tags?tags=" + arg, timeout=T)
        assert r.status_code == 200 and len(r.json()["data"]) == 4, r.text
        r = requests.get(tags_node + "/tags/corp_%20a?tags=" + arg, timeout=T)
        assert r.status_code == 200 and len(r.json()["data"]) == 2, r.text


def test_tags_are_paginated(tags_node):
    """kong.md §2.1: GET /tags and /tags/{tag} are paginated like every list (`size`, `offset`,
    `next`; 400 on a bad size or offset)."""
    seen, url = [], tags_node + "/tags?size=3"
    while url:
        r = requests.get(url, timeout=T)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) <= 3
        seen += r.json()["data"]
        url = tags_node + r.json()["next"] if r.json()["next"] else None
    assert len(seen) == 4 and len({json.dumps(x, sort_keys=True) for x in seen}) == 4
    r = requests.get(tags_node + "/tags/corp_%20a?size=1", timeout=T).json()
    assert len(r["data"]) == 1 and r["next"].startswith("/tags/corp_%20a?offset=")
    r2 = requests.get(tags_node + r["next"], timeout=T).json()
    assert len(r2["data"]) == 1 and r2["next"] is None
    assert r2["data"][0]["entity_id"] != r["data"][0]["entity_id"]
    r = requests.get(tags_node + "/tags?size=0", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == 9
    r = requests.get(tags_node + "/tags?offset=%%%", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == 7


# ---- 17-foreign-entity_spec, with the core pair routes -> service ------------------------------

@pytest.fixture
def linked(admin):
    name = "fe-%s" % uuid.uuid4().hex[:8]
    svc = requests.post(admin + "/services", json={"name": name, "host": "example.com"},
                        timeout=T).json()
    rt = requests.post(admin + "/routes", json={"name": name + "-r", "paths": ["/" + name],
                                                "service": {"id": svc["id"]}}, timeout=T).json()
    return svc, rt


def test_foreign_get_by_id_and_name(admin, linked):
    """GET: it("retrieves by id"), it("retrieves by name"), it("returns 404 if not found"),
    it("returns 404 if not found by name"), it("ignores an invalid body")"""
    svc, rt = linked
    for key in (rt["id"], rt["name"]):
        r = requests.get(admin + "/routes/%s/service" % key, timeout=T)
        assert r.status_code == 200 and r.json() == svc
    r = requests.get(admin + "/routes/%s/service" % rt["id"], data="this fails if decoded as json",
                     headers={"Content-Type": "application/json"}, timeout=T)
    assert r.status_code == 200 and r.json() == svc
    for key in (str(uuid.uuid4()), "my-in-existent-foreign-reference"):
        assert requests.get(admin + "/routes/%s/service" % key, timeout=T).status_code == 404


@pytest.mark.parametrize("enc", ["form", "json"])  # Kong skips multipart here
def test_foreign_patch_by_id_and_name(admin, linked, enc):
    """PATCH: it_content_types("updates if found"), it_content_types("updates if found by
    name"), errors: it_content_types("returns 404 if not found")"""
    svc, rt = linked
    for key in (rt["id"], rt["name"]):
        edited = "name-%s" % uuid.uuid4().hex[:8]
        r = send(admin, "PATCH", "/routes/%s/service" % key, {"name": edited}, enc)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == edited
        assert requests.get(admin + "/services/" + svc["id"], timeout=T).json() == r.json()
    r = send(admin, "PATCH", "/routes/%s/service" % uuid.uuid4(), {"name": "edited"}, enc)
    assert r.status_code == 404


def test_foreign_delete(admin, linked):
    """DELETE errors: it("returns HTTP 405 when trying to delete a foreign entity that is
    referenced"), it("returns HTTP 404 with non-existing foreign entity "), it("... foreign
    reference"), it("... foreign reference by name")"""
    svc, rt = linked
    r = requests.delete(admin + "/routes/%s/service" % rt["id"], timeout=T)
    assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}
    assert requests.get(admin + "/services/" + svc["id"], timeout=T).status_code == 200
    r = requests.delete(admin + "/services/%s/routes/%s" % (uuid.uuid4(), uuid.uuid4()), timeout=T)
    assert r.status_code == 404
    assert requests.delete(admin + "/routes/%s/service" % uuid.uuid4(), timeout=T).status_code \
        == 404
    assert requests.delete(admin + "/routes/in-existent-route/service", timeout=T).status_code \
        == 404


# ---- 21-truncated_arguments_spec ---------------------------------------------------------------

def test_400_if_reach_maximum_post_arguments_number(admin):
    """it("return 400 if reach maximum post arguments number"): 1001 form arguments (Kong's
    spec uses a plugin; any entity reads its form the same way)."""
    body = "username=many&" + "&".join("tags=t%d" % i for i in range(1, 1002))
    r = requests.post(admin + "/consumers", data=body, timeout=T,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json() == {"message": "Too many arguments"}
    assert requests.get(admin + "/consumers/many", timeout=T).status_code == 404
    # 1000 are read
    body = "username=many&" + "&".join("tags=t%d" % i for i in range(1, 1000))
    r = requests.post(admin + "/consumers", data=body, timeout=T,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text[:200]


def test_400_if_reach_maximum_uri_arguments_number(admin):
    """it("return 400 if reach maximum uri arguments number")"""
    qs = "&".join("a=%d" % i for i in range(1, 1002))
    r = requests.get(admin + "/plugins?" + qs, timeout=T)
    assert r.status_code == 400 and r.json() == {"message": "Too many arguments"}
    qs = "&".join("a=%d" % i for i in range(1, 1001))
    assert requests.get(admin + "/plugins?" + qs, timeout=T).status_code == 200


# ---- 25-max_safe_integer_spec ------------------------------------------------------------------

def test_max_safe_integer_with_a_database(admin):
    """Admin API #sqlite: it("the maximum safe integer can be accurately represented as a
    decimal number")"""
    r = requests.post(admin + "/routes", json={"paths": ["/route_with_max_safe_integer_priority"],
                                               "regex_priority": 9007199254740992}, timeout=T)
    assert r.status_code == 201, r.text
    r = requests.get(admin + "/routes/" + r.json()["id"], timeout=T)
    assert r.status_code == 200 and "9007199254740992" in r.text


def test_max_safe_integer_dbless(tmp_path_factory):
    """Admin API #off: it("the maximum safe integer can be accurately represented as a decimal
    number")"""
    s = Sluice(tmp_path_factory.mktemp("maxint"), kong(), conf={"admin_listen": "auto"},
               name="maxint")
    try:
        config = "\n".join([
            '_format_version: "1.1"',
            "services:",
            "- name: my-service",
            "  id: 0855b320-0dd2-547d-891d-601e9b38647f",
            "  url: https://localhost",
            "  routes:",
            "  - name: my-route",
            "    id: 481a9539-f49c-51b6-b2e2-fe99ee68866c",
            "    paths:",
            "    - /",
            "    regex_priority: 9007199254740992", ""])
        r = requests.post(s.admin_url("/config"), json={"config": config}, timeout=T)
        assert r.status_code == 201, r.text
        r = requests.get(s.admin_url("/routes/481a9539-f49c-51b6-b2e2-fe99ee68866c"), timeout=T)
        assert r.status_code == 200 and "9007199254740992" in r.text
    finally:
        s.stop()


# ---- 01-admin_api_spec: listeners -----------------------------------------------------------

def test_admin_listeners_disabled_and_multiple(tmp_path):
    """Admin API listeners: it("disabled") (no admin server: the process listens on the proxy
    port only), it("multiple") (each listener serves the API)"""
    s = Sluice(tmp_path, kong(), name="off",
               conf={"database": "sqlite", "declarative_config": None, "admin_listen": "off"})
    try:
        assert listening_ports(s.pid) == {s.port}
    finally:
        s.stop()
    p1 = free_port()
    p2 = free_port()
    while p2 == p1:
        p2 = free_port()
    s = Sluice(tmp_path, kong(), name="multi",
               conf={"database": "sqlite", "declarative_config": None,
                     "admin_listen": "127.0.0.1:%d, 127.0.0.1:%d" % (p1, p2)})
    try:
        for p in (p1, p2):
            r = requests.get("http://127.0.0.1:%d/" % p, timeout=T)
            assert r.status_code == 200 and r.json()["tagline"] == "Welcome to kong"
        listeners = requests.get("http://127.0.0.1:%d/" % p1, timeout=T).json()[
            "configuration"]["admin_listeners"]
        assert [x["port"] for x in listeners] == [p1, p2]
    finally:
        s.stop()


# ---- 23-cors_spec (admin_gui_url = "": the only case without Kong Manager) ----------------------

def test_cors_preflight(admin):
    """Pre-flight request: it("should return different allow-methods for specific route"),
    it("should allow headers from the request"), it("should return the correct |AC-Allow-Origin|
    header when "Origin" is present / absent in request headers")"""
    for path, allow in (("/", "GET, HEAD, OPTIONS"), ("/routes", "GET, HEAD, OPTIONS, POST"),
                        ("/routes/test", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")):
        r = requests.options(admin + path, timeout=T)
        assert r.status_code == 204
        assert r.headers["Allow"] == allow and r.headers["Access-Control-Allow-Methods"] == allow
    r = requests.options(admin + "/", timeout=T)
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.options(admin + "/", timeout=T,
                         headers={"Access-Control-Request-Headers": "X-Header-1,X-Header-2"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Headers"] == "X-Header-1,X-Header-2"
    r = requests.options(admin + "/", headers={"Origin": "http://example.com"}, timeout=T)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://example.com"


def test_cors_main_request(admin):
    """Main request: it("should not respond to |AC-Request-Method| or |AC-Request-Headers|
    headers"), it("should return the correct |AC-Allow-Origin| header when "Origin" is present /
    absent in request headers")"""
    r = requests.get(admin + "/", timeout=T,
                     headers={"Access-Control-Request-Method": "PATCH",
                              "Access-Control-Request-Headers": "X-Header-1,X-Header-2"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Methods" not in r.headers
    assert "Access-Control-Allow-Headers" not in r.headers
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.get(admin + "/", headers={"Origin": "http://example.com"}, timeout=T)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://example.com"

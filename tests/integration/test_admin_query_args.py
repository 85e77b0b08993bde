# SPDX-License-Identifier: Apache-2.0
"""Query arguments the Admin API cannot read (a bad escape, %00, or longer than it keeps) are
refused with Kong's error for that argument; none is taken for absent. Taken for absent, a `tags`
filter would answer every entity, an `offset` the first page again (a client following `next`
would loop), a `unit` the default."""

import http.client
import json
import urllib.parse
import uuid

import pytest
import requests

from lib.sluice import Sluice, kong

T = 15


class Raw:
    """The answer to a GET whose target is sent byte for byte (requests re-quotes a bad escape
    such as %zz into %25zz, which would test something else)."""

    def __init__(self, base, target):
        u = urllib.parse.urlsplit(base)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=T)
        try:
            c.request("GET", target)
            r = c.getresponse()
            self.status_code, self.text = r.status, r.read().decode()
        finally:
            c.close()

    def json(self):
        return json.loads(self.text)


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    s = Sluice(tmp_path_factory.mktemp("qargs"), kong(),
               conf={"database": "sqlite", "declarative_config": None, "admin_listen": "auto"},
               name="qargs")
    a = s.admin_url("").rstrip("/")
    for i in range(3):
        r = requests.post(a + "/consumers", json={"username": "qa-%d" % i, "tags": ["t%d" % i],
                                                  "custom_id": "cid-%d" % i}, timeout=T)
        assert r.status_code == 201, r.text
    yield a
    s.stop()


def test_tag_filter_with_a_bad_escape_is_refused_not_dropped(admin):
    for arg in ("%zz", "t1%", "t1%0", "t1%00"):
        r = Raw(admin, "/consumers?tags=" + arg)
        assert r.status_code == 400, (arg, r.text)
        assert r.json()["message"] == "invalid option (tags: invalid filter syntax)", arg


def test_tag_filter_over_511_bytes_is_refused_with_its_limit(admin):
    ok = "a" * 511
    r = requests.get(admin + "/consumers?tags=" + ok, timeout=T)
    assert r.status_code == 200 and r.json()["data"] == []
    r = requests.get(admin + "/consumers?tags=" + ok + "b", timeout=T)
    assert r.status_code == 400, r.text
    assert r.json() == {"code": 11, "name": "invalid options",
                        "message": "invalid option (tags: longer than 511 bytes)",
                        "options": {"tags": "longer than 511 bytes"}}
    # the same limit on /services and the DB-less-style /tags listings
    r = requests.get(admin + "/services?tags=" + "%41" * 600, timeout=T)
    assert r.status_code == 400 and "longer than 511 bytes" in r.json()["message"]


def test_unreadable_offset_is_invalid_not_the_first_page(admin):
    for arg, shown in (("%zz", "%zz"), ("x" * 600, "x" * 200)):
        r = Raw(admin, "/consumers?size=1&offset=" + arg)
        assert r.status_code == 400, (arg[:10], r.text)
        assert r.json()["code"] == 7 and r.json()["name"] == "invalid offset"
        assert r.json()["message"] == "'%s' is not a valid offset: bad base64 encoding" % shown
    r = Raw(admin, "/tags?offset=%zz")
    assert r.status_code == 400 and r.json()["code"] == 7


def test_unreadable_size_is_not_a_number(admin):
    for arg in ("%zz", "1x" * 300):
        r = Raw(admin, "/consumers?size=" + arg)
        assert r.status_code == 400, r.text
        assert r.json() == {"code": 9, "name": "invalid size", "message": "size must be a number"}
    # however long, a value Lua's tonumber() reads is a size
    r = Raw(admin, "/consumers?size=" + "%20" * 600 + "2" + "%20" * 600)
    assert r.status_code == 200 and len(r.json()["data"]) == 2


def test_unreadable_status_unit_is_an_invalid_unit(admin):
    r = Raw(admin, "/status?unit=%zz")
    assert r.status_code == 400
    assert r.json()["message"] == "invalid unit '%zz' (expected 'k/K', 'm/M', or 'g/G')"
    r = requests.get(admin + "/status?unit=k", timeout=T)
    assert r.status_code == 200


def test_custom_id_lookup_takes_any_length_and_only_its_own_name(admin):
    long_id = "L" * 3000 + uuid.uuid4().hex
    r = requests.post(admin + "/consumers", json={"custom_id": long_id}, timeout=T)
    assert r.status_code == 201, r.text
    r = requests.get(admin + "/consumers?custom_id=" + long_id, timeout=T)
    assert r.status_code == 200 and [c["custom_id"] for c in r.json()["data"]] == [long_id]
    # a bad escape names no consumer
    r = Raw(admin, "/consumers?custom_id=cid-1%zz")
    assert r.status_code == 200 and r.json() == {"data": [], "next": None}
    # `xcustom_id=` is not `custom_id=`: the plain list answers
    r = requests.get(admin + "/consumers?xcustom_id=cid-1", timeout=T)
    assert r.status_code == 200 and len(r.json()["data"]) == 4 and "next" in r.json()

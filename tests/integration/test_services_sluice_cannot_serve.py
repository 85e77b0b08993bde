# SPDX-License-Identifier: Apache-2.0
"""Services that Sluice cannot serve yet fail closed: they answer an error and send nothing
anywhere, rather than send the request somewhere the configuration did not mean.

- A service whose host is the name of an upstream is balanced by Kong over that upstream's targets,
  never looked up in DNS. Sluice has no balancer yet: such a service answers Kong's 503 `failure
  to get a peer from the ring-balancer` (what Kong answers when the balancer has no peer), where
  before it sent the traffic to whatever the name resolved to (here `localhost`, the machine
  itself) instead of the upstream's targets. In the database, creating, renaming or deleting the
  upstream changes the service's fate at once.
- A service whose protocol is grpcs (tls, tls_passthrough) expects TLS. Sluice speaks TLS to https
  upstreams (test_upstream_tls.py) but not these yet: it answers 502 (nginx's status when the
  upstream's TLS cannot be set up), where before it sent the request in clear, the client's
  credentials with it.

Services that need neither are unaffected."""

import requests

from lib.ports import closed_port
from lib.sluice import kong, service

T = 10
NO_PEER = "failure to get a peer from the ring-balancer"


def test_dbless_service_naming_an_upstream_answers_503_and_sends_nothing(upstream,
                                                                          sluice_factory):
    doc = kong(service("direct", upstream.port, [{"paths": ["/direct"]}]))
    named = service("named", upstream.port, [{"paths": ["/named"]}])
    named["url"] = "http://localhost:%d" % upstream.port  # DNS would say: the echo upstream
    doc["services"].append(named)
    doc["upstreams"] = [{"name": "localhost",
                         "targets": [{"target": "127.0.0.1:%d" % closed_port()}]}]
    s = sluice_factory(doc)
    r = requests.get(s.url("/named"), headers={"Accept": "application/json"}, timeout=T)
    assert r.status_code == 503, r.text
    assert r.json()["message"] == NO_PEER
    assert upstream.requests == [], "a service naming an upstream went where DNS says"
    assert requests.get(s.url("/direct"), timeout=T).status_code == 200
    assert len(upstream.requests) == 1
    log = s.stderr() + s.error_log()  # the loader's warnings precede the error log
    assert ("ignoring 'upstreams' (1 entries): not supported by Sluice yet (a service whose host "
            "names one answers 503)") in log
    assert ("1 service(s) (first: named, host 'localhost') name an upstream: Sluice does not "
            "balance upstreams yet") in log


def test_admin_api_upstream_writes_change_the_service_at_once(upstream, sluice_factory):
    s = sluice_factory(kong(), {"database": "sqlite", "declarative_config": None,
                                "admin_listen": "auto"})
    a = s.admin_url("")
    r = requests.post(a + "/services", json={"name": "svc", "host": "localhost",
                                              "port": upstream.port}, timeout=T)
    assert r.status_code == 201, r.text
    assert requests.post(a + "/services/svc/routes", json={"paths": ["/"]},
                         timeout=T).status_code == 201
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    assert len(upstream.requests) == 1

    assert requests.post(a + "/upstreams", json={"name": "localhost"}, timeout=T).status_code == 201
    r = requests.get(s.url("/"), timeout=T)
    assert r.status_code == 503 and NO_PEER in r.text, r.text
    assert len(upstream.requests) == 1

    # another upstream's name does not matter; renaming this one frees the service
    assert requests.patch(a + "/upstreams/localhost", json={"name": "elsewhere"},
                          timeout=T).status_code == 200
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    assert requests.patch(a + "/upstreams/elsewhere", json={"name": "localhost"},
                          timeout=T).status_code == 200
    assert requests.get(s.url("/"), timeout=T).status_code == 503

    assert requests.delete(a + "/upstreams/localhost", timeout=T).status_code == 204
    assert requests.get(s.url("/"), timeout=T).status_code == 200
    assert len(upstream.requests) == 3


def test_grpcs_service_answers_502_and_sends_nothing_in_clear(upstream, sluice_factory):
    doc = kong(service("plain", upstream.port, [{"paths": ["/plain"]}]))
    tls = service("tls", upstream.port, [{"paths": ["/tls"]}])
    tls["url"] = "grpcs://127.0.0.1:%d" % upstream.port  # the echo upstream speaks plain HTTP
    doc["services"].append(tls)
    s = sluice_factory(doc)
    r = requests.get(s.url("/tls"), headers={"Authorization": "Bearer s3cret",
                                             "Accept": "application/json"}, timeout=T)
    assert r.status_code == 502, r.text
    assert r.json()["message"] == "An invalid response was received from the upstream server"
    assert upstream.connections == 0 and upstream.requests == [], "a byte went out in clear"
    assert requests.get(s.url("/plain"), timeout=T).status_code == 200
    assert ("1 service(s) (first: tls) use grpcs, tls or tls_passthrough: Sluice does not speak "
            "these to upstreams yet") in s.stderr() + s.error_log()

# SPDX-License-Identifier: Apache-2.0
"""Kong's `declarative_config_string` (DB-less): the declarative document given in sluice.conf or
in SLUICE_DECLARATIVE_CONFIG_STRING instead of a file (docs/configuration.md §1.5). As in Kong
(kong/init.lua has_declarative_config, kong/conf_loader/constants.lua CONF_SENSITIVE): JSON or
YAML; declarative_config wins when both are set; either beats the configuration kept from POST
/config; ignored unless database = off; masked as "******" in GET /. Its text never appears in a
message or a log: errors name the key where a file's path would be."""

import hashlib
import json
import os
import re
import signal

import pytest
import requests

from lib.sluice import Sluice, cli, dump_yaml, kong, service, wait_until, without_hint

T = 10
SECRET = "s3cr3t-Pr1vate-K3y-material"  # stands for the credentials such a document may hold
HEADER = "failed parsing declarative configuration declarative_config_string:"


def doc(upstream, path, name="svc"):
    """A declarative document with one service routing <path> to <upstream>, and the secret in
    a comment field (valid anywhere, ignored by the loader)."""
    d = kong(service(name, upstream.port, [{"name": name + "-r", "paths": [path]}]))
    d["_comment"] = SECRET
    return d


def one_line(d):
    """The document as a sluice.conf value: JSON on one line (a conf value is one line)."""
    return json.dumps(d, separators=(",", ":"))


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def status(s, path):
    return requests.get(s.url(path), timeout=T).status_code


def no_secret_anywhere(s):
    """The text (through its secret) is in no log and nowhere on the process's stderr."""
    for what, text in (("error log", s.error_log()), ("stderr", s.stderr()),
                       ("access log", s.access_log())):
        assert SECRET not in text, "%s shows declarative_config_string's text" % what


@pytest.fixture
def make(tmp_path):
    """make(conf=None, env=None, name="sluice") -> a started DB-less Sluice without a declarative
    file (unless conf names one); stopped after the test."""
    made = []

    def build(conf=None, env=None, name="sluice", start=True, kong_yml=None):
        c = {"declarative_config": None, "admin_listen": "auto", "log_level": "debug"}
        c.update(conf or {})
        s = Sluice(tmp_path, kong_yml or kong(), conf=c, env=env, name=name, start=start)
        made.append(s)
        return s
    yield build
    for s in made:
        s.stop()
        s.kill()


def test_environment_yaml_document_is_served(make, upstream):
    # the Kubernetes way: a multi-line YAML document in the environment
    text = dump_yaml(doc(upstream, "/from-env")).strip()
    assert "\n" in text
    s = make(env={"SLUICE_DECLARATIVE_CONFIG_STRING": text})
    assert status(s, "/from-env/x") == 200
    assert upstream.last().path == "/x"
    assert status(s, "/other") == 404
    # Kong's configuration_hash: the MD5 of the text loaded
    st = requests.get(s.admin_url("/status"), timeout=T).json()
    assert st["configuration_hash"] == md5(text)
    no_secret_anywhere(s)


def test_conf_key_json_document_is_served(make, upstream):
    text = one_line(doc(upstream, "/from-conf", name="confsvc"))
    s = make(conf={"declarative_config_string": text})
    assert status(s, "/from-conf") == 200
    assert requests.get(s.admin_url("/status"), timeout=T).json()["configuration_hash"] == md5(text)
    # GET /config exports what the string declared (its source is read again under the key's
    # name, JSON detected as for a file)
    exported = requests.get(s.admin_url("/config"), timeout=T).json()["config"]
    assert [x["name"] for x in json.loads(exported)["services"]] == ["confsvc"]
    # `sluice check` accepts the key
    r = cli("check", s.conf_path)
    assert r.returncode == 0 and "is valid" in r.stdout, r.stderr
    no_secret_anywhere(s)


def test_environment_beats_the_conf_key(make, upstream):
    # SLUICE_<KEY> beats the file, for this key as for every other
    s = make(conf={"declarative_config_string": one_line(doc(upstream, "/conf"))},
             env={"SLUICE_DECLARATIVE_CONFIG_STRING": one_line(doc(upstream, "/env"))})
    assert status(s, "/env") == 200
    assert status(s, "/conf") == 404


def test_declarative_config_file_wins_over_the_string(make, upstream):
    # Kong: `declarative_config or declarative_config_string`; Sluice also says so in its log
    file_doc = kong(service("file", upstream.port, [{"name": "f", "paths": ["/file"]}]))
    s = make(kong_yml=file_doc, conf={"declarative_config": "kong.yml",
                                      "declarative_config_string": one_line(doc(upstream, "/str"))})
    assert status(s, "/file") == 200
    assert status(s, "/str") == 404
    assert "declarative_config_string is ignored: declarative_config is set" in s.logs()
    no_secret_anywhere(s)


def test_string_wins_over_the_kept_config(make, upstream):
    # the configuration last pushed with POST /config (<prefix>/dbless.config) is served after a
    # restart only when neither declarative_config nor declarative_config_string is set
    s = make()
    pushed = dump_yaml(kong(service("kept", upstream.port, [{"name": "k", "paths": ["/kept"]}])))
    r = requests.post(s.admin_url("/config"), data=pushed,
                      headers={"Content-Type": "application/yaml"}, timeout=T)
    assert r.status_code == 201, r.text
    s.stop()
    s.env = {"SLUICE_DECLARATIVE_CONFIG_STRING": one_line(doc(upstream, "/str"))}
    s.start()
    assert status(s, "/str") == 200
    assert status(s, "/kept") == 404
    # the string does not replace the kept configuration: without it, the kept one is back
    s.stop()
    s.env = {}
    s.start()
    assert status(s, "/kept") == 200
    assert status(s, "/str") == 404


def error_lines(stderr, header):
    """The error lines under <header> in a failed start's stderr."""
    assert header in stderr, stderr
    return without_hint(stderr).split(header, 1)[1].strip().splitlines()


def test_invalid_string_refuses_to_start_with_the_errors_of_a_file(tmp_path, upstream):
    # every error listed, as for the same document in a declarative file; the text never printed
    bad = {"_format_version": "3.0", "_comment": SECRET,
           "services": [{"name": "a", "routes": [{"paths": ["nope"]}]},
                        {"name": "b", "host": "h", "port": 0}],
           "routes": [{"name": "orphan", "service": "nowhere", "paths": ["/o"]}]}
    s = Sluice(tmp_path, dump_yaml(bad), start=False, conf={"log_level": "debug"})
    r = cli("start", "-c", s.conf_path, "-p", s.prefix, timeout=T)
    assert r.returncode == 1
    from_file = error_lines(r.stderr, "failed parsing declarative configuration %s:"
                            % s.kong_path)
    assert len(from_file) >= 3, r.stderr

    s.write_conf(declarative_config=None)
    for env in ({"SLUICE_DECLARATIVE_CONFIG_STRING": dump_yaml(bad)},
                {"SLUICE_DECLARATIVE_CONFIG_STRING": one_line(bad)}):
        r = cli("start", "-c", s.conf_path, "-p", s.prefix, env=env, timeout=T)
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith("Error: " + HEADER), r.stderr
        assert error_lines(r.stderr, HEADER) == from_file
        assert SECRET not in r.stderr + r.stdout
    s.write_conf(declarative_config_string=one_line(bad))
    r = cli("start", "-c", s.conf_path, "-p", s.prefix, timeout=T)
    assert r.returncode == 1
    assert error_lines(r.stderr, HEADER) == from_file
    assert SECRET not in r.stderr + r.stdout + s.error_log()


def test_string_that_does_not_parse_refuses_to_start(tmp_path):
    s = Sluice(tmp_path, kong(), start=False,
               conf={"declarative_config": None,
                     "declarative_config_string": '{"_format_version":"3.0","_comment":"%s",'
                                                  '"services":[{"name":"x"' % SECRET})
    r = cli("start", "-c", s.conf_path, "-p", s.prefix, timeout=T)
    assert r.returncode == 1
    lines = error_lines(r.stderr, HEADER)
    assert len(lines) == 1
    # as for a file: the parser's message at a position, the key's name in place of a path
    assert re.match(r"failed parsing declarative configuration: declarative_config_string:\d+:\d+: "
                    r"did not find expected", lines[0]), lines
    assert SECRET not in r.stderr + r.stdout + s.error_log()


def test_ignored_unless_database_is_off(tmp_path, upstream):
    # Kong parses it only in DB-less mode: with a database the document is neither read nor
    # checked (here it would not even parse)
    s = Sluice(tmp_path, kong(), conf={"database": "sqlite", "declarative_config": None,
                                       "declarative_config_string": "{not: [a document"})
    try:
        assert status(s, "/") == 404
        assert "declarative_config_string" not in s.logs()
    finally:
        s.stop()


def test_reload_applies_a_changed_conf_key(make, upstream):
    # the environment of a running process cannot change, so a reload takes a new document from
    # sluice.conf; an invalid one is refused and the running configuration kept
    s = make(conf={"declarative_config_string": one_line(doc(upstream, "/a", name="a"))})
    assert status(s, "/a") == 200
    second = one_line(doc(upstream, "/b", name="b"))
    s.write_conf(declarative_config_string=second)
    s.reload(wait=0)
    assert wait_until(lambda: status(s, "/b") == 200)
    assert status(s, "/a") == 404
    assert requests.get(s.admin_url("/status"), timeout=T).json()["configuration_hash"] == \
        md5(second)

    s.write_conf(declarative_config_string=one_line(
        {"_format_version": "3.0", "_comment": SECRET, "services": [{"name": "c"}]}))
    s.reload(wait=0)
    assert wait_until(lambda: "keeping the running configuration" in s.error_log())
    log = s.error_log()
    assert "reload: " + HEADER in log
    assert "in 'services': in entry 1 of 'services': in 'host': required field missing" in log
    assert status(s, "/b") == 200
    no_secret_anywhere(s)


def test_reload_command_checks_the_string_first(tmp_path, upstream):
    # `sluice reload` validates what the instance will read, the string included, and signals
    # nothing when it is invalid
    s = Sluice(tmp_path, kong(), conf={"declarative_config": None,
                                       "declarative_config_string": one_line(doc(upstream, "/a"))})
    try:
        assert status(s, "/a") == 200
        s.write_conf(declarative_config_string=one_line(
            {"_format_version": "3.0", "_comment": SECRET, "services": [{"name": "c"}]}))
        r = s.cli("reload", "-c", s.conf_path, "-p", s.prefix)
        assert r.returncode == 1
        assert r.stderr.startswith("Error: " + HEADER), r.stderr
        assert "in 'host': required field missing" in r.stderr
        assert SECRET not in r.stderr + r.stdout
        assert "reload:" not in s.error_log()  # not signalled
        s.write_conf(declarative_config_string=one_line(doc(upstream, "/b")))
        r = s.cli("reload", "-c", s.conf_path, "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: status(s, "/b") == 200)
    finally:
        s.stop()


def test_root_masks_the_string(make, upstream):
    # Kong's CONF_SENSITIVE: GET /'s configuration shows "******" for a string that is set
    text = one_line(doc(upstream, "/a"))
    s = make(env={"SLUICE_DECLARATIVE_CONFIG_STRING": text})
    r = requests.get(s.admin_url("/"), timeout=T)
    assert r.status_code == 200
    assert r.json()["configuration"]["declarative_config_string"] == "******"
    assert SECRET not in r.text and "_comment" not in r.text
    no_secret_anywhere(s)
    # unset, it is absent (as Kong's remove_sensitive leaves a nil key)
    t = make(name="unset")
    assert "declarative_config_string" not in \
        requests.get(t.admin_url("/"), timeout=T).json()["configuration"]


def test_restart_keeps_the_instance_string(tmp_path, upstream):
    # `sluice restart -p` starts again from the running instance's environment (as `kong
    # restart` from its .kong_env), so an instance configured by the environment keeps its routes
    # when restarted from a shell that does not have the variable
    env = {"SLUICE_DECLARATIVE_CONFIG_STRING": one_line(doc(upstream, "/env"))}
    s = Sluice(tmp_path, kong(), start=False, env=env,
               conf={"daemon": "on", "declarative_config": None})
    try:
        r = s.cli("start", "-c", s.conf_path, "-p", s.prefix)
        assert r.returncode == 0, r.stderr
        assert status(s, "/env") == 200
        r = cli("restart", "-p", s.prefix, env={"SLUICE_DECLARATIVE_CONFIG_STRING": ""})
        assert r.returncode == 0, r.stderr
        assert wait_until(lambda: status(s, "/env") == 200)
    finally:
        cli("stop", "-p", s.prefix)
        try:
            with open(os.path.join(s.prefix, "pids", "sluice.pid")) as f:
                os.kill(int(f.read()), signal.SIGKILL)  # still there: the stop failed
        except (OSError, ValueError):
            pass

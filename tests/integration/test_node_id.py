# SPDX-License-Identifier: Apache-2.0
"""The node id that `GET /` shows, as Kong keeps it (kong/pdk/node.lua, kong/pdk/private/node.lua,
and Kong's "node_id should be same after kong restarts" spec): the `node_id` key when set (a UUID,
else Kong's "node_id must be a valid UUID" and no start), otherwise the id kept in
<prefix>/sluice.id, made and written at the first start and read back by the next. A file that is
not a UUID is replaced, with a warning in the error log. Against the real binary and the Admin
API; each node is started twice on the same prefix where the test is about a restart."""

import os
import re
import stat

import pytest
import requests

from lib.sluice import Sluice, SluiceError, cli, kong

T = 15

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CONFIGURED = "8a1b7c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d"
OTHER = "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b"


def node_id(s):
    r = requests.get(s.admin_url("/"), timeout=T)
    assert r.status_code == 200, r.text
    return r.json()["node_id"]


def id_file(s):
    return os.path.join(s.prefix, "sluice.id")


def read_id_file(s):
    with open(id_file(s)) as f:
        return f.read()


def write_id_file(s, text):
    with open(id_file(s), "w") as f:
        f.write(text)


def test_node_id_survives_a_restart(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"})
    try:
        first = node_id(s)
        assert UUID.match(first), first
        assert node_id(s) == first, "stable while running"
        # written once, whole, readable only by the owner, as the bare id Kong writes to kong.id
        assert read_id_file(s) == first
        assert stat.S_IMODE(os.stat(id_file(s)).st_mode) == 0o600
        assert not [n for n in os.listdir(s.prefix) if n.endswith(".tmp")], "no temporary left"
        assert s.stop() == 0
        s.start()
        assert node_id(s) == first, "the same id after a restart on the same prefix"
    finally:
        s.stop()


def test_node_id_survives_a_restart_in_daemon_mode_with_sqlite(tmp_path):
    # daemon: the id is made by the detached process; sqlite: Kong's spec runs every strategy
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto", "daemon": "on",
                                       "database": "sqlite", "declarative_config": None})
    try:
        first = node_id(s)
        assert UUID.match(first), first
        s.stop()
        s.start()
        assert node_id(s) == first
        assert read_id_file(s) == first
    finally:
        s.stop()


def test_configured_node_id_wins_and_leaves_the_file(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto", "node_id": CONFIGURED},
               start=False)
    write_id_file(s, OTHER)
    s.start()
    try:
        assert node_id(s) == CONFIGURED
        r = requests.get(s.admin_url("/"), timeout=T)
        assert r.json()["configuration"]["node_id"] == CONFIGURED
        assert read_id_file(s) == OTHER, "a configured id does not touch the file"
    finally:
        s.stop()
    # unset again: the kept id is back
    s.write_conf(node_id=None)
    s.start()
    try:
        assert node_id(s) == OTHER
    finally:
        s.stop()


def test_node_id_from_the_environment(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto", "node_id": CONFIGURED},
               env={"SLUICE_NODE_ID": OTHER.upper()})
    try:
        # kept as given, as Kong keeps its configuration value
        assert node_id(s) == OTHER.upper()
    finally:
        s.stop()


@pytest.mark.parametrize("bad", ["foobar", CONFIGURED + "0", CONFIGURED.replace("-", "")])
def test_invalid_node_id_refuses_to_start(tmp_path, bad):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto", "node_id": bad}, start=False)
    try:
        with pytest.raises(SluiceError) as ei:
            s.start()
    finally:
        s.kill()  # a binary that wrongly starts is not left running
    assert "node_id must be a valid UUID" in str(ei.value), str(ei.value)
    assert s.returncode not in (None, 0)
    assert not os.path.exists(id_file(s))
    # `sluice check` says the same without starting anything
    r = cli("check", s.conf_path)
    assert r.returncode != 0
    assert "node_id must be a valid UUID" in r.stderr + r.stdout


def test_invalid_node_id_from_the_environment_refuses_to_start(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"},
               env={"SLUICE_NODE_ID": "not-a-uuid"}, start=False)
    try:
        with pytest.raises(SluiceError) as ei:
            s.start()
    finally:
        s.kill()
    assert "SLUICE_NODE_ID: node_id must be a valid UUID" in str(ei.value), str(ei.value)


@pytest.mark.parametrize("corrupt", ["", "garbage\n", CONFIGURED[:-1], CONFIGURED + "ff",
                                     "x" * 5000],
                         ids=["empty", "garbage", "short", "long", "huge"])
def test_corrupt_id_file_is_replaced(tmp_path, corrupt):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"}, start=False)
    write_id_file(s, corrupt)
    s.start()
    try:
        got = node_id(s)
        assert UUID.match(got), got
        assert read_id_file(s) == got, "the file now holds the id shown"
        assert stat.S_IMODE(os.stat(id_file(s)).st_mode) == 0o600
        log = s.error_log()
        assert "[warn]" in log and "sluice.id" in log and "a new node_id will be generated" in log, log
    finally:
        s.stop()
    s.start()
    try:
        assert node_id(s) == got, "and it is kept from then on"
    finally:
        s.stop()


def test_id_file_written_by_hand_is_used(tmp_path):
    # `echo $ID > sluice.id` leaves a newline; Kong's check accepts either case
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"}, start=False)
    write_id_file(s, OTHER.upper() + "\n")
    s.start()
    try:
        assert node_id(s) == OTHER.upper()
        assert "sluice.id" not in s.error_log()
    finally:
        s.stop()


def test_unreadable_id_file_is_replaced(tmp_path):
    # a directory where the file should be: the id cannot be read nor written there; the node
    # still starts, with a new id, and says why in the error log
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto"}, start=False)
    os.makedirs(id_file(s))
    s.start()
    try:
        got = node_id(s)
        assert UUID.match(got), got
        log = s.error_log()
        assert "not a regular file" in log, log
        assert "failed to persist node_id" in log, log
    finally:
        s.stop()


def test_reload_keeps_the_running_node_id(tmp_path):
    s = Sluice(tmp_path, kong(), conf={"admin_listen": "auto", "node_id": CONFIGURED})
    try:
        s.write_conf(node_id=OTHER)
        s.reload()
        assert node_id(s) == CONFIGURED
        assert "reload: node_id changed; it takes effect at the next start" in s.error_log()
    finally:
        s.stop()

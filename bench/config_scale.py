#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Config-scale benchmark (issue #3): how long Sluice takes to publish a configuration of 1k, 10k and
100k routes (DB-less POST /config: parse + validate + compile + publish, as Sluice logs it), and how
long one route change takes to become visible at 10k routes on the SQLite store while wrk drives
traffic, with wrk's p99 and error count during the change against a run without changes.
Everything on 127.0.0.1; bounded in time. Not a test: it prints figures for bench/README.md.

usage: bench/config_scale.py [--quick]   (--quick: 1k and 10k only, shorter wrk runs)"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
QUICK = "--quick" in sys.argv


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("port %d did not open" % port)


def http(method, url, body=None, ctype="application/json", timeout=120):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": ctype} if body is not None else {})
    t = time.time()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), time.time() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.time() - t


def config(n, upstream_port):
    routes = [{"name": "r%d" % i, "paths": ["/r%d" % i]} for i in range(n)]
    return {"_format_version": "3.0",
            "services": [{"name": "up", "url": "http://127.0.0.1:%d" % upstream_port,
                          "routes": routes}]}


def start_upstream(tmp):
    port = free_port()
    conf = os.path.join(tmp, "up.conf")
    with open(conf, "w") as f:
        f.write("worker_processes 1; daemon off; pid %s/up.pid; error_log %s/up.err;\n"
                "events { worker_connections 1024; }\n"
                "http { access_log off; client_body_temp_path %s; proxy_temp_path %s;\n"
                " fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
                " server { listen 127.0.0.1:%d; location / { return 200 \"ok\"; } } }\n"
                % ((tmp,) * 7 + (port,)))
    p = subprocess.Popen(["/usr/sbin/nginx", "-p", tmp, "-c", conf], stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def start_sluice(tmp, name, conf):
    prefix = os.path.join(tmp, name)
    os.makedirs(prefix, exist_ok=True)
    path = os.path.join(prefix, "sluice.conf")
    proxy, admin = free_port(), free_port()
    while admin == proxy:
        admin = free_port()
    lines = {"daemon": "off", "worker_processes": "1", "proxy_listen": "127.0.0.1:%d" % proxy,
             "admin_listen": "127.0.0.1:%d" % admin, "status_listen": "off",
             "proxy_access_log": "off", "admin_access_log": "off", "log_level": "info",
             "proxy_error_log": os.path.join(prefix, "error.log"),
             # the publish lines are logged while the Admin API serves the POST
             "admin_error_log": os.path.join(prefix, "error.log")}
    lines.update(conf)
    with open(path, "w") as f:
        f.write("".join("%s = %s\n" % kv for kv in lines.items()))
    p = subprocess.Popen([SLUICE, "start", "-c", path, "-p", prefix])
    wait_port(admin)
    return p, proxy, admin, os.path.join(prefix, "error.log")


def wrk(url, seconds):
    out = subprocess.run(["wrk", "--latency", "-t1", "-c16", "-d%ds" % seconds, url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    mult = {"us": 0.001, "ms": 1, "s": 1000}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"p99_ms": float(p99.group(1)) * mult[p99.group(2)] if p99 else None,
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock.group(1) if sock else "none",
            "rps": float(rps.group(1)) if rps else None}


def main():
    tmp = tempfile.mkdtemp(prefix="sluice-cfgbench-")
    procs = []
    try:
        up, up_port = start_upstream(tmp)
        procs.append(up)
        print("== publish time, DB-less POST /config (server-side figures from the error log)")
        s, proxy, admin, log = start_sluice(tmp, "dbless", {"database": "off"})
        procs.append(s)
        for n in ([1000, 10000] if QUICK else [1000, 10000, 100000]):
            body = json.dumps(config(n, up_port), separators=(",", ":")).encode()
            status, _, wall = http("POST", "http://127.0.0.1:%d/config" % admin, body)
            last = [l for l in open(log) if "parsed and validated" in l][-1]
            m = re.search(r"validated in ([\d.]+) ms, compiled in ([\d.]+) ms", last)
            code, _, _ = http("GET", "http://127.0.0.1:%d/r%d" % (proxy, n - 1))
            print("  %6d routes: HTTP %d, %.1f MB body, parse+validate %s ms, compile+publish "
                  "%s ms, POST wall %.0f ms; last route serves %d"
                  % (n, status, len(body) / 1e6, m.group(1), m.group(2), wall * 1000, code))
        s.send_signal(signal.SIGTERM)
        s.wait(10)

        print("== one route change at 10k routes on the SQLite store, wrk running (16 conns)")
        # 10k routes go in with `sluice config db_import` (one transaction), then Sluice starts.
        prefix = os.path.join(tmp, "sqlite")
        os.makedirs(prefix, exist_ok=True)
        yml = os.path.join(tmp, "10k.json")
        with open(yml, "w") as f:
            json.dump(config(10000, up_port), f)
        t = time.time()
        conf_path = os.path.join(prefix, "import.conf")
        with open(conf_path, "w") as f:
            f.write("database = sqlite\n")
        r = subprocess.run([SLUICE, "config", "db_import", yml, "-c", conf_path, "-p", prefix],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise SystemExit("db_import failed: " + r.stderr)
        print("  db_import of 10k routes: %.2f s" % (time.time() - t))
        s, proxy, admin, log = start_sluice(tmp, "sqlite", {"database": "sqlite"})
        procs.append(s)
        secs = 6 if QUICK else 10
        base = wrk("http://127.0.0.1:%d/r1" % proxy, secs)
        print("  baseline (no changes): %.0f rps, p99 %.2f ms, non-2xx %d, socket errors %s"
              % (base["rps"], base["p99_ms"], base["non2xx"], base["socket_errors"]))
        result = {}

        def changes():
            time.sleep(secs / 3)
            lat = []
            for i in range(5):
                status, _, wall = http("PATCH", "http://127.0.0.1:%d/routes/r500%d" % (admin, i),
                                       json.dumps({"paths": ["/changed%d" % i]}).encode())
                code, _, _ = http("GET", "http://127.0.0.1:%d/changed%d" % (proxy, i))
                lat.append((status, wall * 1000, code))
                time.sleep(0.3)
            result["changes"] = lat
        import threading
        th = threading.Thread(target=changes)
        th.start()
        during = wrk("http://127.0.0.1:%d/r1" % proxy, secs)
        th.join()
        for status, ms, code in result["changes"]:
            print("  PATCH one route: HTTP %d in %.1f ms; the next proxied request to the new "
                  "path: %d" % (status, ms, code))
        recompiled = [l for l in open(log) if "recompiled in" in l][-5:]
        print("  server-side recompile: %s"
              % ", ".join(re.search(r"in ([\d.]+ ms)", l).group(1) for l in recompiled))
        print("  during changes: %.0f rps, p99 %.2f ms, non-2xx %d, socket errors %s"
              % (during["rps"], during["p99_ms"], during["non2xx"], during["socket_errors"]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

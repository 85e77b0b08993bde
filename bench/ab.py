#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A/B harness for the proxy engine: one static nginx upstream, the reference nginx proxy and one or
more Sluice binaries, measured in alternating wrk rounds. Besides wrk's rps and latency percentiles,
each round prints what the scheduler saw, per request: the proxy worker's CPU time, run-queue wait,
sleeps and preemptions (/proc/<pid>/task/<tid>/schedstat and status), the upstream's CPU time and
run-queue wait, wrk's own CPU time (wait4 rusage) and the machine's idle time (/proc/stat).

It answers "did this change help, and why" on a noisy VM: the binaries run side by side in the same
minutes, so a drift of the machine hits them alike (bench/README.md, "Current status"). It is a
measurement, never a test.

usage: bench/ab.py [--rounds N] [--duration 8s] [--connections 64] [--pin] BIN [BIN ...]
    --pin: the proxies on CPU 0, the upstream and wrk on the other CPUs (as run.sh's PIN=1)
    e.g. bench/ab.py /tmp/sluice-before build/sluice
Ports 19080 (upstream), 19081 (nginx) and 19082.. (one per binary) must be free."""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NGINX = "/usr/sbin/nginx"
UPSTREAM_PORT, NGINX_PORT, FIRST_SLUICE_PORT = 19080, 19081, 19082
BODY = "sluice bench: static upstream body from nginx return 200, no disk I/O".ljust(100, ".")


def pinned(cpus, argv):
    """argv under taskset when cpus (a taskset list) is set."""
    return ["taskset", "-c", cpus] + argv if cpus else argv


def nginx(tmp, name, port, http_body, cpus):
    """Starts an nginx (one worker, everything under tmp/name) and returns its Popen."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    temp_paths = " ".join("%s_temp_path %s/%s;" % (k, d, k)
                          for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write("worker_processes 1; pid %s/nginx.pid; error_log %s/error.log warn;\n"
                "events { worker_connections 16384; }\n"
                "http { access_log off; %s %s }\n"
                % (d, d, temp_paths, http_body.replace("PORT", str(port))))
    return subprocess.Popen(pinned(cpus, [NGINX, "-p", d + "/", "-c", os.path.join(d, "nginx.conf"),
                                          "-g", "daemon off;"]))


def child_pid(pid):
    """The first child of pid (nginx's worker), waiting up to 5 s for it."""
    for _ in range(50):
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        if out.split():
            return int(out.split()[0])
        time.sleep(0.1)
    sys.exit("ab: nginx %d has no worker" % pid)


def worker_tid(pid):
    """The thread id of Sluice's first proxy worker (named sluice-w0), waiting up to 5 s."""
    for _ in range(50):
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                if f.read().strip() == "sluice-w0":
                    return int(t)
        time.sleep(0.1)
    sys.exit("ab: Sluice %d has no worker thread sluice-w0" % pid)


def sched(pid, tid):
    """[cpu ns, run-queue wait ns, timeslices, voluntary, involuntary switches] of one thread."""
    with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
        v = [int(x) for x in f.read().split()]
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        st = f.read()
    v.append(int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1)))
    v.append(int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1)))
    return v


def idle_ticks():
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[4]) + int(fields[5])  # idle + iowait, in USER_HZ ticks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="8s")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--pin", action="store_true",
                    help="proxies on CPU 0, upstream and wrk on the other CPUs")
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    proxy_cpus = load_cpus = None
    if a.pin:
        if os.cpu_count() < 2 or shutil.which("taskset") is None:
            sys.exit("ab: --pin needs 2 CPUs and taskset (util-linux)")
        proxy_cpus, load_cpus = "0", "1-%d" % (os.cpu_count() - 1)
    for tool in (NGINX, "wrk", "pgrep"):
        if shutil.which(tool) is None:
            sys.exit("ab: %s not found (scripts/install-deps.sh bench)" % tool)
    hz = os.sysconf("SC_CLK_TCK")
    tmp = tempfile.mkdtemp(prefix="sluice-ab.")
    os.chmod(tmp, 0o755)  # nginx workers run as nobody when started by root
    procs = []
    try:
        procs.append(nginx(tmp, "upstream", UPSTREAM_PORT,
                           'keepalive_requests 100000; server { listen 127.0.0.1:PORT reuseport '
                           'backlog=16384; location / { default_type text/plain; return 200 "%s"; '
                           '} }' % BODY, load_cpus))
        procs.append(nginx(tmp, "nginx", NGINX_PORT,
                           'keepalive_requests 10000; upstream backend { server 127.0.0.1:%d; '
                           'keepalive 512; keepalive_requests 10000; keepalive_timeout 60s; } '
                           'server { listen 127.0.0.1:PORT reuseport backlog=16384; location / { '
                           'proxy_pass http://backend; proxy_http_version 1.1; '
                           'proxy_set_header Connection ""; } }' % UPSTREAM_PORT, proxy_cpus))
        with open(os.path.join(tmp, "kong.yml"), "w") as f:
            f.write('_format_version: "3.0"\nservices:\n- name: bench\n  url: http://127.0.0.1:%d\n'
                    '  routes:\n  - paths: ["/"]\n' % UPSTREAM_PORT)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        upstream_worker = child_pid(procs[0].pid)
        nginx_worker = child_pid(procs[1].pid)
        targets = [("nginx", NGINX_PORT, nginx_worker, nginx_worker)]
        for i, binary in enumerate(a.binaries):
            port, d = FIRST_SLUICE_PORT + i, os.path.join(tmp, "sluice%d" % i)
            os.makedirs(d)
            with open(d + ".conf", "w") as f:
                f.write("daemon = off\nworker_processes = 1\ndatabase = off\n"
                        "declarative_config = %s/kong.yml\n"
                        "proxy_listen = 127.0.0.1:%d reuseport backlog=16384\n"
                        "admin_listen = off\nstatus_listen = off\nproxy_access_log = off\n"
                        "log_level = error\n" % (tmp, port))
            p = subprocess.Popen(pinned(proxy_cpus, [binary, "start", "-c", d + ".conf", "-p", d]),
                                 env=env)
            procs.append(p)
            targets.append(("B%d" % i, port, p.pid, worker_tid(p.pid)))
        print("B<n> = the n-th binary: " + ", ".join(
            "B%d %s" % (i, b) for i, b in enumerate(a.binaries)), flush=True)
        url = "http://127.0.0.1:%d/"
        for t in targets:  # warm-up
            subprocess.run(["wrk", "-t1", "-c%d" % a.connections, "-d2s", url % t[1]],
                           capture_output=True, check=True)
        for _ in range(a.rounds):
            for name, port, pid, tid in targets:
                before, up_before, idle_before = (sched(pid, tid),
                                                  sched(upstream_worker, upstream_worker),
                                                  idle_ticks())
                w = subprocess.Popen(pinned(load_cpus, ["wrk", "--latency", "-t1",
                                                        "-c%d" % a.connections, "-d" + a.duration,
                                                        url % port]),
                                     stdout=subprocess.PIPE, text=True)
                out = w.stdout.read()
                _, status, usage = os.wait4(w.pid, 0)
                after, up_after, idle_after = (sched(pid, tid),
                                               sched(upstream_worker, upstream_worker),
                                               idle_ticks())
                m = re.search(r"(\d+) requests in", out)
                if status != 0 or m is None or int(m.group(1)) == 0:
                    sys.exit("ab: wrk failed against %s:\n%s" % (name, out))
                n = int(m.group(1))
                rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
                pct = {x.group(1): x.group(2) for x in re.finditer(r"^\s+(\d+)%\s+(\S+)", out, re.M)}
                d = [y - x for x, y in zip(before, after)]
                du = [y - x for x, y in zip(up_before, up_after)]
                wrk_us = (usage.ru_utime + usage.ru_stime) * 1e6
                idle_us = (idle_after - idle_before) * 1e6 / hz
                print("%-5s rps %6.0f p50 %7s p90 %7s p99 %7s | proxy cpu %5.1fus runq %4.1fus "
                      "sleeps/kreq %5.1f preempt/kreq %5.1f | upstream cpu %5.1fus runq %4.1fus | "
                      "wrk cpu %5.1fus | idle %4.1fus"
                      % (name, rps, pct.get("50"), pct.get("90"), pct.get("99"),
                         d[0] / n / 1e3, d[1] / n / 1e3, d[3] * 1e3 / n, d[4] * 1e3 / n,
                         du[0] / n / 1e3, du[1] / n / 1e3, wrk_us / n, idle_us / n), flush=True)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
"""Runs a real Sluice process for tests: writes sluice.conf and kong.yml into a temporary directory,
starts `sluice start -c <conf> -p <prefix>` on a free 127.0.0.1 port, waits until it accepts, and
gives access to its logs, pid and signals. Also runs one-shot CLI verbs (`cli()`).
"""

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time

from .ports import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

try:
    import yaml  # Debian's python3-yaml
except ImportError:  # JSON is valid YAML, so the declarative file can still be written
    yaml = None


def sluice_bin():
    """The binary under test: $SLUICE_BIN, else <repo>/build/sluice."""
    # absolute: the harness starts the binary from other working directories
    return os.path.abspath(os.environ.get("SLUICE_BIN") or os.path.join(REPO, "build", "sluice"))


def have_binary():
    return os.access(sluice_bin(), os.X_OK)


def dump_yaml(doc):
    """kong.yml text for a dict (YAML if python3-yaml is present, else JSON, which YAML accepts)."""
    if yaml is not None:
        return yaml.safe_dump(doc, sort_keys=False)
    return json.dumps(doc, indent=2)


def cli(*args, env=None, timeout=20, cwd=None):
    """Runs `sluice <args>` to completion. Returns subprocess.CompletedProcess with text output."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([sluice_bin()] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=cwd)


@contextlib.contextmanager
def open_files(n):
    """Raises this process's soft RLIMIT_NOFILE to at least n for the block (a test that opens many
    sockets itself), restoring it after. Skips the test when the hard limit is below n."""
    import pytest
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n:
        pytest.skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); check its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def port_open(port, host="127.0.0.1", timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# What the CLI prints after an error's lines, as Kong's (not with --v or --vv).
HINT = "\n  Run with --v (verbose) or --vv (debug) for more details\n"


def without_hint(stderr):
    """A failed command's stderr without the hint line that closes it."""
    return stderr[:-len(HINT)] if stderr.endswith(HINT) else stderr


def wait_until(fn, timeout=5.0, step=0.05):
    """Polls fn() until it returns a true value or <timeout> seconds pass; returns its last
    value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def listening_ports(pid):
    """The TCP ports process <pid> listens on (its socket inodes matched in /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


# Every Sluice object created in this process, so suites can scan their stderr for sanitizer
# reports (see sanitizer_report()).
INSTANCES = []
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class SluiceError(Exception):
    """Sluice did not start (the message carries its stderr and error log)."""


class Sluice:
    """One Sluice instance.

    tmpdir: a directory (str or path) owned by the test; conf files and the prefix go inside it.
    kong_yml: the declarative config, a YAML/JSON string or a dict.
    conf: extra sluice.conf keys (they override the defaults below); values are written verbatim
          (True/False become on/off; "{port}" in a string becomes the proxy port chosen here).
    start: start immediately (default). env: extra environment for the process.
    name: sub-directory name, to run several instances in one tmpdir.

    Defaults: daemon = off, worker_processes = 1, database = off, admin/status off, log_level = info,
    access log <prefix>/logs/access.log, error log <prefix>/logs/error.log, proxy_listen on a free
    127.0.0.1 port.
    """

    def __init__(self, tmpdir, kong_yml, conf=None, start=True, env=None, name="sluice",
                 start_timeout=10.0):
        self.dir = os.path.join(str(tmpdir), name)
        os.makedirs(self.dir, exist_ok=True)
        self.prefix = os.path.join(self.dir, "prefix")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        self.kong_path = os.path.join(self.dir, "kong.yml")
        self.conf_path = os.path.join(self.dir, "sluice.conf")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.port = free_port()
        self.env = env or {}
        self.start_timeout = start_timeout
        self.proc = None
        self._pid = None
        self._exited = None   # threading.Event set by the reaper when a foreground process exits
        self._rc = None
        self.conf = {
            "daemon": "off",
            "worker_processes": "1",
            "database": "off",
            "declarative_config": self.kong_path,
            "proxy_listen": "127.0.0.1:%d" % self.port,
            "admin_listen": "off",
            "status_listen": "off",
            "log_level": "info",
            "proxy_access_log": os.path.join(self.prefix, "logs", "access.log"),
            "proxy_error_log": os.path.join(self.prefix, "logs", "error.log"),
        }
        if conf:
            for k, v in conf.items():
                self.conf[k] = v
        # The Admin and Status APIs log where the proxy does unless a test says otherwise
        # (test_admin_logs.py), so error_log() shows what they log too.
        for k in ("admin_error_log", "status_error_log"):
            self.conf.setdefault(k, self.conf["proxy_error_log"])
        # admin_listen = "auto": a free port distinct from the proxy's (two free_port() calls may
        # return the same port), exposed as .admin_port / .admin_url().
        self.admin_port = None
        if self.conf.get("admin_listen") == "auto":
            self.admin_port = free_port()
            while self.admin_port == self.port:
                self.admin_port = free_port()
            self.conf["admin_listen"] = "127.0.0.1:%d" % self.admin_port
        # status_listen = "auto": the same for the Status API, exposed as .status_port.
        self.status_port = None
        if self.conf.get("status_listen") == "auto":
            self.status_port = free_port()
            while self.status_port in (self.port, self.admin_port):
                self.status_port = free_port()
            self.conf["status_listen"] = "127.0.0.1:%d" % self.status_port
        self.write_kong(kong_yml)
        self.write_conf()
        INSTANCES.append(self)
        if start:
            self.start()

    # ------------------------------------------------------------------ files
    def write_kong(self, kong_yml):
        """(Re)writes the declarative file; call reload() to make a running instance read it."""
        text = kong_yml if isinstance(kong_yml, str) else dump_yaml(kong_yml)
        with open(self.kong_path, "w") as f:
            f.write(text)

    def write_conf(self, **overrides):
        for k, v in overrides.items():
            self.conf[k] = v
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                if v is None:
                    continue
                if v is True:
                    v = "on"
                elif v is False:
                    v = "off"
                elif isinstance(v, str):
                    v = v.replace("{port}", str(self.port))
                f.write("%s = %s\n" % (k, v))

    @property
    def daemon(self):
        return str(self.conf.get("daemon", "off")).lower() in ("on", "true", "1")

    @property
    def access_log_path(self):
        return self.conf.get("proxy_access_log")

    @property
    def error_log_path(self):
        p = self.conf.get("proxy_error_log")
        return p if p and p != "stderr" else self.stderr_path

    @property
    def pid_path(self):
        return os.path.join(self.prefix, "pids", "sluice.pid")

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        e = dict(os.environ)
        e.update(self.env)
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [sluice_bin(), "start", "-c", self.conf_path, "-p", self.prefix],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=e, cwd=self.dir)
        finally:
            out.close()
            err.close()
        if not self.daemon:
            # Reap the child as soon as it exits: a zombie still answers kill(pid, 0), which would
            # make `sluice stop/quit/health` believe it is still running.
            self._exited = threading.Event()
            self._rc = None
            threading.Thread(target=self._reap, args=(self.proc, self._exited), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        if self.daemon:
            try:
                rc = self.proc.wait(timeout=self.start_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise SluiceError("daemon start did not return\n" + self.logs())
            if rc != 0:
                raise SluiceError("sluice start (daemon) exited %d\n%s" % (rc, self.logs()))
        while time.monotonic() < deadline:
            if not self.daemon and self._exited.is_set():
                raise SluiceError("sluice exited with %s before listening\n%s"
                                  % (self._rc, self.logs()))
            # with admin_listen or status_listen = "auto" those listeners must be up too (they
            # open after the proxy's, so a test that goes straight to them could be refused)
            if port_open(self.port) and all(p is None or port_open(p)
                                            for p in (self.admin_port, self.status_port)):
                if self.daemon:
                    self._pid = self._read_pidfile(deadline)
                return self
            time.sleep(0.02)
        self.kill()
        raise SluiceError("sluice did not listen on %d within %.0fs\n%s"
                          % (self.port, self.start_timeout, self.logs()))

    def _reap(self, proc, event):
        rc = proc.wait()
        if proc is self.proc:
            self._rc = rc
        event.set()

    @property
    def returncode(self):
        """Exit status of the foreground process (None while it runs)."""
        if self.daemon:
            return self.proc.returncode if self.proc else None
        return self._rc if self._exited is not None and self._exited.is_set() else None

    def _read_pidfile(self, deadline):
        while time.monotonic() < deadline:
            try:
                with open(self.pid_path) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.02)
        raise SluiceError("no pid file at %s" % self.pid_path)

    @property
    def pid(self):
        if self.daemon:
            return self._pid
        return self.proc.pid if self.proc else None

    def alive(self):
        if self.daemon:
            return self._pid is not None and _pid_alive(self._pid)
        return self._exited is not None and not self._exited.is_set()

    def signal(self, sig):
        """Sends sig to the running process (ProcessLookupError once it has exited: never signal a
        reaped pid, which the system may have reused)."""
        if not self.alive():
            raise ProcessLookupError("sluice is not running")
        os.kill(self.pid, sig)

    def wait(self, timeout=10.0):
        """Waits for the process to exit; returns its exit code (None for a daemon) or raises
        TimeoutError."""
        if not self.daemon:
            if self._exited is None or not self._exited.wait(timeout):
                raise TimeoutError("sluice still running after %.1fs" % timeout)
            return self._rc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_alive(self._pid):
                return None
            time.sleep(0.02)
        raise TimeoutError("sluice (daemon) still running after %.1fs" % timeout)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if not self.alive():
            return self.returncode if not self.daemon else None
        try:
            self.signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return self.wait(timeout)
        except TimeoutError:
            self.kill()
            raise

    def kill(self):
        try:
            if self.pid and self.alive():
                os.kill(self.pid, signal.SIGKILL)
            if self._exited is not None and not self.daemon:
                self._exited.wait(5)
        except ProcessLookupError:
            pass

    def reload(self, wait=0.5):
        """SIGHUP (re-read conf run-time values and kong.yml), then sleep `wait` seconds."""
        self.signal(signal.SIGHUP)
        if wait:
            time.sleep(wait)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        try:
            self.stop()
        finally:
            self.kill()

    # ------------------------------------------------------------------ access
    def admin_url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def cli(self, *args, timeout=20):
        """Runs `sluice <args>` with this instance's environment."""
        return cli(*args, env=self.env, timeout=timeout, cwd=self.dir)

    def sanitized(self):
        """True if the running binary is an ASan/UBSan/TSan build (its memory figures are not
        representative: shadow memory and quarantine)."""
        try:
            with open("/proc/%d/maps" % self.pid) as f:
                maps = f.read()
        except OSError:
            return False
        return any(lib in maps for lib in ("libasan", "libtsan", "libubsan", "libhwasan"))

    def set_open_files(self, n):
        """Sets the running process's soft RLIMIT_NOFILE to n (prlimit; may lower it). Skips the
        test when n is above the hard limit."""
        import pytest
        _, hard = resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < n:
            pytest.skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, n))
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (n, hard))

    def rss_kb(self):
        """VmRSS of the process in KiB (from /proc)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    @staticmethod
    def _read(path):
        try:
            with open(path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log(self):
        return self._read(self.error_log_path)

    def access_log(self):
        p = self.access_log_path
        return "" if not p or p == "off" else self._read(p)

    def access_lines(self):
        return [l for l in self.access_log().split("\n") if l.strip()]

    def stderr(self):
        return self._read(self.stderr_path)

    def stderr_size(self):
        try:
            return os.path.getsize(self.stderr_path)
        except OSError:
            return 0

    def sanitizer_report(self, since=0):
        """The stderr text written after byte offset `since` if it holds an ASan/LSan/UBSan report,
        else None (a build with -fsanitize prints its reports there)."""
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        return text if any(m in text for m in SANITIZER_MARKS) else None

    def logs(self, tail=6000):
        """stderr + error log (tails), for failure messages."""
        return ("--- stderr ---\n%s\n--- error log ---\n%s"
                % (self.stderr()[-tail:], self.error_log()[-tail:]))


def service(name, port, routes=(), path=None, **fields):
    """A kong.yml service dict pointing at http://127.0.0.1:<port><path>."""
    s = {"name": name, "url": "http://127.0.0.1:%d%s" % (port, path or "")}
    s.update(fields)
    s["routes"] = list(routes)
    return s


def kong(*services, routes=None):
    """A kong.yml document dict."""
    d = {"_format_version": "3.0", "services": list(services)}
    if routes:
        d["routes"] = list(routes)
    return d

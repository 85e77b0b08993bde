# SPDX-License-Identifier: Apache-2.0
"""A scriptable DNS server for tests (python3-dnslib): answers on 127.0.0.1, UDP and TCP, on a
kernel-chosen port, from a table the test changes while it runs, and counts every query it gets.

API (all names are case-insensitive, a trailing dot is ignored):

    dns = DNSStub().start()          # or `with DNSStub() as dns:`; .stop() ends it
    dns.port, dns.addr               # the port, and "127.0.0.1:<port>" for `dns_resolver`

    dns.set_a(name, ips, ttl=60)     # A records (a str or a list of addresses), replacing old ones
    dns.set_aaaa(name, ips, ttl=60)  # AAAA records
    dns.set_cname(name, target, ttl=60)  # name is an alias; A/AAAA questions get the whole chain
                                         # (at most 8 hops, so a CNAME loop ends without an address)
    dns.set_srv(name, [(priority, weight, port, target)], ttl=60)  # SRV records (A answers for targets)
    dns.set_nodata(name)             # the name exists but has no records: NOERROR, empty answer
    dns.set_rcode(name, "SERVFAIL", qtype="*")  # answer with this rcode (NXDOMAIN, SERVFAIL,
                                     # REFUSED, ...) for that type or "*"; None removes it
    dns.set_delay(name, 2.0, qtype="*")  # answer after this many seconds (others are not held up)
    dns.set_drop(name, True, qtype="*")  # never answer (a timeout for the client)
    dns.set_dead(True)               # the whole server stops answering (it still counts queries)
    dns.forget(name)                 # drop everything about the name: it is NXDOMAIN again

    dns.count(name, "A")             # queries received for (name, type); qtype "*" = every type
    dns.wait_queries(name, "A", n, timeout)  # waits until count >= n; returns the count
    dns.log                          # [(monotonic time, name, qtype, "udp"|"tcp")] in order
    dns.reset_counts()

Over UDP, an answer larger than 512 bytes (or the query's EDNS payload size) is sent without records
and with the TC bit, so clients retry over TCP (`dns.log` shows the protocol of each query).

A name that was never configured answers NXDOMAIN. A rule (rcode, delay, drop) set for the exact
question type wins over one set for "*". Queries are counted when they arrive, before any rule, so
dropped queries and those sent to a dead server are counted too.
"""

import socket
import struct
import threading
import time

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SRV, A, DNSRecord

MAX_CHAIN = 8


def _norm(name):
    return str(name).rstrip(".").lower()


class DNSStub:
    """See the module docstring. host: the address to listen on; tcp: also serve DNS over TCP on
    the same port."""

    def __init__(self, host="127.0.0.1", tcp=True):
        self.host = host
        self.tcp = tcp
        self.port = None
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.records = {}   # name -> {"A": ([ips], ttl), "AAAA": ..., "CNAME": (target, ttl)}
        self.rules = {}     # (name, qtype or "*") -> {"rcode": str, "delay": s, "drop": bool}
        self.dead = False
        self.log = []
        self.counts = {}    # (name, qtype) -> int
        self._udp = None
        self._tcp = None
        self._running = False
        self._loops = []
        self._conns = []    # open TCP connections, shut down by stop()
        self._timers = []

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    # ------------------------------------------------------------------ table
    def set_a(self, name, ips, ttl=60):
        self._set_records(name, "A", ips, ttl)

    def set_aaaa(self, name, ips, ttl=60):
        self._set_records(name, "AAAA", ips, ttl)

    def _set_records(self, name, qtype, ips, ttl):
        ips = [ips] if isinstance(ips, str) else list(ips)
        with self.lock:
            self.records.setdefault(_norm(name), {})[qtype] = (ips, int(ttl))

    def set_cname(self, name, target, ttl=60):
        with self.lock:
            self.records.setdefault(_norm(name), {})["CNAME"] = (_norm(target), int(ttl))

    def set_srv(self, name, records, ttl=60):
        """SRV records for name: [(priority, weight, port, target host)]."""
        with self.lock:
            self.records.setdefault(_norm(name), {})["SRV"] = (
                [(int(p), int(w), int(port), _norm(tg)) for p, w, port, tg in records], int(ttl))

    def set_nodata(self, name):
        with self.lock:
            self.records[_norm(name)] = {}

    def _rule(self, name, qtype, key, value):
        with self.lock:
            k = (_norm(name), qtype.upper())
            r = self.rules.setdefault(k, {})
            if value is None or value is False:
                r.pop(key, None)
            else:
                r[key] = value

    def set_rcode(self, name, rcode, qtype="*"):
        if rcode is not None and not hasattr(RCODE, rcode.upper()):
            raise ValueError("unknown rcode %r" % rcode)
        self._rule(name, qtype, "rcode", rcode and rcode.upper())

    def set_delay(self, name, seconds, qtype="*"):
        self._rule(name, qtype, "delay", seconds or None)

    def set_drop(self, name, on=True, qtype="*"):
        self._rule(name, qtype, "drop", bool(on))

    def set_dead(self, on=True):
        self.dead = bool(on)

    def forget(self, name):
        n = _norm(name)
        with self.lock:
            self.records.pop(n, None)
            for k in [k for k in self.rules if k[0] == n]:
                del self.rules[k]

    # ------------------------------------------------------------------ counters
    def count(self, name, qtype="A"):
        n = _norm(name)
        with self.lock:
            if qtype == "*":
                return sum(c for (nm, _), c in self.counts.items() if nm == n)
            return self.counts.get((n, qtype.upper()), 0)

    def wait_queries(self, name, qtype="A", n=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            c = self.count(name, qtype)
            left = deadline - time.monotonic()
            if c >= n or left <= 0:
                return c
            with self.cond:
                self.cond.wait(min(left, 0.1))

    def reset_counts(self):
        with self.lock:
            self.log = []
            self.counts = {}

    # ------------------------------------------------------------------ answering
    def _lookup_rule(self, name, qtype):
        """The effective rule for a question: the exact type's keys over "*"'s."""
        r = dict(self.rules.get((name, "*"), {}))
        r.update(self.rules.get((name, qtype), {}))
        return r

    def _answer(self, req, proto):
        """Returns (reply bytes or None to stay silent, delay in seconds)."""
        q = req.q
        name = _norm(q.qname)
        qtype = QTYPE.get(q.qtype, str(q.qtype))
        with self.cond:
            self.log.append((time.monotonic(), name, qtype, proto))
            self.counts[(name, qtype)] = self.counts.get((name, qtype), 0) + 1
            self.cond.notify_all()
            if self.dead:
                return None, 0
            rule = self._lookup_rule(name, qtype)
            if rule.get("drop"):
                return None, 0
            reply = req.reply()
            if rule.get("rcode"):
                reply.header.rcode = getattr(RCODE, rule["rcode"])
                return reply.pack(), rule.get("delay", 0)
            if name not in self.records:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply.pack(), rule.get("delay", 0)
            cur = name
            for _ in range(MAX_CHAIN):
                entry = self.records.get(cur)
                if entry is None:   # the chain ends at an unknown name
                    reply.header.rcode = RCODE.NXDOMAIN
                    break
                if "CNAME" in entry and qtype != "CNAME":
                    target, ttl = entry["CNAME"]
                    reply.add_answer(RR(cur, QTYPE.CNAME, rdata=CNAME(target), ttl=ttl))
                    cur = target
                    continue
                if qtype in ("A", "AAAA") and qtype in entry:
                    ips, ttl = entry[qtype]
                    cls = A if qtype == "A" else AAAA
                    for ip in ips:
                        reply.add_answer(RR(cur, getattr(QTYPE, qtype), rdata=cls(ip), ttl=ttl))
                elif qtype == "SRV" and "SRV" in entry:
                    recs, ttl = entry["SRV"]
                    for prio, weight, port, target in recs:
                        reply.add_answer(RR(cur, QTYPE.SRV, ttl=ttl,
                                            rdata=SRV(priority=prio, weight=weight, port=port,
                                                      target=target)))
                elif qtype == "CNAME" and "CNAME" in entry:
                    target, ttl = entry["CNAME"]
                    reply.add_answer(RR(cur, QTYPE.CNAME, rdata=CNAME(target), ttl=ttl))
                break
            return reply.pack(), rule.get("delay", 0)

    def _handle(self, data, proto, truncate=False):
        try:
            req = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage is ignored, like a real server would
            return None, 0
        if not req.questions:
            return None, 0
        out, delay = self._answer(req, proto)
        if out is not None and truncate:
            # Over UDP an answer larger than 512 bytes (or the client's EDNS size) goes out empty
            # with TC set, so the client asks again over TCP, as a real server does.
            limit = 512
            for rr in req.ar:
                if rr.rtype == QTYPE.OPT:
                    limit = max(512, rr.rclass)
            if len(out) > limit:
                short = req.reply()
                short.header.tc = 1
                short.header.rcode = DNSRecord.parse(out).header.rcode
                out = short.pack()
        return out, delay

    # ------------------------------------------------------------------ servers
    def _udp_loop(self):
        while self._running:
            try:
                data, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            out, delay = self._handle(data, "udp", truncate=True)
            if out is None:
                continue
            if delay:
                t = threading.Timer(delay, self._udp_send, args=(out, peer))
                t.daemon = True
                with self.lock:
                    self._timers = [x for x in self._timers if x.is_alive()] + [t]
                t.start()
            else:
                self._udp_send(out, peer)

    def _udp_send(self, out, peer):
        if self.dead or not self._running:
            return
        try:
            self._udp.sendto(out, peer)
        except OSError:
            pass

    def _tcp_loop(self):
        while self._running:
            try:
                c, _ = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self._conns.append(c)
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    @staticmethod
    def _read_exact(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _tcp_conn(self, c):
        c.settimeout(30)
        try:
            while self._running:
                hdr = self._read_exact(c, 2)
                if hdr is None:
                    break
                data = self._read_exact(c, struct.unpack(">H", hdr)[0])
                if data is None:
                    break
                out, delay = self._handle(data, "tcp")
                if out is None:
                    continue
                if delay:
                    time.sleep(delay)
                if self.dead:
                    continue
                c.sendall(struct.pack(">H", len(out)) + out)
        except OSError:
            pass
        finally:
            with self.lock:
                if c in self._conns:
                    self._conns.remove(c)
            c.close()

    def start(self):
        for _ in range(20):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((self.host, 0))
            port = u.getsockname()[1]
            t = None
            if self.tcp:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    t.bind((self.host, port))
                except OSError:   # the TCP port of that number is taken: pick another
                    t.close()
                    u.close()
                    continue
                t.listen(64)
                t.settimeout(0.2)
            break
        else:
            raise OSError("no port free for UDP and TCP at once")
        u.settimeout(0.2)
        self._udp, self._tcp, self.port = u, t, port
        self._running = True
        loops = [self._udp_loop] + ([self._tcp_loop] if t else [])
        for fn in loops:
            th = threading.Thread(target=fn, name="dnsstub-%d" % port, daemon=True)
            th.start()
            self._loops.append(th)
        return self

    def stop(self):
        self._running = False
        with self.lock:
            timers = list(self._timers)
            conns = list(self._conns)
        for t in timers:
            t.cancel()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for s in (self._udp, self._tcp):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        for t in self._loops:
            t.join(timeout=2.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

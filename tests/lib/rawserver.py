# SPDX-License-Identifier: Apache-2.0
"""RawServer: the listener and accept loop of the tests' hand-written upstreams (those that must
misbehave in ways lib/upstream.py's parsing server cannot: reset mid-body, record bytes past the
head, answer a reused connection with a reset).

A subclass sets its own attributes, then calls RawServer.__init__, and overrides serve(conn, rec):
each accepted connection gets a record from new_record(index) (appended to self.conns, under
self.lock) and its own thread running serve. RawServer closes the connection after serve."""

import socket
import threading


class RawServer:
    def __init__(self, backlog=64):
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.2)  # so that the loop sees `stopping`
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def new_record(self, index):
        """What is kept of connection number <index> (from 0); None keeps nothing."""
        return None

    def serve(self, conn, rec):
        raise NotImplementedError

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                rec = self.new_record(len(self.conns))
                self.conns.append(rec)
            threading.Thread(target=self._run, args=(c, rec), daemon=True).start()

    def _run(self, c, rec):
        try:
            self.serve(c, rec)
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(2)

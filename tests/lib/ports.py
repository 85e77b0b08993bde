# SPDX-License-Identifier: Apache-2.0
"""Free TCP ports on 127.0.0.1, chosen by the kernel (never fixed numbers)."""

import socket


def free_port():
    """Returns a port that was free on 127.0.0.1 a moment ago (bind to 0, read it, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def closed_port():
    """A port on 127.0.0.1 with (very probably) nothing listening: connects are refused."""
    return free_port()

# SPDX-License-Identifier: Apache-2.0
"""A real small filesystem for the "disk is full" tests: a tmpfs of a given size mounted on one of
Sluice's directories (root only, as `mount` needs; require() skips a test otherwise).
Unmounted lazily (`umount -l`), so that a file Sluice still holds open never keeps it mounted."""

import contextlib
import os
import subprocess

import pytest

_checked = {}


def unavailable(scratch):
    """None when a tmpfs can be mounted here (tried once on a directory under <scratch>), else
    why not: the tests that need one skip with it."""
    if "why" not in _checked:
        why = None
        if os.geteuid() != 0:
            why = "needs root to mount a small tmpfs"
        else:
            probe = os.path.join(str(scratch), "tmpfs-probe")
            os.makedirs(probe, exist_ok=True)
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                               capture_output=True, text=True)
            if r.returncode != 0:
                why = "cannot mount a tmpfs: %s" % r.stderr.strip()
            else:
                subprocess.run(["umount", "-l", probe], capture_output=True)
        _checked["why"] = why
    return _checked["why"]


def require(scratch):
    """Skips the calling test when no tmpfs can be mounted (unavailable()'s reason)."""
    why = unavailable(scratch)
    if why:
        pytest.skip(why)


def mount(path, size):
    """Mounts a tmpfs of <size> bytes on <path> (made when missing), mode 0700 as Sluice makes
    its temporary directories."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % size, "tmpfs", path],
                   check=True, capture_output=True)


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def used(path):
    """Bytes in use on the filesystem mounted at <path>."""
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@contextlib.contextmanager
def under_sluice(s, dirname, size):
    """Stops the started Sluice <s>, mounts a tmpfs of <size> bytes on <prefix>/<dirname>, and
    starts it again; yields the mount point. On exit Sluice is stopped, then the tmpfs unmounted."""
    s.stop()
    path = os.path.join(s.prefix, dirname)
    mount(path, size)
    try:
        s.start()
        yield path
    finally:
        s.stop(timeout=5)
        umount(path)

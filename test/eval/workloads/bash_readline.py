#!/usr/bin/env python3
"""An interactive bash on a pseudo-terminal, so it reads its commands with readline()."""
import os, pty, select, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.execv("/usr/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
def drain(t):
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                os.read(fd, 4096)
            except OSError:
                return
drain(0.5)
for cmd in (b"echo mcptrace-eval-readline\n", b"ls /tmp > /dev/null\n", b"exit\n"):
    os.write(fd, cmd)
    drain(0.4)
os.waitpid(pid, 0)

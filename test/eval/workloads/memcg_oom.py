#!/usr/bin/env python3
"""An out-of-memory kill confined to a cgroup: a child in a 32 MiB memory cgroup (v1 or v2)
allocates until the kernel's OOM killer ends it. Nothing outside the cgroup is at risk."""
import os, sys, time

V1 = "/sys/fs/cgroup/memory"
V2 = "/sys/fs/cgroup/unified"
name = f"mcptrace-eval-oom-{os.getpid()}"
if os.path.isdir(V1) and os.path.exists(os.path.join(V1, "memory.limit_in_bytes")):
    cg = os.path.join(V1, name)
    os.mkdir(cg)
    open(os.path.join(cg, "memory.limit_in_bytes"), "w").write(str(32 << 20))
    try:
        open(os.path.join(cg, "memory.memsw.limit_in_bytes"), "w").write(str(32 << 20))
    except OSError:
        pass
    procs = os.path.join(cg, "tasks")
else:
    cg = os.path.join(V2, name)
    os.mkdir(cg)
    open(os.path.join(cg, "memory.max"), "w").write(str(32 << 20))
    open(os.path.join(cg, "memory.swap.max"), "w").write("0")
    procs = os.path.join(cg, "cgroup.procs")
pid = os.fork()
if pid == 0:
    open(procs, "w").write(str(os.getpid()))
    blocks = []
    while True:
        blocks.append(bytearray(4 << 20))
        for i in range(0, len(blocks[-1]), 4096):
            blocks[-1][i] = 1
_, status = os.waitpid(pid, 0)
print("child ended by signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
for _ in range(50):
    try:
        os.rmdir(cg)
        break
    except OSError:
        time.sleep(0.1)

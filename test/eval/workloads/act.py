#!/usr/bin/env python3
"""Small workloads for test/eval/requests.yaml, one per action: act.py ACTION [ARG].
Each makes a kernel or library event happen within a second or two, and touches only
/tmp/mcptrace-eval-* files, its own cgroups, and loopback sockets."""
import ctypes, fcntl, os, select, signal, socket, subprocess, sys, threading, time

TMP = "/tmp/mcptrace-eval"
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def burn(seconds=1.5, workers=3):
    """CPU-bound workers, more than the two cores."""
    def spin():
        end = time.time() + seconds
        x = 0
        while time.time() < end:
            x += 1
    ps = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            spin()
            os._exit(0)
        ps.append(pid)
    for p in ps:
        os.waitpid(p, 0)


def files():
    """Create, write, fsync, stat, rename, chmod (setuid), truncate and delete files."""
    a, b = f"{TMP}-file-a", f"{TMP}-file-b"
    with open(a, "wb") as f:
        for _ in range(64):
            f.write(b"y" * 4096)
        f.flush()
        os.fsync(f.fileno())
    os.stat(a)
    os.rename(a, b)
    os.chmod(b, 0o4755)
    os.truncate(b, 1024)
    os.unlink(b)
    try:
        open(f"{TMP}-does-not-exist")
    except OSError:
        pass


def pagecache():
    """Write a file, drop its pages from the page cache, then read it back (cache misses, readahead)."""
    p = f"{TMP}-pagecache"
    with open(p, "wb") as f:
        f.write(os.urandom(8 << 20))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    with open(p, "rb") as f:
        while f.read(1 << 16):
            pass
    import mmap
    with open(p, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        s = 0
        for i in range(0, len(m), 4096):
            s += m[i]
        m.close()
    os.unlink(p)


def dirty_sync():
    """Dirty 32 MiB of page cache, then sync(): writeback to the disk."""
    p = f"{TMP}-dirty"
    with open(p, "wb") as f:
        for _ in range(32):
            f.write(os.urandom(1 << 20))
    os.sync()
    os.unlink(p)


def memory():
    """Allocate and touch 200 MiB (page faults, RSS growth, brk and mmap), then many small objects."""
    blocks = [bytearray(1 << 20) for _ in range(200)]
    small = [bytes(100) + bytes([i % 256]) for i in range(100000)]
    time.sleep(0.2)
    del blocks, small


def mmaps():
    """Threads that map and unmap memory (mmap_lock, TLB shootdowns across CPUs)."""
    import mmap
    def work():
        for _ in range(60):
            m = mmap.mmap(-1, 1 << 20)
            for i in range(0, 1 << 20, 4096):
                m[i] = 1
            m.close()
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def threads():
    """Threads contending on one lock (futex waits, pthread_create, wakeups)."""
    lock = threading.Lock()
    count = [0]
    def work():
        for _ in range(2000):
            with lock:
                count[0] += 1
                time.sleep(0.0001)
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def spawn(n=30):
    """Many short-lived processes."""
    for _ in range(int(n)):
        subprocess.run(["/usr/bin/true"])


def zombie():
    """A child that exits while its parent waits a while before reaping it."""
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    time.sleep(0.5)
    os.waitpid(pid, 0)


def sigusr():
    """SIGUSR1 to itself through kill() and to a thread through tgkill, with a handler."""
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    os.kill(os.getpid(), signal.SIGUSR1)
    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
    time.sleep(0.1)


def sigpipe():
    """A writer whose reader went away: SIGPIPE."""
    r, w = os.pipe()
    p = subprocess.Popen(["/usr/bin/yes"], stdout=w)
    os.close(w)
    os.read(r, 100)
    os.close(r)
    p.wait()


def itimer():
    """An interval timer of 50 ms, five SIGALRMs."""
    n = [0]
    signal.signal(signal.SIGALRM, lambda s, f: n.__setitem__(0, n[0] + 1))
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    while n[0] < 5:
        time.sleep(0.01)
    signal.setitimer(signal.ITIMER_REAL, 0)


def sleeps():
    """A loop of short sleeps (timer wakeups)."""
    for _ in range(100):
        time.sleep(0.01)


def poll():
    """poll() and epoll_wait() that time out."""
    p = select.poll()
    r, w = os.pipe()
    p.register(r, select.POLLIN)
    p.poll(200)
    e = select.epoll()
    e.register(r, select.EPOLLIN)
    e.poll(0.2)


def flock():
    """One holder of an flock and one non-blocking try that fails; then fcntl record locks."""
    p = f"{TMP}-lock"
    a = open(p, "w")
    fcntl.flock(a, fcntl.LOCK_EX)
    b = open(p, "w")
    try:
        fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass
    fcntl.flock(a, fcntl.LOCK_UN)
    fcntl.lockf(b, fcntl.LOCK_EX, 100, 0)
    fcntl.lockf(b, fcntl.LOCK_UN, 100, 0)
    a.close()
    b.close()
    os.unlink(p)


def udp():
    """UDP on loopback: datagrams to a reader, a flood to a socket that never reads (drops), and
    a datagram to a closed port (ICMP port unreachable); AF_UNIX socketpair traffic too."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(20):
        tx.sendto(b"m" * 512, rx.getsockname())
    for _ in range(20):
        rx.recv(2048)
    full = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    full.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    full.bind(("127.0.0.1", 0))
    for _ in range(200):
        tx.sendto(b"f" * 1400, full.getsockname())
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    cport = closed.getsockname()[1]
    closed.close()
    for _ in range(3):
        tx.sendto(b"c", ("127.0.0.1", cport))
        time.sleep(0.05)
    a, b = socket.socketpair()
    for _ in range(20):
        a.send(b"u" * 256)
        b.recv(256)


def cgroup():
    """A cgroup v2 child: created, this process moved in and out, frozen and thawed, removed."""
    base = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    cg = os.path.join(base, f"mcptrace-eval-{os.getpid()}")
    os.mkdir(cg)
    try:
        pid = os.fork()
        if pid == 0:
            open(os.path.join(cg, "cgroup.procs"), "w").write(str(os.getpid()))
            time.sleep(0.3)
            os._exit(0)
        time.sleep(0.1)
        try:
            open(os.path.join(cg, "cgroup.freeze"), "w").write("1")
            time.sleep(0.1)
            open(os.path.join(cg, "cgroup.freeze"), "w").write("0")
        except OSError as e:
            print("freeze:", e)
        os.waitpid(pid, 0)
        time.sleep(0.1)
    finally:
        for _ in range(30):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)


def ptrace():
    """strace-like: a tracer attaches to a child with PTRACE_ATTACH."""
    pid = os.fork()
    if pid == 0:
        time.sleep(0.5)
        os._exit(0)
    PTRACE_ATTACH, PTRACE_DETACH = 16, 17
    libc.ptrace(PTRACE_ATTACH, pid, None, None)
    os.waitpid(pid, 0)
    libc.ptrace(PTRACE_DETACH, pid, None, None)
    os.waitpid(pid, 0)


def setns():
    """Join a namespace with setns(2): this process's own UTS namespace, which changes nothing."""
    CLONE_NEWUTS = 0x04000000
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWUTS) != 0:
        print("setns:", os.strerror(ctypes.get_errno()))
    os.close(fd)


def chown():
    """A privileged operation: give a file away (CAP_CHOWN)."""
    p = f"{TMP}-chown"
    open(p, "w").close()
    os.chown(p, 65534, 65534)
    os.unlink(p)


def pmqos():
    """A CPU latency (PM QoS) request through /dev/cpu_dma_latency."""
    import struct
    f = open("/dev/cpu_dma_latency", "wb", buffering=0)
    f.write(struct.pack("i", 20))
    time.sleep(0.2)
    f.close()


def kmsg():
    """A line into the kernel log."""
    with open("/dev/kmsg", "w") as f:
        f.write("mcptrace-eval: hello from the eval workload\n")


def oomadj():
    """This process changes its own OOM score adjustment."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("500")


def rename():
    """The process renames itself (PR_SET_NAME through /proc/self/comm)."""
    with open("/proc/self/comm", "w") as f:
        f.write("evalrenamed")
    time.sleep(0.1)


def zlib():
    """Compress 8 MiB with zlib (libz deflate)."""
    import zlib as z
    z.compress(os.urandom(1 << 20) * 8, 6)


def system():
    """libc system() and popen()."""
    os.system("/usr/bin/true")


def lookups():
    """Host name lookups through getaddrinfo (files: localhost)."""
    for name in ("localhost", "localhost", "ip6-localhost"):
        try:
            socket.getaddrinfo(name, 80)
        except OSError:
            pass


def pyfuncs():
    """Python function calls (the interpreter's USDT probes fire when a tracer enables them)."""
    # Python 3.11 inlines Python-to-Python calls and fires function__entry only for frames
    # entered from C: map() calls square() from C each time.
    def square(n):
        return n * n
    for _ in range(3):
        sum(map(square, range(2000)))
        time.sleep(0.2)


ACTIONS = {k: v for k, v in globals().items() if callable(v) and not k.startswith("_") and v.__module__ == "__main__"}
if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ACTIONS:
        sys.exit(f"usage: act.py {{{'|'.join(sorted(ACTIONS))}}} [ARG]")
    def num(a):
        return int(a) if a.isdigit() else float(a)
    ACTIONS[sys.argv[1]](*[num(a) for a in sys.argv[2:]])

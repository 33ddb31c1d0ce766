#!/usr/bin/env python3
"""SYN retransmissions on loopback: a listener whose accept queue is full drops new SYNs, so
the clients' kernels retransmit them (after 1 s, then 3 s)."""
import socket, time

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]
clients = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    clients.append(c)
time.sleep(2.5)
for c in clients:
    c.close()
srv.close()

#!/usr/bin/env python3
"""TCP on loopback: a server, a client that connects, sends and receives, then a connect to a
closed port (a reset, ECONNREFUSED). Usage: tcp.py [rounds]"""
import socket, sys, threading

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
port = srv.getsockname()[1]

def serve():
    for _ in range(rounds):
        c, _ = srv.accept()
        data = c.recv(65536)
        c.sendall(data * 4)
        c.close()

t = threading.Thread(target=serve)
t.start()
for _ in range(rounds):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"x" * 8192)
    got = 0
    while got < 8192 * 4:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    c.close()
t.join()
srv.close()
# A port nobody listens on: the kernel answers the SYN with a reset.
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
cport = closed.getsockname()[1]
closed.close()
try:
    socket.create_connection(("127.0.0.1", cport), timeout=2)
except OSError as e:
    print("refused:", e)

#!/usr/bin/env python3
"""The speed anchor for the reference file transfer: the same copy over
loopback, done the fastest simple way Python has.

    sendfile_anchor.py SRC DST

A server (a forked child, listening before the clock starts) takes the path
with one recv() and sends the file with socket.sendfile() (the kernel's
sendfile(2): no copy through user space) in its raw bytes, no segments; the
client connects, sends SRC, receives into a 1 MiB buffer and writes DST until
the server closes. Prints "BYTES SECONDS", timed in the client from connect
to DST closed (interpreter start-up excluded).
"""

import os
import socket
import sys
import time


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    server = os.fork()
    if server == 0:
        connection, _ = listener.accept()
        path = connection.recv(256)
        with open(path, "rb") as source:
            connection.sendfile(source)
        connection.close()
        os._exit(0)
    listener.close()

    start = time.perf_counter()
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(os.fsencode(src))
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    total = 0
    with open(dst, "wb") as destination:
        while True:
            n = client.recv_into(buffer)
            if n == 0:
                break
            destination.write(view[:n])
            total += n
    elapsed = time.perf_counter() - start
    client.close()
    os.waitpid(server, 0)
    print(f"{total} {elapsed:.6f}")


if __name__ == "__main__":
    main()

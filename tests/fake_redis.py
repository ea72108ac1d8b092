"""A Redis stand-in on a loopback socket, for making the queue fail on purpose.

``hang``: accepts connections, reads what it is sent and never answers (Redis SIGSTOPped, or its
packets dropped). ``empty``: answers like an empty Redis (RESP3, as redis-py speaks it): nothing to
pop, pushes counted. Switch ``mode`` at any time; ``commands`` lists what was answered.
"""

import socket
import threading

REPLIES = {
    b"HELLO": b"%1\r\n+proto\r\n:3\r\n",
    b"BRPOP": b"_\r\n",
    b"RPOP": b"_\r\n",
    b"LPUSH": b":1\r\n",
    b"RPUSH": b":1\r\n",
    b"LLEN": b":0\r\n",
    b"ZCARD": b":0\r\n",
    b"EVALSHA": b"*0\r\n",  # the schedule read by Huey's Lua script: nothing due
    b"EVAL": b"*0\r\n",
}


class FakeRedis:
    def __init__(self, mode: str = "hang"):
        self.mode = mode
        self.connections = 0
        self.received = 0  # bytes, answered or not
        self.commands: list[bytes] = []
        self._sockets: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self._sockets.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        stream = connection.makefile("rb")
        try:
            while line := stream.readline():
                self.received += len(line)
                parts = []
                for _ in range(int(line[1:])):
                    header = stream.readline()
                    data = stream.read(int(header[1:]) + 2)
                    self.received += len(header) + len(data)
                    parts.append(data[:-2])
                if self.mode == "hang":
                    continue
                command = parts[0].upper()
                self.commands.append(command)
                connection.sendall(REPLIES.get(command, b"+OK\r\n"))
        except (OSError, ValueError):
            return

    def close(self) -> None:
        self.listener.close()
        for connection in self._sockets:
            connection.close()

#!/usr/bin/env python3
"""Client for `gradcore serve` (docs/PROTOCOL.md), standard library only.

    from gradcore_client import Client
    with Client("127.0.0.1", 7878) as c:
        version, answers = c.predict([bytes(784)])          # uint8 28x28 images
        print(version, answers[0]["class"], answers[0]["probabilities"])

Over TLS (`gradcore serve --tls-cert ... --tls-key ...`): Client(host, port,
tls=True, ca_file="ca.pem"); without ca_file the system's CAs are trusted.

Command line:  gradcore_client.py [--host H] [--port P] [--tls [--tls-ca CA]] info|health|stats
Example:       serve/examples/predict_example.py
"""
import argparse
import json
import socket
import ssl
import struct

MAGIC = b"GCSV"
VERSION = 1
HEADER = struct.Struct("<4sHHQI")  # magic, version, type, request id, payload length
PREDICT, INFO, HEALTH, STATS, RELOAD = 1, 2, 3, 4, 5
FORMAT_UINT8, FORMAT_FLOAT32 = 1, 2
STATUS_NAMES = ["OK", "BAD_MAGIC", "UNSUPPORTED_VERSION", "FRAME_TOO_LARGE", "UNKNOWN_TYPE", "MALFORMED",
                "WRONG_IMAGE_COUNT", "WRONG_IMAGE_SIZE", "NOT_AUTHORISED", "OVERLOADED", "RELOAD_FAILED",
                "INTERNAL"]
MAX_RESPONSE = 64 << 20


class ServerError(Exception):
    """The server answered with a non-OK status."""

    def __init__(self, status, message):
        name = STATUS_NAMES[status] if status < len(STATUS_NAMES) else str(status)
        super().__init__(f"{name}: {message}")
        self.status = status
        self.status_name = name


class Client:
    def __init__(self, host="127.0.0.1", port=7878, timeout=10.0, tls=False, ca_file=None):
        """With tls, the server's certificate must chain to ca_file's CAs (or the
        system's) and be for host; ssl.SSLError is raised when it is not."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            context = ssl.create_default_context(cafile=ca_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self._sock = sock
        self._next_id = 1

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ---------------------------------------------------------

    def predict(self, images, logits=False, shape=(1, 28, 28)):
        """Classify uint8 images (each a bytes-like of c*h*w pixels).
        Returns (model_version, [{"class", "probabilities", "logits"?}, ...])."""
        pixels = b"".join(bytes(image) for image in images)
        return self._predict(FORMAT_UINT8, pixels, len(images), logits, shape)

    def predict_normalised(self, images, logits=False, shape=(1, 28, 28)):
        """Classify images already normalised: each a sequence of floats."""
        pixels = b"".join(struct.pack(f"<{len(image)}f", *image) for image in images)
        return self._predict(FORMAT_FLOAT32, pixels, len(images), logits, shape)

    def info(self):
        return self._json(INFO)

    def stats(self):
        return self._json(STATS)

    def health(self):
        payload = self._request(HEALTH, b"")
        _, state, _, _, version = struct.unpack("<HBBIq", payload)
        return {"state": "serving" if state == 1 else "draining", "model_version": version}

    def reload(self, token, path=None):
        """Load `path` on the server, or roll back when path is None."""
        token_bytes, path_bytes = token.encode(), (path or "").encode()
        action = 1 if path else 2
        payload = struct.pack("<BBHHH", action, 0, len(token_bytes), len(path_bytes), 0) + token_bytes + path_bytes
        _, _, _, version, previous = struct.unpack("<HHIqq", self._request(RELOAD, payload))
        return {"model_version": version, "previous_version": previous}

    # ---- frames -----------------------------------------------------------

    def _predict(self, pixel_format, pixels, count, logits, shape):
        header = struct.pack("<BBHHHHH", pixel_format, 1 if logits else 0, count, *shape, 0)
        payload = self._request(PREDICT, header + pixels)
        _, flags, _, count, classes, version = struct.unpack_from("<HBBHHq", payload)
        offset, answers = 16, []
        for _ in range(count):
            (predicted,) = struct.unpack_from("<I", payload, offset)
            offset += 4
            answer = {"class": predicted, "probabilities": list(struct.unpack_from(f"<{classes}f", payload, offset))}
            offset += 4 * classes
            if flags & 1:
                answer["logits"] = list(struct.unpack_from(f"<{classes}f", payload, offset))
                offset += 4 * classes
            answers.append(answer)
        return version, answers

    def _json(self, message_type):
        payload = self._request(message_type, b"")
        (length,) = struct.unpack_from("<I", payload, 4)
        return json.loads(payload[8:8 + length].decode())

    def _request(self, message_type, payload):
        request_id = self._next_id
        self._next_id += 1
        self._sock.sendall(HEADER.pack(MAGIC, VERSION, message_type, request_id, len(payload)) + payload)
        while True:
            response_type, response_id, body = self._read_frame()
            if response_id == request_id or response_type == 0xFFFF:
                break
        (status,) = struct.unpack_from("<H", body)
        if status != 0:
            (length,) = struct.unpack_from("<H", body, 2)
            raise ServerError(status, body[4:4 + length].decode(errors="replace"))
        return body

    def _read_frame(self):
        magic, version, message_type, request_id, length = HEADER.unpack(self._read_exactly(HEADER.size))
        if magic != MAGIC or version != VERSION or length > MAX_RESPONSE:
            raise ConnectionError("not a gradcore protocol frame")
        return message_type, request_id, self._read_exactly(length)

    def _read_exactly(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7878)
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--tls-ca", help="PEM file of the CAs to trust (default: the system's)")
    parser.add_argument("command", choices=["info", "health", "stats"])
    args = parser.parse_args()
    if args.tls_ca and not args.tls:
        parser.error("--tls-ca needs --tls")
    with Client(args.host, args.port, tls=args.tls, ca_file=args.tls_ca) as client:
        print(json.dumps(getattr(client, args.command)(), indent=2))


if __name__ == "__main__":
    main()

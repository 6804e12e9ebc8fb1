#!/usr/bin/env python3
"""Example for tools/gradcore_client.py: classify a drawn vertical stroke and
print the answer, then the server's health.

    serve/examples/predict_example.py [port]     (server on 127.0.0.1)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gradcore_client import Client, ServerError  # noqa: E402


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 7878
    image = bytearray(28 * 28)
    for y in range(4, 24):
        image[y * 28 + 14] = 255  # roughly a "1"
    try:
        with Client("127.0.0.1", port) as client:
            version, answers = client.predict([image], logits=True)
            best = answers[0]["class"]
            print(f"model version {version} predicts {best} (p={answers[0]['probabilities'][best]:.4f})")
            print("health:", client.health())
    except (ServerError, OSError) as error:
        print("error:", error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

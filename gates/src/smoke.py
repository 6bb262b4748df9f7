"""Serve gate: start the project under uvicorn on loopback and check that it answers.

Run from the project root with the project's venv interpreter. Exits 0 when /health and
/openapi.json answer 200 within the deadline.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    port = free_port()
    env = dict(os.environ)
    db_dir = tempfile.mkdtemp(prefix="smoke-db-")
    env["DATABASE_URL"] = f"sqlite:///{db_dir}/smoke.db"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        base = f"http://127.0.0.1:{port}"
        while True:
            if server.poll() is not None:
                print(f"uvicorn exited early with status {server.returncode}")
                return 1
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as resp:
                    body = json.loads(resp.read())
                    print(f"/health -> {resp.status} {body}")
                    break
            except OSError:
                if time.monotonic() > deadline:
                    print("uvicorn did not answer /health within 30 s")
                    return 1
                time.sleep(0.2)
        with urllib.request.urlopen(base + "/openapi.json", timeout=5) as resp:
            paths = json.loads(resp.read()).get("paths", {})
            print(f"/openapi.json -> {resp.status}, {len(paths)} paths")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())

"""The image's health check: probes the port of the service this container runs.

`tickhub api` and `tickhub up` serve the web app on TICKHUB_PORT (8000): their `/readyz`.
`tickhub tracker|writer|scanner` serve no web app: their `/readyz` on TICKHUB_HEALTH_PORT
(8001). Other commands (`db upgrade`, `import`) are one-shot: nothing to probe.
Exit status 0 = healthy, 1 = not.
"""

from __future__ import annotations

import os
import sys
import urllib.request

SERVICES_WITH_A_HEALTH_PORT = {"tracker", "writer", "scanner"}
WEB_SERVICES = {"api", "up"}


def probe_url(command: list[str], env: dict[str, str]) -> str | None:
    """The URL to probe for a container whose main process is `command`."""
    words = {os.path.basename(w) for w in command[1:]}
    if words & SERVICES_WITH_A_HEALTH_PORT:
        return f"http://127.0.0.1:{env.get('TICKHUB_HEALTH_PORT', '8001')}/readyz"
    if words & WEB_SERVICES:
        return f"http://127.0.0.1:{env.get('TICKHUB_PORT', '8000')}/readyz"
    return None


def main() -> int:
    with open("/proc/1/cmdline", "rb") as f:
        command = [w.decode() for w in f.read().split(b"\0") if w]
    url = probe_url(command, dict(os.environ))
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())

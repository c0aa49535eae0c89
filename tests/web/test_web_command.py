"""`auditcycle web`: gunicorn serving the real app, and the clear refusal without a secret key."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITCYCLE_")}
    # An empty TOML file, so a developer's own auditcycle.toml is not read.
    (tmp_path / "auditcycle.toml").write_text("", encoding="utf-8")
    return env | {"AUDITCYCLE_CONFIG": str(tmp_path / "auditcycle.toml")} | extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_web_refuses_to_start_without_a_secret_key_saying_which_setting(tmp_path: Path) -> None:
    result = subprocess.run([AUDITCYCLE, "web", "--port", str(_free_port())], env=_env(tmp_path),
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "error: web_secret_key is not set" in result.stderr
    assert "AUDITCYCLE_WEB_SECRET_KEY" in result.stderr


def test_web_serves_the_app_under_gunicorn(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([AUDITCYCLE, "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=_env(tmp_path, AUDITCYCLE_WEB_SECRET_KEY="s" * 32), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        body, headers = None, {}
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body, headers = response.read().decode(), response.headers
                break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)

    assert (body, headers.get("Referrer-Policy")) == ("ok", "no-referrer")
    assert "gunicorn" in err.lower()
    assert "/health" not in err  # the access log leaves the address out: a signed link's token would be in it

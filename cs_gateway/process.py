"""Start and stop the gateway as a real child process (used by the demo, tests and bench)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

_LISTENING = re.compile(r"cs-gateway listening on (\S+):(\d+)")
_METRICS = re.compile(r"cs-gateway metrics on (http://\S+/metrics)")  # printed before the listening line
DEV_MUNICIPALITY_NAME = "青森県弘前市"  # as the synthetic residents' 住所 begin (clients/synthetic.py)


def write_dev_config(
    path: Path,
    *,
    pki_dir: Path,
    store_path: Path,
    listen: str = "127.0.0.1:0",
    municipality_code: str = "022021",
    municipality_name: str | None = None,
    trust_domain: str = "hirosaki.jukinet.test",
) -> Path:
    """A configuration for the dev PKI made by ``cs-gateway pki init``; the municipality's name
    defaults to 青森県弘前市 for 022021 (弘前市) and is left out for another code."""
    if municipality_name is None:
        municipality_name = DEV_MUNICIPALITY_NAME if municipality_code == "022021" else ""
    name_line = f'municipality_name = "{municipality_name}"\n' if municipality_name else ""
    path.write_text(
        "[gateway]\n"
        f'listen = "{listen}"\n'
        f'municipality_code = "{municipality_code}"\n'
        f"{name_line}"
        f'trust_domain = "{trust_domain}"\n\n'
        "[tls]\n"
        f'ca = "{pki_dir / "ca.crt"}"\n'
        f'cert = "{pki_dir / "cs.crt"}"\n'
        f'key = "{pki_dir / "cs.key"}"\n'
        f'crl = "{pki_dir / "crl.pem"}"\n'
        f'crl_issuer = "{pki_dir / "intermediate.crt"}"\n\n'
        "[store]\n"
        f'path = "{store_path}"\n',
        encoding="utf-8",
    )
    return path


@dataclass
class GatewayProcess:
    process: subprocess.Popen[str]
    host: str
    port: int
    metrics_url: str | None = None  # the gateway's /metrics, when it printed one

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        self.process.kill()
        self.process.wait()


def start_gateway_process(config: Path, *, timeout: float = 30.0, stderr: int | None = None) -> GatewayProcess:
    """Run ``cs-gateway serve`` in a child process and wait for its listening line."""
    command = [sys.executable, "-m", "cs_gateway", "serve", "--config", str(config)]
    return start_listening_process(command, _LISTENING, what="the gateway", timeout=timeout, stderr=stderr)


def start_listening_process(
    command: list[str], listening: re.Pattern[str], *, what: str, timeout: float = 30.0, stderr: int | None = None
) -> GatewayProcess:
    """Run a server in a child process; wait for the stdout line ``listening`` matches (host, port)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        text=True,
        env=env,
    )
    found: list[tuple[str, int]] = []
    metrics: list[str] = []
    ready = threading.Event()

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if (url := _METRICS.search(line)) and not metrics:
                metrics.append(url.group(1))
            match = listening.search(line)
            if match and not found:
                found.append((match.group(1), int(match.group(2))))
                ready.set()
        ready.set()

    threading.Thread(target=read_stdout, daemon=True).start()
    if not ready.wait(timeout) or not found:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{what} did not start (exit code {proc.returncode})")
    host, port = found[0]
    return GatewayProcess(process=proc, host=host, port=port, metrics_url=metrics[0] if metrics else None)

"""What the peer emulators (都道府県サーバー, 機構) share: their TOML configuration and their own
SQLite copy. Each emulator is another system with a file of its own, never the CS's store."""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EmulatorConfig:
    listen: str
    db: Path
    trust_domain: str
    ca: Path
    cert: Path
    key: Path
    cs_cert: Path  # the CS certificate whose key signs what the emulator receives
    relay_target: str = ""  # [relay] target: where the 都道府県サーバー passes applied notices on (全国サーバー)
    relay_server_name: str = "localhost"


def load_emulator_config(path: Path, section: str) -> EmulatorConfig:
    """``[<section>]`` listen, db, trust_domain and ``[tls]`` ca, cert, key, cs_cert, relative to the file."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    base = Path(path).parent
    own, tls, relay = data[section], data["tls"], data.get("relay", {})
    return EmulatorConfig(
        listen=own.get("listen", "127.0.0.1:0"),
        db=base / own["db"],
        trust_domain=own["trust_domain"],
        ca=base / tls["ca"],
        cert=base / tls["cert"],
        key=base / tls["key"],
        cs_cert=base / tls["cs_cert"],
        relay_target=relay.get("target", ""),
        relay_server_name=relay.get("server_name", "localhost"),
    )


def open_emulator_db(path: Path, schema: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed batch survives a kill of the process
    conn.executescript(schema)
    return conn


def write_emulator_config(
    path: Path,
    section: str,
    *,
    pki_dir: Path,
    db: Path,
    listen: str,
    cert_role: str,
    trust_domain: str,
    relay_target: str = "",
) -> Path:
    """The configuration load_emulator_config reads, on the dev PKI (``cert_role``: the certificate
    the emulator presents; tests give it another role's)."""
    path.write_text(
        f"[{section}]\n"
        f'listen = "{listen}"\n'
        f'db = "{db}"\n'
        f'trust_domain = "{trust_domain}"\n\n'
        "[tls]\n"
        f'ca = "{pki_dir / "ca.crt"}"\n'
        f'cert = "{pki_dir / (cert_role + ".crt")}"\n'
        f'key = "{pki_dir / (cert_role + ".key")}"\n'
        f'cs_cert = "{pki_dir / "cs.crt"}"\n'
        + (f'\n[relay]\ntarget = "{relay_target}"\nserver_name = "localhost"\n' if relay_target else ""),
        encoding="utf-8",
    )
    return path

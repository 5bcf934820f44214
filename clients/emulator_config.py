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


def load_emulator_config(path: Path, section: str) -> EmulatorConfig:
    """``[<section>]`` listen, db, trust_domain and ``[tls]`` ca, cert, key, cs_cert, relative to the file."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    base = Path(path).parent
    own, tls = data[section], data["tls"]
    return EmulatorConfig(
        listen=own.get("listen", "127.0.0.1:0"),
        db=base / own["db"],
        trust_domain=own["trust_domain"],
        ca=base / tls["ca"],
        cert=base / tls["cert"],
        key=base / tls["key"],
        cs_cert=base / tls["cs_cert"],
    )


def open_emulator_db(path: Path, schema: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed batch survives a kill of the process
    conn.executescript(schema)
    return conn

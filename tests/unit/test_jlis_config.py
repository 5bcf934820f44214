"""[jlis]: where 送付先情報 is forwarded; a bad section names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_gateway.config import ConfigError, load_config
from cs_gateway.process import write_dev_config
from pki.dev_pki import DevPki


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ('server_name = "localhost"', "jlis.target"),
        ('target = "nowhere"', "jlis.target"),
        ('target = "127.0.0.1:7000"\nretry_initial_s = 0.0', "jlis.retry_initial_s"),
        ('target = "127.0.0.1:7000"\nwindow = 5', "jlis.window"),
        ('target = "127.0.0.1:7000"\npark_after_refusals = 0', "jlis.park_after_refusals"),
        ('target = "127.0.0.1:7000"\nbacklog_warn_age_s = -1', "jlis.backlog_warn_age_s"),
    ],
)
def test_bad_jlis_section_names_the_key(tmp_path: Path, dev_pki: DevPki, section: str, key: str) -> None:
    good = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    good.write_text(good.read_text() + f"\n[jlis]\n{section}\n")
    with pytest.raises(ConfigError, match=key):
        load_config(good)


def test_jlis_section_loads(tmp_path: Path, dev_pki: DevPki) -> None:
    good = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    assert load_config(good).jlis is None  # absent: 送付先情報 is stored and waits
    good.write_text(good.read_text() + '\n[jlis]\ntarget = "127.0.0.1:7001"\nretry_max_s = 2.0\n')
    peer = load_config(good).jlis
    assert peer is not None and peer.target == "127.0.0.1:7001" and peer.retry_max_s == 2.0
    assert (peer.park_after_refusals, peer.backlog_warn_age_s) == (3, 300)  # the defaults

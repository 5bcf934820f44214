"""The notifier's retry delays: doubling up to the cap, jittered within [50%, 100%]."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_gateway.config import ConfigError, load_config
from cs_gateway.peers.notifier import backoff_delay
from cs_gateway.process import write_dev_config
from pki.dev_pki import DevPki


def test_backoff_doubles_up_to_the_cap() -> None:
    top = [backoff_delay(n, 0.2, 10.0, rand=lambda: 1.0) for n in range(1, 10)]
    assert top == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0]


def test_backoff_is_jittered_between_half_and_all_of_the_step() -> None:
    assert backoff_delay(3, 0.2, 10.0, rand=lambda: 0.0) == pytest.approx(0.4)
    assert backoff_delay(3, 0.2, 10.0, rand=lambda: 0.5) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ('target = "127.0.0.1:7000"\nwindow = 0', "prefecture.window"),
        ('server_name = "localhost"', "prefecture.target"),
        ('target = "nowhere"', "prefecture.target"),
        ('target = "127.0.0.1:7000"\nretry_max_s = 1', "prefecture.retry_max_s"),  # a float is asked for
    ],
)
def test_bad_prefecture_section_names_the_key(tmp_path: Path, dev_pki: DevPki, section: str, key: str) -> None:
    good = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    good.write_text(good.read_text() + f"\n[prefecture]\n{section}\n")
    with pytest.raises(ConfigError, match=key):
        load_config(good)


def test_prefecture_section_loads(tmp_path: Path, dev_pki: DevPki) -> None:
    good = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    assert load_config(good).prefecture is None  # absent: no notifier
    good.write_text(good.read_text() + '\n[prefecture]\ntarget = "127.0.0.1:7000"\nbacklog_warn_age_s = 60\n')
    peer = load_config(good).prefecture
    assert peer is not None and peer.target == "127.0.0.1:7000" and peer.backlog_warn_age_s == 60

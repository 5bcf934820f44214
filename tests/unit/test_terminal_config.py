"""[terminal]: the counter terminals' settings, validated at start like every section."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_gateway.config import ConfigError, TerminalConfig, load_config
from cs_gateway.process import write_dev_config
from pki.dev_pki import DevPki


def _config(tmp_path: Path, pki: DevPki, section: str) -> Path:
    path = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3")
    path.write_text(path.read_text() + "\n[terminal]\n" + section)
    return path


def test_terminal_defaults_are_five_minutes_idle_and_twenty_results(tmp_path: Path, dev_pki: DevPki) -> None:
    config = load_config(_config(tmp_path, dev_pki, ""))
    assert config.terminal == TerminalConfig(
        idle_timeout_s=300, session_lifetime_s=8 * 3600, search_max_results=20, lookups_per_minute=30
    )


def test_terminal_settings_are_read(tmp_path: Path, dev_pki: DevPki) -> None:
    config = load_config(_config(tmp_path, dev_pki, "idle_timeout_s = 60\nsearch_max_results = 5\n"))
    assert (config.terminal.idle_timeout_s, config.terminal.search_max_results) == (60, 5)


@pytest.mark.parametrize("section", ["idle_timeout_s = 0\n", "lookups_per_minute = -1\n", "unknown_key = 1\n"])
def test_a_bad_terminal_setting_stops_the_start(tmp_path: Path, dev_pki: DevPki, section: str) -> None:
    with pytest.raises(ConfigError, match="terminal"):
        load_config(_config(tmp_path, dev_pki, section))


def test_the_card_section_names_the_card_ca_and_its_crl(tmp_path: Path, dev_pki: DevPki) -> None:
    from pki.card import CARD_CA_CERT, CARD_CRL, init_card_ca

    assert load_config(_config(tmp_path, dev_pki, "")).card is None  # VerifyCard refused: not configured
    init_card_ca(tmp_path / "card-ca")
    path = _config(tmp_path, dev_pki, "")
    path.write_text(path.read_text() + '\n[card]\nca = "card-ca/card-ca.crt"\ncrl = "card-ca/card-crl.pem"\n')
    card = load_config(path).card
    ca_dir = tmp_path / "card-ca"
    assert card is not None and (card.ca, card.crl) == (ca_dir / CARD_CA_CERT, ca_dir / CARD_CRL)
    path.write_text(path.read_text().replace("card-ca.crt", "card-crl.pem"))  # a CRL is no CA
    with pytest.raises(ConfigError, match="card.ca: .* not a CA certificate"):
        load_config(path)
    path.write_text(path.read_text().replace('ca = "card-ca/card-crl.pem"', 'ca = "card-ca/missing.crt"'))
    with pytest.raises(ConfigError, match="card.ca"):
        load_config(path)
    path.write_text(path.read_text().replace('crl = "card-ca/card-crl.pem"\n', ""))
    with pytest.raises(ConfigError, match="card"):
        load_config(path)

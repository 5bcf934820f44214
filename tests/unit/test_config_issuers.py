"""The configuration of issuing CAs and their pins (issue 10): a pin must name a configured CA,
each further CA comes with its CRL, and the CRL state file defaults to a place next to the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_gateway.config import ConfigError, load_config
from cs_gateway.process import write_dev_config
from cs_gateway.security.spki import spki_sha256
from pki.dev_pki import DevPki, create_hierarchy

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, pki: DevPki, *, pins: str = "", tls_extra: str = "") -> Path:
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3")
    policy = (REPO / "policy" / "default.toml").read_text(encoding="utf-8")
    if pins:
        policy = policy.replace("[roles.kizon-juki]\n", f"[roles.kizon-juki]\nissuers = {pins}\n", 1)
    (tmp_path / "policy.toml").write_text(policy, encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace("\n[store]\n", f"{tls_extra}\n[store]\n", 1)
    config.write_text(text + '\n[policy]\nfile = "policy.toml"\n', encoding="utf-8")
    return config


def test_defaults_pin_every_role_to_the_crl_issuer_and_keep_the_crl_state_next_to_the_store(
    tmp_path: Path, dev_pki: DevPki
) -> None:
    config = load_config(_config(tmp_path, dev_pki))
    assert set(config.policy.issuer_pins().values()) == {frozenset({"default"})}
    assert config.tls.more_issuers == ()
    assert config.tls.crl_state == tmp_path / "cs.crl-state.json"


def test_a_pin_of_the_default_issuers_key_is_accepted(tmp_path: Path, dev_pki: DevPki) -> None:
    pin = spki_sha256(dev_pki.load_ca().cert)
    config = load_config(_config(tmp_path, dev_pki, pins=f'["{pin}"]'))
    assert config.policy.issuer_pins()["kizon-juki"] == frozenset({pin})


def test_a_pin_of_no_configured_issuer_stops_the_gateway(tmp_path: Path, dev_pki: DevPki) -> None:
    _, stranger = create_hierarchy()
    with pytest.raises(ConfigError, match=r"roles\.kizon-juki\.issuers: [0-9a-f]{64} is the key of no configured"):
        load_config(_config(tmp_path, dev_pki, pins=f'["{spki_sha256(stranger.cert)}"]'))


def test_a_further_issuer_needs_its_crl(tmp_path: Path, dev_pki: DevPki) -> None:
    _, other = create_hierarchy()
    (tmp_path / "other.crt").write_bytes(other.cert_pem)
    pins = f'["default", "{spki_sha256(other.cert)}"]'
    with pytest.raises(ConfigError, match=r"tls\.more_issuers\[0\]: must be a table"):
        load_config(_config(tmp_path, dev_pki, pins=pins, tls_extra='more_issuers = [{cert = "other.crt"}]\n'))
    with pytest.raises(ConfigError, match=r"tls\.more_issuers\[0\]\.crl: file .* does not exist"):
        load_config(
            _config(tmp_path, dev_pki, pins=pins, tls_extra='more_issuers = [{cert = "other.crt", crl = "no.pem"}]\n')
        )
    (tmp_path / "other-crl.pem").write_bytes(b"")
    config = load_config(
        _config(
            tmp_path, dev_pki, pins=pins, tls_extra='more_issuers = [{cert = "other.crt", crl = "other-crl.pem"}]\n'
        )
    )
    assert config.tls.more_issuers == ((tmp_path / "other.crt", tmp_path / "other-crl.pem"),)


def test_a_root_configured_as_an_issuer_stops_the_gateway(tmp_path: Path, dev_pki: DevPki) -> None:
    config = _config(tmp_path, dev_pki)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(str(dev_pki.intermediate_cert_path), str(dev_pki.ca_cert_path)), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"holds a root \(self-signed\) CA"):
        load_config(config)

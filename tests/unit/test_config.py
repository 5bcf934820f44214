"""The configuration is validated at start; a bad one names the offending key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cs_gateway.config import ConfigError, config_warnings, load_config
from cs_gateway.domain.check_digit import make_juminhyo_code
from cs_gateway.domain.rules_config import DEFAULT_RULES
from cs_gateway.process import start_gateway_process, write_dev_config
from pki.dev_pki import DevPki


@pytest.fixture
def good(tmp_path: Path, dev_pki: DevPki) -> Path:
    return write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")


def _edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_good_config_loads(good: Path) -> None:
    config = load_config(good)
    assert config.municipality_code == "022021"
    assert config.municipality_name == "青森県弘前市"
    assert config.limits.max_receive_message_bytes == 64 * 1024
    assert config_warnings(config) == []


def test_a_config_without_the_municipality_name_loads_with_a_warning_config_check_prints(good: Path) -> None:
    """Older configurations stay valid; ``config check`` says what the missing name leaves open."""
    _edit(good, 'municipality_name = "青森県弘前市"\n', "")
    config = load_config(good)
    assert config.municipality_name == ""
    (warning,) = config_warnings(config)
    assert "gateway.municipality_name" in warning
    done = subprocess.run(
        [sys.executable, "-m", "cs_gateway", "config", "check", str(good)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "warning: gateway.municipality_name is not set" in done.stdout and done.stdout.endswith("OK\n")
    gateway = start_gateway_process(good, stderr=subprocess.PIPE)
    assert gateway.stop() == 0
    assert gateway.process.stderr is not None
    logged = [json.loads(line) for line in gateway.process.stderr.read().splitlines() if line.startswith("{")]
    assert [e["warning"] for e in logged if e.get("event") == "config_warning"] == [warning]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('municipality_code = "022021"', 'municipality_code = "022022"', "gateway.municipality_code"),
        ('listen = "127.0.0.1:0"', 'listen = "127.0.0.1"', "gateway.listen"),
        ('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:70000"', "gateway.listen"),
        ('listen = "127.0.0.1:0"', "listen = 50051", "gateway.listen"),
        ("[store]", '[store]\nengine = "postgres"', "store.engine"),
        ("[tls]\n", "[tls]\nverify = false\n", "tls.verify"),
        ("cs.key", "missing.key", "tls.key"),
        ("[store]", "[extra]\nx = 1\n[store]", "extra"),
        ('trust_domain = "hirosaki.jukinet.test"\n', "", "gateway.trust_domain"),
        ('municipality_name = "青森県弘前市"', 'municipality_name = ""', "gateway.municipality_name"),
        ('municipality_name = "青森県弘前市"', 'municipality_name = " - "', "gateway.municipality_name"),
        ('municipality_name = "青森県弘前市"', f'municipality_name = "{"青" * 41}"', "gateway.municipality_name"),
        ('municipality_name = "青森県弘前市"', "municipality_name = 22021", "gateway.municipality_name"),
    ],
)
def test_bad_config_names_the_key(good: Path, old: str, new: str, key: str) -> None:
    _edit(good, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(good)
    assert str(caught.value).startswith(key)


def test_rules_section_configures_torikeshi_period_and_designated_codes(good: Path) -> None:
    """[rules]: the 転出取消 period and the codes designated for this municipality (住基法30条の2)."""
    assert load_config(good).rules == DEFAULT_RULES  # absent: the defaults
    low, high = make_juminhyo_code("3000000000"), make_juminhyo_code("3999999999")
    good.write_text(
        good.read_text() + f'\n[rules]\ntenshutsu_torikeshi_days = 14\ndesignated_juminhyo_codes = ["{low}-{high}"]\n'
    )
    rules = load_config(good).rules
    assert rules.tenshutsu_torikeshi_days == 14 and rules.designated_juminhyo_codes == ((low, high),)
    assert rules.is_designated(make_juminhyo_code("3500000000"))
    assert not rules.is_designated(make_juminhyo_code("4000000000"))


@pytest.mark.parametrize("ranges", ['["1-2"]', '["39999999990-30000000005"]', "[5]", '["30000000005"]'])
def test_bad_designated_codes_name_the_key(good: Path, ranges: str) -> None:
    good.write_text(good.read_text() + f"\n[rules]\ndesignated_juminhyo_codes = {ranges}\n")
    with pytest.raises(ConfigError, match="rules.designated_juminhyo_codes"):
        load_config(good)


def test_negative_limit_refused(good: Path) -> None:
    good.write_text(good.read_text() + "\n[limits]\nmax_receive_message_bytes = -1\n")
    with pytest.raises(ConfigError, match="limits.max_receive_message_bytes"):
        load_config(good)


def test_serve_with_bad_config_exits_with_the_key_named(good: Path) -> None:
    _edit(good, 'municipality_code = "022021"', 'municipality_code = "99999X"')
    done = subprocess.run(
        [sys.executable, "-m", "cs_gateway", "serve", "--config", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "gateway.municipality_code" in done.stderr


def test_a_sigterm_right_after_the_listening_line_is_a_graceful_stop(good: Path) -> None:
    """A supervisor may stop the gateway as soon as it says it is listening: the signal handlers
    are in place before that line (before, the default action killed it: exit -15)."""
    for _ in range(3):
        gateway = start_gateway_process(good, stderr=subprocess.PIPE)
        assert gateway.stop() == 0
        assert gateway.process.stderr is not None and "cs-gateway stopping" in gateway.process.stderr.read()


def test_serve_with_an_unusable_store_exits_saying_so(good: Path, tmp_path: Path) -> None:
    """A store that cannot be opened (here: a file that is not a database; on a full disk the
    same path) stops the server with one line naming the store, not a traceback."""
    (tmp_path / "cs.sqlite3").write_bytes(b"this is not an SQLite database, and it is long enough " * 4)
    done = subprocess.run(
        [sys.executable, "-m", "cs_gateway", "serve", "--config", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert f"cs-gateway: store unusable ({tmp_path / 'cs.sqlite3'})" in done.stderr
    assert '"event": "store_unusable"' in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_taken_address_says_so_and_blames_nothing_else(good: Path) -> None:
    """A bind failure is not a store problem: one line naming the address, exit 1, no traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _edit(good, 'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"')
        done = subprocess.run(
            [sys.executable, "-m", "cs_gateway", "serve", "--config", str(good)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert f"cs-gateway: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "store unusable" not in done.stderr and "Traceback" not in done.stderr


def _with_metrics(path: Path, table: str) -> Path:
    path.write_text(path.read_text(encoding="utf-8") + "\n[metrics]\n" + table, encoding="utf-8")
    return path


def test_metrics_listen_on_loopback_by_default(good: Path) -> None:
    assert load_config(good).metrics.listen == "127.0.0.1:0"
    assert load_config(_with_metrics(good, 'listen = "[::1]:9464"\n')).metrics.listen == "[::1]:9464"


@pytest.mark.parametrize("address", ["0.0.0.0:9464", "192.0.2.10:9464", "metrics.example.test:9464", "[::]:9464"])
def test_metrics_off_loopback_refused_without_the_explicit_flag(good: Path, address: str) -> None:
    _with_metrics(good, f'listen = "{address}"\n')
    with pytest.raises(ConfigError, match=r"^metrics\.listen: .* not a loopback address.*allow_non_loopback"):
        load_config(good)


def test_metrics_off_loopback_allowed_with_the_flag(good: Path) -> None:
    config = load_config(_with_metrics(good, 'listen = "0.0.0.0:9464"\nallow_non_loopback = true\n'))
    assert config.metrics.listen == "0.0.0.0:9464" and config.metrics.allow_non_loopback


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("allow_non_loopback = 1\n", "metrics.allow_non_loopback: must be a bool"),
        ('listen = "9464"\n', "metrics.listen: must be HOST:PORT"),
        ("port = 9464\n", "metrics.port: unknown key"),
    ],
)
def test_bad_metrics_table_names_the_key(good: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.")):
        load_config(_with_metrics(good, table))

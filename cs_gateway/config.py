"""The gateway's configuration: one TOML file, validated at start.

A bad configuration stops the server with a message naming the key, rather than starting
half-secured. Relative paths are taken relative to the configuration file.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from .domain.check_digit import is_valid_juminhyo_code, is_valid_municipality_code
from .domain.rules_config import DEFAULT_RULES, RulesConfig
from .domain.search_keys import address_key
from .security.policy_file import (
    DEFAULT_ISSUER,
    Policy,
    PolicyError,
    default_policy_file,
    known_methods,
    load_policy,
)
from .security.spki import spki_sha256

MAX_MUNICIPALITY_NAME = 40  # 都道府県 + 郡 + 市区町村: the longest is some 15 characters


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending key."""


@dataclass(frozen=True)
class TlsConfig:
    ca: Path  # CA bundle that client certificates must chain to
    cert: Path  # the gateway's own certificate (leaf + intermediate)
    key: Path
    crl: Path  # the issuing CA's CRL, checked on every RPC, reloaded when the file changes
    crl_issuer: Path  # the certificate of the CA that signs the CRL
    # Further issuing CAs, each with its own CRL: (certificate, CRL). Roles reach them by pin.
    more_issuers: tuple[tuple[Path, Path], ...] = ()
    crl_state: Path | None = None  # newest CRL seen per issuer (rollback check); default next to the store


@dataclass(frozen=True)
class LimitsConfig:
    max_receive_message_bytes: int = 64 * 1024
    max_send_message_bytes: int = 16 * 1024 * 1024
    max_concurrent_streams: int = 64
    max_metadata_bytes: int = 8 * 1024
    handshake_timeout_ms: int = 10_000  # a connection that has not finished TLS by then is closed
    # Denied calls audited per window, per certificate and per peer address; beyond, the caller is
    # cut off until the window ends (refused without an entry each; the cut-off is audited).
    denied_per_identity: int = 100
    denied_per_address: int = 1000
    denied_window_s: int = 60


@dataclass(frozen=True)
class AuditConfig:
    hmac_key: Path  # secret key of the subject HMACs; made at first start of an empty trail
    checkpoint_every: int = 1000  # sign the chain head every N entries (and at shutdown)
    retention_years: int = 7  # seed III(1)-3: kept seven years


@dataclass(frozen=True)
class MetricsConfig:
    # Prometheus text format over plain HTTP, on a listener of its own. Loopback by default (port
    # 0: any free one, printed at start; set a fixed one for Prometheus); "" turns it off.
    listen: str = "127.0.0.1:0"
    allow_non_loopback: bool = False  # an address off this machine must be asked for explicitly


@dataclass(frozen=True)
class TerminalConfig:
    """[terminal]: the counter terminals' operator sessions, lookups and searches."""

    idle_timeout_s: int = 300  # the seed's screen-saver rule (III(2)-3): a session idle this long ends
    session_lifetime_s: int = 8 * 3600  # and this long after its login, whatever happens
    search_max_results: int = 20  # more: "more found, narrow the search" instead of paging
    lookups_per_minute: int = 30  # per operator, lookups and searches together (bulk extraction)


@dataclass(frozen=True)
class CardConfig:
    """[card]: the card CA (the 機構's card issuance) and its CRL, for VerifyCard."""

    ca: Path  # card-ca.crt (pki/card.py)
    crl: Path  # card-crl.pem, re-read when it changes


@dataclass(frozen=True)
class PrefectureConfig:
    """[prefecture]: where the change notices go (peers/notifier.py); absent = no notifier."""

    target: str  # host:port of the 都道府県サーバー
    server_name: str = "localhost"  # the DNS name its certificate must carry (TLS)
    batch: int = 128  # notices read from the outbox at a time
    window: int = 512  # notices sent and not yet acknowledged, at most (flow control)
    backlog_warn_age_s: int = 300  # an undelivered notice older than this: health warning
    retry_initial_s: float = 0.2  # backoff after a failure, doubled up to retry_max_s, jittered
    retry_max_s: float = 10.0


@dataclass(frozen=True)
class JlisConfig:
    """[jlis]: the 個人番号カード管理システム (機構) that 送付先情報 is forwarded to
    (peers/jlis_forwarder.py); absent = 送付先情報 is stored and waits."""

    target: str  # host:port of the 機構's server
    server_name: str = "localhost"
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    backlog_warn_age_s: int = 300  # an unforwarded 送付先情報 older than this: health warning
    park_after_refusals: int = 3  # refused by the 機構 this many times in a row: parked, the queue moves on


@dataclass(frozen=True)
class GatewayConfig:
    listen: str  # host:port; port 0 picks a free port (printed at start)
    also_listen: tuple[str, ...]  # further host:port addresses; port 0 = the same port as listen
    municipality_code: str
    trust_domain: str
    tls: TlsConfig
    store_path: Path
    limits: LimitsConfig
    audit: AuditConfig
    policy_file: Path
    policy: Policy
    metrics: MetricsConfig = MetricsConfig()
    rules: RulesConfig = DEFAULT_RULES  # [rules]: the logic checks' configured facts
    terminal: TerminalConfig = TerminalConfig()
    prefecture: PrefectureConfig | None = None  # [prefecture]: the notifier's peer
    card: CardConfig | None = None  # [card]: absent = VerifyCard refused (CARD_CHECK_UNAVAILABLE)
    # [store] individual_number_key: the 個人番号 key file (0600, made at first start); None: next to
    # the store (store/at_rest.py default_key_path)
    number_key: Path | None = None
    jlis: JlisConfig | None = None  # [jlis]: where 送付先情報 is forwarded
    # gateway.municipality_name: 都道府県 + 市区町村 as its residents' 住所 begin (青森県弘前市); a
    # counter search's 住所 naming no more than it is no search item. "" = not configured (warned)
    municipality_name: str = ""


_SCHEMA: dict[str, dict[str, type]] = {
    "gateway": {
        "listen": str,
        "also_listen": list,
        "municipality_code": str,
        "municipality_name": str,
        "trust_domain": str,
    },
    "tls": {
        "ca": str,
        "cert": str,
        "key": str,
        "crl": str,
        "crl_issuer": str,
        "more_issuers": list,
        "crl_state": str,
    },
    "store": {"path": str, "individual_number_key": str},
    "policy": {"file": str},
    "audit": {"hmac_key": str, "checkpoint_every": int, "retention_years": int},
    "rules": {"tenshutsu_torikeshi_days": int, "designated_juminhyo_codes": list},
    "limits": {
        "max_receive_message_bytes": int,
        "max_send_message_bytes": int,
        "max_concurrent_streams": int,
        "max_metadata_bytes": int,
        "handshake_timeout_ms": int,
        "denied_per_identity": int,
        "denied_per_address": int,
        "denied_window_s": int,
    },
    "metrics": {"listen": str, "allow_non_loopback": bool},
    "terminal": {
        "idle_timeout_s": int,
        "session_lifetime_s": int,
        "search_max_results": int,
        "lookups_per_minute": int,
    },
    "card": {"ca": str, "crl": str},
    "prefecture": {
        "target": str,
        "server_name": str,
        "batch": int,
        "window": int,
        "backlog_warn_age_s": int,
        "retry_initial_s": float,
        "retry_max_s": float,
    },
    "jlis": {
        "target": str,
        "server_name": str,
        "retry_initial_s": float,
        "retry_max_s": float,
        "backlog_warn_age_s": int,
        "park_after_refusals": int,
    },
}
_REQUIRED = {
    "gateway": ("listen", "municipality_code", "trust_domain"),
    "tls": ("ca", "cert", "key", "crl", "crl_issuer"),
    "store": ("path",),
}


def config_warnings(config: GatewayConfig) -> list[str]:
    """What a valid configuration leaves weaker than it could be (``config check`` prints them,
    ``serve`` logs them)."""
    warnings = []
    if not config.municipality_name:
        warnings.append(
            "gateway.municipality_name is not set: a counter search's 住所 that names only the municipality "
            "(such as 青森県弘前市) counts as a search item beside a 氏名; set it to the 都道府県 and 市区町村 "
            "as the residents' 住所 begin"
        )
    return warnings


def load_config(path: Path) -> GatewayConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such configuration file") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    return parse_config(data, base=path.parent)


def parse_config(data: dict[str, Any], *, base: Path) -> GatewayConfig:
    _check_shape(data)
    gw, tls, store = data["gateway"], data["tls"], data["store"]
    limits = LimitsConfig(**data.get("limits", {}))
    for name, value in vars(limits).items():
        if value <= 0:
            raise ConfigError(f"limits.{name}: must be a positive integer")
    _check_listen(gw["listen"], "gateway.listen")
    also_listen = tuple(gw.get("also_listen", ()))
    for address in also_listen:
        if not isinstance(address, str):
            raise ConfigError("gateway.also_listen: must be a list of HOST:PORT strings")
        _check_listen(address, "gateway.also_listen")
    if not is_valid_municipality_code(gw["municipality_code"]):
        raise ConfigError("gateway.municipality_code: not a valid JIS X 0402 code (6 digits with check digit)")
    municipality_name = gw.get("municipality_name", "")
    if "municipality_name" in gw and not (
        len(municipality_name) <= MAX_MUNICIPALITY_NAME and address_key(municipality_name)
    ):
        raise ConfigError(
            "gateway.municipality_name: the 都道府県 and 市区町村 as the residents' 住所 begin, such as 青森県弘前市"
        )
    if not gw["trust_domain"] or "/" in gw["trust_domain"]:
        raise ConfigError("gateway.trust_domain: must be a bare domain name such as hirosaki.jukinet.test")
    store_path = base / store["path"]
    if not store_path.parent.is_dir():
        raise ConfigError(f"store.path: folder {store_path.parent} does not exist")
    tls_config = TlsConfig(
        **{k: _existing_file(base, f"tls.{k}", tls[k]) for k in _REQUIRED["tls"]},
        more_issuers=_more_issuers(base, tls.get("more_issuers", [])),
        crl_state=base / tls["crl_state"] if "crl_state" in tls else store_path.with_suffix(".crl-state.json"),
    )
    audit_data = data.get("audit", {})
    audit = AuditConfig(
        hmac_key=base / audit_data.get("hmac_key", store_path.with_suffix(".audit-hmac.key").name),
        checkpoint_every=audit_data.get("checkpoint_every", 1000),
        retention_years=audit_data.get("retention_years", 7),
    )
    if audit.checkpoint_every <= 0:
        raise ConfigError("audit.checkpoint_every: must be a positive integer")
    if audit.retention_years < 7:
        raise ConfigError("audit.retention_years: the trail is kept at least seven years (seed III(1)-3)")
    policy_data = data.get("policy", {})
    policy_file = base / policy_data["file"] if "file" in policy_data else default_policy_file()
    try:
        policy = load_policy(policy_file, known_methods())
    except PolicyError as err:
        raise ConfigError(f"policy.file: {err}") from err
    metrics = MetricsConfig(**data.get("metrics", {}))
    if metrics.listen:
        _check_listen(metrics.listen, "metrics.listen")
        if not metrics.allow_non_loopback and not _is_loopback(metrics.listen):
            raise ConfigError(
                f"metrics.listen: {metrics.listen} is not a loopback address; the metrics endpoint is plain "
                "HTTP without authentication: set metrics.allow_non_loopback = true to expose it anyway"
            )
    _check_issuer_pins(policy, tls_config)
    terminal = TerminalConfig(**data.get("terminal", {}))
    for name, value in vars(terminal).items():
        if value <= 0:
            raise ConfigError(f"terminal.{name}: must be a positive integer")
    return GatewayConfig(
        listen=gw["listen"],
        also_listen=also_listen,
        municipality_code=gw["municipality_code"],
        municipality_name=municipality_name,
        trust_domain=gw["trust_domain"],
        tls=tls_config,
        store_path=store_path,
        number_key=base / store["individual_number_key"] if "individual_number_key" in store else None,
        limits=limits,
        audit=audit,
        policy_file=policy_file,
        policy=policy,
        metrics=metrics,
        rules=_rules(data.get("rules", {})),
        terminal=terminal,
        prefecture=_prefecture(data["prefecture"]) if "prefecture" in data else None,
        card=_card(base, data["card"]) if "card" in data else None,
        jlis=_jlis(data["jlis"]) if "jlis" in data else None,
    )


def _card(base: Path, data: dict[str, Any]) -> CardConfig:
    for key in ("ca", "crl"):
        if key not in data:
            raise ConfigError(f"card.{key}: required key is missing")
    ca = _existing_file(base, "card.ca", data["ca"])
    try:
        cert = x509.load_pem_x509_certificate(ca.read_bytes())
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ValueError("not a CA certificate")
    except (ValueError, x509.ExtensionNotFound) as err:
        raise ConfigError(f"card.ca: {ca} is not a CA certificate in PEM ({err})") from err
    return CardConfig(ca=ca, crl=base / data["crl"])


def _jlis(data: dict[str, Any]) -> JlisConfig:
    if "target" not in data:
        raise ConfigError("jlis.target: required key is missing")
    _check_listen(data["target"], "jlis.target")
    config = JlisConfig(**data)
    for name in ("retry_initial_s", "retry_max_s", "backlog_warn_age_s", "park_after_refusals"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"jlis.{name}: must be positive")
    return config


def _prefecture(data: dict[str, Any]) -> PrefectureConfig:
    if "target" not in data:
        raise ConfigError("prefecture.target: required key is missing")
    _check_listen(data["target"], "prefecture.target")
    config = PrefectureConfig(**data)
    for name in ("batch", "window", "backlog_warn_age_s", "retry_initial_s", "retry_max_s"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"prefecture.{name}: must be positive")
    return config


def _rules(data: dict[str, Any]) -> RulesConfig:
    """[rules] tenshutsu_torikeshi_days = 30; designated_juminhyo_codes = ["LOW-HIGH", ...]
    (inclusive ranges of 11-digit 住民票コード standing in for the 機構's designation)."""
    days = data.get("tenshutsu_torikeshi_days", DEFAULT_RULES.tenshutsu_torikeshi_days)
    if days < 0:
        raise ConfigError("rules.tenshutsu_torikeshi_days: must be 0 or more")
    ranges: list[tuple[str, str]] = []
    for item in data.get("designated_juminhyo_codes", []):
        low, sep, high = item.partition("-") if isinstance(item, str) else ("", "", "")
        if not sep or not is_valid_juminhyo_code(low) or not is_valid_juminhyo_code(high) or low > high:
            raise ConfigError(
                "rules.designated_juminhyo_codes: each entry must be LOW-HIGH, "
                "two valid 11-digit 住民票コード with LOW <= HIGH"
            )
        ranges.append((low, high))
    return RulesConfig(tenshutsu_torikeshi_days=days, designated_juminhyo_codes=tuple(ranges))


def _check_shape(data: dict[str, Any]) -> None:
    for section, value in data.items():
        if section not in _SCHEMA:
            raise ConfigError(f"{section}: unknown section (expected one of {', '.join(_SCHEMA)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{section}: must be a table")
        for key, item in value.items():
            expected = _SCHEMA[section].get(key)
            if expected is None:
                raise ConfigError(f"{section}.{key}: unknown key")
            if not isinstance(item, expected) or (isinstance(item, bool) and expected is not bool):
                raise ConfigError(f"{section}.{key}: must be a {expected.__name__}")
    for section, keys in _REQUIRED.items():
        for key in keys:
            if key not in data.get(section, {}):
                raise ConfigError(f"{section}.{key}: required key is missing")


def _more_issuers(base: Path, entries: list[Any]) -> tuple[tuple[Path, Path], ...]:
    issuers = []
    for i, entry in enumerate(entries):
        key = f"tls.more_issuers[{i}]"
        if (
            not isinstance(entry, dict)
            or set(entry) != {"cert", "crl"}
            or not all(isinstance(v, str) for v in entry.values())
        ):
            raise ConfigError(f'{key}: must be a table {{cert = "issuing-ca.crt", crl = "its-crl.pem"}}')
        issuers.append(
            (_existing_file(base, f"{key}.cert", entry["cert"]), _existing_file(base, f"{key}.crl", entry["crl"]))
        )
    return tuple(issuers)


def _check_issuer_pins(policy: Policy, tls: TlsConfig) -> None:
    """Every issuer a role is pinned to must be configured (with its CRL), else that role could
    never be revocation-checked."""
    known: set[str] = set()
    for path in (tls.crl_issuer, *(cert for cert, _crl in tls.more_issuers)):
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError as err:
            raise ConfigError(f"tls: {path} is not a PEM certificate bundle ({err})") from err
        for cert in certs:
            if cert.issuer == cert.subject:  # a root would certify every leaf it ever signs
                raise ConfigError(f"tls: {path} holds a root (self-signed) CA; configure the issuing intermediate")
        known.update(spki_sha256(c) for c in certs)
    for role, pins in sorted(policy.issuer_pins().items()):
        for pin in sorted(pins - {DEFAULT_ISSUER} - known):
            raise ConfigError(
                f"policy.file: roles.{role}.issuers: {pin} is the key of no configured issuing CA "
                "(tls.crl_issuer, tls.more_issuers)"
            )


def _check_listen(listen: str, key: str) -> None:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: must be HOST:PORT, e.g. 127.0.0.1:50051")


def _is_loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def _existing_file(base: Path, key: str, value: str) -> Path:
    path = base / value
    if not path.is_file():
        raise ConfigError(f"{key}: file {path} does not exist")
    return path

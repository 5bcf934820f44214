"""The change notice for the 都道府県サーバー (住基法30条の6, seed II(2)-5 提供先1).

Built from the stored version, in the same transaction that stores it (the outbox), so that
every acknowledged update is notified, in 更新順番号 order.
"""

from __future__ import annotations

from typing import Any

from .record import IdentityRecord

NOTICE_ITEMS: tuple[str, ...] = (
    "juminhyo_code",  # 住民票コード
    "name_kanji",  # 氏名
    "name_kana",
    "birth_date",  # 生年月日
    "sex",  # 性別
    "address",  # 住所
    "individual_number",  # 個人番号
    "change_reason",  # 異動事由
    "change_date",  # 異動年月日
    "update_seq",  # 更新順番号
    "previous_juminhyo_code",  # for 住民票コード変更
    "record_status",
)


def change_notice(record: IdentityRecord) -> dict[str, Any]:
    """The notice as a JSON-friendly dict (dates ISO, enums as numbers)."""
    if record.update_seq <= 0:
        raise ValueError("a change notice needs the stored 更新順番号")
    out: dict[str, Any] = {}
    for name in NOTICE_ITEMS:
        value = getattr(record, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif name in ("sex", "change_reason", "record_status"):
            value = int(value)
        out[name] = value
    return out

"""A rule violation is a value: reason code, field, message in Japanese and English.

Every code the domain can produce is in CATALOG with its kind; api/ maps the kind to a gRPC
status once, so a new rule needs no change outside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    FORMAT = "format"  # the input itself is malformed -> INVALID_ARGUMENT
    STATE = "state"  # not allowed in the person's current state -> FAILED_PRECONDITION
    CONFLICT = "conflict"  # collides with something that exists -> ALREADY_EXISTS
    NOT_FOUND = "not_found"  # no such record (callers entitled to know only) -> NOT_FOUND
    TOO_LARGE = "too_large"  # the request exceeds a size limit -> RESOURCE_EXHAUSTED


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    field: str
    message_ja: str
    message_en: str
    position: int = 0  # 1-based character position in the field, for CHARACTER_NOT_ALLOWED / INVALID_KANA

    @property
    def kind(self) -> Kind:
        return CATALOG[self.code][0]


# code -> (kind, Japanese message, English message); messages may use {field}.
CATALOG: dict[str, tuple[Kind, str, str]] = {
    # format checks
    "MISSING_FIELD": (Kind.FORMAT, "必須項目 {field} がありません", "required item {field} is missing"),
    "INVALID_TEXT": (
        Kind.FORMAT,
        "{field} に使用できない文字または長さです",
        "{field} has characters or a length that are not allowed",
    ),
    "INVALID_JUMINHYO_CODE": (
        Kind.FORMAT,
        "{field} は11桁の正しい住民票コードではありません",
        "{field} is not a valid 11-digit 住民票コード",
    ),
    "INVALID_INDIVIDUAL_NUMBER": (
        Kind.FORMAT,
        "{field} は12桁の正しい個人番号ではありません",
        "{field} is not a valid 12-digit 個人番号",
    ),
    "INVALID_MUNICIPALITY_CODE": (
        Kind.FORMAT,
        "{field} は正しい市町村コードではありません",
        "{field} is not a valid JIS X 0402 municipality code",
    ),
    "MUNICIPALITY_MISMATCH": (
        Kind.FORMAT,
        "{field} が当市町村のコードと一致しません",
        "{field} is not this municipality's code",
    ),
    "INVALID_AZA_CODE": (Kind.FORMAT, "{field} は7桁の数字ではありません", "{field} is not 7 digits"),
    "INVALID_POSTAL_CODE": (
        Kind.FORMAT,
        "{field} は7桁の郵便番号ではありません",
        "{field} is not a 7-digit postal code",
    ),
    "INVALID_KANA": (Kind.FORMAT, "{field} は全角カタカナではありません", "{field} is not full-width katakana"),
    "CHARACTER_NOT_ALLOWED": (
        Kind.FORMAT,
        "{field} の{position}文字目は使用できない文字です(JIS X 0213 の文字または外字のみ)",
        "{field}: the character at position {position} is not allowed (JIS X 0213 or 外字 only)",
    ),
    "GAIJI_COUNT_MISMATCH": (
        Kind.FORMAT,
        "{field} が外字の数と一致しません",
        "{field} does not equal the number of 外字 in its text",
    ),
    "INVALID_ENUM": (Kind.FORMAT, "{field} の値が不正です", "{field} has a value that is not allowed"),
    "INVALID_DATE": (Kind.FORMAT, "{field} は実在する日付ではありません", "{field} is not a real calendar date"),
    "FUTURE_DATE": (Kind.FORMAT, "{field} が未来の日付です", "{field} is in the future"),
    "DATE_BEFORE_BIRTH": (Kind.FORMAT, "{field} が生年月日より前です", "{field} is before the date of birth"),
    "DATE_ORDER": (Kind.FORMAT, "{field} の日付の前後関係が不正です", "{field} is out of order with another date"),
    "INCOMPLETE_GROUP": (
        Kind.FORMAT,
        "{field} は関連項目と併せて指定してください",
        "{field} must be given together with its related items",
    ),
    "LEGACY_RELATIONSHIP": (
        Kind.FORMAT,
        "{field} に旧い値(兄弟姉妹・祖父母など)は使えません。兄・姉・弟・妹などで指定してください",
        "{field} is a merged legacy value (兄弟姉妹, 祖父母 ...): send the relation itself (兄, 姉, 祖父 ...)",
    ),
    "RESIDENT_CLASS_MISMATCH": (
        Kind.FORMAT,
        "この異動事由には{field}が合いません",
        "{field} does not fit this change reason",
    ),
    "FORMER_SURNAME_NOT_ALLOWED": (
        Kind.FORMAT,
        "旧氏は戸籍のある日本人住民にのみ記載できます(出生時を除く)",
        "a 旧氏 is recorded only for a 日本人住民 with a 戸籍, and never on 出生",
    ),
    "TENNYU_WITHIN_MUNICIPALITY": (
        Kind.FORMAT,
        "転入前が当市町村です。同一市町村内の異動は転居です",
        "the previous municipality is this one: a move within it is a 転居",
    ),
    "JUSHO_SETTEI_FROM_DOMESTIC": (
        Kind.FORMAT,
        "住所設定は国外からの者に限ります({field} は空にしてください)",
        "住所設定 is for a person from abroad ({field} must be empty)",
    ),
    "JUMINHYO_CODE_UNCHANGED": (
        Kind.FORMAT,
        "住民票コード変更の新旧コードが同じです",
        "a 住民票コード変更 needs a new code different from the old one",
    ),
    "MESSAGE_TOO_LARGE": (
        Kind.TOO_LARGE,
        "要求が大きすぎます(上限を超えています)",
        "the request is larger than the gateway accepts",
    ),
    "MALFORMED_REQUEST": (
        Kind.FORMAT,
        "要求を解析できません(プロトコルバッファとして不正です)",
        "the request could not be parsed (not a valid protobuf message)",
    ),
    "INVALID_REQUEST_ID": (
        Kind.FORMAT,
        "{field} は1〜64文字の英数字・記号で指定してください",
        "{field} must be 1-64 printable ASCII characters",
    ),
    # logic checks
    "ALREADY_RESIDENT": (
        Kind.CONFLICT,
        "現存する住民に対する{field}はできません",
        "this change is not allowed for a current resident",
    ),
    "JUMINHYO_CODE_IN_USE": (Kind.CONFLICT, "住民票コードは既に使用されています", "the 住民票コード is already in use"),
    "JUMINHYO_CODE_RETIRED": (
        Kind.STATE,
        "住民票コードは変更により廃止されています",
        "the 住民票コード was retired by a code change",
    ),
    "INDIVIDUAL_NUMBER_IN_USE": (
        Kind.CONFLICT,
        "個人番号は別の住民票コードに付番されています",
        "the 個人番号 belongs to another 住民票コード",
    ),
    "NO_RECORD": (Kind.NOT_FOUND, "該当する本人確認情報がありません", "no record for this 住民票コード"),
    "NOT_CURRENT_RESIDENT": (Kind.STATE, "現存する住民ではありません", "the person is not a current resident"),
    "PLANNED_DEPARTURE_PENDING": (
        Kind.STATE,
        "転出予定者です。先に転出取消を行ってください",
        "the person is due to move out; cancel the 転出 (転出取消) first",
    ),
    "NOT_MOVED_OUT": (Kind.STATE, "転出(予定を含む)の記録がありません", "the person has not moved out"),
    "DECEASED": (
        Kind.STATE,
        "死亡・失踪宣告により消除された者は職権修正(または回復の職権記載)のみ可能です",
        "a person removed by death accepts only 職権修正 (or a restoring 職権記載)",
    ),
    "ALREADY_JAPANESE": (
        Kind.STATE,
        "日本人住民に対する帰化・国籍取得はできません",
        "the person is already a 日本人住民",
    ),
    "NOT_JAPANESE": (Kind.STATE, "日本人住民ではありません(国籍喪失はできません)", "the person is not a 日本人住民"),
    "TENSHUTSU_TORIKESHI_TOO_LATE": (
        Kind.STATE,
        "転出取消の期限を過ぎています",
        "the period for a 転出取消 after the 転出 has passed",
    ),
    "JUMINHYO_CODE_NOT_DESIGNATED": (
        Kind.STATE,
        "当市町村に指定された住民票コードではありません",
        "the 住民票コード is not one designated for this municipality",
    ),
    "DATE_BEFORE_STORED": (
        Kind.STATE,
        "{field} が記録されている日付(住所を定めた日・住民となった日)より前です",
        "{field} is before a date already recorded for the person",
    ),
    "UPDATE_PROHIBITED": (Kind.STATE, "更新禁止フラグが設定されています", "the record is marked 更新禁止"),
    "FLAG_REQUIRES_SHOKKEN_SHUSEI": (
        Kind.STATE,
        "{field} は職権修正でのみ変更できます",
        "{field} can be changed by 職権修正 only",
    ),
    "TENKYO_CHANGES_NON_ADDRESS": (
        Kind.STATE,
        "転居では住所以外の項目 {field} を変更できません",
        "a 転居 cannot change {field}, which is not an address item",
    ),
    "TENKYO_ADDRESS_UNCHANGED": (Kind.STATE, "転居で住所が変わっていません", "a 転居 must change the address"),
    "FIELD_CHANGE_NOT_ALLOWED": (
        Kind.STATE,
        "この異動事由では {field} を変更できません",
        "this change reason cannot change {field}",
    ),
    "NO_CHANGE": (Kind.STATE, "{field} が変更されていません", "{field} is unchanged"),
    "BIRTH_DATE_MISMATCH": (
        Kind.STATE,
        "出生の異動年月日・住民となった日は生年月日と一致させてください",
        "for 出生, {field} must equal the date of birth",
    ),
    "REQUEST_ID_REUSED": (
        Kind.CONFLICT,
        "依頼管理番号が別の内容で使用済みです",
        "the request id was already used with other content",
    ),
    # counter-terminal lookups and searches (domain/search_rule.py)
    "SEARCH_NEEDS_TWO_ITEMS": (
        Kind.FORMAT,
        "4情報による検索は氏名・住所・生年月日のうち2項目以上を指定してください(性別と、市区町村名までの住所は数えません)",
        "a 4情報 search names at least two of 氏名, 住所, 生年月日 (性別 does not count, nor a 住所 naming only the "
        "municipality)",
    ),
    "SEARCH_NEEDS_NAME": (
        Kind.FORMAT,
        "4情報による検索は氏名と住所、または氏名と生年月日を指定してください",
        "a 4情報 search names 氏名 with 住所 or with 生年月日 (the combinations the seed allows)",
    ),
    "SEARCH_ONE_WAY": (
        Kind.FORMAT,
        "検索は住民票コード、個人番号、4情報のいずれか一つの方法で指定してください",
        "search by one way only: 住民票コード, 個人番号 or 4情報",
    ),
    "PURPOSE_REQUIRED": (Kind.FORMAT, "利用目的を指定してください", "state the purpose of the lookup"),
    "RATE_LIMITED": (
        Kind.TOO_LARGE,
        "照会の回数が上限を超えました。しばらく待ってから再度行ってください",
        "too many lookups and searches in a minute; wait and try again",
    ),
    # the マイナンバーカード check (security/card_check.py, app/card_verification.py)
    "CARD_CHECK_UNAVAILABLE": (
        Kind.STATE,
        "カードの確認は構成されていません([card] の設定がありません)",
        "card checks are not configured on this CS ([card] ca / crl)",
    ),
    "CARD_NONCE_UNKNOWN": (
        Kind.STATE,
        "カード確認の要求が無効か期限切れです。確認をやり直してください",
        "the card-check nonce is unknown or expired; begin the check again",
    ),
    "CARD_NONCE_OTHER_SESSION": (
        Kind.STATE,
        "このカード確認の要求は別のセッションで発行されたものです",
        "the card-check nonce was issued to another operator session",
    ),
    "CARD_SIGNATURE_REPLAYED": (
        Kind.STATE,
        "このカードの署名は既に使用されています(再送は受け付けません)",
        "this card signature was already used (a replay is refused)",
    ),
    "CARD_UNKNOWN_CA": (
        Kind.STATE,
        "カードの電子証明書が認証局によって発行されたものではありません",
        "the card certificate was not issued by the card CA",
    ),
    "CARD_EXPIRED": (
        Kind.STATE, "カードの電子証明書の有効期間外です", "the card certificate is expired or not yet valid"
    ),
    "CARD_REVOKED": (Kind.STATE, "カードの電子証明書は失効しています", "the card certificate is revoked"),
    "CARD_CRL_UNAVAILABLE": (
        Kind.STATE,
        "カードの失効情報を確認できません",
        "the card CRL is missing, invalid or out of date: no card can be checked",
    ),
    "CARD_SIGNATURE_INVALID": (Kind.STATE, "カードの署名が正しくありません", "the card signature does not verify"),
    "CARD_MALFORMED": (Kind.FORMAT, "カードの電子証明書を読み取れません", "the card certificate cannot be read"),
    "CARD_HOLDER_NOT_CURRENT": (
        Kind.NOT_FOUND,
        "カードの住民票コードに該当する現存の本人確認情報はありません",
        "the card's 住民票コード is not a current record (removed, retired or not in the file)",
    ),
    "NOT_IN_FILE": (
        Kind.NOT_FOUND,
        "該当する本人確認情報はありません",
        "no record in the 本人確認情報ファイル for this code",
    ),
    # 送付先情報 (domain/sofusaki.py)
    "ITEM_LENGTH_MISMATCH": (
        Kind.FORMAT,
        "{field} (項目長) が項目の文字数と一致しません",
        "{field} (項目長) does not match the length of its item",
    ),
    "INVALID_PHONE": (Kind.FORMAT, "{field} は正しい電話番号ではありません", "{field} is not a telephone number"),
    "INVALID_KUBUN": (
        Kind.FORMAT,
        "{field} は第30条の45に規定する区分ではありません",
        "{field} is not a 区分 of 住基法30条の45",
    ),
    "EXPIRY_NOT_APPLICABLE": (
        Kind.FORMAT,
        "{field} はこの区分の住民には記録しません",
        "{field} is not recorded for a resident of this 区分",
    ),
    "INVALID_VALUE": (Kind.FORMAT, "{field} の値が正しくありません", "{field} has a value that is not allowed"),
    "GAIJI_FLAG_MISMATCH": (
        Kind.FORMAT,
        "{field} が外字数と一致しません",
        "{field} does not agree with the 外字数 of the items",
    ),
}


# Japanese item names (seed 別添1) for the messages; the field itself stays the wire name.
FIELD_LABELS_JA: dict[str, str] = {
    "juminhyo_code": "住民票コード",
    "name_kanji": "漢字氏名",
    "name_gaiji_count": "外字数(氏名)",
    "name_kana": "ふりがな氏名",
    "birth_date": "生年月日",
    "sex": "性別",
    "municipality_code": "市町村コード",
    "aza_code": "大字・字コード",
    "postal_code": "郵便番号",
    "address": "住所",
    "address_gaiji_count": "外字数(住所)",
    "individual_number": "個人番号",
    "resident_since": "住民となった日",
    "address_since": "住所を定めた日",
    "notified_on": "届出の年月日",
    "previous_municipality_code": "市町村コード(転入前)",
    "previous_address": "転入前住所",
    "previous_address_gaiji_count": "外字数(転入前住所)",
    "relationship": "続柄",
    "change_reason": "異動事由",
    "change_date": "異動年月日",
    "change_reason_detail": "異動事由詳細",
    "previous_juminhyo_code": "旧住民票コード",
    "juminhyo_code_since": "住民票コード使用年月日",
    "request_id": "依頼管理番号",
    "operator_id": "操作者ID",
    "terminal_id": "操作端末ID",
    "update_prohibited": "更新禁止フラグ",
    "former_surname_kanji": "旧氏 漢字",
    "former_surname_gaiji_count": "旧氏 外字数",
    "former_surname_kana": "旧氏 ふりがな",
    "resident_class": "住民の区分",
}


def violation(code: str, field: str = "", *, detail_ja: str = "", position: int = 0) -> Violation:
    """Build the Violation for a catalogued code (KeyError for an unknown code).

    ``position`` (1-based) names the offending character of a text item: the message says where,
    never what, so that a refusal does not repeat a resident's name or address.
    """
    _kind, ja, en = CATALOG[code]
    label = field or "-"
    message_ja = ja.format(field=detail_ja or FIELD_LABELS_JA.get(field, label), position=position)
    message_en = en.format(field=label, position=position)
    return Violation(code=code, field=field, message_ja=message_ja, message_en=message_en, position=position)

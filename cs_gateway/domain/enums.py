"""Enumerations of the 本人確認情報ファイル. Values equal the proto enum numbers."""

from __future__ import annotations

from enum import IntEnum


class Sex(IntEnum):
    """性別 (#7)."""

    UNSPECIFIED = 0
    MALE = 1  # 男
    FEMALE = 2  # 女


class Relationship(IntEnum):
    """続柄 (#20), relative to the 世帯主, as the 住民票 records it (住基法7条4号).

    The 住民票 writes the relation itself: 兄, 姉, 弟, 妹 (not 兄弟姉妹), 祖父, 祖母, 子の妻, 妻の父,
    妻(未届) ... (住民基本台帳事務処理要領, 続柄の記載; every child is 子 since 1995). The code list
    of the 住民記録システム標準仕様書 was not available to us: the numbers are the emulator's. The
    values 8-12 merged such relations; they stay readable in stored versions but are refused in new
    entries (LEGACY). OTHER is for a relation this list does not name (e.g. 父の兄の子).
    """

    UNSPECIFIED = 0
    HEAD = 1  # 世帯主
    WIFE = 2  # 妻
    HUSBAND = 3  # 夫
    CHILD = 4  # 子 (実子・養子)
    FATHER = 5  # 父
    MOTHER = 6  # 母
    GRANDCHILD = 7  # 孫 (子の子)
    SIBLING = 8  # LEGACY 兄弟姉妹: use 兄・姉・弟・妹
    GRANDPARENT = 9  # LEGACY 祖父母: use 祖父・祖母
    CHILD_IN_LAW = 10  # LEGACY 子の妻・子の夫: use 子の妻 / 子の夫
    STEPCHILD = 11  # LEGACY 妻の子・夫の子: use 妻の子 / 夫の子
    UNREGISTERED_SPOUSE = 12  # LEGACY 未届の妻・夫: use 妻(未届) / 夫(未届)
    COHABITANT = 13  # 同居人
    RELATIVE = 14  # 縁故者
    OTHER = 15  # その他 (a relation not named here)
    ELDER_BROTHER = 16  # 兄
    ELDER_SISTER = 17  # 姉
    YOUNGER_BROTHER = 18  # 弟
    YOUNGER_SISTER = 19  # 妹
    GRANDFATHER = 20  # 祖父
    GRANDMOTHER = 21  # 祖母
    SONS_WIFE = 22  # 子の妻
    DAUGHTERS_HUSBAND = 23  # 子の夫
    WIFES_CHILD = 24  # 妻の子
    HUSBANDS_CHILD = 25  # 夫の子
    WIFE_UNREGISTERED = 26  # 妻(未届)
    HUSBAND_UNREGISTERED = 27  # 夫(未届)
    WIFES_FATHER = 28  # 妻の父
    WIFES_MOTHER = 29  # 妻の母
    HUSBANDS_FATHER = 30  # 夫の父
    HUSBANDS_MOTHER = 31  # 夫の母
    FATHERS_OR_MOTHERS_BROTHER = 32  # 父の兄・父の弟・母の兄・母の弟 (おじ)
    FATHERS_OR_MOTHERS_SISTER = 33  # 父の姉・父の妹・母の姉・母の妹 (おば)
    SIBLINGS_SON = 34  # 兄の子・姉の子・弟の子・妹の子 (男: おい)
    SIBLINGS_DAUGHTER = 35  # 兄の子・姉の子・弟の子・妹の子 (女: めい)
    GRANDCHILDS_SPOUSE = 36  # 孫の妻・孫の夫


# Values that merged relations the 住民票 tells apart: readable in stored versions, refused in new entries.
LEGACY_RELATIONSHIPS = frozenset(
    {
        Relationship.SIBLING,
        Relationship.GRANDPARENT,
        Relationship.CHILD_IN_LAW,
        Relationship.STEPCHILD,
        Relationship.UNREGISTERED_SPOUSE,
    }
)


class ResidentClass(IntEnum):
    """住民の区分: 日本人住民 or 外国人住民 (住基法30条の45; the seed's 送付先情報 item 51
    「第30条の45に規定する区分」). Sent by the 既存住基 with each entry; kept with the record as an
    item beyond the 39 of the 本人確認情報ファイル. Versions stored before it was kept read as
    JAPANESE (record_codec.py)."""

    UNSPECIFIED = 0
    JAPANESE = 1  # 日本人住民
    FOREIGN = 2  # 外国人住民 (中長期在留者, 特別永住者, 一時庇護許可者, 仮滞在許可者, 経過滞在者)


class ChangeReason(IntEnum):
    """異動事由 (#21). The rule for each is in logic_checks.py."""

    UNSPECIFIED = 0
    TENNYU = 1  # 転入
    TENKYO = 2  # 転居
    TENSHUTSU = 3  # 転出
    TENSHUTSU_TORIKESHI = 4  # 転出取消
    SHUSSEI = 5  # 出生
    SHIBO = 6  # 死亡
    SHISSO_SENKOKU = 7  # 失踪宣告
    SHOKKEN_KISAI = 8  # 職権記載
    SHOKKEN_SHUSEI = 9  # 職権修正
    SHOKKEN_SHOJO = 10  # 職権消除
    KOKUSEKI_SHUTOKU = 11  # 国籍取得
    KOKUSEKI_SOSHITSU = 12  # 国籍喪失
    KIKA = 13  # 帰化
    JUMINHYO_CODE_HENKO = 14  # 住民票コード変更
    KOJIN_BANGO_HENKO = 15  # 個人番号変更
    JUSHO_SETTEI = 16  # 住所設定
    ZAIRYU_SHIKAKU_SHUTOKU = 17  # 在留資格取得
    SETAI_HENKO = 18  # 世帯変更

    @property
    def label_ja(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    ChangeReason.UNSPECIFIED: "未設定",
    ChangeReason.TENNYU: "転入",
    ChangeReason.TENKYO: "転居",
    ChangeReason.TENSHUTSU: "転出",
    ChangeReason.TENSHUTSU_TORIKESHI: "転出取消",
    ChangeReason.SHUSSEI: "出生",
    ChangeReason.SHIBO: "死亡",
    ChangeReason.SHISSO_SENKOKU: "失踪宣告",
    ChangeReason.SHOKKEN_KISAI: "職権記載",
    ChangeReason.SHOKKEN_SHUSEI: "職権修正",
    ChangeReason.SHOKKEN_SHOJO: "職権消除",
    ChangeReason.KOKUSEKI_SHUTOKU: "国籍取得",
    ChangeReason.KOKUSEKI_SOSHITSU: "国籍喪失",
    ChangeReason.KIKA: "帰化",
    ChangeReason.JUMINHYO_CODE_HENKO: "住民票コード変更",
    ChangeReason.KOJIN_BANGO_HENKO: "個人番号変更",
    ChangeReason.JUSHO_SETTEI: "住所設定",
    ChangeReason.ZAIRYU_SHIKAKU_SHUTOKU: "在留資格取得",
    ChangeReason.SETAI_HENKO: "世帯変更",
}


class RecordStatus(IntEnum):
    """レコード状況フラグ (#35)."""

    UNSPECIFIED = 0
    CURRENT = 1  # 現存者
    PLANNED_DEPARTURE = 2  # 転出予定者
    REMOVED_MOVED_OUT = 3  # 消除者 (転出)
    REMOVED_DECEASED = 4  # 消除者 (死亡・失踪宣告)
    REMOVED_OTHER = 5  # 消除者 (職権消除)

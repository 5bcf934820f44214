"""What the logic checks take from this CS's configuration (plain data: it travels to the writer).

Both are the emulator's stand-ins for facts the real CS learns from elsewhere; see
docs/domain-rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# 転出取消 is accepted until this many days after the 転出's 異動年月日 (転出予定日). The real CS
# stops accepting it once the 転入通知 of the new municipality (住基法9条1項) has arrived; the
# emulator receives no 転入通知, so a configured period stands in for it (30 days: the emulator's
# choice, the time by which a 転入届 is long due, 住基法22条: within 14 days of moving in).
DEFAULT_TENSHUTSU_TORIKESHI_DAYS = 30


@dataclass(frozen=True, slots=True)
class RulesConfig:
    tenshutsu_torikeshi_days: int = DEFAULT_TENSHUTSU_TORIKESHI_DAYS
    # The 住民票コード that the 機構 designated for this municipality (住基法30条の2第2項), as
    # inclusive ranges of 11-digit codes; a new code (出生, 住民票コード変更: 30条の3, 30条の4) must
    # lie in one. Empty: no designation configured, any valid unused code is accepted.
    designated_juminhyo_codes: tuple[tuple[str, str], ...] = ()

    def is_designated(self, juminhyo_code: str) -> bool:
        if not self.designated_juminhyo_codes:
            return True
        return any(lo <= juminhyo_code <= hi for lo, hi in self.designated_juminhyo_codes)


DEFAULT_RULES = RulesConfig()

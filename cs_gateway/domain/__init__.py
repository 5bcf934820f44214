"""Pure rules of the 本人確認情報ファイル: identifiers, kana folding, the record, format and
logic checks. Imports neither grpc nor sqlite and does no I/O."""

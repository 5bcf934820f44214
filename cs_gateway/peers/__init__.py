"""Outbound: the 都道府県サーバー notifier (drains the outbox), the consistency check's client."""

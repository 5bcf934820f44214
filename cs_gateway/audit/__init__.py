"""The tamper-evident audit trail: append (in the store's transaction), verify, report."""

"""Use cases, one per module. Each takes the domain, the store (and later the audit trail)
as arguments; none knows about gRPC."""

"""Transport security: peer identity from mTLS client certificates."""

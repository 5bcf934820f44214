"""gRPC servicers: translate proto <-> domain, call app/, map errors to status once."""

"""The HTTP edge: the Litestar app, one module per protocol, and observability."""

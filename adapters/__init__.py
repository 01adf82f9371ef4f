"""Adapters: the ports of :mod:`domain.ports` over real storage and networks."""

"""Adapters: the ports of :mod:`domain.ports` over real storage and networks.

Internal: embedders choose adapters through :mod:`nora.adapters`.
"""

"""Upstream adapters: HTTP(S) fetches from remote registries."""

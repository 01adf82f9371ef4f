"""Cargo: crate names and versions, the sparse index, publish framing, the registry facade."""

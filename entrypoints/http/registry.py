"""Every format the HTTP edge serves: adding a format is one line here."""

from __future__ import annotations

from entrypoints.http import api, ops
from entrypoints.http import npm as npm_format
from entrypoints.http import oci as oci_format
from entrypoints.http import pypi as pypi_format
from entrypoints.http.formats import Formats

__all__ = ["FORMATS"]

FORMATS = Formats(
    (
        ops.FORMAT,
        oci_format.FORMAT,
        npm_format.FORMAT,
        pypi_format.FORMAT,
        api.FORMAT,
    )
)
"""Registered in order: their routers are added to the app in this order."""

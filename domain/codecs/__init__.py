"""Parsers that belong to no format: bounded JSON, and (later) multipart, zip, tar."""

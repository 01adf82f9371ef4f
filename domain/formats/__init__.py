"""Wire formats: one module per package format (parse what clients send, render what they read)."""

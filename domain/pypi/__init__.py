"""PyPI: names, versions and file names, core metadata, the simple API, the registry facade."""

"""NORA's pure core: ports, value objects and the services built on them.

Internal: embedders use the public :mod:`nora` package, which keeps its meaning
within a major version; this package may change in any release.

Nothing here performs I/O by itself; every effect goes through a port
(see :mod:`domain.ports`), so the same services run over local disk and SQLite
on a laptop or over S3 and PostgreSQL in a cluster.
"""

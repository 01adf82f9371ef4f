"""Zip entries with a fixed timestamp, so two builds of one archive are the same bytes.

``ZipFile.writestr`` with a bare name stamps the current local time (two-second
resolution), and a test comparing two builds fails when a second boundary falls
between them.
"""

import zipfile

FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def member(name: str, compression: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info

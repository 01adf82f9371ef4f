"""``form_fields``: a wheel's METADATA or an sdist's PKG-INFO as the upload form twine sends.

The file comes from the client's upload, so whatever its bytes the reader gives
form fields or raises ``InvalidInput``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.pypi.metadata import form_fields

_HEADERS = st.sampled_from(
    ["Name", "Version", "Summary", "Requires-Python", "Classifier", "Project-URL",
     "Metadata-Version", "Description", "Requires-Dist", "X-Odd"]
)  # fmt: skip


@given(st.binary(max_size=3000))
@settings(max_examples=300)
def test_any_bytes_give_fields_or_invalid_input(data: bytes) -> None:
    try:
        fields = form_fields(data)
    except InvalidInput:
        return
    assert all(isinstance(v, list) for v in fields.values())


@given(st.lists(st.tuples(_HEADERS, st.text(max_size=40)), max_size=12), st.text(max_size=200))
@settings(max_examples=300)
def test_any_header_block_gives_fields_or_invalid_input(
    headers: list[tuple[str, str]], body: str
) -> None:
    text = "".join(f"{name}: {value}\n" for name, value in headers) + "\n" + body
    try:
        form_fields(text.encode("utf-8", "surrogatepass"))
    except InvalidInput:
        return


def test_headers_become_twine_s_field_names() -> None:
    fields = form_fields(
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >=3.9\n"
        b"Classifier: A\nClassifier: B\nProject-URL: Home, https://example.invalid\n\nLong text\n"
    )
    assert fields["name"] == ["demo"]
    assert fields["requires_python"] == [">=3.9"]
    assert fields["classifiers"] == ["A", "B"]
    assert fields["project_urls"] == ["Home, https://example.invalid"]
    assert fields["description"] == ["Long text\n"]

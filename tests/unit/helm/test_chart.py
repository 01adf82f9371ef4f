"""Chart archives and Chart.yaml: valid charts are read, hostile ones refused with
``InvalidInput`` or ``TooLarge`` and nothing else (random bytes, bombs, tricks)."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput, TooLarge
from domain.helm.chart import ChartReader, load_yaml, parse_chart_yaml, prov_target
from tests.unit.helm.conftest import archive, chart, chart_yaml

pytestmark = pytest.mark.anyio

BILLION_LAUGHS = b"""apiVersion: v2
name: bomb
version: 0.1.0
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


async def read(data: bytes, limit: int = 1024 * 1024) -> object:
    reader = ChartReader(limit)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 333):
            yield data[start : start + 333]

    async for _ in reader.watch(chunks()):
        pass
    return reader.finish()


async def test_a_chart_is_read() -> None:
    extra = (
        "appVersion: '1.16'\ndeprecated: true\nannotations:\n  team: a\n"
        "dependencies:\n- name: base\n  version: 1.x\n  repository: http://x/helm\n"
        "created: 2020-01-01\n"
    )
    meta = await read(chart("web", "1.2.3", extra))
    assert meta.name == "web"  # type: ignore[attr-defined]
    assert meta.version == "1.2.3"  # type: ignore[attr-defined]
    fields = meta.fields  # type: ignore[attr-defined]
    assert fields["deprecated"] is True
    assert fields["annotations"] == {"team": "a"}
    assert fields["dependencies"][0]["repository"] == "http://x/helm"
    assert fields["created"] == "2020-01-01"


async def test_apiversion_v1_and_missing() -> None:
    v1 = archive({"old/Chart.yaml": b"apiVersion: v1\nname: old\nversion: 1.0.0\n"})
    assert (await read(v1)).api_version == "v1"  # type: ignore[attr-defined]
    bare = archive({"old/Chart.yaml": b"name: old\nversion: 1.0.0\n"})
    assert (await read(bare)).api_version == "v1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "data",
    [
        b"not a gzip",
        gzip.compress(b"not a tar" * 100),
        archive({"Chart.yaml": chart_yaml()}),  # no top-level directory
        archive({"demo/Chart.yaml": chart_yaml(), "other/x": b"1"}),  # two of them
        archive({"demo/values.yaml": b"a: 1"}),  # no Chart.yaml
        archive({"other/Chart.yaml": chart_yaml()}),  # directory is not the name
        archive({"demo/Chart.yaml": chart_yaml(version="1.0")}),  # not semver
        archive({"demo/Chart.yaml": chart_yaml(name="../x")}),
        archive({"demo/Chart.yaml": b"apiVersion: v3\nname: demo\nversion: 0.1.0\n"}),
        archive({"demo/Chart.yaml": b"- a list\n"}),
        archive({"demo/Chart.yaml": b"name: [unclosed\n"}),
        archive({"demo/Chart.yaml": b"!!python/object:os.system\nname: demo\n"}),
        archive({"bomb/Chart.yaml": BILLION_LAUGHS}),
        archive({"demo/Chart.yaml": chart_yaml(extra="dependencies: nope\n")}),
        archive({"demo/Chart.yaml": chart_yaml(extra="dependencies:\n- version: 1\n")}),
        archive({"demo/Chart.yaml": chart_yaml(extra="x: " + "[" * 100 + "]" * 100 + "\n")}),
        archive({"demo/Chart.yaml": chart_yaml(extra="? [a]\n: b\n")}),
        archive({"demo/../evil/Chart.yaml": chart_yaml()}),
    ],
)
async def test_bad_archives_are_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        await read(data)


async def test_oversized_chart_and_yaml() -> None:
    with pytest.raises(TooLarge):
        await read(chart(), limit=100)
    huge = archive({"demo/Chart.yaml": chart_yaml(extra="x: '" + "a" * 300_000 + "'\n")})
    with pytest.raises(InvalidInput):  # TooLarge is an InvalidInput
        await read(huge)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
async def test_random_bytes(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        await read(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_yaml(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_chart_yaml(text.encode())


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_yaml_values_become_json_values(value: object) -> None:
    import msgspec

    text = msgspec.yaml.encode({"v": value})
    try:
        plain = load_yaml(text)
    except InvalidInput:
        return
    msgspec.json.encode(plain)


def test_prov_target() -> None:
    prov = (
        b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\napiVersion: v2\nname: demo\n"
        b"version: 0.1.0\n\n...\nfiles:\n  demo-0.1.0.tgz: sha256:" + b"a" * 64 + b"\n"
        b"-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n"
    )
    assert prov_target(prov) == ("demo-0.1.0.tgz", "a" * 64)
    for bad in (b"junk", b"\xff\xfe", prov.replace(b"files:", b"nope:"), b"x" * 300_000):
        with pytest.raises(InvalidInput):
            prov_target(bad)

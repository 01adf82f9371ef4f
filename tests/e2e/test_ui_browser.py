"""The dashboard in a real browser (Chromium driven by Playwright), after real clients published.

One registry gets an image (skopeo), an npm package (npm publish), a wheel
(twine), a crate (cargo publish), a Go module (``nora go publish``), a Maven
library (mvn deploy), a raw file (curl) and a Helm chart (ChartMuseum API).
The browser then walks from the overview to each item, copies its command with
the copy button, and the test runs what was copied with the real client. Search
finds every format; hostile names and descriptions stay text; axe-core finds no
serious accessibility violation on any page; pages read without JavaScript and
on a phone; and with access control on, the dashboard asks for credentials.

``NORA_SCREENSHOTS=<dir>`` (``make screenshots``) also writes the README's
pictures there.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.auth_support import USERS, auth_env
from tests.e2e.browser_support import PHONE, Tab, axe, browser, open_tab
from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.helm_support import make_chart, upload
from tests.e2e.maven_support import consumer_pom, library, mvn, write_settings
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel, twine_upload
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e

__all__ = ["browser", "go_build_cache"]

HOSTILE_TEXT = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
HOSTILE_FILE = "<img src=x onerror=alert(3)>.txt"
GO_MODULE = "example.com/uidemo/lib"


@dataclass
class Registry:
    """The server, what was published, and where each item's page is."""

    server: NoraProcess
    root: Path
    go_cache: Path
    items: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Format word -> the links a visitor follows from the format's list to its item page."""
    published: dict[str, bytes] = field(default_factory=dict)
    """Bytes as published, by a name per format (to compare with what a client fetched)."""
    image_digest: str = ""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, go_build_cache: Path) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("ui-browser")
    with NoraProcess(root / "data") as server:
        base = server.url
        found = Registry(server=server, root=root, go_cache=go_build_cache)

        (root / "oci").mkdir()
        layout = build_layout(root / "oci")
        found.image_digest = layout_manifest(layout, "v1")[0]
        skopeo(root / "oci", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
               f"docker://127.0.0.1:{server.port}/uidemo/app:v1")  # fmt: skip
        found.items["docker"] = ("/ui/docker/uidemo/app",)

        npm = NpmClient(base + "/npm/", root / "npm-home")
        package = make_package(root / "npm", "uidemo-npm", "1.0.0", description="the npm demo")
        npm.run("publish", cwd=package)
        found.items["npm"] = ("/ui/npm/uidemo-npm",)

        wheel = make_wheel(root / "dist", "uidemo-wheel", "1.0.0")
        done = twine_upload([wheel], base + "/pypi/", client_env(root / "twine-home"))
        assert done.returncode == 0, done.stdout + done.stderr
        found.items["pypi"] = ("/ui/pypi/uidemo-wheel",)

        cargo = CargoClient(root / "cargo-publisher", base, token="unused")
        lib = 'pub fn says() -> &\'static str { "from the dashboard" }\n'
        cargo.publish(write_crate(root / "crates", "uidemo-crate", "1.0.0", lib=lib))
        found.items["cargo"] = ("/ui/cargo/uidemo-crate",)

        module = make_module(
            root / "go-lib",
            GO_MODULE,
            {"lib.go": 'package lib\n\nfunc Hello() string { return "hello, dashboard" }\n'},
        )
        done = nora_go_publish(module, f"{GO_MODULE}@v1.0.0", base + "/go")
        assert done.returncode == 0, done.stdout + done.stderr
        found.items["go"] = (f"/ui/go/{GO_MODULE}",)

        maven_url = base + "/maven2/"
        settings = write_settings(root / "settings.xml", maven_url, user="deployer", password="pw")
        project = library(root / "maven-lib", "com.uidemo", "lib", "1.0", maven_url, marker="mvn!")
        deployed = mvn(project, settings, root / "m2", "deploy", "-Dmaven.test.skip=true")
        assert deployed.ok, deployed.output[-3000:]
        found.items["maven"] = ("/ui/maven/com/uidemo/lib", "/ui/maven/com/uidemo/lib/1.0")

        found.published["raw"] = os.urandom(50_000)
        (root / "setup.bin").write_bytes(found.published["raw"])
        put = curl("-f", "-T", str(root / "setup.bin"), base + "/raw/uidemo/tools/setup.bin")
        assert put.code == 0, put.err
        found.items["raw"] = (
            "/ui/raw/uidemo",
            "/ui/raw/uidemo/tools",
            "/ui/raw/uidemo/tools/setup.bin",
        )

        chart = make_chart(root / "charts", "uidemo-chart", "0.1.0")
        found.published["helm"] = chart.read_bytes()
        assert upload(base + "/helm", found.published["helm"]).status_code == 201
        found.items["helm"] = ("/ui/helm/uidemo-chart",)
        yield found


@contextmanager
def _tab(browser: Browser, registry: Registry, **options: object) -> Iterator[Tab]:
    tab = open_tab(browser, registry.server.url, **options)  # type: ignore[arg-type]
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture
def tab(browser: Browser, registry: Registry) -> Iterator[Tab]:
    """A page with clipboard access, watched for dialogs and script errors."""
    with _tab(browser, registry, clipboard=True) as opened:
        yield opened


def _goto(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, (path, response.status)


# ---------------------------------------------------------------- browsing to an item

WORDS = ("docker", "npm", "pypi", "cargo", "go", "maven", "raw", "helm")


def _browse_to(page: Page, registry: Registry, word: str) -> None:
    """From the overview through the nav and the list (and folders) to the item page."""
    _goto(page, "/ui/")
    page.locator(f'nav[aria-label="Main"] a[href$="/ui/{word}"]').click()
    page.wait_for_url(f"**/ui/{word}")
    for path in registry.items[word]:
        page.locator(f'main a[href="{path}"]').first.click()
        page.wait_for_url(f"**{path}")


def _copy(page: Page, number: int = 0) -> str:
    """Click the ``number``-th copy button; return what reached the clipboard."""
    block = page.locator("section.command").nth(number)
    shown = block.locator("pre.copyable").inner_text()
    button = block.get_by_role("button")
    button.click()
    page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle())
    copied: str = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == shown
    return copied


def _run_docker(registry: Registry, commands: list[str]) -> None:
    words = commands[0].split()
    assert words[:2] == ["docker", "pull"], commands[0]
    work = registry.root / "pulled-image"
    work.mkdir(exist_ok=True)
    skopeo(work, "copy", "--src-tls-verify=false", f"docker://{words[2]}", f"oci:{work}/out:v1")
    index = json.loads((work / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == registry.image_digest


def _run_npm(registry: Registry, commands: list[str]) -> None:
    args = shlex.split(commands[0])
    assert args[:2] == ["npm", "install"], commands[0]
    client = NpmClient(registry.server.url + "/npm/", registry.root / "npm-consumer")
    project = registry.root / "npm-project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "consumer", "version": "0.0.0"}')
    client.run(*args[1:], cwd=project)
    said = subprocess.run(
        ["node", "-e", "console.log(require('uidemo-npm'))"],
        cwd=project, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert said.stdout.strip() == "uidemo-npm@1.0.0"


def _run_pypi(registry: Registry, commands: list[str]) -> None:
    args = shlex.split(commands[0])
    assert args[:2] == ["pip", "install"], commands[0]
    env = client_env(registry.root / "pip-home")
    venv = ClientVenv(registry.root / "pip-venv", env)
    done = venv.pip(*args[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert venv.module_version("uidemo_wheel_mod") == "1.0.0"


def _run_cargo(registry: Registry, commands: list[str]) -> None:
    dependency, config = commands[0], commands[1]
    cargo = CargoClient(registry.root / "cargo-consumer", registry.server.url)
    (cargo.home / "config.toml").write_text(
        config + '\n[net]\nretry = 0\n[term]\ncolor = "never"\n'
    )
    app = write_crate(
        registry.root / "apps",
        "uidemo-app",
        "0.1.0",
        body=f"publish = false\n\n[dependencies]\n{dependency}\n",
        main='fn main() { println!("{}", uidemo_crate::says()); }\n',
    )
    assert cargo.ok("run", "--quiet", cwd=app).strip().splitlines()[-1] == "from the dashboard"


def _run_go(registry: Registry, commands: list[str]) -> None:
    go = GoEnv(registry.root / "go", registry.server.url + "/nowhere", cache=registry.go_cache)
    main = (
        f'package main\n\nimport (\n\t"fmt"\n\n\tlib "{GO_MODULE}"\n)\n\n'
        "func main() { fmt.Println(lib.Hello()) }\n"
    )
    app = make_module(registry.root / "go-app", "example.com/app", {"main.go": main})
    done = subprocess.run(
        ["bash", "-c", commands[0]], cwd=app, env=go.env, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert go.ok("run", ".", cwd=app).strip() == "hello, dashboard"


def _run_maven(registry: Registry, commands: list[str]) -> None:
    dependency, repository = commands[0], commands[1]
    url = ET.fromstring(repository).findtext("url")
    assert url == registry.server.url + "/maven2/"
    settings = write_settings(registry.root / "consumer-settings.xml", url)
    project = consumer_pom(
        registry.root / "maven-consumer",
        url,
        [],
        source="package com.example.consumer;\n"
        "public class Main { public static String m() { return com.uidemo.Lib.marker(); } }\n",
    )
    pom = project / "pom.xml"
    text = pom.read_text()
    pom.write_text(
        text.replace("<dependencies></dependencies>", f"<dependencies>{dependency}</dependencies>")
    )
    local = registry.root / "consumer-m2"
    run = mvn(project, settings, local, "package", "-Dmaven.test.skip=true")
    assert run.ok, run.output[-3000:]
    assert (local / "com/uidemo/lib/1.0/lib-1.0.jar").is_file()


def _run_raw(registry: Registry, commands: list[str]) -> None:
    work = registry.root / "curl-work"
    work.mkdir()
    done = subprocess.run(
        ["bash", "-c", commands[0]], cwd=work, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (work / "setup.bin").read_bytes() == registry.published["raw"]


def _run_helm(registry: Registry, commands: list[str]) -> None:
    import helm_python as helm

    found = re.fullmatch(
        r"helm repo add (\S+) (\S+) && helm pull \1/(\S+) --version (\S+)", commands[0]
    )
    assert found is not None, commands[0]
    _, url, chart, version = found.groups()
    out = registry.root / "helm-pulled"
    out.mkdir()
    helm.pull(chart, repo_url=url, version=version, destination=str(out))
    assert (out / f"{chart}-{version}.tgz").read_bytes() == registry.published["helm"]


RUNNERS: dict[str, Callable[[Registry, list[str]], None]] = {
    "docker": _run_docker,
    "npm": _run_npm,
    "pypi": _run_pypi,
    "cargo": _run_cargo,
    "go": _run_go,
    "maven": _run_maven,
    "raw": _run_raw,
    "helm": _run_helm,
}


@pytest.mark.parametrize("word", WORDS)
def test_browse_to_an_item_copy_its_command_and_run_it(
    tab: Tab, registry: Registry, word: str
) -> None:
    _browse_to(tab.page, registry, word)
    count = tab.page.locator("section.command").count()
    assert count >= 1
    commands = [_copy(tab.page, number) for number in range(count)]
    RUNNERS[word](registry, commands)
    assert tab.dialogs == []
    assert tab.errors == []


# ---------------------------------------------------------------- search, escaping, pages


def test_the_overview_counts_every_format(tab: Tab, registry: Registry) -> None:
    _goto(tab.page, "/ui/")
    for word in WORDS:
        row = tab.page.locator("tr", has=tab.page.locator(f'th a[href$="/ui/{word}"]'))
        cells = row.locator("td").all_inner_texts()
        assert int(cells[0].split()[0]) >= 1, (word, cells)


def test_search_finds_items_of_every_format(tab: Tab, registry: Registry) -> None:
    _goto(tab.page, "/ui/search")
    tab.page.get_by_label("Name or description").fill("uidemo")
    tab.page.get_by_role("button", name="Search").click()
    tab.page.wait_for_url("**/ui/search?q=uidemo*")
    for word in WORDS:
        results = tab.page.locator(f"section[aria-labelledby='results-{word}'] a.item-name")
        assert results.count() >= 1, word


def test_a_hostile_description_and_file_name_stay_text(tab: Tab, registry: Registry) -> None:
    base = registry.server.url
    npm = NpmClient(base + "/npm/", registry.root / "npm-hostile")
    npm.run("publish", cwd=make_package(registry.root / "npm", "uidemo-hostile", "1.0.0",
                                        description=HOSTILE_TEXT))  # fmt: skip
    put = httpx.put(f"{base}/raw/uidemo/{quote(HOSTILE_FILE)}", content=b"x", timeout=30)
    assert put.status_code == 201, put.text
    for path in ("/ui/npm/uidemo-hostile", "/ui/npm", "/ui/search?q=uidemo"):
        _goto(tab.page, path)
        assert tab.page.get_by_text(HOSTILE_TEXT).first.is_visible()
    _goto(tab.page, "/ui/raw/uidemo")
    link = tab.page.get_by_role("link", name=HOSTILE_FILE)
    assert link.is_visible()
    link.click()
    tab.page.wait_for_load_state()
    assert tab.page.locator("h1").inner_text().startswith(f"uidemo/{HOSTILE_FILE}")
    assert tab.page.locator("main img, main script").count() == 0
    assert tab.dialogs == []
    assert tab.errors == []


def _pages(registry: Registry) -> list[str]:
    lists = [f"/ui/{word}" for word in WORDS]
    items = [path for paths in registry.items.values() for path in paths]
    return ["/ui/", "/ui/search?q=uidemo", *lists, *items]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations_on_any_page(
    browser: Browser, registry: Registry, scheme: str
) -> None:
    found: dict[str, list[object]] = {}
    with _tab(browser, registry, bypass_csp=True, color_scheme=scheme) as tab:
        for path in _pages(registry):
            _goto(tab.page, path)
            violations = axe(tab.page)
            if violations:
                found[path] = violations
    assert found == {}


def test_pages_read_without_javascript(browser: Browser, registry: Registry) -> None:
    with _tab(browser, registry, javascript=False) as tab:
        _goto(tab.page, "/ui/cargo")
        tab.page.get_by_role("link", name="uidemo-crate").click()
        tab.page.wait_for_url("**/ui/cargo/uidemo-crate")
        assert 'uidemo-crate = "1.0.0"' in tab.page.locator("pre.copyable").first.inner_text()
        assert tab.page.locator("button.copy").count() == 0  # nothing half-working
        _goto(tab.page, "/ui/maven")
        assert tab.page.get_by_role("link", name="com/uidemo/lib").is_visible()


def test_the_navigation_works_on_a_phone(browser: Browser, registry: Registry) -> None:
    with _tab(browser, registry, viewport=PHONE) as tab:
        _goto(tab.page, "/ui/")
        width = tab.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        links = tab.page.locator('nav[aria-label="Main"] a')
        assert links.count() == len(WORDS) + 3  # overview, the formats, search, activity
        for number in range(links.count()):
            box = links.nth(number).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= PHONE["width"]
        tab.page.keyboard.press("Tab")
        assert tab.page.evaluate("() => document.activeElement.textContent") == "Skip to content"
        links.filter(has_text="Helm charts").click()
        tab.page.wait_for_url("**/ui/helm")
        tab.page.get_by_role("link", name="uidemo-chart").click()
        tab.page.wait_for_url("**/ui/helm/uidemo-chart")
        command = tab.page.locator("pre.copyable").first
        assert command.is_visible()
        box = command.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"]


def test_the_api_reference_renders_with_no_request_leaving_the_machine(
    browser: Browser, registry: Registry
) -> None:
    with _tab(browser, registry) as tab:
        asked: list[str] = []
        tab.page.on("request", lambda request: asked.append(request.url))
        tab.page.goto("/swagger-ui/")
        tab.page.wait_for_url("**/schema/swagger")
        tab.page.locator(".opblock").first.wait_for()
        assert tab.page.locator(".opblock").count() >= 60
        text = tab.page.locator("#swagger-container").inner_text()
        # one section per format, each with its protocol's concrete operations
        for tag in ("docker", "npm", "pypi", "cargo", "maven", "go", "raw", "helm", "api"):
            assert tab.page.locator(f"#operations-tag-{tag}").count() == 1, tag
        for path in ("/health", "/v2/{name}/manifests/{reference}", "/raw/{path}"):
            assert path in text, path
        hosts = {request.split("/")[2] for request in asked if request.startswith("http")}
        assert hosts == {f"127.0.0.1:{registry.server.port}"}, asked
        assert any(url.endswith("/ui/swagger/swagger-ui-bundle.js") for url in asked)
        assert tab.errors == []


# ---------------------------------------------------------------- access control


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("ui-secured")
    with NoraProcess(root / "data", env=auth_env(root)) as server:
        chart = make_chart(root / "charts", "private-chart", "0.1.0")
        done = upload(server.url + "/helm", chart.read_bytes(), auth=("bob", USERS["bob"]))
        assert done.status_code == 201, done.text
        yield server


def _sign_in(tab: Tab, user: str, password: str, start: str = "/ui/") -> None:
    """Go to ``start``, meet the login form, fill it in like a person and land back."""
    tab.page.goto(start)
    tab.page.wait_for_url("**/ui/login?next=*")
    tab.page.get_by_label("User name").fill(user)
    tab.page.get_by_label("Password or API token").fill(password)
    tab.page.get_by_role("button", name="Sign in").click()
    tab.page.wait_for_url(lambda url: "/ui/login" not in url)
    assert tab.page.url.endswith(start)
    assert f"Signed in as {user}" in tab.page.locator("header").inner_text()


def test_with_access_control_anonymous_visitors_are_sent_to_sign_in(
    browser: Browser, secured: NoraProcess
) -> None:
    tab = open_tab(browser, secured.url)
    try:
        for path in ("/ui/", "/ui/helm", "/ui/helm/private-chart", "/ui/search?q=private"):
            answered = tab.context.request.get(path, max_redirects=0)  # the browser's own
            assert answered.status == 303, path
            assert "private-chart" not in answered.text()
            response = tab.page.goto(path)
            assert response is not None
            assert response.status == 200
            assert "/ui/login?next=" in tab.page.url
            assert "private-chart" not in tab.page.locator("main").inner_text()
        assert tab.page.get_by_role("heading", name="Sign in").is_visible()
        tab.page.get_by_label("User name").fill("carol")
        tab.page.get_by_label("Password or API token").fill("not her password")
        tab.page.get_by_role("button", name="Sign in").click()
        assert tab.page.get_by_role("alert").inner_text() == "Wrong user name or password."
        assert tab.context.cookies() == [
            c for c in tab.context.cookies() if c["name"] != "nora_session"
        ]
    finally:
        tab.close()


def test_signing_in_shows_the_pages_and_signing_out_ends_the_session(
    browser: Browser, secured: NoraProcess
) -> None:
    tab = open_tab(browser, secured.url, clipboard=True)
    try:
        _sign_in(tab, "carol", USERS["carol"], "/ui/helm/private-chart")
        session = next(c for c in tab.context.cookies() if c["name"] == "nora_session")
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Strict"
        assert session["path"] == "/ui"
        assert tab.page.evaluate("() => document.cookie") == "", "no script can read it"
        assert "helm pull nora/private-chart" in _copy(tab.page)
        nav = tab.page.locator('nav[aria-label="Main"]')
        assert nav.get_by_role("link", name="Tokens").is_visible()
        assert nav.get_by_role("link", name="Activity").count() == 0, "carol is no admin"
        refused = tab.page.goto("/ui/activity")
        assert refused is not None
        assert refused.status == 403
        assert "bob" not in tab.page.locator("main").inner_text()
        _goto(tab.page, "/ui/")
        tab.page.get_by_role("button", name="Sign out").click()
        tab.page.wait_for_url("**/ui/login")
        assert not [c for c in tab.context.cookies() if c["name"] == "nora_session"]
        # the cookie as it was, replayed: the session ended on the server too
        tab.context.add_cookies([session])  # type: ignore[list-item]
        tab.page.goto("/ui/helm/private-chart")
        assert "/ui/login?next=" in tab.page.url
    finally:
        tab.close()


def test_an_admin_reads_the_activity_trail_with_filters(
    browser: Browser, secured: NoraProcess
) -> None:
    tab = open_tab(browser, secured.url)
    try:
        _sign_in(tab, "alice", USERS["alice"])
        tab.page.locator('nav[aria-label="Main"]').get_by_role("link", name="Activity").click()
        tab.page.wait_for_url("**/ui/activity")
        table = tab.page.locator("table.activity")
        assert "login" in table.inner_text()
        tab.page.get_by_label("Actor").fill("bob")
        tab.page.get_by_label("Format").select_option("helm")
        tab.page.get_by_role("button", name=re.compile("Filter|Apply|Show")).click()
        tab.page.wait_for_url(re.compile(r"/ui/activity\?.*actor=bob"))
        rows = table.locator("tbody tr")
        assert rows.count() >= 1
        for number in range(rows.count()):
            text = rows.nth(number).inner_text()
            assert "bob" in text
            assert "helm" in text
    finally:
        tab.close()


def test_a_token_made_in_the_browser_works_with_npm_until_it_is_revoked(
    browser: Browser, secured: NoraProcess, tmp_path: Path
) -> None:
    tab = open_tab(browser, secured.url, clipboard=True)
    try:
        _sign_in(tab, "bob", USERS["bob"], "/ui/tokens")
        tab.page.get_by_label("Description").fill("release bot")
        tab.page.get_by_label("Role").select_option("write")
        tab.page.get_by_label("Scopes").fill("npm:browser-*")
        tab.page.get_by_label("Expires in days").fill("1")
        tab.page.get_by_role("button", name="Create token").click()
        token = _copy(tab.page).strip()
        assert token
        npm = NpmClient(secured.url + "/npm/", tmp_path / "npm-home", token=token)
        package = make_package(tmp_path / "pkg", "browser-made", "1.0.0")
        npm.run("publish", cwd=package)
        shown = npm.run("view", "browser-made", "version")
        assert shown.stdout.strip() == "1.0.0"
        outside = make_package(tmp_path / "other", "elsewhere", "1.0.0")
        assert npm.run("publish", cwd=outside, check=False).returncode != 0, "outside its scope"

        tab.page.goto("/ui/tokens")
        assert token not in tab.page.content(), "shown once only"
        row = tab.page.locator("tr", has_text="release bot")
        row.get_by_role("button", name=re.compile("Revoke")).click()
        tab.page.wait_for_url("**/ui/tokens?revoked=1")
        assert "revoked" in tab.page.locator("tr", has_text="release bot").inner_text()
        refused = npm.run("view", "browser-made", "version", check=False)
        assert refused.returncode != 0
        assert "401" in refused.stdout + refused.stderr
    finally:
        tab.close()


def test_no_serious_accessibility_violations_on_the_account_pages(
    browser: Browser, secured: NoraProcess
) -> None:
    tab = open_tab(browser, secured.url, bypass_csp=True)
    try:
        found: dict[str, list[object]] = {}
        _goto(tab.page, "/ui/login")
        found["/ui/login"] = axe(tab.page)
        _sign_in(tab, "alice", USERS["alice"], "/ui/tokens")
        found["/ui/tokens"] = axe(tab.page)
        tab.page.get_by_role("button", name="Create token").click()
        assert tab.page.locator("pre.copyable").count() == 1
        found["/ui/tokens (created)"] = axe(tab.page)
        _goto(tab.page, "/ui/activity")
        found["/ui/activity"] = axe(tab.page)
        assert {path: v for path, v in found.items() if v} == {}
    finally:
        tab.close()


def test_forged_and_unauthenticated_form_posts_are_refused(
    browser: Browser, secured: NoraProcess
) -> None:
    def count() -> int:
        listed = httpx.get(secured.url + "/api/tokens", auth=("alice", USERS["alice"]))
        return len(listed.json()["tokens"])

    before = count()
    tab = open_tab(browser, secured.url)
    try:
        _sign_in(tab, "bob", USERS["bob"], "/ui/tokens")
        # a tampered token in our own page: refused with an explanation
        tab.page.locator('form[action="/ui/tokens"] input[name="csrf"]').evaluate(
            "input => { input.value = 'f'.repeat(64) }"
        )
        tab.page.get_by_role("button", name="Create token").click()
        assert "reload the page" in tab.page.locator("main").inner_text()
        # another site's page posting into NORA with bob's browser: the Strict cookie stays
        # home, so NORA sees nobody and sends the form to the login page
        other = tab.context.new_page()
        other.set_content(
            f'<form method="post" action="{secured.url}/ui/tokens">'
            '<input name="role" value="write"><button>go</button></form>'
        )
        other.get_by_role("button", name="go").click()
        other.wait_for_load_state()
        assert "/ui/login" in other.url
        other.close()
        # and a client with no session at all
        bare = httpx.post(
            secured.url + "/ui/tokens", data={"role": "read", "csrf": "x"}, follow_redirects=False
        )
        assert bare.status_code == 303
        assert bare.headers["location"].startswith("/ui/login")
    finally:
        tab.close()
    assert count() == before, "no token was made by any of them"


# ---------------------------------------------------------------- pictures for the README


def test_screenshots_of_the_main_pages(
    browser: Browser, registry: Registry, tmp_path: Path
) -> None:
    """Pictures of the overview (light, dark, phone), a list, items and search.

    ``nora gc`` runs first, so the overview shows storage per format. Written to
    ``NORA_SCREENSHOTS`` when set (``make screenshots``), else to a temporary
    directory; each is a PNG of the viewport's width.
    """
    gc = subprocess.run(
        [*nora_executable(), "gc", "--json"], env=registry.server.env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert gc.returncode == 0, gc.stdout + gc.stderr
    out = Path(os.environ.get("NORA_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shots = (
        ("overview-light.png", "/ui/", "light", None),
        ("overview-dark.png", "/ui/", "dark", None),
        ("overview-phone.png", "/ui/", "light", PHONE),
        ("overview-phone-dark.png", "/ui/", "dark", PHONE),
        ("list-npm.png", "/ui/npm", "light", None),
        ("item-cargo.png", "/ui/cargo/uidemo-crate", "light", None),
        ("item-cargo-dark.png", "/ui/cargo/uidemo-crate", "dark", None),
        ("item-docker.png", "/ui/docker/uidemo/app", "light", None),
        ("item-maven.png", "/ui/maven/com/uidemo/lib/1.0", "light", None),
        ("search.png", "/ui/search?q=uidemo", "light", None),
    )
    for name, path, scheme, viewport in shots:
        with _tab(browser, registry, color_scheme=scheme, viewport=viewport) as tab:
            _goto(tab.page, path)
            if path == "/ui/":  # measured: no format's storage is left blank
                storage = tab.page.locator(
                    "#formats-h ~ div tbody td:nth-child(4)"
                ).all_inner_texts()
                assert len(storage) == len(WORDS)
                assert "—" not in storage, storage
            tab.page.screenshot(path=str(out / name), full_page=viewport is None)
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        assert width == (viewport or {"width": 1280})["width"], name

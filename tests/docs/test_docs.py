"""The documentation: the site builds strictly (a broken link or anchor, or a page left out of the nav, fails the
build), its generated reference says what the code says (every command and option of the parser, every setting,
every module of energy_lib, every notebook and its parameters), and the README stays a one-screen start whose
links lead somewhere."""

from __future__ import annotations

import argparse
import functools
import html
import importlib.util
import json
import re
import shutil
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest

from energy_lib.config import Settings
from energy_lib.workbook.cli.main import build_parser
from tests.conftest import REPO
from tests.docs.conftest import mkdocs_build

pytestmark = pytest.mark.xdist_group("docs")  # one worker builds the site once for every test here

README_MAX_LINES = 200
DOCS = REPO / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")


@functools.cache
def hook_module() -> ModuleType:
    """docs/hooks/reference.py, the MkDocs hook that generates the reference pages."""
    spec = importlib.util.spec_from_file_location("docs_reference_hook", DOCS / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def visible(markup: str) -> str:
    """The text of some HTML, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def page_text(site: Path, page: str) -> str:
    """The visible text of a built page."""
    return visible((site / page).read_text())


def page_ids(site: Path, page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', (site / page).read_text()))


def all_parsers() -> list[argparse.ArgumentParser]:
    """The root parser and every command and subcommand under it."""
    found = []

    def walk(parser: argparse.ArgumentParser) -> None:
        found.append(parser)
        for child in hook_module().subcommands(parser).values():
            walk(child)

    walk(build_parser())
    return found


def test_the_site_builds_strictly_and_shows_every_picture_of_docs(site: Path) -> None:
    home = page_text(site, "index.html")
    assert "Energy workbook" in home and "make demo" in home
    shown = {
        Path(source).name
        for page in site.rglob("*.html")
        for source in re.findall(r'<img [^>]*src="([^"]+)"', page.read_text())
    }
    pictures = {path.name for path in DOCS.glob("*.png")}
    assert "site-home.png" in pictures and pictures <= shown, pictures - shown


def test_a_broken_link_a_broken_anchor_or_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    # GIVEN a copy of the site with a link to a page that does not exist, a link to a heading that does not exist,
    # and a page that the nav leaves out
    shutil.copy(REPO / "mkdocs.yml", tmp_path)
    shutil.copytree(DOCS, tmp_path / "docs")
    for folder in ("energy_lib", "notebooks"):
        (tmp_path / folder).symlink_to(REPO / folder)
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[gone](no-such-page.md), [lost](cli.md#no-such-command)\n")
    (tmp_path / "docs" / "orphan-page.md").write_text("# Not in the nav\n")
    # WHEN it is built as `make docs` and `make test` build it
    result = mkdocs_build(tmp_path, tmp_path / "site")
    # THEN the build fails, naming each of the three
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "no-such-page.md" in output and "no-such-command" in output and "orphan-page.md" in output, output[-3000:]


def test_every_command_and_option_of_the_parser_is_in_the_command_line_reference(site: Path) -> None:
    parsers = all_parsers()
    text, ids = page_text(site, "cli.html"), page_ids(site, "cli.html")
    assert len(parsers) > 30
    for parser in parsers:
        assert hook_module().slug(parser.prog) in ids, parser.prog  # a section of its own
        assert " ".join(parser.description.split()[:6]) in " ".join(text.split()), parser.prog
        for action in parser._actions:
            for option in action.option_strings:
                assert option in text, (parser.prog, option)


def test_every_setting_is_on_the_configuration_page(site: Path) -> None:
    text = page_text(site, "configuration.html")
    for field in fields(Settings):
        assert field.metadata["env"] in text, field.name


def test_every_notebook_is_documented_with_its_parameters(site: Path) -> None:
    # GIVEN every notebook in notebooks/ and the sections of the built notebooks page
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 9
    source = (DOCS / "notebooks.md").read_text()
    sections = {
        chunk.split('"', 1)[0]: visible(chunk) for chunk in (site / "notebooks.html").read_text().split('<h2 id="')[1:]
    }
    for path in notebooks:
        # THEN the page has a section for it, which names every parameter of its parameters cell
        assert f"\n## {path.stem}\n" in source and path.stem in sections, path.stem
        cell = next(cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code")
        names = re.findall(r"^(\w+)\s*[:=]", "".join(cell["source"]), re.MULTILINE)
        assert names and all(name in sections[path.stem] for name in names), (path.stem, names)


def test_every_module_of_energy_lib_is_in_the_api_reference(site: Path) -> None:
    rendered = set().union(*(page_ids(site, f"api/{page.name}") for page in (site / "api").glob("*.html")))
    modules = set()
    for path in (REPO / "energy_lib").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts[-1].startswith("_"):
            modules.add(".".join(parts))
    assert "energy_lib.workbook.cli.main" in modules and len(modules) > 80
    assert sorted(modules - rendered) == []


def test_the_readme_fits_in_200_lines_and_each_of_its_links_leads_somewhere(site: Path) -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    links = [link for link in LINK.findall(readme) if not link.startswith(("http://", "https://"))]
    assert any(link.startswith("docs/") and link.endswith(".png") for link in links), "a screenshot"
    for link in links:
        path, _, anchor = link.partition("#")
        assert (REPO / path).exists(), link
        if anchor:  # a heading of a docs page: its id in the built page
            assert anchor in page_ids(site, str(Path(path).relative_to("docs").with_suffix(".html"))), link
    for command in ("make demo", "make test", "make check"):
        assert command in readme, command

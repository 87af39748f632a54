"""MkDocs hooks: the reference that is generated from the code when the site is built, so it cannot drift from it.

A page holds a marker (an HTML comment on a line of its own) where the generated Markdown goes:

- ``<!-- energy-workbook commands -->``: every command and subcommand of the argparse parser
  (``energy_lib.workbook.cli.main.build_parser``): its description, usage and arguments, as ``--help`` says them;
- ``<!-- energy-workbook settings -->``: every ``ENERGY_*`` variable of ``energy_lib.config.Settings`` with its
  default;
- ``<!-- notebook parameters: NAME -->``: the ``parameters`` cell of ``notebooks/NAME.ipynb``, as papermill reads
  it (``papermill.inspect_notebook``): name, type, default and the comment.

A notebook whose parameters no page shows, or a marker that names no notebook, fails the build.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

COMMANDS = "<!-- energy-workbook commands -->"
SETTINGS = "<!-- energy-workbook settings -->"
PARAMETERS = re.compile(r"^<!-- notebook parameters: (?P<name>[\w.-]+) -->$", re.MULTILINE)
USAGE_WIDTH = 78  # columns of the usage lines (what the page's code block shows), whatever terminal builds the site
CODE_SPAN = re.compile(r"(`[^`]*`)")
SPECIAL = re.compile(r"([\\*_\[\]|])")
SPHINX_ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|exc|obj|const):(?=<code>)")

NOTEBOOKS: dict[str, Path] = {}  # the notebooks of the repository, by name
SHOWN: set[str] = set()  # the notebooks whose parameters a page showed in this build


def on_config(config: Any) -> Any:
    NOTEBOOKS.clear()
    SHOWN.clear()
    notebooks_dir = Path(config.config_file_path).parent / "notebooks"
    NOTEBOOKS.update({path.stem: path for path in sorted(notebooks_dir.glob("*.ipynb"))})
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if COMMANDS in markdown:
        from energy_lib.workbook.cli.main import build_parser

        markdown = markdown.replace(COMMANDS, command_reference(build_parser()))
    if SETTINGS in markdown:
        markdown = markdown.replace(SETTINGS, settings_table())
    return PARAMETERS.sub(lambda match: parameters_table(match["name"], page.file.src_uri), markdown)


def on_page_content(html: str, **_: Any) -> str:
    """Docstrings name code with Sphinx roles (``:func:`x```); mkdocstrings shows ``x`` as code, and the role as
    text: leave the role out."""
    return SPHINX_ROLE.sub("", html)


def on_post_build(config: Any) -> None:
    missing = sorted(set(NOTEBOOKS) - SHOWN)
    if missing:
        raise PluginError(
            f"no page shows the parameters of {', '.join(missing)}: add <!-- notebook parameters: NAME -->"
        )


# --- text ----------------------------------------------------------------------------------------------------------


def text(value: str) -> str:
    """Plain text (a help string, a docstring line) as Markdown that shows it as written: code spans kept, the
    characters Markdown would take for emphasis, links, HTML or table cells escaped."""
    parts = CODE_SPAN.split(" ".join(value.split()))
    return "".join(part if part.startswith("`") else plain(part) for part in parts)


def plain(value: str) -> str:
    """Text outside code spans: Markdown's special characters escaped, ``<`` and ``>`` as HTML entities (Markdown
    has no escape for ``<``)."""
    return SPECIAL.sub(r"\\\1", value).replace("<", "&lt;").replace(">", "&gt;")


def code(value: str) -> str:
    """``value`` as a code span (a ``|`` in it does not end a table cell)."""
    return f"`{value}`" if value else ""


# --- commands -------------------------------------------------------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name, in the order they were added."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def command_reference(parser: argparse.ArgumentParser) -> str:
    """Every command of ``parser``, depth first, each a section."""
    sections: list[str] = []

    def walk(current: argparse.ArgumentParser, depth: int) -> None:
        sections.append(command_section(current, depth))
        for child in subcommands(current).values():
            walk(child, depth + 1)

    walk(parser, 0)
    return "\n\n".join(sections)


def command_section(parser: argparse.ArgumentParser, depth: int) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    lines = [f"{'#' * min(depth + 3, 6)} {parser.prog}", ""]
    if parser.description:
        lines += [text(parser.description), ""]
    lines += ["```text", formatter.format_help().strip(), "```"]
    children = subcommands(parser)
    if children:
        links = ", ".join(f"[`{name}`](#{slug(child.prog)})" for name, child in children.items())
        lines += ["", f"Commands: {links}."]
    for group in parser._action_groups:
        rows = [argument_row(formatter, action) for action in group._group_actions if shown(action)]
        if rows:
            title = text(group.title or "arguments")
            lines += ["", f"**{title[0].upper()}{title[1:]}**", "", "| argument | meaning |", "|---|---|", *rows]
    return "\n".join(lines)


def shown(action: argparse.Action) -> bool:
    """Every argument but --help and the subcommands (listed apart); a positional one even without a help text."""
    if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
        return False
    return action.help is not None or not action.option_strings


def argument_row(formatter: argparse.HelpFormatter, action: argparse.Action) -> str:
    if action.option_strings:
        takes = formatter._format_args(action, action.dest.upper()) if action.nargs != 0 else ""
        names = ", ".join(f"{option} {takes}".strip() for option in action.option_strings)
    else:
        names = formatter._metavar_formatter(action, action.dest)(1)[0]
    meaning = text(formatter._expand_help(action)) if action.help else ""
    if action.choices and action.metavar is not None:  # a metavar hides the choices from the usage
        meaning += f" (one of {', '.join(code(str(choice)) for choice in action.choices)})"
    return f"| {code(names)} | {meaning} |"


def slug(title: str) -> str:
    """The anchor MkDocs gives a heading of plain words (its ``toc`` extension's default slugify)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", title).strip().lower())


# --- settings -------------------------------------------------------------------------------------------------------


def settings_table() -> str:
    from energy_lib.config import Settings

    rows = ["| variable | setting | default |", "|---|---|---|"]
    for field in fields(Settings):
        default = "" if field.default is MISSING else str(field.default)
        rows.append(f"| {code(field.metadata['env'])} | {code(field.name)} | {code(default) or '(empty)'} |")
    return "\n".join(rows)


# --- notebook parameters --------------------------------------------------------------------------------------------


def parameters_table(name: str, page: str) -> str:
    import papermill

    if name not in NOTEBOOKS:
        raise PluginError(f"{page}: no notebook {name} in notebooks/ (there are {', '.join(NOTEBOOKS)})")
    SHOWN.add(name)
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for parameter in papermill.inspect_notebook(str(NOTEBOOKS[name])).values():
        rows.append(
            f"| {code(parameter['name'])} | {code(parameter['inferred_type_name'])} | {code(parameter['default'])} "
            f"| {text(parameter['help'])} |"
        )
    return "\n".join(rows)

"""`actions` names the follow-up actions' table (templates/includes/action_table.html);
a row of buttons is a `button-row`. The two once shared a name, and the buttons' flex
layout broke every table of actions (tests/e2e/test_layout.py shows them in a browser)."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLASS = re.compile(r'class="([^"]*)"')


def elements_classed(name):
    """(template, line, tag) of every element whose class list holds `name`."""
    found = []
    for template in sorted(ROOT.glob("*/templates/**/*.html")) + sorted(
        (ROOT / "templates").glob("**/*.html")
    ):
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            for match in CLASS.finditer(line):
                if name in match.group(1).split():
                    tag = re.findall(r"<(\w+)[^<]*$", line[: match.start()])
                    found.append((str(template.relative_to(ROOT)), number, tag[-1] if tag else "?"))
    return found


def test_only_tables_of_actions_are_classed_actions():
    others = [found for found in elements_classed("actions") if found[2] != "table"]
    assert others == [], "rename these to button-row: " + repr(others)


def test_button_rows_are_styled():
    css = re.sub(r"/\*.*?\*/", "", (ROOT / "static" / "css" / "app.css").read_text(), flags=re.S)
    assert re.search(r"^\.button-row \{ display: flex;", css, flags=re.MULTILINE)
    assert not re.search(r"(^|[\s,])\.actions\b[^{]*\{", css, flags=re.MULTILINE)

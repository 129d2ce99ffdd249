"""Article text a page embeds as data: JSON-LD articleBody, a framework's page data.

Used when the HTML itself holds no body: pages rendered by JavaScript ship their article in
a JSON script (Next.js `__NEXT_DATA__`, Nuxt `__NUXT_DATA__`/`__NUXT__` when it is JSON), or
in the rows of a React Server Components payload (Next.js `self.__next_f.push([1, "..."])`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement, fragment_fromstring

logger = logging.getLogger(__name__)

DATA_SCRIPT_IDS = ("__NEXT_DATA__", "__NUXT_DATA__")
DATA_ASSIGNMENT = re.compile(r"^\s*window\.__NUXT__\s*=\s*(\{.*\})\s*;?\s*$", re.DOTALL)
FLIGHT_START = "self.__next_f.push"
FLIGHT_PUSH = re.compile(r"^\s*self\.__next_f\.push\((\[.*\])\)\s*;?\s*$", re.DOTALL)
# a payload row: "<id>:<JSON>\n", or "<id>:T<hex byte length>,<text>" (text may hold newlines)
FLIGHT_ROW = re.compile(rb"[0-9a-fA-F]+:(?:T([0-9a-fA-F]+),)?")
TAG = re.compile(r"<[a-zA-Z/][^>]*>")
BLOCK_TAGS = ("p", "div", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "br")
MIN_PARAGRAPH_CHARS = 40
SENTENCE_END = re.compile(r"[.!?。…»\"”]\s*$|[.!?。]\s")
MAX_DEPTH = 60


def ld_article_body(article_ld: dict | None) -> str:
    """The JSON-LD article's articleBody (or text) as paragraphs, or ""."""
    if not article_ld:
        return ""
    for key in ("articleBody", "text"):
        value = article_ld.get(key)
        if isinstance(value, str) and value.strip():
            return html_text(value)
    return ""


def html_text(value: str) -> str:
    """VALUE as plain text, one paragraph a line (VALUE may hold HTML markup)."""
    if not TAG.search(value):
        return "\n".join(line.strip() for line in value.splitlines() if line.strip())
    try:
        root = fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return TAG.sub(" ", value).strip()
    for element in root.iter(*BLOCK_TAGS):
        element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in "".join(root.itertext()).split("\n"))
    return "\n".join(line for line in lines if line)


def data_scripts(tree: HtmlElement) -> Iterator[object]:
    """The parsed JSON of the page's framework data scripts, then its flight payload's rows."""
    flight: list[str] = []
    for script in tree.iter("script"):
        text = script.text or ""
        if script.get("id") in DATA_SCRIPT_IDS:
            raw = text
        elif (match := DATA_ASSIGNMENT.match(text)) is not None:
            raw = match.group(1)
        elif text.lstrip().startswith(FLIGHT_START):
            flight += flight_chunk(text)
            continue
        else:
            continue
        try:
            yield json.loads(raw)
        except ValueError:
            logger.debug("unparsable embedded page data skipped")
    if flight:
        yield from flight_rows("".join(flight).encode("utf-8"))


def flight_chunk(text: str) -> list[str]:
    """The payload string one `self.__next_f.push([1, "..."])` script adds, if any."""
    match = FLIGHT_PUSH.match(text)
    try:
        pushed = json.loads(match.group(1)) if match else None
    except ValueError:
        return []
    return [pushed[1]] if isinstance(pushed, list) and len(pushed) > 1 and isinstance(
        pushed[1], str) else []


def flight_rows(payload: bytes) -> Iterator[object]:
    """The rows of a flight PAYLOAD: JSON rows parsed, text rows as one-string lists."""
    position = 0
    while position < len(payload):
        match = FLIGHT_ROW.match(payload, position)
        end = payload.find(b"\n", position)
        end = len(payload) if end < 0 else end
        if match is not None and match.group(1) is not None:
            stop = match.end() + int(match.group(1), 16)
            yield [payload[match.end() : stop].decode("utf-8", errors="replace")]
            position = stop
            continue
        if match is not None:
            try:
                yield json.loads(payload[match.end() : end])
            except ValueError:
                pass  # a module reference or other non-JSON row holds no text
        position = end + 1


def is_prose(value: str) -> bool:
    """Tell whether a string reads as article prose (long, with sentence punctuation).

    Markup is read as space: "<p>One.</p><p>Two.</p>" ends a sentence.
    """
    text = TAG.sub(" ", value) if "<" in value else value
    return len(text) >= MIN_PARAGRAPH_CHARS and " " in text and bool(SENTENCE_END.search(text))


def prose_runs(data: object, depth: int = 0) -> Iterator[list[str]]:
    """Each list or object's prose strings (its direct string members, or one HTML string)."""
    if depth > MAX_DEPTH:
        return
    members = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    run: list[str] = []
    for member in members:
        if isinstance(member, str) and is_prose(member):
            run.append(html_text(member))
        elif isinstance(member, dict) and isinstance(member.get("text"), str) and is_prose(
            member["text"]
        ):
            run.append(html_text(member["text"]))
        elif isinstance(member, (dict, list)):
            yield from prose_runs(member, depth + 1)
    if run:
        yield run


def embedded_text(tree: HtmlElement) -> str:
    """The largest run of prose in the page's framework data, one paragraph a line, or ""."""
    best = ""
    for data in data_scripts(tree):
        for run in prose_runs(data):
            text = "\n".join(run)
            if len(text) > len(best):
                best = text
    return best

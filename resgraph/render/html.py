"""Text for Graphviz's HTML-like labels: escaping, and a title line over small grey lines."""

from __future__ import annotations

import html

from resgraph.render.view import printable


def html_text(text: str) -> str:
    r"""Escape text for an HTML-like Graphviz label (``<``, ``>``, ``&``, quotes; control
    characters as escapes, :func:`~resgraph.render.view.printable`).

    Braces, ``|`` and quotes need no record escaping here: resgraph never uses record
    shapes, and inside an HTML label they are plain characters.

    >>> html_text('foo("a{b}<c>&\x00")')
    'foo(&quot;a{b}&lt;c&gt;&amp;\\x00&quot;)'
    """
    return html.escape(printable(text), quote=True)


def html_label(lines: list[str], *, bold: bool = False, size: int = 8) -> str:
    """A label whose first line is the title and whose other lines are small and grey.

    >>> html_label(["conv 3×3, 64", "36.9K params"])
    '<conv 3×3, 64<BR/><FONT POINT-SIZE="8" COLOR="#666666">36.9K params</FONT>>'
    """
    head = html_text(lines[0])
    if bold:
        head = f"<B>{head}</B>"
    rest = small_label([t for t in lines[1:] if t], size)[1:-1]
    return "<" + "<BR/>".join([head, rest] if rest else [head]) + ">"


def small_label(lines: list[str], size: int = 8) -> str:
    """A label of small grey lines only (used beside merge nodes).

    >>> small_label(["drop path 0.1"])
    '<<FONT POINT-SIZE="8" COLOR="#666666">drop path 0.1</FONT>>'
    """
    return "<" + "<BR/>".join(f'<FONT POINT-SIZE="{size}" COLOR="#666666">{html_text(t)}</FONT>'
                              for t in lines) + ">"

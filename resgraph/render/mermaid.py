"""A :class:`~resgraph.render.view.View` as a Mermaid flowchart, for Markdown pages.

The same nodes, clusters (``subgraph``) and collapsing as the Graphviz picture; each
edge kind is drawn with the Mermaid arrow, colour, width and dash of its
:class:`~resgraph.kinds.Style` in :data:`resgraph.kinds.EDGE_KINDS` (``-->`` seq and
dense, ``==>`` residual and highway, ``-.->`` skip and control; colours through
``linkStyle``), and a ``legend`` subgraph lists the kinds present by their legend
text. Node ids are those of the view (``n12``, ``s3``); legend nodes start with
``legend_``. A collapsed block is a ``[[box]]`` with its title and output shape, and a
connection around it (a view edge from the box to itself) is a link from the box to
itself, in its kind's style, which Mermaid draws as a loop beside the box.

>>> import resgraph
>>> from resgraph.render.view import build_view
>>> text = to_mermaid_text(build_view(resgraph.load("examples/resnet18.rg")))
>>> text.splitlines()[0]
'flowchart TB'
>>> [line.strip() for line in text.splitlines() if line.strip().startswith("s7")]
['s7[["basic(128)<br/>128×28×28"]]', 's7 ==> s7', 's7 --> s9']
"""

from __future__ import annotations

from collections import defaultdict

from resgraph.kinds import EDGE_KINDS
from resgraph.render.style import link_style
from resgraph.render.view import View, ViewNode, printable

SHAPES = {"input": ('(["', '"])'), "op": ('["', '"]'), "merge": ('(("', '"))'),
          "gate": ('{{"', '"}}'), "box": ('[["', '"]]')}


def mermaid_text(text: str) -> str:
    """Escape text for a quoted Mermaid label with entity codes (control characters as
    escapes, :func:`~resgraph.render.view.printable`).

    >>> mermaid_text('foo("a{b}<c>&#")')
    'foo(#quot;a{b}#lt;c#gt;#amp;#35;#quot;)'
    """
    text = printable(text).replace("#", "#35;")
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text.replace("#amp;35;", "#35;")


def _label(lines: list[str]) -> str:
    return "<br/>".join(mermaid_text(t) for t in lines if t)


def _node_line(node: ViewNode) -> str:
    left, right = SHAPES[node.role]
    return f"{node.id}{left}{_label(node.lines)}{right}"


def to_mermaid_text(view: View, *, rankdir: str = "TB") -> str:
    """The Mermaid flowchart of a view (``flowchart TB`` or ``flowchart LR``)."""
    lines = [f"flowchart {rankdir}", f"    %% {mermaid_text(view.name)}, drawn by resgraph"]
    by_cluster, children = view.tree()

    def fill(cid: str | None, indent: str) -> None:
        for node in by_cluster[cid]:
            lines.append(indent + _node_line(node))
        for cluster in children[cid]:
            lines.append(f'{indent}subgraph {cluster.id}["{_label([cluster.title])}"]')
            fill(cluster.id, indent + "    ")
            lines.append(indent + "end")

    fill(None, "    ")
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, edge in enumerate(view.edges):
        text = f'|"{mermaid_text(edge.shape)}"|' if edge.shape else ""
        lines.append(f"    {edge.src} {EDGE_KINDS[edge.kind].style.mermaid}{text} {edge.dst}")
        by_kind[edge.kind].append(i)
    kinds = view.kinds()
    if kinds:
        lines.append('    subgraph legend["legend"]')
        lines.append("        direction LR")
        for index, kind in enumerate(kinds, start=len(view.edges)):
            by_kind[kind].append(index)
            edge_kind = EDGE_KINDS[kind]
            lines.append(f'        legend_{kind}_a["{mermaid_text(edge_kind.legend)}"] '
                         f'{edge_kind.style.mermaid} legend_{kind}_b[" "]')
        lines.append("    end")
        legend_nodes = ",".join(f"legend_{k}_{e}" for k in kinds for e in "ab")
        lines.append(f"    class {legend_nodes} legendnode")
        lines.append("    classDef legendnode fill:none,stroke:none")
    for kind in kinds:
        links = ",".join(map(str, by_kind[kind]))
        lines.append(f"    linkStyle {links} {link_style(EDGE_KINDS[kind].style)}")
    return "\n".join(lines) + "\n"

"""Known, documented differences between meshgraph.compat and the peers, and where missing names are planned.

KNOWN_DIFFERENCES: "<peer module>.<name>" -> why a mirrored name's recorded signature check reports a difference
(tests/compat/test_compat_signatures.py accepts exactly these; every other difference fails it).
PLANNED: "<peer module>.<name>" -> the issue that brings a name that is not mirrored yet (docs only).
"""

KNOWN_DIFFERENCES: dict[str, str] = {}

_BY_ISSUE = {
    "the graph-learning toolbox (issue 13)": [],
    "the 3D scene toolbox (issue 14)": [],
    "large graphs (issue 15)": [],
    "volumes and geometry (issue 16)": [],
}

PLANNED: dict[str, str] = {name: issue for issue, names in _BY_ISSUE.items() for name in names}

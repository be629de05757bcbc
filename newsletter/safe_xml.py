"""The one lxml parser configuration for XML from outside (feeds, library exports).

Recovering, so one broken fragment does not cost the whole document (the caller reads the
parser's error log to skip exactly the broken entries); entities are not resolved, no DTD is
loaded and nothing is fetched from the network (no XXE, no billion laughs); no huge trees;
comments and processing instructions dropped.
"""

from __future__ import annotations

from lxml import etree


def forgiving_parser() -> etree.XMLParser:
    """A fresh parser (its error log is per parse, so never shared between threads)."""
    return etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )

"""Quoting of SQL identifiers: the one place user-named tables and columns reach SQL."""
from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB so any text is safe as a column or table name.

    Example:
        >>> print(quote_ident('NOM "client'))
        "NOM ""client"
    """
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL characters")
    return '"' + name.replace('"', '""') + '"'

"""Name resolution for realtime SQL: which relation and field each column reference means.

A :class:`Scope` holds the relations visible in one ``SELECT`` (input RTs, subqueries and
lateral UDTF outputs) under the names the user gives them (alias, or the RT id). Columns
resolve exactly first, then case-insensitively when that is unambiguous, as BKSQL users expect
from MySQL-like identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from sluice.model.errors import Message
from sluice.sql.errors import node_offset, sql_error

__all__ = ["Relation", "Scope"]


@dataclass
class Relation:
    """One relation visible in a ``SELECT``.

    Attributes:
        key: the name SQL uses for it (alias, or the RT id).
        alias: the internal, always-quoted alias in the DuckDB SQL (``__s0``...).
        columns: every referable field -> static BKData type (declared + system fields).
        declared: the fields ``*`` expands to, in order.
        rt_id: the input RT it reads, if it is one (for required-column tracking).
    """

    key: str
    alias: str
    columns: dict[str, str | None]
    declared: list[str]
    rt_id: str | None = None


@dataclass
class Scope:
    """The relations of one ``SELECT`` plus the columns of each input RT actually used."""

    sql: str
    relations: list[Relation] = field(default_factory=list)
    required: dict[str, set[str]] = field(default_factory=dict)

    def add(self, relation: Relation, at: exp.Expression) -> None:
        """Add a relation; two relations with the same name are an error."""
        if any(r.key == relation.key for r in self.relations):
            raise sql_error(
                self.sql,
                node_offset(at),
                Message(
                    f"表名或别名 `{relation.key}` 重复",
                    f"duplicate table name or alias `{relation.key}`",
                ),
            )
        self.relations.append(relation)

    def relation(self, key: str, at: exp.Expression) -> Relation:
        """Return the relation SQL calls ``key``."""
        for r in self.relations:
            if r.key == key:
                return r
        folded = [r for r in self.relations if r.key.lower() == key.lower()]
        if len(folded) == 1:
            return folded[0]
        known = ", ".join(r.key for r in self.relations) or "-"
        raise sql_error(
            self.sql,
            node_offset(at),
            Message(
                f"未知的表或别名 `{key}`（可用：{known}）",
                f"unknown table or alias `{key}` (known: {known})",
            ),
        )

    def resolve(self, column: exp.Column) -> tuple[Relation, str] | None:
        """Return ``(relation, field)`` for a column, ``None`` if no relation has it.

        Raises:
            NodeValidError: an unknown qualifier, an unknown field of a named relation, or an
                unqualified name found in several relations.
        """
        name = column.name
        if column.table:
            relation = self.relation(column.table, column)
            found = _field(relation, name)
            if found is None:
                raise self._unknown_column(column, [relation])
            return relation, found
        exact = [r for r in self.relations if name in r.columns]
        hits = exact or [r for r in self.relations if _field(r, name) is not None]
        if len(hits) > 1:
            names = ", ".join(r.key for r in hits)
            raise sql_error(
                self.sql,
                node_offset(column),
                Message(
                    f"字段 `{name}` 有歧义，存在于：{names}",
                    f"ambiguous column `{name}`: it is in {names}",
                ),
            )
        if not hits:
            return None
        found = _field(hits[0], name)
        return (hits[0], found) if found is not None else None

    def note_required(self, relation: Relation, name: str) -> None:
        """Record that ``name`` of the relation's input RT is read."""
        if relation.rt_id is not None:
            self.required.setdefault(relation.rt_id, set()).add(name)

    def unknown_column(self, column: exp.Column) -> Exception:
        """The positioned error for a column no relation has."""
        return self._unknown_column(column, self.relations)

    def _unknown_column(self, column: exp.Column, relations: list[Relation]) -> Exception:
        fields = sorted({c for r in relations for c in r.declared})
        shown = ", ".join(fields[:30]) + (", ..." if len(fields) > 30 else "")
        return sql_error(
            self.sql,
            node_offset(column),
            Message(
                f"未知字段 `{column.name}`（可用字段：{shown}）",
                f"unknown column `{column.name}` (available: {shown})",
            ),
        )


def _field(relation: Relation, name: str) -> str | None:
    if name in relation.columns:
        return name
    folded = [c for c in relation.columns if c.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None

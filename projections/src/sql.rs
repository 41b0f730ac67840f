//! Row writes in the SQL both backends accept, with table names resolved at execution time so
//! the same projection code fills the live tables or a rebuild's fresh ones.
//!
//! Consecutive rows for the same insert are sent as one multi-row statement: a rebuild writes a
//! few hundred statements, not one per event.

/// A table owned by a projection. DDL statements use `{table}` for the physical table name and
/// `{gen}` for a suffix unique to this build (constraint names must not collide with the live
/// table's while both exist).
pub struct TableDef {
    pub name: &'static str,
    pub ddl: &'static [&'static str],
    /// Every column, for dumps that compare a rebuild with the incremental path.
    pub columns: &'static [&'static str],
    /// The primary key, which orders a dump.
    pub key: &'static [&'static str],
}

/// A bound value. Nulls are typed because PostgreSQL needs a type for every parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    NullInt,
    NullText,
}

/// One write against one of the projection's tables (`{table}` stands for its name).
#[derive(Debug, Clone)]
pub enum Statement {
    /// `head VALUES (row) tail`, e.g. head `INSERT INTO {table} (a, b)` and tail
    /// `ON CONFLICT (a) DO UPDATE SET …` or empty. Rows of consecutive identical inserts are
    /// merged; a tail that upserts must therefore not meet the same key twice in one page
    /// (fold the page first, as `payment_totals` does).
    Insert { table: &'static str, head: &'static str, tail: &'static str, row: Vec<SqlValue> },
    /// Any other statement, with `$1…` parameters. `{table:NAME}` names another table of the
    /// same projection (rebuilt together with it, so both names resolve to the same build).
    Other { table: &'static str, sql: &'static str, args: Vec<SqlValue> },
}

#[derive(Debug, Default)]
pub struct Writes {
    pub(crate) statements: Vec<Statement>,
}

impl Writes {
    pub fn insert(&mut self, table: &'static str, head: &'static str, tail: &'static str, row: Vec<SqlValue>) {
        self.statements.push(Statement::Insert { table, head, tail, row });
    }

    pub fn other(&mut self, table: &'static str, sql: &'static str, args: Vec<SqlValue>) {
        self.statements.push(Statement::Other { table, sql, args });
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The statements to execute, with rows merged: `(sql, arguments)` each.
    ///
    /// Inserts use anonymous `?` placeholders on SQLite: it resolves named ones (`$N`) with a
    /// linear search per parameter, which is quadratic in a thousand-row insert.
    pub(crate) fn batched(&self, fresh: bool, anonymous_placeholders: bool) -> Vec<(String, Vec<&SqlValue>)> {
        /// Bounds one statement well inside SQLite's 32,766 and PostgreSQL's 65,535 parameters.
        const PARAMETERS_MAX: usize = 30_000;
        const ROWS_MAX: usize = 1_000;
        let mut batches = Vec::new();
        let mut index = 0;
        while index < self.statements.len() {
            match &self.statements[index] {
                Statement::Other { table, sql, args } => {
                    batches.push((resolve(sql, table, fresh), args.iter().collect()));
                    index += 1;
                }
                Statement::Insert { table, head, tail, row } => {
                    let rows_max = (PARAMETERS_MAX / row.len().max(1)).clamp(1, ROWS_MAX);
                    let mut sql = head.replace("{table}", &physical(table, fresh));
                    sql.push_str(" VALUES ");
                    let mut args: Vec<&SqlValue> = Vec::new();
                    let mut rows = 0;
                    while let Some(Statement::Insert { table: t, head: h, tail: tl, row }) = self.statements.get(index)
                    {
                        if (t, h, tl) != (table, head, tail) || rows == rows_max {
                            break;
                        }
                        if rows > 0 {
                            sql.push_str(", ");
                        }
                        sql.push('(');
                        for (column, value) in row.iter().enumerate() {
                            if column > 0 {
                                sql.push_str(", ");
                            }
                            args.push(value);
                            if anonymous_placeholders {
                                sql.push('?');
                            } else {
                                sql.push('$');
                                sql.push_str(&args.len().to_string());
                            }
                        }
                        sql.push(')');
                        rows += 1;
                        index += 1;
                    }
                    if !tail.is_empty() {
                        sql.push(' ');
                        sql.push_str(&tail.replace("{table}", &physical(table, fresh)));
                    }
                    batches.push((sql, args));
                }
            }
        }
        batches
    }
}

/// `sql` with `{table}` and every `{table:NAME}` replaced by their physical names.
fn resolve(sql: &str, table: &str, fresh: bool) -> String {
    let mut resolved = sql.replace("{table}", &physical(table, fresh));
    while let Some(start) = resolved.find("{table:") {
        let end = start + resolved[start..].find('}').expect("a {table:NAME} placeholder is closed");
        let name = resolved[start + "{table:".len()..end].to_owned();
        resolved.replace_range(start..=end, &physical(&name, fresh));
    }
    resolved
}

/// The physical name of `table` for a live build or a rebuild.
pub(crate) fn physical(table: &str, fresh: bool) -> String {
    if fresh {
        format!("{table}__next")
    } else {
        table.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_rows_of_one_insert_become_one_statement() {
        let mut writes = Writes::default();
        for n in 0..3 {
            writes.insert(
                "t",
                "INSERT INTO {table} (a, b)",
                "ON CONFLICT (a) DO NOTHING",
                vec![SqlValue::Int(n), SqlValue::NullText],
            );
        }
        writes.other("t", "DELETE FROM {table} WHERE a = $1", vec![SqlValue::Int(9)]);
        writes.insert("t", "INSERT INTO {table} (a, b)", "", vec![SqlValue::Int(5), SqlValue::Text("x".into())]);
        let batches = writes.batched(true, false);
        assert_eq!(writes.batched(false, true)[2].0, "INSERT INTO t (a, b) VALUES (?, ?)");
        let sql: Vec<&str> = batches.iter().map(|(sql, _)| sql.as_str()).collect();
        assert_eq!(
            sql,
            [
                "INSERT INTO t__next (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT (a) DO NOTHING",
                "DELETE FROM t__next WHERE a = $1",
                "INSERT INTO t__next (a, b) VALUES ($1, $2)",
            ]
        );
        assert_eq!(batches[0].1.len(), 6);
    }

    #[test]
    fn another_table_of_the_projection_is_named_by_its_placeholder() {
        let mut writes = Writes::default();
        writes.other("t", "UPDATE {table} SET a = (SELECT b FROM {table:u} WHERE {table:u}.k = {table}.k)", vec![]);
        assert_eq!(writes.batched(false, true)[0].0, "UPDATE t SET a = (SELECT b FROM u WHERE u.k = t.k)");
        assert_eq!(
            writes.batched(true, true)[0].0,
            "UPDATE t__next SET a = (SELECT b FROM u__next WHERE u__next.k = t__next.k)"
        );
    }
}

//! A summary as text for people: a title, the largest rows as a table and a line for the
//! rest. What `str(summary)`, IPython's terminal and `Summary.format()` show; pympler's
//! exact table stays `summary.print_`'s (`table::format_table`).

use super::file::{format_time, Kind, Meta};
use super::rows::{sums, Rows, Totals};
use super::table::render;
use crate::grow::OutOfMemory;
use crate::units::{grouped, human_size};

/// How many rows `str(summary)` shows.
pub const TEXT_ROWS: usize = 15;

/// A size in binary units; `+` before growth in a diff.
fn size_text(bytes: i128, signed: bool) -> String {
    let text = human_size(bytes as f64, 1);
    if signed && bytes > 0 {
        format!("+{text}")
    } else {
        text
    }
}

/// The order of the rows in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The largest size first; for a diff, the largest change either way.
    Size,
    /// The most objects first; for a diff, the largest change either way.
    Count,
    /// The largest growth first (a diff's shrinks come last).
    Growth,
    /// The largest shrink first.
    Shrink,
}

impl Order {
    /// The names `format(sort=...)` and the command line accept.
    pub const NAMES: [&'static str; 4] = ["size", "count", "growth", "shrink"];

    pub fn from_name(name: &str) -> Option<Order> {
        Some(match name {
            "size" => Order::Size,
            "count" => Order::Count,
            "growth" => Order::Growth,
            "shrink" => Order::Shrink,
            _ => return None,
        })
    }
}

/// The rows in `order`; ties broken by the other figure, then by name, so that the text
/// does not depend on the order the rows were counted in.
fn ordered(rows: &Rows, order: Order) -> Vec<(&str, Totals)> {
    use std::cmp::Reverse;
    let mut ordered: Vec<(&str, Totals)> = rows.iter().map(|(name, totals)| (name.as_str(), *totals)).collect();
    match order {
        Order::Size => {
            ordered.sort_by_key(|&(n, t)| (Reverse(t.size.unsigned_abs()), Reverse(t.count.unsigned_abs()), n))
        }
        Order::Count => {
            ordered.sort_by_key(|&(n, t)| (Reverse(t.count.unsigned_abs()), Reverse(t.size.unsigned_abs()), n))
        }
        Order::Growth => ordered.sort_by_key(|&(n, t)| (Reverse(t.size), Reverse(t.count), n)),
        Order::Shrink => ordered.sort_by_key(|&(n, t)| (t.size, t.count, n)),
    }
    ordered
}

/// The summary as lines: a title, at most `limit` rows in `order`, and what the others
/// add up to.
pub fn summary_text(rows: &Rows, meta: &Meta, limit: usize, order: Order) -> Result<String, OutOfMemory> {
    let diff = meta.kind == Kind::Diff;
    let (count, size) = sums(rows);
    let label = meta.label.as_deref().map(|l| format!(" {l:?}")).unwrap_or_default();
    let mut text = format!(
        "{}{label} taken {}: {} objects, {} in {} types\n",
        meta.kind.as_str(),
        format_time(meta.created),
        grouped(count, diff),
        size_text(size, diff),
        grouped(rows.len() as i128, false),
    );
    if rows.is_empty() {
        text.push_str(if diff { "(nothing changed)" } else { "(no objects)" });
        return Ok(text);
    }
    let ordered = ordered(rows, order);
    let shown = &ordered[..limit.min(ordered.len())];
    let mut cells = vec![vec!["types".to_string(), "# objects".to_string(), "total size".to_string()]];
    cells.extend(
        shown
            .iter()
            .map(|(name, t)| vec![(*name).to_string(), grouped(t.count.into(), diff), size_text(t.size.into(), diff)]),
    );
    text.push_str(&render(&cells)?.join("\n"));
    let rest = &ordered[shown.len()..];
    if !rest.is_empty() {
        let (rest_count, rest_size) =
            rest.iter().fold((0i128, 0i128), |(c, s), (_, t)| (c + i128::from(t.count), s + i128::from(t.size)));
        text.push_str(&format!(
            "\n... {} more types: {} objects, {} (format(limit=N) shows more)",
            grouped(rest.len() as i128, false),
            grouped(rest_count, diff),
            size_text(rest_size, diff)
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0, true), "0");
        assert_eq!(grouped(999, false), "999");
        assert_eq!(grouped(1000, false), "1,000");
        assert_eq!(grouped(-1_234_567, true), "-1,234,567");
        assert_eq!(grouped(1_234_567, true), "+1,234,567");
        assert_eq!(grouped(i128::from(i64::MIN), false), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn diffs_put_the_largest_change_either_way_first() {
        let mut rows = Rows::default();
        rows.insert("grown".into(), Totals { count: 10, size: 1000 });
        rows.insert("shrunk".into(), Totals { count: -500, size: -4_000_000 });
        rows.insert("small".into(), Totals { count: 1, size: 10 });
        let names = |order| ordered(&rows, order).iter().map(|(n, _)| *n).collect::<Vec<&str>>();
        assert_eq!(names(Order::Size), ["shrunk", "grown", "small"]);
        assert_eq!(names(Order::Count), ["shrunk", "grown", "small"]);
        assert_eq!(names(Order::Growth), ["grown", "small", "shrunk"]);
        assert_eq!(names(Order::Shrink), ["shrunk", "small", "grown"]);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let mut rows = Rows::default();
        for name in ["b", "c", "a"] {
            rows.insert(name.into(), Totals { count: 1, size: 8 });
        }
        let names: Vec<&str> = ordered(&rows, Order::Size).iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn order_names_round_trip() {
        for name in Order::NAMES {
            assert!(Order::from_name(name).is_some(), "{name}");
        }
        assert_eq!(Order::from_name("type"), None);
    }
}

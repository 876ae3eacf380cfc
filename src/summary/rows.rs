//! Summary rows: (count, total size) by type name, in the order names were first met, and
//! the difference of two sets of rows.

use indexmap::IndexMap;

/// Count and total size of one row. Signed: diffs have negative rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    pub size: i64,
}

/// Rows by type name, in the order the names were first met.
pub type Rows = IndexMap<String, Totals, ahash::RandomState>;

/// `right - left` row by row (pympler's `get_diff`): rows of `right` in its order, then
/// rows only in `left`, negated. Rows on both sides with no change stay, as zeros.
pub fn diff_rows(left: &Rows, right: &Rows) -> Rows {
    let mut out = Rows::default();
    for (name, r) in right {
        let l = left.get(name).copied().unwrap_or_default();
        out.insert(name.clone(), Totals { count: r.count - l.count, size: r.size - l.size });
    }
    for (name, l) in left {
        if !right.contains_key(name) {
            out.insert(name.clone(), Totals { count: -l.count, size: -l.size });
        }
    }
    out
}

/// Whether two sets of rows hold the same figures, in the same order or not.
pub fn same_rows(a: &Rows, b: &Rows) -> bool {
    a.len() == b.len() && a.iter().all(|(name, t)| b.get(name) == Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_subtract_rows() {
        let mut left = Rows::default();
        left.insert("a".into(), Totals { count: 2, size: 20 });
        left.insert("gone".into(), Totals { count: 1, size: 5 });
        let mut right = Rows::default();
        right.insert("a".into(), Totals { count: 5, size: 50 });
        right.insert("new".into(), Totals { count: 1, size: 8 });
        let diff: Vec<_> = diff_rows(&left, &right).into_iter().collect();
        assert_eq!(
            diff,
            vec![
                ("a".to_owned(), Totals { count: 3, size: 30 }),
                ("new".to_owned(), Totals { count: 1, size: 8 }),
                ("gone".to_owned(), Totals { count: -1, size: -5 }),
            ]
        );
    }
}

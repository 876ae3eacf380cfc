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

impl Totals {
    /// `self + other`, or `None` when a figure would not fit in 64 bits.
    pub fn checked_add(self, other: Totals) -> Option<Totals> {
        Some(Totals { count: self.count.checked_add(other.count)?, size: self.size.checked_add(other.size)? })
    }

    /// `self - other`, or `None` when a figure would not fit in 64 bits.
    pub fn checked_sub(self, other: Totals) -> Option<Totals> {
        Some(Totals { count: self.count.checked_sub(other.count)?, size: self.size.checked_sub(other.size)? })
    }

    /// `self + other`, each figure held at the largest (smallest) 64-bit value rather than
    /// wrapped: for sizes of live objects, whose sum cannot be refused.
    pub fn saturating_add(self, other: Totals) -> Totals {
        Totals { count: self.count.saturating_add(other.count), size: self.size.saturating_add(other.size) }
    }
}

/// The sums of the counts and of the sizes of `rows`, exactly (128 bits cannot overflow
/// for any number of 64-bit rows that fits in memory).
pub fn sums(rows: &Rows) -> (i128, i128) {
    rows.values().fold((0, 0), |(c, s), t| (c + i128::from(t.count), s + i128::from(t.size)))
}

/// `right - left` row by row (pympler's `get_diff`): rows of `right` in its order, then
/// rows only in `left`, negated. Rows on both sides with no change stay, as zeros. `Err`
/// names the type whose difference does not fit in 64 bits.
pub fn diff_rows(left: &Rows, right: &Rows) -> Result<Rows, String> {
    let mut out = Rows::default();
    let overflow = |name: &str| format!("the difference of the rows of type {name:?} does not fit in 64 bits");
    for (name, r) in right {
        let l = left.get(name).copied().unwrap_or_default();
        out.insert(name.clone(), r.checked_sub(l).ok_or_else(|| overflow(name))?);
    }
    for (name, l) in left {
        if !right.contains_key(name) {
            out.insert(name.clone(), Totals::default().checked_sub(*l).ok_or_else(|| overflow(name))?);
        }
    }
    Ok(out)
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
        let diff: Vec<_> = diff_rows(&left, &right).unwrap().into_iter().collect();
        assert_eq!(
            diff,
            vec![
                ("a".to_owned(), Totals { count: 3, size: 30 }),
                ("new".to_owned(), Totals { count: 1, size: 8 }),
                ("gone".to_owned(), Totals { count: -1, size: -5 }),
            ]
        );
    }

    #[test]
    fn overflowing_diffs_are_refused() {
        let mut left = Rows::default();
        left.insert("a".into(), Totals { count: -1, size: 0 });
        left.insert("b".into(), Totals { count: i64::MIN, size: 0 });
        let mut right = Rows::default();
        right.insert("a".into(), Totals { count: i64::MAX, size: 0 });
        assert!(diff_rows(&left, &right).unwrap_err().contains("\"a\""));
        right.clear();
        assert!(diff_rows(&left, &right).unwrap_err().contains("\"b\""));
        let mut rows = Rows::default();
        rows.insert("x".into(), Totals { count: i64::MAX, size: i64::MAX });
        rows.insert("y".into(), Totals { count: i64::MAX, size: 1 });
        assert_eq!(sums(&rows), (2 * i128::from(i64::MAX), i128::from(i64::MAX) + 1));
    }
}

//! `heapscope.asizeof`: the deep-size walk and everything it needs. `sizer` is the class
//! behind an `Asizer`; `rules` classifies a type (flat size, referents); `flat` computes
//! `sys.getsizeof` without Python for known types; `walk` follows the referents, which
//! the `cursors` of its frames read from each container; `ledger` is what an `Asizer`
//! remembers between calls; `libraries` holds the footprint functions data libraries'
//! types are sized by; `estimates` gives pympler's per-type `basicsize`/`itemsize`/`leng`
//! figures. Node names of size trees come from
//! `heap::edges`, which names every kind of reference.

mod cursors;
pub mod estimates;
pub mod flat;
pub mod ledger;
pub mod libraries;
pub mod rules;
pub mod sizer;
pub mod walk;

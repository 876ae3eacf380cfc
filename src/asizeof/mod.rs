//! `heapscope.asizeof`: the deep-size walk and everything it needs. `sizer` is the class
//! behind an `Asizer`; `rules` classifies a type (flat size, referents); `flat` computes
//! `sys.getsizeof` without Python for known types; `walk` follows the referents, which
//! the `cursors` of its frames read from each container; `ledger` is what an `Asizer`
//! remembers between calls; `names` calls into Python for sizes and node names.

mod cursors;
pub mod flat;
pub mod ledger;
pub mod names;
pub mod rules;
pub mod sizer;
pub mod walk;

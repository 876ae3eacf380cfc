//! The whole heap: the objects of `muppy.get_objects()` read from the collector's lists
//! (`passes`), flat sizes and filters over many objects (`objects`), the referrer
//! index and reference chains behind `why()` (`referrers`), and the names of references
//! shared by `why()`, refgraph and refbrowser (`edges`); warnings kept quiet while the
//! user's objects are asked about themselves (`quiet_warnings`).

pub mod dominator_view;
pub mod dominators;
pub mod edges;
pub mod graph;
pub mod objects;
pub mod passes;
pub mod quiet_warnings;
pub mod referrers;
pub mod retained;
pub mod roots;
pub mod suspects;

pub use passes::*;

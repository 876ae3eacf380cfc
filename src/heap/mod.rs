//! The whole heap: the objects of `muppy.get_objects()` read from the collector's lists
//! (`passes`), flat sizes and filters over many objects (`objects`), and the referrer
//! index behind `why()` (`referrers`).

pub mod edges;
pub mod objects;
pub mod passes;
pub mod referrers;

pub use passes::*;

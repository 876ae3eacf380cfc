//! Memory over time (`heapscope.Timeline`): the resident-memory sampler thread and the
//! scheduling of whole-heap summaries on the main thread (`sampler`).

pub mod sampler;

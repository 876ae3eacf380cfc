//! Memory over time (`heapscope.Timeline`): the resident-memory sampler thread and the
//! scheduling of whole-heap summaries on the main thread (`sampler`); and memory line by
//! line (`@heapscope.profile`): the recorder of the decorated functions' lines (`lines`).

pub mod lines;
pub mod sampler;

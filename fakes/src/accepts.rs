//! When a fake first and last accepted a message: what the benchmark's timings are taken from,
//! on the fake's side of the wire.

use std::time::SystemTime;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AcceptSpan {
    pub first: Option<SystemTime>,
    pub last: Option<SystemTime>,
}

impl AcceptSpan {
    /// Notes an acceptance now.
    pub(crate) fn note_now(&mut self) {
        let now = SystemTime::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
    }
}

//! The job types a runner can run, each behind a handler that turns a stored payload into a
//! running job.

use std::collections::HashMap;
use std::time::Duration;

use burgernet_core::jobs::{BackgroundJob, JobError};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;

type RunFn = Box<dyn Fn(Value) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync>;

pub(crate) struct Handler {
    run: RunFn,
    /// The job type's [`BackgroundJob::backoff`].
    pub(crate) backoff: fn(i32) -> Duration,
}

impl Handler {
    fn new<J: BackgroundJob>(ctx: J::Context) -> Self {
        let run: RunFn = Box::new(move |payload| {
            let ctx = ctx.clone();
            async move {
                // A payload this code cannot read will not become readable by retrying.
                let job: J = serde_json::from_value(payload).map_err(|error| {
                    JobError::permanent(
                        anyhow::Error::new(error).context("the payload does not fit the job type"),
                    )
                })?;
                job.run(ctx).await
            }
            .boxed()
        });
        Self { run, backoff: J::backoff }
    }

    pub(crate) fn run(&self, payload: Value) -> BoxFuture<'static, Result<(), JobError>> {
        (self.run)(payload)
    }
}

/// The job types a runner knows, each in the slot group ("lane") whose slots run it.
#[derive(Default)]
pub(crate) struct Registry {
    handlers: HashMap<&'static str, (Handler, &'static str)>,
}

impl Registry {
    pub(crate) fn register<J: BackgroundJob>(&mut self, group: &'static str, ctx: J::Context) {
        let previous = self.handlers.insert(J::JOB_TYPE, (Handler::new::<J>(ctx), group));
        assert!(previous.is_none(), "job type {} is registered twice", J::JOB_TYPE);
    }

    pub(crate) fn get(&self, job_type: &str) -> Option<&Handler> {
        self.handlers.get(job_type).map(|(handler, _)| handler)
    }

    /// The slot group that runs `job_type`.
    pub(crate) fn group_of(&self, job_type: &str) -> Option<&'static str> {
        self.handlers.get(job_type).map(|(_, group)| *group)
    }

    /// Every job type, sorted.
    pub(crate) fn job_types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = self.handlers.keys().copied().collect();
        types.sort_unstable();
        types
    }

    /// The job types of one slot group.
    pub(crate) fn job_types_of(&self, group: &str) -> Vec<&'static str> {
        let mut types: Vec<&'static str> =
            self.handlers.iter().filter(|(_, (_, of))| *of == group).map(|(job_type, _)| *job_type).collect();
        types.sort_unstable();
        types
    }
}

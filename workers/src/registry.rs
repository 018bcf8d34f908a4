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

#[derive(Default)]
pub(crate) struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    pub(crate) fn register<J: BackgroundJob>(&mut self, ctx: J::Context) {
        let previous = self.handlers.insert(J::JOB_TYPE, Handler::new::<J>(ctx));
        assert!(previous.is_none(), "job type {} is registered twice", J::JOB_TYPE);
    }

    pub(crate) fn get(&self, job_type: &str) -> Option<&Handler> {
        self.handlers.get(job_type)
    }

    pub(crate) fn job_types(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }
}

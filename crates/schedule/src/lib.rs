//! Cron schedules of workflows (issue 13): [`CronSpec`] reads a cron expression in a time zone,
//! and the [`Scheduler`] every node runs starts each fire once across nodes and restarts. The
//! schedules themselves are kept by a [`apg_core::ScheduleStore`] and managed through
//! `/api/v1/schedules`.

pub mod cron;
mod scheduler;

pub use cron::{CronError, CronSpec, GRACE_MS};
pub use scheduler::{Scheduler, SchedulerError};

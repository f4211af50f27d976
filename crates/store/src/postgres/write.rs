//! Writing checkpoints to PostgreSQL in one statement: the lease check and every table's upsert
//! are CTEs of a single `WITH … SELECT`, each table's rows bound as one array per column and
//! expanded with `unnest`. One statement is one network round trip and one implicit transaction
//! (a `BEGIN`, a statement per table and a `COMMIT` were five or more). Its text depends on which
//! tables have rows, never on how many, so each of its few shapes is prepared once per
//! connection, and no row count meets PostgreSQL's limit of 65,535 bind parameters. Several batches' columns are appended into one
//! statement by the group committer (`group.rs`).

use std::collections::HashSet;
use std::sync::OnceLock;

use apg_core::store::StoreResult;
use apg_core::{Batch, ExecutionId};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::backend;

fn json<T: serde::Serialize>(value: &T) -> Value {
	serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The tables of a statement, in parameter order, each with its upsert: `{rows}` is the
/// `SELECT` of its rows (from `unnest` of one array per column) and `{go}` its lease condition.
const TABLES: [(&str, &[&str], &str); 6] = [
	(
		"ex",
		&[
			"uuid", "uuid", "int", "text", "int", "jsonb", "jsonb", "jsonb", "text", "jsonb",
			"text", "bigint", "bigint", "bigint", "uuid", "uuid", "uuid", "jsonb",
		],
		"INSERT INTO wo_executions (id, workflow_id, workflow_version, status, priority, \
		 parameters, vars, results, error_message, breakpoints, idempotency_key, created_at, \
		 started_at, completed_at, started_by, rerun_of, parent_id, parent) \
		 SELECT * FROM {rows} {go} \
		 ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, priority = EXCLUDED.priority, \
		 vars = EXCLUDED.vars, results = EXCLUDED.results, error_message = EXCLUDED.error_message, \
		 breakpoints = EXCLUDED.breakpoints, started_at = EXCLUDED.started_at, \
		 completed_at = EXCLUDED.completed_at, \
		 cancel_requested = CASE WHEN wo_executions.status IN ('completed', 'failed', 'cancelled') \
		   THEN FALSE ELSE wo_executions.cancel_requested END, \
		 lease_owner = CASE WHEN wo_executions.status IN ('completed', 'failed', 'cancelled') \
		   THEN NULL ELSE wo_executions.lease_owner END",
	),
	(
		"st",
		&[
			"uuid", "text", "text", "text", "int", "jsonb", "jsonb", "text", "text", "bigint",
			"bigint", "bigint", "bigint", "jsonb",
		],
		"INSERT INTO wo_component_executions (execution_id, component_id, component_type, \
		 status, attempt, input_data, output_data, branch, error_message, run_at, started_at, \
		 completed_at, duration_ms, waiting) \
		 SELECT * FROM {rows} {go} \
		 ON CONFLICT (execution_id, component_id) DO UPDATE SET status = EXCLUDED.status, \
		 attempt = EXCLUDED.attempt, input_data = EXCLUDED.input_data, \
		 output_data = EXCLUDED.output_data, branch = EXCLUDED.branch, \
		 error_message = EXCLUDED.error_message, run_at = EXCLUDED.run_at, \
		 started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at, \
		 duration_ms = EXCLUDED.duration_ms, waiting = EXCLUDED.waiting",
	),
	(
		"at",
		&["uuid", "text", "int", "text", "text", "bigint", "bigint"],
		"INSERT INTO wo_component_attempts (execution_id, component_id, attempt, status, \
		 error_message, started_at, finished_at) \
		 SELECT * FROM {rows} {go} \
		 ON CONFLICT (execution_id, component_id, attempt) DO UPDATE SET \
		 status = EXCLUDED.status, error_message = EXCLUDED.error_message, \
		 finished_at = EXCLUDED.finished_at",
	),
	(
		"ev",
		&["uuid", "bigint", "jsonb"],
		// In array order, so the sequence numbers follow the events' order.
		"INSERT INTO wo_execution_events (execution_id, at, data) \
		 SELECT r.execution_id, r.at, r.data FROM {rows} WITH ORDINALITY \
		   AS r(execution_id, at, data, n) {go} ORDER BY n",
	),
	(
		"lg",
		&["uuid", "bigint", "text", "text", "text"],
		"INSERT INTO wo_execution_logs (execution_id, at, level, component_id, message) \
		 SELECT * FROM {rows} {go}",
	),
	(
		"tk",
		&["uuid", "text"],
		"UPDATE wo_signals s SET taken_by = r.step \
		 FROM (SELECT * FROM {rows} {go}) AS r(id, step) \
		 WHERE s.id = r.id AND s.taken_by IS NULL",
	),
];

/// The lease check: locks the fenced executions still held as fenced (so no claim takes them
/// before the statement ends) and names the others.
const FENCE: &str = "fence AS ( \
   SELECT e.id FROM wo_executions e \
   JOIN unnest($1::uuid[], $2::bigint[], $3::text[]) AS f(id, token, node) \
   ON e.id = f.id AND e.lease_token = f.token AND e.lease_owner = f.node \
   FOR UPDATE OF e), \
 lost AS (SELECT DISTINCT f.id FROM unnest($1::uuid[]) AS f(id) \
   WHERE f.id NOT IN (SELECT id FROM fence)), \
 go AS (SELECT NOT EXISTS (SELECT 1 FROM lost) AS ok)";

/// The statement of one shape: bit 0 for fences, bits 1–6 for the tables with rows. Only the
/// parts with rows are in it (PostgreSQL plans every part, empty or not, on every execution).
/// When fenced, every upsert is conditional on no lease being lost, and the statement returns
/// the lost executions: then it wrote nothing, like a rolled-back transaction.
fn statement(shape: usize) -> &'static str {
	static SHAPES: [OnceLock<String>; 128] = [const { OnceLock::new() }; 128];
	SHAPES[shape].get_or_init(|| {
		let fenced = shape & 1 == 1;
		let mut parts = Vec::new();
		let mut next = 1;
		if fenced {
			parts.push(FENCE.to_owned());
			next = 4;
		}
		let go = if fenced {
			"WHERE (SELECT ok FROM go)"
		} else {
			""
		};
		for (i, (name, types, upsert)) in TABLES.iter().enumerate() {
			if shape & (2 << i) == 0 {
				continue;
			}
			let arrays: Vec<String> = types
				.iter()
				.enumerate()
				.map(|(k, t)| format!("${}::{t}[]", next + k))
				.collect();
			next += types.len();
			let rows = format!("unnest({})", arrays.join(", "));
			let upsert = upsert.replace("{rows}", &rows).replace("{go}", go);
			parts.push(format!("{name} AS ({upsert})"));
		}
		let answer = if fenced {
			"SELECT id FROM lost"
		} else {
			"SELECT NULL::uuid WHERE FALSE"
		};
		if parts.is_empty() {
			answer.to_owned()
		} else {
			format!("WITH {} {answer}", parts.join(", "))
		}
	})
}

/// Declares a table's columns, one `Vec` each, with the moves the group committer needs.
macro_rules! table {
	($name:ident { $first:ident: $first_ty:ty $(, $field:ident: $ty:ty)* $(,)? }) => {
		#[derive(Default)]
		struct $name {
			$first: Vec<$first_ty>,
			$($field: Vec<$ty>,)*
		}

		impl $name {
			fn len(&self) -> usize {
				self.$first.len()
			}

			fn append(&mut self, other: &mut Self) {
				self.$first.append(&mut other.$first);
				$(self.$field.append(&mut other.$field);)*
			}

			fn split_off(&mut self, at: usize) -> Self {
				Self {
					$first: self.$first.split_off(at),
					$($field: self.$field.split_off(at),)*
				}
			}
		}
	};
}

table!(Fences {
	id: Uuid,
	token: i64,
	node: String
});

table!(Executions {
	id: Uuid,
	workflow_id: Uuid,
	version: i32,
	status: &'static str,
	priority: i32,
	parameters: Value,
	vars: Value,
	results: Option<Value>,
	error: Option<String>,
	breakpoints: Value,
	idempotency_key: Option<String>,
	created_at: i64,
	started_at: Option<i64>,
	completed_at: Option<i64>,
	started_by: Option<Uuid>,
	rerun_of: Option<Uuid>,
	parent_id: Option<Uuid>,
	parent: Option<Value>,
});

table!(Steps {
	execution_id: Uuid,
	component_id: String,
	component_type: String,
	status: &'static str,
	attempt: i32,
	input: Option<Value>,
	output: Option<Value>,
	branch: Option<String>,
	error: Option<String>,
	run_at: Option<i64>,
	started_at: Option<i64>,
	completed_at: Option<i64>,
	duration_ms: Option<i64>,
	waiting: Option<Value>,
});

table!(Attempts {
	execution_id: Uuid,
	component_id: String,
	attempt: i32,
	status: &'static str,
	error: Option<String>,
	started_at: i64,
	finished_at: Option<i64>,
});

table!(Events {
	execution_id: Uuid,
	at: i64,
	data: Value
});

table!(Logs {
	execution_id: Uuid,
	at: i64,
	level: &'static str,
	component_id: Option<String>,
	message: String,
});

table!(Taken {
	signal: Uuid,
	step: String
});

/// Where a batch's rows begin in every table of a [`Columns`] it was appended to.
#[derive(Clone, Copy)]
pub(super) struct Offsets([usize; 7]);

/// One or more batches as the statement's columns: the last write of each row wins within a
/// batch; batches appended together must not share an execution (see `group.rs`).
#[derive(Default)]
pub(super) struct Columns {
	fences: Fences,
	executions: Executions,
	steps: Steps,
	attempts: Attempts,
	events: Events,
	logs: Logs,
	taken: Taken,
}

impl Columns {
	/// `batch` as columns, with the executions it touches.
	pub(super) fn of(batch: &Batch) -> (Self, HashSet<ExecutionId>) {
		let mut c = Self::default();
		let mut touched = HashSet::new();
		let rows = crate::dedup::dedup(batch);
		for f in &batch.fences {
			touched.insert(f.execution_id);
			c.fences.id.push(f.execution_id.0);
			c.fences.token.push(f.token);
			c.fences.node.push(f.node.clone());
		}
		let x = &mut c.executions;
		for e in rows.executions {
			touched.insert(e.id);
			x.id.push(e.id.0);
			x.workflow_id.push(e.workflow_id.0);
			x.version.push(e.workflow_version as i32);
			x.status.push(e.status.as_str());
			x.priority.push(i32::from(e.priority.get()));
			x.parameters.push(json(&e.parameters));
			x.vars.push(json(&e.vars));
			x.results.push(e.results.clone());
			x.error.push(e.error_message.clone());
			x.breakpoints.push(json(&e.breakpoints));
			x.idempotency_key.push(e.idempotency_key.clone());
			x.created_at.push(e.created_at);
			x.started_at.push(e.started_at);
			x.completed_at.push(e.completed_at);
			x.started_by.push(e.started_by.map(|u| u.0));
			x.rerun_of.push(e.rerun_of.map(|r| r.0));
			x.parent_id
				.push(e.parent.as_ref().map(|p| p.execution_id.0));
			x.parent.push(e.parent.as_ref().map(json));
		}
		let s = &mut c.steps;
		for r in rows.steps {
			touched.insert(r.execution_id);
			s.execution_id.push(r.execution_id.0);
			s.component_id.push(r.component_id.clone());
			s.component_type.push(r.component_type.clone());
			s.status.push(r.status.as_str());
			s.attempt.push(r.attempt as i32);
			s.input.push(r.input.clone());
			s.output.push(r.output.clone());
			s.branch.push(r.branch.clone());
			s.error.push(r.error_message.clone());
			s.run_at.push(r.run_at);
			s.started_at.push(r.started_at);
			s.completed_at.push(r.completed_at);
			s.duration_ms.push(r.duration_ms);
			s.waiting.push(r.waiting.as_ref().map(json));
		}
		let a = &mut c.attempts;
		for r in rows.attempts {
			touched.insert(r.execution_id);
			a.execution_id.push(r.execution_id.0);
			a.component_id.push(r.component_id.clone());
			a.attempt.push(r.attempt as i32);
			a.status.push(r.status.as_str());
			a.error.push(r.error_message.clone());
			a.started_at.push(r.started_at);
			a.finished_at.push(r.finished_at);
		}
		for e in rows.events {
			touched.insert(e.execution_id);
			c.events.execution_id.push(e.execution_id.0);
			c.events.at.push(e.at);
			c.events.data.push(json(e));
		}
		for l in rows.logs {
			touched.insert(l.execution_id);
			c.logs.execution_id.push(l.execution_id.0);
			c.logs.at.push(l.at);
			c.logs.level.push(l.level.as_str());
			c.logs.component_id.push(l.component_id.clone());
			c.logs.message.push(l.message.clone());
		}
		for (signal, step) in rows.taken {
			c.taken.signal.push(signal.0);
			c.taken.step.push(step.to_owned());
		}
		for w in &batch.writes {
			if let apg_core::Write::TakeSignal { execution_id, .. } = w {
				touched.insert(*execution_id);
			}
		}
		(c, touched)
	}

	/// The row counts, where rows appended next will begin.
	pub(super) fn offsets(&self) -> Offsets {
		Offsets([
			self.fences.len(),
			self.executions.len(),
			self.steps.len(),
			self.attempts.len(),
			self.events.len(),
			self.logs.len(),
			self.taken.len(),
		])
	}

	/// Adds `other`'s rows after this one's.
	pub(super) fn append(&mut self, mut other: Self) {
		self.fences.append(&mut other.fences);
		self.executions.append(&mut other.executions);
		self.steps.append(&mut other.steps);
		self.attempts.append(&mut other.attempts);
		self.events.append(&mut other.events);
		self.logs.append(&mut other.logs);
		self.taken.append(&mut other.taken);
	}

	/// Takes the rows from `at` on (a batch appended at those offsets, and any after it).
	pub(super) fn split_off(&mut self, at: Offsets) -> Self {
		let [f, x, s, a, e, l, t] = at.0;
		Self {
			fences: self.fences.split_off(f),
			executions: self.executions.split_off(x),
			steps: self.steps.split_off(s),
			attempts: self.attempts.split_off(a),
			events: self.events.split_off(e),
			logs: self.logs.split_off(l),
			taken: self.taken.split_off(t),
		}
	}

	/// Which parts [`statement`] needs.
	fn shape(&self) -> usize {
		let lens = self.offsets().0;
		lens.iter()
			.enumerate()
			.filter(|(_, n)| **n > 0)
			.fold(0, |shape, (i, _)| shape | (1 << i))
	}

	/// Writes the rows in one statement; returns the fenced executions whose lease was lost, in
	/// which case nothing was written.
	pub(super) async fn write(&self, pool: &PgPool) -> StoreResult<Vec<ExecutionId>> {
		let shape = self.shape();
		let mut q = sqlx::query_scalar::<_, Uuid>(statement(shape));
		if shape & 1 != 0 {
			let f = &self.fences;
			q = q.bind(&f.id).bind(&f.token).bind(&f.node);
		}
		if shape & 2 != 0 {
			let x = &self.executions;
			q = q
				.bind(&x.id)
				.bind(&x.workflow_id)
				.bind(&x.version)
				.bind(&x.status)
				.bind(&x.priority)
				.bind(&x.parameters)
				.bind(&x.vars)
				.bind(&x.results)
				.bind(&x.error)
				.bind(&x.breakpoints)
				.bind(&x.idempotency_key)
				.bind(&x.created_at)
				.bind(&x.started_at)
				.bind(&x.completed_at)
				.bind(&x.started_by)
				.bind(&x.rerun_of)
				.bind(&x.parent_id)
				.bind(&x.parent);
		}
		if shape & 4 != 0 {
			let s = &self.steps;
			q = q
				.bind(&s.execution_id)
				.bind(&s.component_id)
				.bind(&s.component_type)
				.bind(&s.status)
				.bind(&s.attempt)
				.bind(&s.input)
				.bind(&s.output)
				.bind(&s.branch)
				.bind(&s.error)
				.bind(&s.run_at)
				.bind(&s.started_at)
				.bind(&s.completed_at)
				.bind(&s.duration_ms)
				.bind(&s.waiting);
		}
		if shape & 8 != 0 {
			let a = &self.attempts;
			q = q
				.bind(&a.execution_id)
				.bind(&a.component_id)
				.bind(&a.attempt)
				.bind(&a.status)
				.bind(&a.error)
				.bind(&a.started_at)
				.bind(&a.finished_at);
		}
		if shape & 16 != 0 {
			let e = &self.events;
			q = q.bind(&e.execution_id).bind(&e.at).bind(&e.data);
		}
		if shape & 32 != 0 {
			let l = &self.logs;
			q = q
				.bind(&l.execution_id)
				.bind(&l.at)
				.bind(&l.level)
				.bind(&l.component_id)
				.bind(&l.message);
		}
		if shape & 64 != 0 {
			q = q.bind(&self.taken.signal).bind(&self.taken.step);
		}
		let lost = q.fetch_all(pool).await.map_err(backend)?;
		Ok(lost.into_iter().map(ExecutionId).collect())
	}
}

//! The contract every [`Store`] must meet, as plain async functions over `&dyn Store`, plus the
//! [`contract_suite!`](crate::contract_suite) macro that turns them into tests for one backend.
//! MemoryStore, SQLite and PostgreSQL run it in this crate's tests. The [`AuthStore`]
//! (accounts) cases are in `contract/accounts.rs`, re-exported here; every backend runs them too.
//!
//! [`AuthStore`]: apg_core::AuthStore

mod accounts;
mod triggers;
mod waits;

pub use accounts::*;
pub use triggers::*;
pub use waits::*;

use apg_core::store::StoreError;
use apg_core::{
	AttemptRecord, Batch, ComponentStatus, Definition, Event, EventKind, Execution,
	ExecutionFilter, ExecutionId, ExecutionStatus, LogLevel, LogRecord, Priority, StepRecord,
	Store, Workflow, WorkflowFilter, WorkflowId, WorkflowStatus, Write,
};
use serde_json::{Map, json};

/// A valid workflow owned by `owner`.
pub fn sample_workflow(name: &str, owner: &str) -> Workflow {
	let (definition, issues) = Definition::parse(&json!({
		"components": [
			{"id": "start", "type": "start", "config": {}},
			{"id": "end", "type": "end", "config": {}}
		],
		"connections": [{"source": "start", "target": "end"}]
	}));
	assert!(issues.is_empty());
	Workflow {
		id: WorkflowId::new(),
		name: name.to_owned(),
		description: Some(format!("{name} description")),
		definition,
		status: WorkflowStatus::Draft,
		category: Some("test".to_owned()),
		tags: vec!["etl".to_owned(), name.to_lowercase()],
		priority: Priority::DEFAULT,
		version: 1,
		created_by: owner.to_owned(),
		saved_by: owner.to_owned(),
		created_at: 1_000,
		updated_at: 1_000,
	}
}

/// A fresh pending execution of `workflow`.
pub fn sample_execution(workflow: &Workflow) -> Execution {
	let mut parameters = Map::new();
	parameters.insert("n".to_owned(), json!(1));
	Execution {
		id: ExecutionId::new(),
		workflow_id: workflow.id,
		workflow_version: workflow.version,
		status: ExecutionStatus::Queued,
		priority: Priority::DEFAULT,
		parameters,
		vars: Map::new(),
		results: None,
		error_message: None,
		breakpoints: Vec::new(),
		idempotency_key: None,
		started_by: Some(apg_core::UserId::new()),
		// Set, so every round trip checks the column.
		rerun_of: Some(ExecutionId::new()),
		parent: None,
		created_at: 2_000,
		started_at: None,
		completed_at: None,
	}
}

fn step(e: &Execution, id: &str, status: ComponentStatus, attempt: u32) -> StepRecord {
	StepRecord {
		execution_id: e.id,
		component_id: id.to_owned(),
		component_type: "task".to_owned(),
		status,
		attempt,
		input: Some(json!({"in": id})),
		output: (status == ComponentStatus::Completed).then(|| json!({"out": id})),
		branch: None,
		error_message: None,
		run_at: Some(5_000),
		started_at: Some(3_000),
		completed_at: None,
		duration_ms: Some(7),
		waiting: None,
	}
}

/// Workflows come back exactly as stored, and the list filters and pages.
pub async fn workflows_round_trip_and_filter(store: &dyn Store) {
	let a = sample_workflow("Alpha", "u1");
	let mut b = sample_workflow("Beta", "u1");
	b.category = Some("other".to_owned());
	b.status = WorkflowStatus::Active;
	b.updated_at = 2_000;
	store.create_workflow(&a).await.unwrap();
	store.create_workflow(&b).await.unwrap();
	assert_eq!(store.get_workflow(a.id).await.unwrap().as_ref(), Some(&a));
	assert_eq!(store.get_workflow(WorkflowId::new()).await.unwrap(), None);
	let all = store
		.list_workflows(&WorkflowFilter::default())
		.await
		.unwrap();
	assert_eq!(
		all.iter().map(|w| w.id).collect::<Vec<_>>(),
		vec![b.id, a.id],
		"newest change first"
	);
	let f = |f: WorkflowFilter| async move { store.list_workflows(&f).await.unwrap().len() };
	assert_eq!(
		f(WorkflowFilter {
			category: Some("other".into()),
			..Default::default()
		})
		.await,
		1
	);
	assert_eq!(
		f(WorkflowFilter {
			status: Some(WorkflowStatus::Draft),
			..Default::default()
		})
		.await,
		1
	);
	assert_eq!(
		f(WorkflowFilter {
			search: Some("ALPH".into()),
			..Default::default()
		})
		.await,
		1
	);
	assert_eq!(
		f(WorkflowFilter {
			search: Some("description".into()),
			..Default::default()
		})
		.await,
		2
	);
	assert_eq!(
		f(WorkflowFilter {
			tag: Some("beta".into()),
			..Default::default()
		})
		.await,
		1
	);
	assert_eq!(
		f(WorkflowFilter {
			tag: Some("etl".into()),
			..Default::default()
		})
		.await,
		2
	);
	assert_eq!(
		f(WorkflowFilter {
			limit: 1,
			offset: 1,
			..Default::default()
		})
		.await,
		1
	);
	assert_eq!(
		f(WorkflowFilter {
			limit: 5,
			offset: 2,
			..Default::default()
		})
		.await,
		0
	);
}

/// Two workflows of one owner cannot share a name; other owners can use it.
pub async fn duplicate_names_per_owner_conflict(store: &dyn Store) {
	store
		.create_workflow(&sample_workflow("Same", "u1"))
		.await
		.unwrap();
	let err = store
		.create_workflow(&sample_workflow("Same", "u1"))
		.await
		.unwrap_err();
	assert!(
		matches!(&err, StoreError::Conflict(m) if m == "a workflow named 'Same' already exists"),
		"a message for people, not the backend's: {err:?}"
	);
	store
		.create_workflow(&sample_workflow("Same", "u2"))
		.await
		.unwrap();
}

/// An update with a new version keeps every earlier version unchanged.
pub async fn versions_are_immutable(store: &dyn Store) {
	let mut w = sample_workflow("Versioned", "u1");
	store.create_workflow(&w).await.unwrap();
	let first = w.definition.clone();
	w.version = 2;
	w.definition.components[1]
		.config
		.insert("status".into(), json!("success"));
	w.updated_at = 3_000;
	assert!(store.update_workflow(&w).await.unwrap());
	let versions = store.list_versions(w.id).await.unwrap();
	assert_eq!(
		versions.iter().map(|v| v.version).collect::<Vec<_>>(),
		vec![1, 2]
	);
	assert_eq!(
		store
			.get_version(w.id, 1)
			.await
			.unwrap()
			.unwrap()
			.definition,
		first
	);
	assert_eq!(
		store
			.get_version(w.id, 2)
			.await
			.unwrap()
			.unwrap()
			.definition,
		w.definition
	);
	assert_eq!(store.get_workflow(w.id).await.unwrap().unwrap().version, 2);
	let ghost = sample_workflow("Ghost", "u1");
	assert!(!store.update_workflow(&ghost).await.unwrap());
}

/// A committed batch is read back in order; the last write of a step wins.
pub async fn batches_round_trip(store: &dyn Store) {
	let w = sample_workflow("Batch", "u1");
	store.create_workflow(&w).await.unwrap();
	let mut e = sample_execution(&w);
	let event = |kind| Event {
		execution_id: e.id,
		workflow_id: w.id,
		at: 4_000,
		kind,
	};
	let batch = Batch {
		writes: vec![
			Write::Execution(Box::new(e.clone())),
			Write::Step(Box::new(step(&e, "a", ComponentStatus::Running, 1))),
			Write::Step(Box::new(step(&e, "b", ComponentStatus::Pending, 0))),
			Write::Step(Box::new(step(&e, "a", ComponentStatus::Completed, 1))),
			Write::Attempt(AttemptRecord {
				execution_id: e.id,
				component_id: "a".into(),
				attempt: 1,
				status: ComponentStatus::Completed,
				error_message: None,
				started_at: 3_000,
				finished_at: Some(3_010),
			}),
			Write::Event(event(EventKind::Execution {
				status: ExecutionStatus::Running,
				error: None,
			})),
			Write::Event(event(EventKind::Component {
				component_id: "a".into(),
				status: ComponentStatus::Completed,
				attempt: 1,
				error: None,
				output: Some(json!({"out": "a"})),
				duration_ms: Some(3),
			})),
			Write::Log(LogRecord {
				execution_id: e.id,
				at: 4_000,
				level: LogLevel::Info,
				component_id: Some("a".into()),
				message: "hello".into(),
			}),
		],
		..Default::default()
	};
	store.commit(&batch).await.unwrap();
	assert_eq!(store.get_execution(e.id).await.unwrap().as_ref(), Some(&e));
	let steps = store.steps(e.id).await.unwrap();
	assert_eq!(steps.len(), 2);
	assert_eq!(
		steps[0],
		step(&e, "a", ComponentStatus::Completed, 1),
		"last write wins, first order kept"
	);
	assert_eq!(steps[1].component_id, "b");
	assert_eq!(store.attempts(e.id).await.unwrap().len(), 1);
	let events = store.events(e.id).await.unwrap();
	assert_eq!(events.len(), 2);
	assert!(events[0].seq < events[1].seq);
	assert_eq!(events[1].event, batch_event(&batch, 1));
	assert_eq!(store.logs(e.id).await.unwrap()[0].message, "hello");

	e.status = ExecutionStatus::Completed;
	e.results = Some(json!({"end": 1}));
	e.vars.insert("x".into(), json!(2));
	e.completed_at = Some(9_000);
	store
		.commit(&Batch {
			writes: vec![Write::Execution(Box::new(e.clone()))],
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(store.get_execution(e.id).await.unwrap(), Some(e));
}

fn batch_event(batch: &Batch, n: usize) -> Event {
	batch
		.writes
		.iter()
		.filter_map(|w| match w {
			Write::Event(e) => Some(e.clone()),
			_ => None,
		})
		.nth(n)
		.unwrap()
}

/// A batch that cannot be applied in full leaves nothing behind.
pub async fn a_failed_batch_writes_nothing(store: &dyn Store) {
	let w = sample_workflow("Atomic", "u1");
	store.create_workflow(&w).await.unwrap();
	let good = sample_execution(&w);
	let mut orphan = sample_execution(&w);
	orphan.workflow_id = WorkflowId::new();
	let batch = Batch {
		writes: vec![
			Write::Execution(Box::new(good.clone())),
			Write::Step(Box::new(step(&good, "a", ComponentStatus::Running, 1))),
			Write::Execution(Box::new(orphan)),
		],
		..Default::default()
	};
	assert!(store.commit(&batch).await.is_err());
	assert_eq!(store.get_execution(good.id).await.unwrap(), None);
	assert!(store.steps(good.id).await.unwrap().is_empty());
	assert_eq!(store.count_executions().await.unwrap(), 0);
}

/// Batches committed at once (which a store may write as one group) each get their own answer:
/// one that cannot go in fails alone and the others are written.
pub async fn concurrent_batches_fail_alone(store: &dyn Store) {
	let w = sample_workflow("Concurrent", "u1");
	store.create_workflow(&w).await.unwrap();
	let executions: Vec<Execution> = (0..48)
		.map(|i| {
			let mut e = sample_execution(&w);
			if i % 6 == 5 {
				e.workflow_id = WorkflowId::new();
			}
			e
		})
		.collect();
	let batches: Vec<Batch> = executions
		.iter()
		.map(|e| Batch {
			writes: vec![
				Write::Execution(Box::new(e.clone())),
				Write::Step(Box::new(step(e, "a", ComponentStatus::Running, 1))),
			],
			..Default::default()
		})
		.collect();
	let answers = futures_util::future::join_all(batches.iter().map(|b| store.commit(b))).await;
	for (i, (answer, e)) in answers.iter().zip(&executions).enumerate() {
		let orphan = i % 6 == 5;
		assert_eq!(answer.is_err(), orphan, "batch {i}: {answer:?}");
		let stored = store.get_execution(e.id).await.unwrap();
		assert_eq!(stored.is_some(), !orphan, "batch {i}");
		assert_eq!(store.steps(e.id).await.unwrap().len(), usize::from(!orphan));
	}
	assert_eq!(store.count_executions().await.unwrap(), 40);
}

/// Recovery sees exactly the executions not in an end state; lists filter and page.
pub async fn unfinished_and_listed_executions(store: &dyn Store) {
	let w = sample_workflow("Runs", "u1");
	let other = sample_workflow("Other", "u1");
	store.create_workflow(&w).await.unwrap();
	store.create_workflow(&other).await.unwrap();
	let mut writes = Vec::new();
	let statuses = [
		ExecutionStatus::Queued,
		ExecutionStatus::Running,
		ExecutionStatus::Paused,
		ExecutionStatus::Completed,
		ExecutionStatus::Failed,
		ExecutionStatus::Cancelled,
	];
	let mut ids = Vec::new();
	for status in statuses {
		let mut e = sample_execution(&w);
		e.status = status;
		e.results = Some(serde_json::json!({"big": "output"}));
		e.vars.insert("v".into(), serde_json::json!(1));
		e.parameters.insert("p".into(), serde_json::json!("large"));
		ids.push(e.id);
		writes.push(Write::Execution(Box::new(e)));
	}
	writes.push(Write::Execution(Box::new(sample_execution(&other))));
	store
		.commit(&Batch {
			writes,
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(store.count_executions().await.unwrap(), 7);
	let unfinished = store.unfinished_executions().await.unwrap();
	assert_eq!(unfinished.len(), 4);
	assert!(unfinished.iter().all(|e| !e.status.is_terminal()));
	let of_w = store
		.list_executions(&ExecutionFilter {
			workflow_id: Some(w.id),
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(of_w.len(), 6);
	assert_eq!(of_w[0].id, ids[5], "newest first");
	assert!(
		of_w.iter()
			.all(|e| e.results.is_none() && e.vars.is_empty() && e.parameters.is_empty()),
		"lists are summaries"
	);
	let one = store.get_execution(ids[5]).await.unwrap().unwrap();
	assert!(
		one.results.is_some() && !one.vars.is_empty() && !one.parameters.is_empty(),
		"one execution has everything"
	);
	let failed = store
		.list_executions(&ExecutionFilter {
			status: Some(ExecutionStatus::Failed),
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(failed.len(), 1);
	let page = store
		.list_executions(&ExecutionFilter {
			limit: 2,
			offset: 1,
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(page.len(), 2);
}

/// Statistics count executions per workflow by status, with mean duration and newest.
pub async fn workflow_stats_aggregate_executions(store: &dyn Store) {
	let w = sample_workflow("Stats", "u1");
	let idle = sample_workflow("Idle", "u1");
	store.create_workflow(&w).await.unwrap();
	store.create_workflow(&idle).await.unwrap();
	let mut writes = Vec::new();
	for (i, status) in [
		ExecutionStatus::Completed,
		ExecutionStatus::Completed,
		ExecutionStatus::Failed,
		ExecutionStatus::Running,
	]
	.into_iter()
	.enumerate()
	{
		let mut e = sample_execution(&w);
		e.status = status;
		e.created_at = 10_000 + i as i64;
		if status.is_terminal() {
			e.started_at = Some(0);
			e.completed_at = Some(if status == ExecutionStatus::Failed {
				4_000
			} else {
				1_000
			});
		}
		writes.push(Write::Execution(Box::new(e)));
	}
	store
		.commit(&Batch {
			writes,
			..Default::default()
		})
		.await
		.unwrap();
	let stats = store.workflow_stats(&[w.id, idle.id]).await.unwrap();
	assert!(!stats.contains_key(&idle.id));
	let s = &stats[&w.id];
	assert_eq!(
		(
			s.total_executions,
			s.successful_executions,
			s.failed_executions
		),
		(4, 2, 1)
	);
	assert_eq!(s.avg_duration_seconds, Some(2.0));
	assert_eq!(s.last_execution_at, Some(10_003));
	assert_eq!(s.success_rate(), Some(0.5));

	// A failed execution retried to completion moves from failed to successful.
	let mut retried = sample_execution(&w);
	retried.status = ExecutionStatus::Failed;
	retried.started_at = Some(0);
	retried.completed_at = Some(4_000);
	store
		.commit(&Batch {
			writes: vec![Write::Execution(Box::new(retried.clone()))],
			..Default::default()
		})
		.await
		.unwrap();
	retried.status = ExecutionStatus::Running;
	retried.completed_at = None;
	store
		.commit(&Batch {
			writes: vec![Write::Execution(Box::new(retried.clone()))],
			..Default::default()
		})
		.await
		.unwrap();
	retried.status = ExecutionStatus::Completed;
	retried.completed_at = Some(1_000);
	store
		.commit(&Batch {
			writes: vec![Write::Execution(Box::new(retried))],
			..Default::default()
		})
		.await
		.unwrap();
	let s = &store.workflow_stats(&[w.id]).await.unwrap()[&w.id];
	assert_eq!(
		(
			s.total_executions,
			s.successful_executions,
			s.failed_executions
		),
		(5, 3, 1)
	);
	assert_eq!(s.avg_duration_seconds, Some(1.75));
}

/// An execution can be found by its workflow and idempotency key.
pub async fn executions_are_found_by_idempotency_key(store: &dyn Store) {
	let w = sample_workflow("Keyed", "u1");
	store.create_workflow(&w).await.unwrap();
	let mut e = sample_execution(&w);
	e.idempotency_key = Some("abc".into());
	store
		.commit(&Batch {
			writes: vec![Write::Execution(Box::new(e.clone()))],
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(
		store.find_by_idempotency_key(w.id, "abc").await.unwrap(),
		Some(e)
	);
	assert_eq!(
		store.find_by_idempotency_key(w.id, "abd").await.unwrap(),
		None
	);
	assert_eq!(
		store
			.find_by_idempotency_key(WorkflowId::new(), "abc")
			.await
			.unwrap(),
		None
	);
}

/// The retention policy deletes ended executions older than the cutoff, in bounded batches,
/// never unfinished ones, and statistics follow.
pub async fn retention_deletes_old_ended_executions(store: &dyn Store) {
	let w = sample_workflow("Retained", "u1");
	store.create_workflow(&w).await.unwrap();
	let mut writes = Vec::new();
	let mut kept = Vec::new();
	for i in 0..5 {
		let mut e = sample_execution(&w);
		e.status = if i == 4 {
			ExecutionStatus::Running
		} else {
			ExecutionStatus::Completed
		};
		e.started_at = Some(1_000);
		e.completed_at = (i < 4).then_some(if i < 3 { 2_000 } else { 9_000 });
		if i >= 3 {
			kept.push(e.id);
		}
		writes.push(Write::Execution(Box::new(e.clone())));
		writes.push(Write::Step(Box::new(step(
			&e,
			"a",
			ComponentStatus::Completed,
			1,
		))));
	}
	store
		.commit(&Batch {
			writes,
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(
		store.delete_ended_before(5_000, 2).await.unwrap(),
		2,
		"bounded by the limit"
	);
	assert_eq!(store.delete_ended_before(5_000, 2).await.unwrap(), 1);
	assert_eq!(store.delete_ended_before(5_000, 2).await.unwrap(), 0);
	assert_eq!(store.count_executions().await.unwrap(), 2);
	for id in kept {
		assert!(store.get_execution(id).await.unwrap().is_some());
	}
	let stats = store.workflow_stats(&[w.id]).await.unwrap();
	assert_eq!(stats[&w.id].total_executions, 2);
	assert_eq!(stats[&w.id].successful_executions, 1);
}

/// Events of all executions can be tailed by sequence number, including late ones asked for.
pub async fn events_can_be_tailed_in_sequence_order(store: &dyn Store) {
	let w = sample_workflow("Tailed", "u1");
	store.create_workflow(&w).await.unwrap();
	let start = store.last_event_seq().await.unwrap();
	let mut writes = Vec::new();
	for _ in 0..3 {
		let e = sample_execution(&w);
		writes.push(Write::Execution(Box::new(e.clone())));
		writes.push(Write::Event(Event {
			execution_id: e.id,
			workflow_id: w.id,
			at: 1,
			kind: EventKind::Execution {
				status: ExecutionStatus::Queued,
				error: None,
			},
		}));
	}
	store
		.commit(&Batch {
			writes,
			..Default::default()
		})
		.await
		.unwrap();
	let all = store.events_after(start, &[], 100).await.unwrap();
	assert_eq!(all.len(), 3);
	assert!(all.windows(2).all(|p| p[0].seq < p[1].seq));
	assert_eq!(store.last_event_seq().await.unwrap(), all[2].seq);
	let page = store.events_after(start, &[], 2).await.unwrap();
	assert_eq!(page.len(), 2);
	let rest = store
		.events_after(all[2].seq, &[all[0].seq], 100)
		.await
		.unwrap();
	assert_eq!(
		rest.iter().map(|r| r.seq).collect::<Vec<_>>(),
		vec![all[0].seq],
		"a missing one is fetched again"
	);
}

/// Deleting a workflow deletes its versions and executions with all their records.
pub async fn deleting_a_workflow_cascades(store: &dyn Store) {
	let w = sample_workflow("Doomed", "u1");
	store.create_workflow(&w).await.unwrap();
	let e = sample_execution(&w);
	store
		.commit(&Batch {
			writes: vec![
				Write::Execution(Box::new(e.clone())),
				Write::Step(Box::new(step(&e, "a", ComponentStatus::Completed, 1))),
			],
			..Default::default()
		})
		.await
		.unwrap();
	assert!(store.delete_workflow(w.id).await.unwrap());
	assert!(!store.delete_workflow(w.id).await.unwrap());
	assert_eq!(store.get_workflow(w.id).await.unwrap(), None);
	assert_eq!(store.get_execution(e.id).await.unwrap(), None);
	assert!(store.steps(e.id).await.unwrap().is_empty());
	assert!(store.list_versions(w.id).await.unwrap().is_empty());
}

/// Generates one `#[tokio::test]` per contract function for a backend; `$make` is an async
/// expression yielding `Some((guard, store))`: a fresh, migrated `Box<dyn Backend>` (a
/// [`Store`] that is also an [`AuthStore`](apg_core::AuthStore)) and whatever must outlive it,
/// or `None` when the backend is not configured here (the test then says so and passes; CI
/// configures every backend, so there it always runs).
#[macro_export]
macro_rules! contract_suite {
	($make:expr) => {
		$crate::contract_suite!(@tests $make;
			workflows_round_trip_and_filter,
			duplicate_names_per_owner_conflict,
			versions_are_immutable,
			batches_round_trip,
			a_failed_batch_writes_nothing,
			concurrent_batches_fail_alone,
			unfinished_and_listed_executions,
			workflow_stats_aggregate_executions,
			executions_are_found_by_idempotency_key,
			retention_deletes_old_ended_executions,
			events_can_be_tailed_in_sequence_order,
			deleting_a_workflow_cascades,
			signals_are_kept_until_taken,
			decisions_are_one_per_user_and_round,
			waiting_steps_are_found_by_kind,
			children_are_found_by_their_parent_and_pending_ones_wait,
			users_round_trip,
			deleting_a_user_cascades,
			api_keys_find_list_and_revoke,
			shares_replace_and_follow_their_workflow,
			visible_to_limits_workflows_and_executions,
			credentials_unique_per_owner,
			audit_lists_newest_first_with_filters,
			notifications_belong_to_their_user
		);
	};
	(@tests $make:expr; $($name:ident),+) => {
		$(
			#[tokio::test]
			async fn $name() {
				let Some((_guard, store)) = $make.await else {
					eprintln!("skipped: this backend is not configured");
					return;
				};
				$crate::contract::$name(&*store).await;
			}
		)+
	};
}

//! The trigger contract ([`ScheduleStore`] and [`HookStore`]), run against SQLite and
//! PostgreSQL (the memory store has neither: nothing that runs a server uses it) by
//! [`trigger_suite!`](crate::trigger_suite).

use apg_core::hook::{Algorithm, Respond, Signature};
use apg_core::{
	CatchUp, ExecutionStatus, Fire, FireStatus, Hook, HookId, HookSettings, HookStore, Overlap,
	Schedule, ScheduleId, ScheduleStore, Store, UserId, Write,
};
use serde_json::{Map, json};

use super::{sample_execution, sample_workflow};

/// A backend with triggers.
pub trait TriggerBackend: Store + ScheduleStore + HookStore {}

impl<T: Store + ScheduleStore + HookStore> TriggerBackend for T {}

fn sample_schedule(workflow: apg_core::WorkflowId, next: i64) -> Schedule {
	let mut parameters = Map::new();
	parameters.insert("region".into(), json!("eu"));
	Schedule {
		id: ScheduleId::new(),
		workflow_id: workflow,
		name: "nightly".into(),
		cron: "0 2 * * *".into(),
		timezone: "Europe/Paris".into(),
		parameters,
		overlap: Overlap::Skip,
		catch_up: CatchUp::Latest,
		paused: false,
		created_by: UserId::new(),
		created_at: 1_000,
		updated_at: 1_000,
		next_fire_at: Some(next),
	}
}

fn fire(s: &Schedule, at: i64, status: FireStatus) -> Fire {
	Fire {
		schedule_id: s.id,
		fire_at: at,
		status,
		execution_id: None,
		detail: None,
		recorded_at: at + 1,
	}
}

/// A schedule round-trips, updates, lists by workflow and goes with its workflow.
pub async fn schedules_round_trip(store: &dyn TriggerBackend) {
	let w = sample_workflow("Scheduled", "u1");
	let other = sample_workflow("Other", "u1");
	store.create_workflow(&w).await.unwrap();
	store.create_workflow(&other).await.unwrap();
	let mut s = sample_schedule(w.id, 5_000);
	store.create_schedule(&s).await.unwrap();
	store
		.create_schedule(&sample_schedule(other.id, 6_000))
		.await
		.unwrap();
	assert_eq!(store.get_schedule(s.id).await.unwrap(), Some(s.clone()));
	assert_eq!(store.list_schedules(None).await.unwrap().len(), 2);
	assert_eq!(
		store.list_schedules(Some(w.id)).await.unwrap(),
		vec![s.clone()]
	);
	s.cron = "*/5 * * * * *".into();
	s.overlap = Overlap::Queue;
	s.catch_up = CatchUp::All;
	s.paused = true;
	s.next_fire_at = None;
	s.updated_at = 2_000;
	assert!(store.update_schedule(&s).await.unwrap());
	assert_eq!(store.get_schedule(s.id).await.unwrap(), Some(s.clone()));
	let mut ghost = s.clone();
	ghost.id = ScheduleId::new();
	assert!(!store.update_schedule(&ghost).await.unwrap());
	store.delete_workflow(w.id).await.unwrap();
	assert_eq!(
		store.get_schedule(s.id).await.unwrap(),
		None,
		"gone with its workflow"
	);
	assert_eq!(store.list_schedules(None).await.unwrap().len(), 1);
}

/// Due schedules are claimed by one node at a time until advanced or the lease ends; paused and
/// future ones are not claimed; a queued fire makes a schedule due.
pub async fn due_schedules_are_leased(store: &dyn TriggerBackend) {
	let w = sample_workflow("Due", "u1");
	store.create_workflow(&w).await.unwrap();
	let due = sample_schedule(w.id, 5_000);
	let later = sample_schedule(w.id, 50_000);
	let mut paused = sample_schedule(w.id, 1_000);
	paused.paused = true;
	for s in [&due, &later, &paused] {
		store.create_schedule(s).await.unwrap();
	}
	let a = store
		.claim_due_schedules("a", 10_000, 40_000, 10)
		.await
		.unwrap();
	assert_eq!(a.iter().map(|s| s.id).collect::<Vec<_>>(), vec![due.id]);
	let b = store
		.claim_due_schedules("b", 11_000, 41_000, 10)
		.await
		.unwrap();
	assert!(b.is_empty(), "held by a");
	assert!(
		!store
			.advance_schedule(due.id, "b", Some(60_000))
			.await
			.unwrap()
	);
	// The lease ran out: b takes it over, and a can no longer advance it.
	let b = store
		.claim_due_schedules("b", 40_001, 70_000, 10)
		.await
		.unwrap();
	assert_eq!(b.len(), 1);
	assert!(
		!store
			.advance_schedule(due.id, "a", Some(60_000))
			.await
			.unwrap()
	);
	assert!(
		store
			.advance_schedule(due.id, "b", Some(60_000))
			.await
			.unwrap()
	);
	let now = store.get_schedule(due.id).await.unwrap().unwrap();
	assert_eq!(now.next_fire_at, Some(60_000));
	assert!(
		store
			.claim_due_schedules("a", 40_002, 70_000, 10)
			.await
			.unwrap()
			.is_empty()
	);
	// A queued fire makes it due before its next time.
	store
		.record_fire(&fire(&due, 55_000, FireStatus::Queued))
		.await
		.unwrap();
	let a = store
		.claim_due_schedules("a", 40_003, 70_000, 10)
		.await
		.unwrap();
	assert_eq!(a.iter().map(|s| s.id).collect::<Vec<_>>(), vec![due.id]);
}

/// A fire is recorded once per time; only a queued one may be replaced; open fires are the
/// queued ones and those whose execution has not ended.
pub async fn fires_are_recorded_once(store: &dyn TriggerBackend) {
	let w = sample_workflow("Fires", "u1");
	store.create_workflow(&w).await.unwrap();
	let s = sample_schedule(w.id, 5_000);
	store.create_schedule(&s).await.unwrap();
	let mut running = sample_execution(&w);
	running.status = ExecutionStatus::Running;
	let mut ended = sample_execution(&w);
	ended.status = ExecutionStatus::Completed;
	let batch = apg_core::Batch {
		writes: vec![
			Write::Execution(Box::new(running.clone())),
			Write::Execution(Box::new(ended.clone())),
		],
		..Default::default()
	};
	store.commit(&batch).await.unwrap();
	let started = |at, e: &apg_core::Execution| Fire {
		execution_id: Some(e.id),
		..fire(&s, at, FireStatus::Started)
	};
	assert!(store.record_fire(&started(1_000, &ended)).await.unwrap());
	assert!(store.record_fire(&started(2_000, &running)).await.unwrap());
	assert!(
		!store
			.record_fire(&fire(&s, 2_000, FireStatus::Skipped))
			.await
			.unwrap(),
		"a decided fire is kept"
	);
	assert!(
		store
			.record_fire(&fire(&s, 3_000, FireStatus::Queued))
			.await
			.unwrap()
	);
	assert!(
		store
			.record_fire(&fire(&s, 4_000, FireStatus::Skipped))
			.await
			.unwrap()
	);
	let open = store.open_fires(s.id).await.unwrap();
	assert_eq!(
		open.iter()
			.map(|f| (f.fire_at, f.status))
			.collect::<Vec<_>>(),
		vec![(2_000, FireStatus::Started), (3_000, FireStatus::Queued)]
	);
	// The queued one starts later: replaced.
	assert!(store.record_fire(&started(3_000, &ended)).await.unwrap());
	let listed = store.list_fires(s.id, 10).await.unwrap();
	assert_eq!(
		listed.iter().map(|f| f.fire_at).collect::<Vec<_>>(),
		vec![4_000, 3_000, 2_000, 1_000],
		"newest first"
	);
	assert_eq!(listed[1].status, FireStatus::Started);
	assert_eq!(listed[1].execution_id, Some(ended.id));
	assert_eq!(store.list_fires(s.id, 2).await.unwrap().len(), 2);
	store.delete_schedule(s.id).await.unwrap();
	assert!(store.list_fires(s.id, 10).await.unwrap().is_empty());
}

/// A hook round-trips, is found by its token's hash only, rotates, and goes with its workflow;
/// two hooks cannot share a token hash.
pub async fn hooks_round_trip(store: &dyn TriggerBackend) {
	let w = sample_workflow("Hooked", "u1");
	store.create_workflow(&w).await.unwrap();
	let mut hook = Hook {
		id: HookId::new(),
		workflow_id: w.id,
		token_hash: "a".repeat(64),
		settings: HookSettings {
			name: "github".into(),
			token_prefix: "apg_hook_ab".into(),
			signature: Some(Signature {
				header: "x-hub-signature-256".into(),
				algorithm: Algorithm::Sha256,
				sealed_secret: "sealed".into(),
			}),
			headers: vec!["x-github-event".into()],
			respond: Respond::OnCompletion,
			timeout_seconds: 30,
			max_body_bytes: 1 << 20,
			rate_per_minute: 60,
		},
		created_by: UserId::new(),
		created_at: 1_000,
		updated_at: 1_000,
	};
	store.create_hook(&hook).await.unwrap();
	assert_eq!(store.get_hook(hook.id).await.unwrap(), Some(hook.clone()));
	assert_eq!(
		store.find_hook(&"a".repeat(64)).await.unwrap(),
		Some(hook.clone())
	);
	assert_eq!(store.find_hook(&"b".repeat(64)).await.unwrap(), None);
	let twin = Hook {
		id: HookId::new(),
		..hook.clone()
	};
	assert!(
		store.create_hook(&twin).await.is_err(),
		"one token, one hook"
	);
	hook.token_hash = "c".repeat(64);
	hook.settings.rate_per_minute = 5;
	hook.updated_at = 2_000;
	assert!(store.update_hook(&hook).await.unwrap());
	assert_eq!(
		store.find_hook(&"a".repeat(64)).await.unwrap(),
		None,
		"the old token is dead"
	);
	assert_eq!(store.list_hooks(w.id).await.unwrap(), vec![hook.clone()]);
	assert!(store.delete_hook(hook.id).await.unwrap());
	assert!(!store.delete_hook(hook.id).await.unwrap());
	store.create_hook(&twin).await.unwrap();
	store.delete_workflow(w.id).await.unwrap();
	assert_eq!(
		store.get_hook(twin.id).await.unwrap(),
		None,
		"gone with its workflow"
	);
}

/// Generates one `#[tokio::test]` per trigger contract function, like
/// [`contract_suite!`](crate::contract_suite).
#[macro_export]
macro_rules! trigger_suite {
	($make:expr) => {
		$crate::trigger_suite!(@tests $make;
			schedules_round_trip,
			due_schedules_are_leased,
			fires_are_recorded_once,
			hooks_round_trip
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

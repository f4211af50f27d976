//! The contract of durable waits' storage: signals are kept until a checkpoint takes them,
//! decisions are one per user and round, and steps that wait are found by kind while their
//! execution has not ended.

use apg_core::store::StoreError;
use apg_core::{
	ApprovalRequest, Batch, ComponentStatus, Decision, ExecutionStatus, SignalId, SignalRecord,
	SignalWait, Store, UserId, Verdict, WaitKind, Waiting, Write,
};
use serde_json::{Map, json};

use super::{sample_execution, sample_workflow, step};

fn signal(e: apg_core::ExecutionId, name: &str, at: i64) -> SignalRecord {
	SignalRecord {
		id: SignalId::new(),
		execution_id: e,
		name: name.to_owned(),
		key: Some("k1".to_owned()),
		payload: json!({"name": name, "n": [1, 2]}),
		sent_by: Some(UserId::new()),
		created_at: at,
		taken_by: None,
	}
}

/// Signals come back oldest first until a checkpoint takes them; one for an unknown execution
/// is refused.
pub async fn signals_are_kept_until_taken(store: &dyn Store) {
	let w = sample_workflow("Signals", "u1");
	store.create_workflow(&w).await.unwrap();
	let e = sample_execution(&w);
	let write = Batch {
		writes: vec![Write::Execution(Box::new(e.clone()))],
		..Default::default()
	};
	store.commit(&write).await.unwrap();
	let late = signal(e.id, "late", 20);
	let early = signal(e.id, "early", 10);
	store.put_signal(&late).await.unwrap();
	store.put_signal(&early).await.unwrap();
	assert_eq!(
		store.pending_signals(e.id).await.unwrap(),
		vec![early.clone(), late.clone()]
	);
	let take = Batch {
		writes: vec![
			Write::Step(Box::new(step(&e, "wait", ComponentStatus::Completed, 1))),
			Write::TakeSignal {
				execution_id: e.id,
				signal: early.id,
				component_id: "wait".to_owned(),
			},
		],
		..Default::default()
	};
	store.commit(&take).await.unwrap();
	assert_eq!(store.pending_signals(e.id).await.unwrap(), vec![late]);
	let stray = signal(apg_core::ExecutionId::new(), "stray", 1);
	assert!(matches!(
		store.put_signal(&stray).await,
		Err(StoreError::Dangling(_))
	));
}

/// One decision per user and round; each round keeps its own.
pub async fn decisions_are_one_per_user_and_round(store: &dyn Store) {
	let w = sample_workflow("Decisions", "u1");
	store.create_workflow(&w).await.unwrap();
	let e = sample_execution(&w);
	let write = Batch {
		writes: vec![Write::Execution(Box::new(e.clone()))],
		..Default::default()
	};
	store.commit(&write).await.unwrap();
	let mut values = Map::new();
	values.insert("reason".to_owned(), json!("ok"));
	let first = Decision {
		execution_id: e.id,
		component_id: "approve".to_owned(),
		round: 1,
		user_id: UserId::new(),
		username: "alice".to_owned(),
		verdict: Verdict::Approve,
		comment: Some("fine".to_owned()),
		values,
		decided_at: 100,
	};
	store.put_decision(&first).await.unwrap();
	let again = Decision {
		verdict: Verdict::Reject,
		decided_at: 101,
		..first.clone()
	};
	assert!(matches!(
		store.put_decision(&again).await,
		Err(StoreError::Conflict(_))
	));
	let next_round = Decision {
		round: 2,
		decided_at: 102,
		..again
	};
	store.put_decision(&next_round).await.unwrap();
	assert_eq!(
		store.decisions(e.id).await.unwrap(),
		vec![first, next_round]
	);
}

/// What a step waits for round-trips, and waiting steps are found by kind until their
/// execution ends.
pub async fn waiting_steps_are_found_by_kind(store: &dyn Store) {
	let w = sample_workflow("Waiting", "u1");
	store.create_workflow(&w).await.unwrap();
	let mut e = sample_execution(&w);
	e.status = ExecutionStatus::Running;
	let mut approval = step(&e, "approve", ComponentStatus::Running, 1);
	approval.component_type = "approval".to_owned();
	approval.waiting = Some(Waiting::Approval(ApprovalRequest {
		users: vec!["alice".to_owned()],
		required: 2,
		round: 1,
		form: Some(json!({"type": "object"})),
		..ApprovalRequest::default()
	}));
	let mut wait = step(&e, "wait", ComponentStatus::Running, 1);
	wait.component_type = "wait_for_event".to_owned();
	wait.waiting = Some(Waiting::Signal(SignalWait {
		name: "paid".to_owned(),
		key: Some("o-1".to_owned()),
		on_timeout_continue: false,
		deadline: Some(9_000),
	}));
	let write = Batch {
		writes: vec![
			Write::Execution(Box::new(e.clone())),
			Write::Step(Box::new(approval.clone())),
			Write::Step(Box::new(wait.clone())),
			Write::Step(Box::new(step(&e, "other", ComponentStatus::Running, 1))),
		],
		..Default::default()
	};
	store.commit(&write).await.unwrap();
	let steps = store.steps(e.id).await.unwrap();
	assert_eq!(steps[0], approval);
	assert_eq!(steps[1], wait);
	assert_eq!(
		store.waiting_steps(WaitKind::Approval, 10).await.unwrap(),
		vec![approval]
	);
	assert_eq!(
		store.waiting_steps(WaitKind::Signal, 10).await.unwrap(),
		vec![wait]
	);
	e.status = ExecutionStatus::Completed;
	let end = Batch {
		writes: vec![Write::Execution(Box::new(e.clone()))],
		..Default::default()
	};
	store.commit(&end).await.unwrap();
	assert!(
		store
			.waiting_steps(WaitKind::Approval, 10)
			.await
			.unwrap()
			.is_empty()
	);
}

/// Children are found by their parent, whole; pending ones are not resumed.
pub async fn children_are_found_by_their_parent_and_pending_ones_wait(store: &dyn Store) {
	let w = sample_workflow("Family", "u1");
	store.create_workflow(&w).await.unwrap();
	let parent = sample_execution(&w);
	let child = |item: u32, status: ExecutionStatus| {
		let mut c = sample_execution(&w);
		c.status = status;
		c.parameters.insert("item".to_owned(), json!(item));
		c.parent = Some(apg_core::ParentLink {
			execution_id: parent.id,
			component_id: "each".to_owned(),
			round: 1,
			item: Some(item),
			inline: true,
			depth: 1,
		});
		c
	};
	let (held, released) = (
		child(0, ExecutionStatus::Pending),
		child(1, ExecutionStatus::Queued),
	);
	let write = Batch {
		writes: vec![
			Write::Execution(Box::new(parent.clone())),
			Write::Execution(Box::new(held.clone())),
			Write::Execution(Box::new(released.clone())),
		],
		..Default::default()
	};
	store.commit(&write).await.unwrap();
	let mut expected = vec![held.clone(), released.clone()];
	expected.sort_by_key(|e| e.id);
	assert_eq!(store.children(parent.id).await.unwrap(), expected);
	assert!(store.children(held.id).await.unwrap().is_empty());
	let unfinished: Vec<_> = store
		.unfinished_executions()
		.await
		.unwrap()
		.into_iter()
		.map(|e| e.id)
		.collect();
	assert!(unfinished.contains(&parent.id) && unfinished.contains(&released.id));
	assert!(
		!unfinished.contains(&held.id),
		"a pending child waits for its parent"
	);
}

//! The [`AuthStore`] half of the contract: users, API keys, shares (and what they make visible
//! through [`Store`]'s lists), credentials and the audit log.

use apg_core::account::{KeyScope, RefreshFamily, Rotation, ScopedKey};
use apg_core::store::StoreError;
use apg_core::{
	ApiKey, ApiKeyId, AuditEntry, AuditFilter, AuthStore, Batch, Credential, CredentialId,
	ExecutionFilter, ExecutionId, Notification, NotificationId, NotificationLevel,
	NotificationStore, Role, Share, Store, User, UserId, WorkflowAction, WorkflowFilter,
	WorkflowId, Write,
};
use serde_json::json;

use super::{sample_execution, sample_workflow};

/// A backend under test: every seam, as the account cases need (shares are about workflows).
pub trait Backend: Store + AuthStore + NotificationStore {}

impl<T: Store + AuthStore + NotificationStore> Backend for T {}

/// A fresh editor named `username`.
pub fn sample_user(username: &str) -> User {
	User {
		id: UserId::new(),
		username: username.to_owned(),
		password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${username}"),
		role: Role::Editor,
		active: true,
		created_at: 1_000,
		updated_at: 1_000,
	}
}

/// A fresh, unrevoked API key of `user`.
pub fn sample_key(user: UserId, name: &str, created_at: i64) -> ApiKey {
	ApiKey {
		id: ApiKeyId::new(),
		user_id: user,
		name: name.to_owned(),
		prefix: format!("apg_{name}"),
		hash: format!("{:064x}", uuid::Uuid::now_v7().as_u128()),
		created_at,
		expires_at: Some(created_at + 86_400_000),
		revoked_at: None,
	}
}

/// A fresh credential `name` of `owner`.
pub fn sample_credential(owner: UserId, name: &str) -> Credential {
	Credential {
		id: CredentialId::new(),
		owner,
		name: name.to_owned(),
		description: Some(format!("{name} description")),
		token: format!("gAAAA-{name}"),
		created_at: 1_000,
		updated_at: 1_000,
	}
}

fn share(workflow: WorkflowId, user: UserId, actions: &[WorkflowAction], at: i64) -> Share {
	Share {
		workflow_id: workflow,
		user_id: user,
		actions: actions.to_vec(),
		created_at: at,
	}
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
	v.sort();
	v
}

fn is_conflict(err: &StoreError, text: &str) -> bool {
	matches!(err, StoreError::Conflict(m) if m.contains(text) && !m.contains("UNIQUE")
		&& !m.contains("constraint"))
}

/// Users come back as stored, are found by id and username (ignoring case), listed by
/// username, counted, updated and deleted; a username is unique ignoring case, and a taken one
/// is a conflict with our message, not the database's.
pub async fn users_round_trip(store: &dyn Backend) {
	assert_eq!(store.count_users().await.unwrap(), 0);
	let mut bob = sample_user("bob");
	let mut alice = sample_user("alice");
	alice.role = Role::Admin;
	store.create_user(&bob).await.unwrap();
	store.create_user(&alice).await.unwrap();
	assert_eq!(store.get_user(bob.id).await.unwrap().as_ref(), Some(&bob));
	assert_eq!(store.get_user(UserId::new()).await.unwrap(), None);
	assert_eq!(
		store.find_user("alice").await.unwrap().as_ref(),
		Some(&alice)
	);
	assert_eq!(
		store.find_user("ALICE").await.unwrap().as_ref(),
		Some(&alice),
		"a login finds the account whatever the case"
	);
	assert_eq!(store.count_users().await.unwrap(), 2);
	assert_eq!(
		store.list_users().await.unwrap(),
		vec![alice.clone(), bob.clone()],
		"by username"
	);

	let err = store.create_user(&sample_user("bob")).await.unwrap_err();
	assert!(is_conflict(&err, "username 'bob' is taken"), "{err:?}");
	for look_alike in ["BOB", "Bob", "bOb"] {
		let err = store
			.create_user(&sample_user(look_alike))
			.await
			.unwrap_err();
		let taken = format!("username '{look_alike}' is taken");
		assert!(is_conflict(&err, &taken), "{look_alike}: {err:?}");
	}
	assert_eq!(store.count_users().await.unwrap(), 2);

	bob.username = "robert".to_owned();
	bob.password_hash = "$argon2id$new".to_owned();
	bob.role = Role::Viewer;
	bob.active = false;
	bob.updated_at = 2_000;
	assert!(store.update_user(&bob).await.unwrap());
	assert_eq!(store.get_user(bob.id).await.unwrap().as_ref(), Some(&bob));
	assert_eq!(store.find_user("bob").await.unwrap(), None);
	assert!(!store.update_user(&sample_user("ghost")).await.unwrap());
	alice.username = "robert".to_owned();
	let err = store.update_user(&alice).await.unwrap_err();
	assert!(is_conflict(&err, "username 'robert' is taken"), "{err:?}");
	alice.username = "ROBERT".to_owned();
	let err = store.update_user(&alice).await.unwrap_err();
	assert!(is_conflict(&err, "username 'ROBERT' is taken"), "{err:?}");
	assert_eq!(
		store.get_user(alice.id).await.unwrap().unwrap().username,
		"alice",
		"a failed update changes nothing"
	);

	assert!(store.delete_user(bob.id).await.unwrap());
	assert!(!store.delete_user(bob.id).await.unwrap());
	assert_eq!(store.get_user(bob.id).await.unwrap(), None);
	assert_eq!(store.count_users().await.unwrap(), 1);
	// The name is free again, in any case; and a user may change the case of their own name.
	let mut robert = sample_user("Robert");
	store.create_user(&robert).await.unwrap();
	robert.username = "robert".to_owned();
	assert!(store.update_user(&robert).await.unwrap());
	assert_eq!(
		store.find_user("ROBERT").await.unwrap().map(|u| u.id),
		Some(robert.id)
	);
}

/// Deleting a user deletes their API keys, refresh families, shares and credentials, and
/// nobody else's.
pub async fn deleting_a_user_cascades(store: &dyn Backend) {
	let doomed = sample_user("doomed");
	let other = sample_user("other");
	store.create_user(&doomed).await.unwrap();
	store.create_user(&other).await.unwrap();
	let w = sample_workflow("Shared", &other.id.to_string());
	store.create_workflow(&w).await.unwrap();
	let read = [WorkflowAction::Read];
	store
		.set_shares(
			w.id,
			&[
				share(w.id, doomed.id, &read, 1),
				share(w.id, other.id, &read, 2),
			],
		)
		.await
		.unwrap();
	let doomed_key = sample_key(doomed.id, "ci", 1_000);
	let other_key = sample_key(other.id, "ci", 1_000);
	store.create_api_key(&doomed_key).await.unwrap();
	store.create_api_key(&other_key).await.unwrap();
	let doomed_secret = sample_credential(doomed.id, "TOKEN");
	let other_secret = sample_credential(other.id, "TOKEN");
	store.create_credential(&doomed_secret).await.unwrap();
	store.create_credential(&other_secret).await.unwrap();
	let doomed_login = sample_family(doomed.id, 1_000);
	let other_login = sample_family(other.id, 1_000);
	store.create_refresh_family(&doomed_login).await.unwrap();
	store.create_refresh_family(&other_login).await.unwrap();

	assert!(store.delete_user(doomed.id).await.unwrap());
	assert_eq!(
		store.get_refresh_family(doomed_login.id).await.unwrap(),
		None
	);
	assert_eq!(
		store.get_refresh_family(other_login.id).await.unwrap(),
		Some(other_login)
	);
	assert_eq!(store.find_api_key(&doomed_key.hash).await.unwrap(), None);
	assert!(store.list_api_keys(doomed.id).await.unwrap().is_empty());
	assert_eq!(store.share_for(w.id, doomed.id).await.unwrap(), None);
	assert_eq!(store.get_credential(doomed_secret.id).await.unwrap(), None);
	assert!(
		store
			.list_credentials(Some(doomed.id))
			.await
			.unwrap()
			.is_empty()
	);

	assert_eq!(
		store.find_api_key(&other_key.hash).await.unwrap(),
		Some(other_key)
	);
	assert_eq!(
		store.shares(w.id).await.unwrap(),
		vec![share(w.id, other.id, &read, 2)]
	);
	assert_eq!(
		store.list_credentials(None).await.unwrap(),
		vec![other_secret]
	);
	assert!(store.get_workflow(w.id).await.unwrap().is_some());
}

/// API keys are found by hash (revoked or not), listed newest first, and revoked only by their
/// owner and only once; they keep their scopes; a new password revokes them. (This case also
/// runs [`api_keys_die_with_the_password`] and [`refresh_families_rotate_once`].)
pub async fn api_keys_find_list_and_revoke(store: &dyn Backend) {
	let ann = sample_user("ann");
	let ben = sample_user("ben");
	store.create_user(&ann).await.unwrap();
	store.create_user(&ben).await.unwrap();
	let old = sample_key(ann.id, "old", 1_000);
	let mut new = sample_key(ann.id, "new", 2_000);
	new.expires_at = None;
	let bens = sample_key(ben.id, "bens", 3_000);
	for k in [&old, &new, &bens] {
		store.create_api_key(k).await.unwrap();
	}
	assert_eq!(
		store.find_api_key(&old.hash).await.unwrap().as_ref(),
		Some(&old)
	);
	assert_eq!(store.find_api_key("0").await.unwrap(), None);
	assert_eq!(
		store.list_api_keys(ann.id).await.unwrap(),
		vec![new.clone(), old.clone()],
		"newest first"
	);
	assert_eq!(
		store.list_api_keys(ben.id).await.unwrap(),
		vec![bens.clone()]
	);

	let mut dup = sample_key(ann.id, "dup", 4_000);
	dup.hash = old.hash.clone();
	let err = store.create_api_key(&dup).await.unwrap_err();
	assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

	assert!(
		!store.revoke_api_key(ben.id, old.id, 5_000).await.unwrap(),
		"not his key"
	);
	assert_eq!(
		store
			.find_api_key(&old.hash)
			.await
			.unwrap()
			.unwrap()
			.revoked_at,
		None
	);
	assert!(store.revoke_api_key(ann.id, old.id, 5_000).await.unwrap());
	assert!(
		!store.revoke_api_key(ann.id, old.id, 6_000).await.unwrap(),
		"only once"
	);
	assert!(
		!store
			.revoke_api_key(ann.id, ApiKeyId::new(), 6_000)
			.await
			.unwrap()
	);
	let revoked = store.find_api_key(&old.hash).await.unwrap().unwrap();
	assert_eq!(revoked.revoked_at, Some(5_000), "found even when revoked");
	assert_eq!(store.list_api_keys(ann.id).await.unwrap()[1], revoked);
	assert_eq!(
		store
			.find_api_key(&new.hash)
			.await
			.unwrap()
			.unwrap()
			.revoked_at,
		None
	);

	// Scopes: a key made without any has the default; others keep theirs.
	assert_eq!(
		store
			.find_scoped_api_key(&new.hash)
			.await
			.unwrap()
			.unwrap()
			.scopes,
		KeyScope::DEFAULT
	);
	let minting = ScopedKey {
		key: sample_key(ben.id, "minting", 7_000),
		scopes: vec![KeyScope::Api, KeyScope::Keys, KeyScope::Metrics],
	};
	store.create_scoped_api_key(&minting).await.unwrap();
	assert_eq!(
		store.find_scoped_api_key(&minting.key.hash).await.unwrap(),
		Some(minting.clone())
	);
	assert_eq!(
		store.list_scoped_api_keys(ben.id).await.unwrap()[0],
		minting,
		"listed with scopes, newest first"
	);

	api_keys_die_with_the_password(store).await;
	refresh_families_rotate_once(store).await;
}

/// A new password hash revokes every unrevoked key of its user when the user is written (a
/// revoked one keeps its time); a write that keeps the hash, or another user's new password,
/// revokes nothing.
pub async fn api_keys_die_with_the_password(store: &dyn Backend) {
	let mut cara = sample_user("cara");
	let dan = sample_user("dan");
	store.create_user(&cara).await.unwrap();
	store.create_user(&dan).await.unwrap();
	let live = sample_key(cara.id, "live", 1_000);
	let gone = sample_key(cara.id, "gone", 1_000);
	let dans = sample_key(dan.id, "dans", 1_000);
	for k in [&live, &gone, &dans] {
		store.create_api_key(k).await.unwrap();
	}
	assert!(store.revoke_api_key(cara.id, gone.id, 1_500).await.unwrap());
	let revoked_at =
		|hash: String| async move { store.find_api_key(&hash).await.unwrap().unwrap().revoked_at };

	cara.role = Role::Viewer;
	cara.updated_at = 2_000;
	assert!(store.update_user(&cara).await.unwrap());
	assert_eq!(revoked_at(live.hash.clone()).await, None, "same password");

	// A failed write (a taken name) revokes nothing either.
	let mut clash = cara.clone();
	clash.username = "DAN".to_owned();
	clash.password_hash = "$argon2id$other".to_owned();
	assert!(store.update_user(&clash).await.is_err());
	assert_eq!(revoked_at(live.hash.clone()).await, None, "nothing written");

	cara.password_hash = "$argon2id$changed".to_owned();
	cara.updated_at = 3_000;
	assert!(store.update_user(&cara).await.unwrap());
	assert_eq!(revoked_at(live.hash.clone()).await, Some(3_000));
	assert_eq!(revoked_at(gone.hash.clone()).await, Some(1_500));
	assert_eq!(revoked_at(dans.hash.clone()).await, None, "not hers");
	// A key made after the change lives.
	let fresh = sample_key(cara.id, "fresh", 4_000);
	store.create_api_key(&fresh).await.unwrap();
	cara.updated_at = 5_000;
	assert!(store.update_user(&cara).await.unwrap());
	assert_eq!(revoked_at(fresh.hash.clone()).await, None);
}

/// A refresh family of `user` started at `at`, living a day.
pub fn sample_family(user: UserId, at: i64) -> RefreshFamily {
	RefreshFamily {
		id: uuid::Uuid::now_v7(),
		user_id: user,
		current: uuid::Uuid::now_v7(),
		created_at: at,
		expires_at: at + 86_400_000,
		revoked_at: None,
	}
}

/// Only a family's current token rotates it; an older one revokes the family (and then even
/// the newest is refused); other families are untouched; a new family forgets expired ones.
pub async fn refresh_families_rotate_once(store: &dyn Backend) {
	use uuid::Uuid;
	let erin = sample_user("erin");
	store.create_user(&erin).await.unwrap();
	let login = sample_family(erin.id, 10_000);
	let other = sample_family(erin.id, 10_000);
	store.create_refresh_family(&login).await.unwrap();
	store.create_refresh_family(&other).await.unwrap();
	assert_eq!(
		store.get_refresh_family(login.id).await.unwrap().as_ref(),
		Some(&login)
	);

	let (first, second) = (login.current, Uuid::now_v7());
	let r = store.rotate_refresh(login.id, first, second, 99_000_000, 11_000);
	assert_eq!(r.await.unwrap(), Rotation::Rotated);
	let now = store.get_refresh_family(login.id).await.unwrap().unwrap();
	assert_eq!((now.current, now.expires_at), (second, 99_000_000));

	// The first token again: someone kept a copy.
	let r = store.rotate_refresh(login.id, first, Uuid::now_v7(), 99_000_000, 12_000);
	assert_eq!(r.await.unwrap(), Rotation::Reused);
	let now = store.get_refresh_family(login.id).await.unwrap().unwrap();
	assert_eq!((now.current, now.revoked_at), (second, Some(12_000)));
	let r = store.rotate_refresh(login.id, second, Uuid::now_v7(), 99_000_000, 13_000);
	assert_eq!(r.await.unwrap(), Rotation::Revoked, "the whole family");
	assert_eq!(
		store
			.get_refresh_family(login.id)
			.await
			.unwrap()
			.unwrap()
			.revoked_at,
		Some(12_000),
		"revoked once"
	);

	let r = store.rotate_refresh(Uuid::now_v7(), first, second, 99_000_000, 13_000);
	assert_eq!(r.await.unwrap(), Rotation::Unknown);
	let r = store.rotate_refresh(other.id, other.current, Uuid::now_v7(), 99_000_000, 14_000);
	assert_eq!(
		r.await.unwrap(),
		Rotation::Rotated,
		"another login is untouched"
	);

	// A login after `other` expired forgets it.
	let later = sample_family(erin.id, 200_000_000);
	store.create_refresh_family(&later).await.unwrap();
	assert_eq!(store.get_refresh_family(other.id).await.unwrap(), None);
	assert!(store.get_refresh_family(later.id).await.unwrap().is_some());
}

/// Setting the shares of a workflow replaces them all; they go with the workflow.
pub async fn shares_replace_and_follow_their_workflow(store: &dyn Backend) {
	let owner = sample_user("owner");
	let (a, b, c) = (sample_user("a"), sample_user("b"), sample_user("c"));
	for u in [&owner, &a, &b, &c] {
		store.create_user(u).await.unwrap();
	}
	let w = sample_workflow("Shared", &owner.id.to_string());
	let other = sample_workflow("Other", &owner.id.to_string());
	store.create_workflow(&w).await.unwrap();
	store.create_workflow(&other).await.unwrap();
	assert!(store.shares(w.id).await.unwrap().is_empty());

	let run = [WorkflowAction::Read, WorkflowAction::Execute];
	let edit = [WorkflowAction::Read, WorkflowAction::Update];
	let first = vec![share(w.id, a.id, &run, 10), share(w.id, b.id, &edit, 20)];
	store.set_shares(w.id, &first).await.unwrap();
	store
		.set_shares(other.id, &[share(other.id, a.id, &edit, 5)])
		.await
		.unwrap();
	assert_eq!(store.shares(w.id).await.unwrap(), first);
	assert_eq!(
		store.share_for(w.id, a.id).await.unwrap(),
		Some(first[0].clone())
	);
	assert_eq!(store.share_for(w.id, c.id).await.unwrap(), None);

	let second = vec![
		share(w.id, c.id, &[WorkflowAction::Read], 30),
		share(w.id, b.id, &run, 40),
	];
	store.set_shares(w.id, &second).await.unwrap();
	assert_eq!(store.shares(w.id).await.unwrap(), second, "replaced");
	assert_eq!(store.share_for(w.id, a.id).await.unwrap(), None);
	assert_eq!(
		store.share_for(w.id, b.id).await.unwrap().unwrap().actions,
		run
	);
	assert_eq!(
		store.shares(other.id).await.unwrap().len(),
		1,
		"other workflows keep theirs"
	);

	let twice = [share(w.id, a.id, &run, 50), share(w.id, a.id, &edit, 60)];
	let err = store.set_shares(w.id, &twice).await.unwrap_err();
	assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
	assert_eq!(
		store.shares(w.id).await.unwrap(),
		second,
		"a failed replace changes nothing"
	);
	let err = store
		.set_shares(WorkflowId::new(), &[share(w.id, a.id, &run, 1)])
		.await
		.unwrap_err();
	assert!(matches!(err, StoreError::Dangling(_)), "{err:?}");

	assert!(store.delete_workflow(w.id).await.unwrap());
	assert!(store.shares(w.id).await.unwrap().is_empty());
	assert_eq!(store.share_for(w.id, b.id).await.unwrap(), None);
	assert_eq!(store.shares(other.id).await.unwrap().len(), 1);

	store.set_shares(other.id, &[]).await.unwrap();
	assert!(store.shares(other.id).await.unwrap().is_empty());
}

/// `visible_to` lists the workflows (and their executions) a user owns or has a share of.
pub async fn visible_to_limits_workflows_and_executions(store: &dyn Backend) {
	let (owner, guest, stranger) = (sample_user("owner"), sample_user("guest"), sample_user("x"));
	for u in [&owner, &guest, &stranger] {
		store.create_user(u).await.unwrap();
	}
	let mine = sample_workflow("Mine", &owner.id.to_string());
	let mut shared = sample_workflow("Shared", &owner.id.to_string());
	shared.updated_at = 2_000;
	let guests = sample_workflow("Guests", &guest.id.to_string());
	for w in [&mine, &shared, &guests] {
		store.create_workflow(w).await.unwrap();
	}
	store
		.set_shares(
			shared.id,
			&[share(shared.id, guest.id, &[WorkflowAction::Read], 1)],
		)
		.await
		.unwrap();
	let mut writes = Vec::new();
	let mut runs = Vec::new();
	for w in [&mine, &shared, &guests] {
		let e = sample_execution(w);
		runs.push(e.id);
		writes.push(Write::Execution(Box::new(e)));
	}
	store
		.commit(&Batch {
			writes,
			..Default::default()
		})
		.await
		.unwrap();

	let workflows = |user: Option<String>| async move {
		let filter = WorkflowFilter {
			visible_to: user,
			..Default::default()
		};
		let mut ids: Vec<WorkflowId> = store
			.list_workflows(&filter)
			.await
			.unwrap()
			.into_iter()
			.map(|w| w.id)
			.collect();
		ids.sort();
		ids
	};
	let executions = |user: Option<String>| async move {
		let filter = ExecutionFilter {
			visible_to: user,
			..Default::default()
		};
		let mut ids: Vec<_> = store
			.list_executions(&filter)
			.await
			.unwrap()
			.into_iter()
			.map(|e| e.id)
			.collect();
		ids.sort();
		ids
	};
	let who = |u: &User| Some(u.id.to_string());

	assert_eq!(
		workflows(who(&owner)).await,
		sorted(vec![mine.id, shared.id]),
		"the owner sees their own"
	);
	assert_eq!(
		workflows(who(&guest)).await,
		sorted(vec![shared.id, guests.id]),
		"a share makes a workflow visible"
	);
	assert!(
		workflows(who(&stranger)).await.is_empty(),
		"a stranger sees none"
	);
	assert!(
		workflows(Some("not-a-user-id".to_owned())).await.is_empty(),
		"any owner string may be asked about"
	);
	assert_eq!(
		workflows(None).await,
		sorted(vec![mine.id, shared.id, guests.id]),
		"no restriction"
	);

	assert_eq!(
		executions(who(&owner)).await,
		sorted(vec![runs[0], runs[1]])
	);
	assert_eq!(
		executions(who(&guest)).await,
		sorted(vec![runs[1], runs[2]])
	);
	assert!(executions(who(&stranger)).await.is_empty());
	assert_eq!(executions(None).await, sorted(runs.clone()));

	// Combined with the other filters.
	let filter = WorkflowFilter {
		visible_to: who(&guest),
		search: Some("shar".to_owned()),
		..Default::default()
	};
	let found = store.list_workflows(&filter).await.unwrap();
	assert_eq!(
		found.iter().map(|w| w.id).collect::<Vec<_>>(),
		vec![shared.id]
	);
	let filter = ExecutionFilter {
		visible_to: who(&guest),
		workflow_id: Some(mine.id),
		..Default::default()
	};
	assert!(store.list_executions(&filter).await.unwrap().is_empty());

	// Revoking the share hides the workflow again.
	store.set_shares(shared.id, &[]).await.unwrap();
	assert_eq!(workflows(who(&guest)).await, vec![guests.id]);
	assert_eq!(executions(who(&guest)).await, vec![runs[2]]);
}

/// Credential names are unique per owner; credentials are updated, deleted and listed by owner
/// or all together, by name.
pub async fn credentials_unique_per_owner(store: &dyn Backend) {
	let (ann, ben) = (sample_user("ann"), sample_user("ben"));
	store.create_user(&ann).await.unwrap();
	store.create_user(&ben).await.unwrap();
	let mut api = sample_credential(ann.id, "API_KEY");
	let db = sample_credential(ann.id, "DB_PASSWORD");
	let bens = sample_credential(ben.id, "API_KEY");
	store.create_credential(&db).await.unwrap();
	store.create_credential(&api).await.unwrap();
	let err = store
		.create_credential(&sample_credential(ann.id, "API_KEY"))
		.await
		.unwrap_err();
	assert!(
		is_conflict(&err, "credential 'API_KEY' already exists"),
		"{err:?}"
	);
	store.create_credential(&bens).await.unwrap();

	assert_eq!(
		store.get_credential(db.id).await.unwrap().as_ref(),
		Some(&db)
	);
	assert_eq!(
		store.get_credential(CredentialId::new()).await.unwrap(),
		None
	);
	assert_eq!(
		store
			.find_credential(ben.id, "API_KEY")
			.await
			.unwrap()
			.as_ref(),
		Some(&bens)
	);
	assert_eq!(
		store.find_credential(ben.id, "DB_PASSWORD").await.unwrap(),
		None
	);
	assert_eq!(
		store.list_credentials(Some(ann.id)).await.unwrap(),
		vec![api.clone(), db.clone()],
		"by name"
	);
	let all = store.list_credentials(None).await.unwrap();
	assert_eq!(all.len(), 3);
	assert!(all.windows(2).all(|p| p[0].name <= p[1].name), "by name");

	api.description = None;
	api.token = "gAAAA-rotated".to_owned();
	api.updated_at = 5_000;
	assert!(store.update_credential(&api).await.unwrap());
	assert_eq!(
		store.get_credential(api.id).await.unwrap().as_ref(),
		Some(&api)
	);
	assert_eq!(
		store.get_credential(bens.id).await.unwrap().as_ref(),
		Some(&bens),
		"same name, other owner: untouched"
	);
	assert!(
		!store
			.update_credential(&sample_credential(ann.id, "GHOST"))
			.await
			.unwrap()
	);

	assert!(store.delete_credential(api.id).await.unwrap());
	assert!(!store.delete_credential(api.id).await.unwrap());
	assert_eq!(
		store.find_credential(ann.id, "API_KEY").await.unwrap(),
		None
	);
	assert_eq!(
		store.list_credentials(Some(ann.id)).await.unwrap(),
		vec![db]
	);
	// The name is free again.
	store
		.create_credential(&sample_credential(ann.id, "API_KEY"))
		.await
		.unwrap();
}

/// The audit log assigns ids, lists newest first, filters by actor, action and outcome, and
/// pages.
pub async fn audit_lists_newest_first_with_filters(store: &dyn Backend) {
	let admin = UserId::new();
	let entry = |at: i64, actor: &str, action: &str, outcome: &str| AuditEntry {
		id: 0,
		at,
		actor_id: (actor != "anonymous").then_some(admin),
		actor: actor.to_owned(),
		action: action.to_owned(),
		resource: format!("workflow/{at}"),
		outcome: outcome.to_owned(),
		details: json!({"at": at, "why": ["a", "b"]}),
	};
	let written = [
		entry(1_000, "admin", "auth.login", "allowed"),
		entry(2_000, "anonymous", "auth.login", "denied"),
		entry(3_000, "admin", "workflow.update", "allowed"),
		entry(4_000, "admin", "workflow.delete", "denied"),
		entry(5_000, "anonymous", "workflow.read", "denied"),
	];
	for e in &written {
		store.append_audit(e).await.unwrap();
	}
	let list = |f: AuditFilter| async move { store.list_audit(&f).await.unwrap() };
	let all = list(AuditFilter::default()).await;
	assert_eq!(
		all.iter().map(|e| e.at).collect::<Vec<_>>(),
		vec![5_000, 4_000, 3_000, 2_000, 1_000],
		"newest first"
	);
	assert!(
		all.windows(2).all(|p| p[0].id > p[1].id),
		"ids assigned in order"
	);
	assert!(all.iter().all(|e| e.id > 0));
	let oldest = all.last().unwrap();
	assert_eq!(
		AuditEntry {
			id: 0,
			..oldest.clone()
		},
		written[0],
		"read back as written"
	);
	assert_eq!(all[3].actor_id, None);

	let ats = |entries: Vec<AuditEntry>| entries.iter().map(|e| e.at).collect::<Vec<_>>();
	assert_eq!(
		ats(list(AuditFilter {
			actor: Some("anonymous".into()),
			..Default::default()
		})
		.await),
		vec![5_000, 2_000]
	);
	assert_eq!(
		ats(list(AuditFilter {
			action: Some("auth.login".into()),
			..Default::default()
		})
		.await),
		vec![2_000, 1_000]
	);
	assert_eq!(
		ats(list(AuditFilter {
			outcome: Some("denied".into()),
			..Default::default()
		})
		.await),
		vec![5_000, 4_000, 2_000]
	);
	assert_eq!(
		ats(list(AuditFilter {
			actor: Some("admin".into()),
			outcome: Some("denied".into()),
			..Default::default()
		})
		.await),
		vec![4_000]
	);
	assert_eq!(
		ats(list(AuditFilter {
			limit: 2,
			offset: 1,
			..Default::default()
		})
		.await),
		vec![4_000, 3_000]
	);
	assert_eq!(
		ats(list(AuditFilter {
			outcome: Some("denied".into()),
			limit: 2,
			offset: 2,
			..Default::default()
		})
		.await),
		vec![2_000]
	);
	assert!(
		list(AuditFilter {
			action: Some("nothing".into()),
			..Default::default()
		})
		.await
		.is_empty()
	);
}

/// Notifications belong to one user: listed newest first, unread ones apart, and only their
/// user can mark one read.
pub async fn notifications_belong_to_their_user(store: &dyn Backend) {
	let (alice, bob) = (UserId::new(), UserId::new());
	let note = |user, title: &str| Notification {
		id: NotificationId::new(),
		user_id: user,
		level: NotificationLevel::Warning,
		title: title.to_owned(),
		message: format!("{title} happened"),
		data: json!({"n": 1, "nested": {"ok": true}}),
		execution_id: Some(ExecutionId::new()),
		created_at: 5_000,
		read_at: None,
	};
	let first = note(alice, "first");
	let second = Notification {
		execution_id: None,
		..note(alice, "second")
	};
	store.add_notification(&first).await.unwrap();
	store.add_notification(&second).await.unwrap();
	store.add_notification(&note(bob, "bob's")).await.unwrap();
	let listed = store.list_notifications(alice, false, 0).await.unwrap();
	assert_eq!(listed, vec![second.clone(), first.clone()]);
	assert_eq!(
		store.list_notifications(alice, false, 1).await.unwrap(),
		vec![second.clone()]
	);
	assert!(
		!store
			.mark_notification_read(bob, first.id, 6_000)
			.await
			.unwrap()
	);
	assert!(
		store
			.mark_notification_read(alice, first.id, 6_000)
			.await
			.unwrap()
	);
	// Marking again keeps the first time.
	assert!(
		store
			.mark_notification_read(alice, first.id, 7_000)
			.await
			.unwrap()
	);
	assert_eq!(
		store.list_notifications(alice, true, 0).await.unwrap(),
		vec![second]
	);
	let all = store.list_notifications(alice, false, 0).await.unwrap();
	assert_eq!(all[1].read_at, Some(6_000));
	let bobs = store.list_notifications(bob, false, 0).await.unwrap();
	assert_eq!(bobs.len(), 1);
	assert_eq!(bobs[0].title, "bob's");
}

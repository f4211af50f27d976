//! The connectors against real services: the memory store (the reference backend of the store
//! contract), the real guard, auditor and notification hub of `apg-auth`, files on disk, and
//! loopback HTTP peers for webhooks and the remote APG endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apg_auth::{Keyring, NewUser, Security, SecurityConfig, new_user};
use apg_connectors::{Platform, Settings, UserFiles};
use apg_core::{
	AuditFilter, AuthStore, ComponentError, ExecutionId, NotificationStore, Registry, Role,
	RunContext, Store, UserId, WorkflowId,
};
use apg_store::MemoryStore;
use serde_json::{Map, Value, json};

struct Env {
	registry: Registry,
	security: Security,
	users: Vec<(Role, UserId)>,
	_dir: tempfile::TempDir,
}

impl Env {
	async fn new(base_url: Option<String>) -> Self {
		let store = Arc::new(MemoryStore::new());
		let keys = Arc::new(Keyring::from_keys(&Keyring::generate_key()).unwrap());
		let security = Security::new(
			Arc::clone(&store) as Arc<dyn Store>,
			Arc::clone(&store) as Arc<dyn AuthStore>,
			Arc::clone(&store) as Arc<dyn NotificationStore>,
			keys,
			SecurityConfig::default(),
		);
		let mut users = Vec::new();
		for role in [Role::Admin, Role::Editor, Role::Operator, Role::Viewer] {
			let user = new_user(NewUser {
				username: format!("{role}-user"),
				password: "a long password".to_owned(),
				role,
			})
			.unwrap();
			store.create_user(&user).await.unwrap();
			users.push((role, user.id));
		}
		let dir = tempfile::tempdir().unwrap();
		let platform = Platform {
			security: security.clone(),
			files: UserFiles::new(dir.path().join("user-files"), 1024),
			settings: Settings {
				base_url,
				api_key: Some("remote-key".to_owned()),
				..Settings::default()
			},
			cache: Some(Arc::new(apg_engine_free_cache::Memory::default())),
		};
		let mut registry = apg_components::with_settings(&apg_components::Settings {
			http_allow: vec!["127.0.0.1".to_owned()],
			..apg_components::Settings::default()
		});
		apg_connectors::register(&mut registry, Some(platform));
		Self {
			registry,
			security,
			users,
			_dir: dir,
		}
	}

	fn user(&self, role: Role) -> UserId {
		self.users.iter().find(|(r, _)| *r == role).unwrap().1
	}

	async fn run(&self, kind: &str, role: Role, config: Value) -> Result<Value, ComponentError> {
		self.run_as(kind, Some(self.user(role)), config).await
	}

	async fn run_as(
		&self,
		kind: &str,
		user: Option<UserId>,
		config: Value,
	) -> Result<Value, ComponentError> {
		let ctx = RunContext {
			execution_id: ExecutionId::new(),
			workflow_id: WorkflowId::new(),
			component_id: "c".to_owned(),
			attempt: 1,
			params: Arc::new(Map::new()),
			vars: Map::new(),
			cancel: Default::default(),
			started_by: user,
		};
		let component = self.registry.get(kind).unwrap();
		component
			.run(&ctx, &config, Value::Null)
			.await
			.map(|o| o.output)
	}

	async fn denials(&self) -> Vec<String> {
		self.security.audit.flush().await;
		let filter = AuditFilter {
			outcome: Some("denied".to_owned()),
			..AuditFilter::default()
		};
		self.security
			.accounts
			.list_audit(&filter)
			.await
			.unwrap()
			.into_iter()
			.map(|e| format!("{} {}", e.actor, e.action))
			.collect()
	}
}

/// A tiny in-process cache (what `serve` uses without Redis is the engine's; this crate does
/// not depend on the engine, so the test brings its own of the same seam).
mod apg_engine_free_cache {
	use std::collections::HashMap;
	use std::sync::Mutex;
	use std::time::{Duration, Instant};

	#[derive(Default)]
	pub(super) struct Memory(Mutex<HashMap<String, (String, Instant)>>);

	#[async_trait::async_trait]
	impl apg_core::Cache for Memory {
		async fn get(&self, key: &str) -> Option<String> {
			let map = self.0.lock().unwrap();
			map.get(key)
				.filter(|(_, until)| *until > Instant::now())
				.map(|(v, _)| v.clone())
		}
		async fn set(&self, key: &str, value: &str, ttl: Duration) {
			let until = Instant::now() + ttl;
			self.0
				.lock()
				.unwrap()
				.insert(key.to_owned(), (value.to_owned(), until));
		}
		async fn delete(&self, key: &str) {
			self.0.lock().unwrap().remove(key);
		}
	}
}

fn fatal(result: Result<Value, ComponentError>) -> String {
	match result {
		Err(ComponentError::Fatal(m)) => m,
		other => panic!("expected a fatal error, got {other:?}"),
	}
}

#[tokio::test]
async fn an_admin_manages_users_and_an_editor_or_operator_is_refused() {
	let env = Env::new(None).await;
	let created = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "create", "username": "newbie", "password": "another long one",
				"role": "operator"}),
		)
		.await
		.unwrap();
	assert_eq!(created["username"], "newbie");
	assert_eq!(created["role"], "operator");
	assert!(created.get("password_hash").is_none());
	for role in [Role::Editor, Role::Operator] {
		let message = fatal(
			env.run(
				"apg_user_management",
				role,
				json!({"operation": "create", "username": "evil", "password": "another long one",
					"role": "admin"}),
			)
			.await,
		);
		assert!(message.contains("does not have user.create"), "{message}");
	}
	assert!(
		env.security
			.accounts
			.find_user("evil")
			.await
			.unwrap()
			.is_none()
	);
	let denied = env.denials().await;
	assert!(
		denied.contains(&"editor-user user.create".to_owned()),
		"{denied:?}"
	);
	assert!(
		denied.contains(&"operator-user user.create".to_owned()),
		"{denied:?}"
	);
	// Authenticate says yes or no, never more.
	let yes = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "authenticate", "username": "newbie",
				"password": "another long one", "user_fields": ["username"]}),
		)
		.await
		.unwrap();
	assert_eq!(
		yes,
		json!({"authenticated": true, "user": {"username": "newbie"}})
	);
	let no = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "authenticate", "username": "newbie", "password": "wrong!!!!"}),
		)
		.await
		.unwrap();
	assert_eq!(no, json!({"authenticated": false}));
	// Update, list, delete; nobody demotes themselves.
	let updated = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "update", "username": "newbie", "active": false}),
		)
		.await
		.unwrap();
	assert_eq!(updated["active"], false);
	let me = env.user(Role::Admin).to_string();
	let message = fatal(
		env.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "update", "user_id": me, "role": "viewer"}),
		)
		.await,
	);
	assert!(message.contains("cannot demote"), "{message}");
	let list = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "list"}),
		)
		.await
		.unwrap();
	assert_eq!(list["count"], 5);
	let deleted = env
		.run(
			"apg_user_management",
			Role::Admin,
			json!({"operation": "delete", "username": "newbie"}),
		)
		.await
		.unwrap();
	assert_eq!(deleted["deleted"], true);
	// Anyone may read themselves, not others.
	let viewer = env.user(Role::Viewer).to_string();
	let own = env
		.run(
			"apg_user_management",
			Role::Viewer,
			json!({"operation": "get", "user_id": viewer}),
		)
		.await
		.unwrap();
	assert_eq!(own["role"], "viewer");
	let message = fatal(
		env.run(
			"apg_user_management",
			Role::Viewer,
			json!({"operation": "get", "user_id": me}),
		)
		.await,
	);
	assert!(message.contains("user.read"), "{message}");
}

#[tokio::test]
async fn an_execution_without_a_user_or_a_server_gets_no_connector() {
	let env = Env::new(None).await;
	let message = fatal(
		env.run_as(
			"apg_audit",
			None,
			json!({"operation": "write", "action": "x"}),
		)
		.await,
	);
	assert!(message.contains("started from the CLI"), "{message}");
	let mut local = apg_components::builtins();
	apg_connectors::register(&mut local, None);
	let ctx = RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "c".to_owned(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: Default::default(),
		started_by: Some(UserId::new()),
	};
	let err = local
		.get("apg_file_management")
		.unwrap()
		.run(&ctx, &json!({"operation": "list"}), Value::Null)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("apg-workflow serve"), "{err}");
}

#[tokio::test]
async fn notifications_reach_their_user_only() {
	let env = Env::new(None).await;
	let mut live = env.security.notices.subscribe();
	let operator = env.user(Role::Operator);
	let sent = env
		.run(
			"apg_notification",
			Role::Operator,
			json!({"channel": "in_app", "title": "Done", "message": "the report is ready",
				"level": "success", "data": {"rows": 3}}),
		)
		.await
		.unwrap();
	assert_eq!(sent["user_id"], operator.to_string());
	let pushed = live.recv().await.unwrap();
	assert_eq!(pushed.user_id, operator);
	assert_eq!(pushed.title, "Done");
	assert_eq!(pushed.data, json!({"rows": 3}));
	let stored = env
		.security
		.notices
		.list(operator, false, 10)
		.await
		.unwrap();
	assert_eq!(stored, vec![pushed]);
	// An operator cannot notify someone else; an admin can.
	let message = fatal(
		env.run(
			"apg_notification",
			Role::Operator,
			json!({"channel": "in_app", "title": "hi", "user": "admin-user"}),
		)
		.await,
	);
	assert!(message.contains("user.read"), "{message}");
	let admin = env.user(Role::Admin);
	assert!(
		env.security
			.notices
			.list(admin, false, 0)
			.await
			.unwrap()
			.is_empty()
	);
	env.run(
		"apg_notification",
		Role::Admin,
		json!({"channel": "in_app", "title": "for you", "user": "operator-user"}),
	)
	.await
	.unwrap();
	assert_eq!(live.recv().await.unwrap().title, "for you");
	assert_eq!(
		env.security
			.notices
			.list(operator, false, 0)
			.await
			.unwrap()
			.len(),
		2
	);
	let message = fatal(
		env.run(
			"apg_notification",
			Role::Admin,
			json!({"channel": "in_app", "title": "x", "level": "shouting"}),
		)
		.await,
	);
	assert!(message.contains("level"), "{message}");
}

/// A loopback server answering every POST with `answer` (status, body), counting the calls and
/// keeping the last request's body and authorization header.
async fn peer(
	status: u16,
	answer: Value,
) -> (
	String,
	Arc<AtomicUsize>,
	Arc<std::sync::Mutex<(Value, String)>>,
) {
	let calls = Arc::new(AtomicUsize::new(0));
	let last = Arc::new(std::sync::Mutex::new((Value::Null, String::new())));
	let (c, l) = (Arc::clone(&calls), Arc::clone(&last));
	let app = axum::Router::new().fallback(
		move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
			let (c, l, answer) = (Arc::clone(&c), Arc::clone(&l), answer.clone());
			async move {
				c.fetch_add(1, Ordering::SeqCst);
				let auth = headers
					.get("authorization")
					.and_then(|v| v.to_str().ok())
					.unwrap_or_default()
					.to_owned();
				*l.lock().unwrap() = (serde_json::from_slice(&body).unwrap_or(Value::Null), auth);
				(
					axum::http::StatusCode::from_u16(status).unwrap(),
					axum::Json(answer),
				)
			}
		},
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	(format!("http://{addr}"), calls, last)
}

#[tokio::test]
async fn a_webhook_notification_goes_through_http_request() {
	let env = Env::new(None).await;
	let (url, calls, last) = peer(200, json!({"ok": true})).await;
	let out = env
		.run(
			"apg_notification",
			Role::Operator,
			json!({"channel": "webhook", "url": format!("{url}/hook"), "title": "Deployed",
				"message": "v2 is live"}),
		)
		.await
		.unwrap();
	assert_eq!(out["channel"], "webhook");
	assert_eq!(calls.load(Ordering::SeqCst), 1);
	let (body, _) = last.lock().unwrap().clone();
	assert_eq!(body["title"], "Deployed");
	assert_eq!(body["message"], "v2 is live");
	// The SSRF guard of http_request applies: a metadata address is refused.
	let err = env
		.run(
			"apg_notification",
			Role::Operator,
			json!({"channel": "webhook", "url": "http://169.254.169.254/latest", "title": "x"}),
		)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("169.254.169.254"), "{err}");
}

#[tokio::test]
async fn files_are_per_user_and_viewers_only_read() {
	let env = Env::new(None).await;
	let up = env
		.run(
			"apg_file_management",
			Role::Operator,
			json!({"operation": "upload", "name": "report.json", "content": {"total": 42},
				"encoding": "json"}),
		)
		.await
		.unwrap();
	assert_eq!(up["name"], "report.json");
	let down = env
		.run(
			"apg_file_management",
			Role::Operator,
			json!({"operation": "download", "name": "report.json", "encoding": "json"}),
		)
		.await
		.unwrap();
	assert_eq!(down["content"], json!({"total": 42}));
	let b64 = env
		.run(
			"apg_file_management",
			Role::Operator,
			json!({"operation": "download", "name": "report.json", "encoding": "base64"}),
		)
		.await
		.unwrap();
	assert!(b64["content"].as_str().unwrap().starts_with("ewog"));
	// Another user does not see it, whatever the name.
	let theirs = env
		.run(
			"apg_file_management",
			Role::Editor,
			json!({"operation": "list"}),
		)
		.await
		.unwrap();
	assert_eq!(theirs["count"], 0);
	for name in ["report.json", "../report.json"] {
		let message = fatal(
			env.run(
				"apg_file_management",
				Role::Editor,
				json!({"operation": "download", "name": name}),
			)
			.await,
		);
		assert!(
			message.contains("not found") || message.contains("invalid file name"),
			"{message}"
		);
	}
	let message = fatal(
		env.run(
			"apg_file_management",
			Role::Viewer,
			json!({"operation": "upload", "name": "x.txt", "content": "hi"}),
		)
		.await,
	);
	assert!(message.contains("workflow.execute"), "{message}");
	let message = fatal(
		env.run(
			"apg_file_management",
			Role::Operator,
			json!({"operation": "upload", "name": "big.txt", "content": "x".repeat(2000)}),
		)
		.await,
	);
	assert!(message.contains("at most 1024"), "{message}");
	let gone = env
		.run(
			"apg_file_management",
			Role::Operator,
			json!({"operation": "delete", "name": "report.json"}),
		)
		.await
		.unwrap();
	assert_eq!(gone["deleted"], true);
}

#[tokio::test]
async fn audit_entries_are_written_as_custom_and_read_with_audit_read() {
	let env = Env::new(None).await;
	let out = env
		.run(
			"apg_audit",
			Role::Operator,
			json!({"operation": "write", "action": "report.sent", "resource": "report/7",
				"details": {"to": "team"}}),
		)
		.await
		.unwrap();
	assert_eq!(out["action"], "custom.report.sent");
	let message = fatal(
		env.run("apg_audit", Role::Operator, json!({"operation": "query"}))
			.await,
	);
	assert!(message.contains("audit.read"), "{message}");
	let found = env
		.run(
			"apg_audit",
			Role::Admin,
			json!({"operation": "query", "action": "custom.report.sent"}),
		)
		.await
		.unwrap();
	assert_eq!(found["count"], 1);
	let entry = &found["entries"][0];
	assert_eq!(entry["actor"], "operator-user");
	assert_eq!(entry["resource"], "report/7");
	assert_eq!(entry["details"]["details"], json!({"to": "team"}));
}

#[tokio::test]
async fn a_capability_is_called_once_and_then_served_from_the_cache() {
	let (url, calls, last) =
		peer(200, json!({"success": true, "id": "r1", "data": {"v": 1}})).await;
	let env = Env::new(Some(url)).await;
	let config = json!({"capability": "user_management", "operation": "get",
		"parameters": {"id": 7}, "cache_ttl_seconds": 60});
	let first = env
		.run("apg_capability", Role::Operator, config.clone())
		.await
		.unwrap();
	assert_eq!(
		first,
		json!({"data": {"v": 1}, "cached": false, "apg_response_id": "r1"})
	);
	let (body, auth) = last.lock().unwrap().clone();
	assert_eq!(body["parameters"], json!({"id": 7}));
	assert_eq!(body["context"]["user"], "operator-user");
	assert_eq!(auth, "Bearer remote-key");
	let second = env
		.run("apg_capability", Role::Operator, config.clone())
		.await
		.unwrap();
	assert_eq!(second, json!({"data": {"v": 1}, "cached": true}));
	assert_eq!(calls.load(Ordering::SeqCst), 1);
	// Another user's call is not served from the operator's cache.
	env.run("apg_capability", Role::Editor, config.clone())
		.await
		.unwrap();
	assert_eq!(calls.load(Ordering::SeqCst), 2);
	let mut fresh = config;
	fresh["use_cache"] = json!(false);
	env.run("apg_capability", Role::Operator, fresh)
		.await
		.unwrap();
	assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_capability_failure_is_typed() {
	let (url, _, _) = peer(503, json!({"message": "down for maintenance"})).await;
	let env = Env::new(Some(url)).await;
	let config = json!({"capability": "x", "operation": "y"});
	match env
		.run("apg_capability", Role::Operator, config.clone())
		.await
	{
		Err(ComponentError::Retryable(m)) => assert!(m.contains("down for maintenance"), "{m}"),
		other => panic!("{other:?}"),
	}
	let (url, _, _) = peer(
		200,
		json!({"success": false, "error_message": "no such user"}),
	)
	.await;
	let env = Env::new(Some(url)).await;
	let message = fatal(
		env.run("apg_capability", Role::Operator, config.clone())
			.await,
	);
	assert!(message.contains("no such user"), "{message}");
	let message = fatal(
		env.run(
			"apg_capability",
			Role::Operator,
			json!({"capability": "../admin", "operation": "y"}),
		)
		.await,
	);
	assert!(message.contains("capability"), "{message}");
	let env = Env::new(None).await;
	let message = fatal(env.run("apg_capability", Role::Operator, config).await);
	assert!(message.contains("APG_BASE_URL"), "{message}");
}

//! `/schedules`: cron schedules of workflows (create, list, get, update, delete, pause, resume),
//! each shown with its next five fire times and its latest fires.
//!
//! A schedule is a trigger of its workflow, so what one may do to it follows the workflow:
//! seeing it needs `read` on the workflow, changing it `update` (and creating one also
//! `execute`, since its executions run as its creator). A schedule the caller may not see is a
//! 404, as its workflow would be. Every change is audited. Resuming moves the schedule on from
//! now: the times it was paused over are not caught up.

use apg_core::{
	CatchUp, Fire, Issue, Overlap, Principal, Schedule, ScheduleId, WorkflowAction, WorkflowId,
	now_millis,
};
use apg_schedule::CronSpec;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, JsonBody, parse_id, typed};
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/schedules", get(list_schedules).post(create_schedule))
		.route(
			"/schedules/{id}",
			get(get_schedule)
				.patch(update_schedule)
				.delete(delete_schedule),
		)
		.route("/schedules/{id}/pause", post(pause_schedule))
		.route("/schedules/{id}/resume", post(resume_schedule))
}

/// How many past fires a schedule is shown with.
const FIRES_SHOWN: i64 = 20;

/// A new schedule.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateScheduleBody {
	/// The workflow it starts.
	#[schema(format = Uuid)]
	workflow_id: String,
	/// A name (default: the expression).
	name: Option<String>,
	/// 5 fields (minute hour day-of-month month day-of-week) or 6 (the second first).
	cron: String,
	/// An IANA time zone (default UTC).
	timezone: Option<String>,
	/// The parameters of each execution.
	#[schema(value_type = Option<Object>)]
	parameters: Option<Map<String, Value>>,
	/// skip (default), queue or allow.
	#[schema(value_type = Option<String>)]
	overlap: Option<Overlap>,
	/// After a downtime: none, latest (default) or all (the latest 100).
	#[schema(value_type = Option<String>)]
	catch_up: Option<CatchUp>,
	/// Created paused.
	paused: Option<bool>,
}

/// Changes to a schedule (absent fields stay).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateScheduleBody {
	name: Option<String>,
	cron: Option<String>,
	timezone: Option<String>,
	#[schema(value_type = Option<Object>)]
	parameters: Option<Map<String, Value>>,
	#[schema(value_type = Option<String>)]
	overlap: Option<Overlap>,
	#[schema(value_type = Option<String>)]
	catch_up: Option<CatchUp>,
	paused: Option<bool>,
}

/// Filters of the list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ScheduleQuery {
	/// Only this workflow's.
	workflow_id: Option<String>,
}

/// One fire of a schedule.
#[derive(Serialize, ToSchema)]
pub(crate) struct FireView {
	/// When it was due.
	#[schema(format = DateTime)]
	fire_at: String,
	/// started, skipped, queued or refused.
	status: String,
	#[schema(format = Uuid)]
	execution_id: Option<String>,
	/// Why it was refused.
	detail: Option<String>,
}

impl FireView {
	fn new(f: &Fire) -> Self {
		Self {
			fire_at: iso(f.fire_at),
			status: f.status.as_str().to_owned(),
			execution_id: f.execution_id.map(|e| e.to_string()),
			detail: f.detail.clone(),
		}
	}
}

/// A schedule, its next five fire times and its latest fires.
#[derive(Serialize, ToSchema)]
pub(crate) struct ScheduleView {
	#[schema(format = Uuid)]
	id: String,
	#[schema(format = Uuid)]
	workflow_id: String,
	name: String,
	cron: String,
	timezone: String,
	#[schema(value_type = Object)]
	parameters: Map<String, Value>,
	overlap: String,
	catch_up: String,
	paused: bool,
	#[schema(format = Uuid)]
	created_by: String,
	#[schema(format = DateTime)]
	created_at: String,
	#[schema(format = DateTime)]
	updated_at: String,
	/// The next five fire times, in the schedule's zone (none while paused).
	next_fires: Vec<String>,
	/// The latest fires, newest first (in a list: none).
	fires: Vec<FireView>,
}

impl ScheduleView {
	fn new(s: &Schedule, fires: &[Fire]) -> Self {
		let next_fires = match (s.paused, CronSpec::parse(&s.cron, &s.timezone)) {
			(false, Ok(spec)) => {
				let from = s.next_fire_at.map_or(now_millis(), |at| at - 1);
				let times = spec.upcoming(from, 5);
				times.into_iter().map(|at| spec.in_zone(at)).collect()
			}
			_ => Vec::new(),
		};
		Self {
			id: s.id.to_string(),
			workflow_id: s.workflow_id.to_string(),
			name: s.name.clone(),
			cron: s.cron.clone(),
			timezone: s.timezone.clone(),
			parameters: s.parameters.clone(),
			overlap: s.overlap.as_str().to_owned(),
			catch_up: s.catch_up.as_str().to_owned(),
			paused: s.paused,
			created_by: s.created_by.to_string(),
			created_at: iso(s.created_at),
			updated_at: iso(s.updated_at),
			next_fires,
			fires: fires.iter().map(FireView::new).collect(),
		}
	}
}

/// The expression and zone, checked, and one that has a next time; 422 naming the field
/// otherwise (`0 0 30 2 *`, February 30th, parses but would never fire).
fn spec(cron: &str, timezone: &str) -> Result<CronSpec, ApiError> {
	let refuse = |field: &str, message: String| ApiError::Unprocessable {
		message: "invalid schedule".to_owned(),
		issues: vec![Issue::new(field, message)],
	};
	let spec = CronSpec::parse(cron, timezone).map_err(|e| {
		let field = match e {
			apg_schedule::CronError::Expression(_) => "cron",
			apg_schedule::CronError::Zone(_) => "timezone",
		};
		refuse(field, e.to_string())
	})?;
	if spec.next_after(now_millis()).is_none() {
		return Err(refuse("cron", format!("'{cron}' never fires")));
	}
	Ok(spec)
}

fn check_name(name: &str) -> Result<(), ApiError> {
	if name.trim().is_empty() || name.chars().count() > 200 {
		return Err(ApiError::bad_request("name", "1–200 characters"));
	}
	Ok(())
}

/// The schedule `id`, if the caller may act on its workflow as `action`.
async fn load(
	state: &AppState,
	caller: &Principal,
	id: &str,
	action: WorkflowAction,
) -> Result<Schedule, ApiError> {
	let id: ScheduleId = parse_id(id, "schedule")?;
	let hidden = || ApiError::NotFound(format!("schedule {id}"));
	let schedule = state.schedules.get_schedule(id).await?.ok_or_else(hidden)?;
	match state
		.security
		.guard
		.workflow(caller, schedule.workflow_id, action)
		.await
	{
		Ok(_) => Ok(schedule),
		Err(apg_auth::AuthError::NotFound(_)) => Err(hidden()),
		Err(e) => Err(e.into()),
	}
}

async fn view(state: &AppState, s: &Schedule) -> Result<ScheduleView, ApiError> {
	let fires = state.schedules.list_fires(s.id, FIRES_SHOWN).await?;
	Ok(ScheduleView::new(s, &fires))
}

/// The schedules of the workflows the caller may read, oldest first.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", params(ScheduleQuery),
	responses((status = 200, body = Envelope<Vec<ScheduleView>>),
		(status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list_schedules(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> ApiResult<Vec<ScheduleView>> {
	let workflow = match q.workflow_id.as_deref() {
		None => None,
		Some(id) => Some(
			id.parse::<WorkflowId>()
				.map_err(|_| ApiError::bad_request("workflow_id", "must be a UUID"))?,
		),
	};
	let mut views = Vec::new();
	for s in state.schedules.list_schedules(workflow).await? {
		let guard = &state.security.guard;
		if guard
			.workflow(&caller, s.workflow_id, WorkflowAction::Read)
			.await
			.is_ok()
		{
			views.push(ScheduleView::new(&s, &[]));
		}
	}
	Ok(Json(Envelope::new(views, None)))
}

/// Creates a schedule (needs `update` and `execute` on the workflow).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", request_body = CreateScheduleBody,
	responses((status = 201, body = Envelope<ScheduleView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn create_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<ScheduleView>>), ApiError> {
	let body: CreateScheduleBody = typed(body)?;
	let workflow_id: WorkflowId = body
		.workflow_id
		.parse()
		.map_err(|_| ApiError::bad_request("workflow_id", "must be a UUID"))?;
	let guard = &state.security.guard;
	guard
		.workflow(&caller, workflow_id, WorkflowAction::Update)
		.await?;
	guard
		.workflow(&caller, workflow_id, WorkflowAction::Execute)
		.await?;
	let timezone = body.timezone.unwrap_or_else(|| "UTC".to_owned());
	let spec = spec(&body.cron, &timezone)?;
	let name = body.name.unwrap_or_else(|| body.cron.clone());
	check_name(&name)?;
	let now = now_millis();
	let schedule = Schedule {
		id: ScheduleId::new(),
		workflow_id,
		name,
		cron: body.cron,
		timezone,
		parameters: body.parameters.unwrap_or_default(),
		overlap: body.overlap.unwrap_or_default(),
		catch_up: body.catch_up.unwrap_or_default(),
		paused: body.paused.unwrap_or(false),
		created_by: caller.user_id,
		created_at: now,
		updated_at: now,
		next_fire_at: spec.next_after(now),
	};
	state.schedules.create_schedule(&schedule).await?;
	let details = json!({"workflow_id": workflow_id.to_string(), "cron": schedule.cron});
	state
		.audit(
			&caller,
			"schedule.create",
			format!("schedule/{}", schedule.id),
			details,
		)
		.await;
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			ScheduleView::new(&schedule, &[]),
			"Schedule created".to_owned(),
		)),
	))
}

/// One schedule with its next fire times and latest fires.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules",
	params(("id" = String, Path, description = "Schedule id")),
	responses((status = 200, body = Envelope<ScheduleView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ScheduleView> {
	let schedule = load(&state, &caller, &id, WorkflowAction::Read).await?;
	Ok(Json(Envelope::new(view(&state, &schedule).await?, None)))
}

/// Changes a schedule; a new expression, zone or resumption moves it on from now.
#[utoipa::path(patch, path = "/api/v1/schedules/{id}", tag = "schedules", request_body = UpdateScheduleBody,
	params(("id" = String, Path, description = "Schedule id")),
	responses((status = 200, body = Envelope<ScheduleView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn update_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<ScheduleView> {
	let mut schedule = load(&state, &caller, &id, WorkflowAction::Update).await?;
	let body: UpdateScheduleBody = typed(body)?;
	let retimed = body.cron.is_some()
		|| body.timezone.is_some()
		|| (body.paused == Some(false) && schedule.paused);
	if let Some(name) = body.name {
		check_name(&name)?;
		schedule.name = name;
	}
	if let Some(cron) = body.cron {
		schedule.cron = cron;
	}
	if let Some(timezone) = body.timezone {
		schedule.timezone = timezone;
	}
	let spec = spec(&schedule.cron, &schedule.timezone)?;
	if let Some(parameters) = body.parameters {
		schedule.parameters = parameters;
	}
	if let Some(overlap) = body.overlap {
		schedule.overlap = overlap;
	}
	if let Some(catch_up) = body.catch_up {
		schedule.catch_up = catch_up;
	}
	if let Some(paused) = body.paused {
		schedule.paused = paused;
	}
	let now = now_millis();
	if retimed {
		schedule.next_fire_at = spec.next_after(now);
	}
	schedule.updated_at = now;
	save(&state, &caller, &schedule, "schedule.update").await?;
	Ok(Json(Envelope::new(
		view(&state, &schedule).await?,
		"Schedule updated".to_owned(),
	)))
}

async fn save(
	state: &AppState,
	caller: &Principal,
	schedule: &Schedule,
	action: &str,
) -> Result<(), ApiError> {
	if !state.schedules.update_schedule(schedule).await? {
		return Err(ApiError::NotFound(format!("schedule {}", schedule.id)));
	}
	let details = json!({"cron": schedule.cron, "paused": schedule.paused});
	state
		.audit(caller, action, format!("schedule/{}", schedule.id), details)
		.await;
	Ok(())
}

/// Deletes a schedule and its fires (its executions stay).
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules",
	params(("id" = String, Path, description = "Schedule id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Option<String>> {
	let schedule = load(&state, &caller, &id, WorkflowAction::Update).await?;
	if !state.schedules.delete_schedule(schedule.id).await? {
		return Err(ApiError::NotFound(format!("schedule {}", schedule.id)));
	}
	state
		.audit(
			&caller,
			"schedule.delete",
			format!("schedule/{}", schedule.id),
			json!({}),
		)
		.await;
	Ok(Json(Envelope::new(None, "Schedule deleted".to_owned())))
}

async fn set_paused(
	state: &AppState,
	caller: &Principal,
	id: &str,
	paused: bool,
) -> ApiResult<ScheduleView> {
	let mut schedule = load(state, caller, id, WorkflowAction::Update).await?;
	let now = now_millis();
	if schedule.paused && !paused {
		schedule.next_fire_at = spec(&schedule.cron, &schedule.timezone)?.next_after(now);
	}
	schedule.paused = paused;
	schedule.updated_at = now;
	let action = if paused {
		"schedule.pause"
	} else {
		"schedule.resume"
	};
	save(state, caller, &schedule, action).await?;
	let message = if paused {
		"Schedule paused"
	} else {
		"Schedule resumed"
	};
	Ok(Json(Envelope::new(
		view(state, &schedule).await?,
		message.to_owned(),
	)))
}

/// Pauses a schedule: it fires nothing until resumed.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/pause", tag = "schedules",
	params(("id" = String, Path, description = "Schedule id")),
	responses((status = 200, body = Envelope<ScheduleView>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn pause_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ScheduleView> {
	set_paused(&state, &caller, &id, true).await
}

/// Resumes a schedule from now (what it was paused over is not caught up).
#[utoipa::path(post, path = "/api/v1/schedules/{id}/resume", tag = "schedules",
	params(("id" = String, Path, description = "Schedule id")),
	responses((status = 200, body = Envelope<ScheduleView>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn resume_schedule(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ScheduleView> {
	set_paused(&state, &caller, &id, false).await
}

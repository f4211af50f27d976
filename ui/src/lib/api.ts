// The API client: the envelope, and requests with the session's in-memory access token
// (./session.ts), renewed once on a 401.

import { forget, freshToken, refresh, signIn, signOut, type SessionUser } from './session';

export { refresh } from './session';
export type User = SessionUser;

export class ApiError extends Error {
  status: number;
  details: unknown;
  /** The server's own words (the envelope's `error`), often more precise than `message`. */
  reason?: string;
  constructor(status: number, message: string, details?: unknown, reason?: string) {
    super(message);
    this.status = status;
    this.details = details;
    this.reason = reason;
  }
}

let onUnauthorized: (() => void) | null = null;

export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

async function envelope(res: Response): Promise<any> {
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok || (body && body.success === false)) {
    const msg =
      body?.user_message ||
      body?.error?.user_message ||
      (typeof body?.error === 'string' ? body.error : null) ||
      statusMessage(res.status);
    const reason = typeof body?.error === 'string' ? body.error : typeof body?.error?.message === 'string' ? body.error.message : undefined;
    throw new ApiError(res.status, msg, body?.details ?? body?.error?.details, reason);
  }
  return body && 'data' in body ? body.data : body;
}

function statusMessage(status: number) {
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return 'You do not have permission to do this.';
  if (status === 404) return 'Not found, or you do not have access to it.';
  if (status === 429) return 'Too many requests; try again shortly.';
  if (status >= 500) return 'The server had a problem. Try again.';
  return `Request failed (${status})`;
}

export async function login(username: string, password: string): Promise<void> {
  await envelope(await signIn(username, password));
}

export async function logout(): Promise<void> {
  await signOut();
}

type RequestOpts = { method?: string; body?: unknown; headers?: Record<string, string>; blob?: Blob };

/** The response of an authenticated request, its token renewed once on a 401. */
async function request(path: string, opts: RequestOpts): Promise<Response> {
  const url = path.startsWith('/') ? path : `/api/v1/${path}`;
  const json = opts.body !== undefined;
  let bearer = await freshToken();
  const run = () =>
    fetch(url, {
      method: opts.method ?? (json || opts.blob ? 'POST' : 'GET'),
      credentials: 'same-origin',
      headers: {
        ...(json ? { 'content-type': 'application/json' } : {}),
        ...(opts.blob ? { 'content-type': 'application/octet-stream' } : {}),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...opts.headers,
      },
      body: json ? JSON.stringify(opts.body) : opts.blob,
    });
  let res = await run();
  if (res.status === 401) {
    if (await refresh()) {
      bearer = await freshToken();
      res = await run();
    }
    if (res.status === 401) {
      forget();
      onUnauthorized?.();
    }
  }
  return res;
}

/** A request whose answer is the envelope: its `data`, or an ApiError with its `user_message`. */
export async function api<T = any>(path: string, opts: RequestOpts = {}): Promise<T> {
  return envelope(await request(path, opts));
}

/** A request whose answer is bytes (a download); errors still come in the envelope. */
export async function apiBlob(path: string, opts: RequestOpts = {}): Promise<Blob> {
  const res = await request(path, opts);
  if (!res.ok) return envelope(res);
  return res.blob();
}

/** Query string from an object, leaving out empty values. */
export function qs(params: Record<string, string | number | undefined | null>) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

// ---- shapes used across pages

export interface ComponentDef {
  id: string;
  type: string;
  config: Record<string, any>;
  position?: { x: number; y: number };
  [k: string]: any;
}
export interface Connection {
  source: string;
  target: string;
  type?: 'success' | 'failure' | 'always' | 'condition';
  condition?: string;
  branch?: string;
  [k: string]: any;
}
export interface ParameterSpec {
  name: string;
  parameter_type?: 'string' | 'integer' | 'float' | 'boolean' | 'list' | 'dict';
  required?: boolean;
  default_value?: unknown;
  description?: string;
  [k: string]: any;
}
export interface Definition {
  components: ComponentDef[];
  connections: Connection[];
  parameters?: ParameterSpec[];
  metadata?: Record<string, unknown>;
  [k: string]: any;
}
export interface Workflow {
  id: string;
  name: string;
  description?: string | null;
  definition: Definition;
  status: string;
  category?: string | null;
  tags: string[];
  priority: number;
  version: number;
  created_by?: string;
  component_count?: number;
  execution_count?: number;
  executions?: number;
  success_rate?: number | null;
  last_execution?: any;
  last_run_at?: string | null;
  updated_at?: string;
}
export interface ComponentType {
  kind: string;
  summary?: string;
  category?: string;
  config_schema: any;
}
export interface Problem {
  path: string;
  message: string;
}
export interface Validation {
  is_valid: boolean;
  errors: Problem[];
  warnings: Problem[];
}
export interface ComponentRun {
  component_id: string;
  component_type: string;
  status: string;
  attempt: number;
  input_data: unknown;
  output_data: unknown;
  error_message: string | null;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  branch?: string | null;
  attempts?: any[];
  /** What a running approval, wait_for_event, sub_workflow or for_each waits for; null otherwise. */
  waiting?: Waiting | null;
  [k: string]: any;
}
export type Role = 'admin' | 'editor' | 'operator' | 'viewer';
/** A component's wait for decisions: its config as the run took it. */
export interface ApprovalWait {
  kind: 'approval';
  message: string | null;
  users: string[];
  roles: Role[];
  required: number;
  allow_self_approval: boolean;
  /** A JSON schema of the fields an approver fills in. */
  form: any;
  on_timeout: 'approve' | 'reject' | 'fail';
  requested_by: string | null;
  round: number;
  /** Epoch milliseconds. */
  deadline?: number | null;
}
/** A component's wait for a named signal (with this key, when it has one). */
export interface SignalWait {
  kind: 'signal';
  name: string;
  key: string | null;
  on_timeout_continue: boolean;
  /** Epoch milliseconds. */
  deadline?: number | null;
}
/** A sub_workflow's or for_each's wait for its child executions (its status stays running). */
export interface ChildrenWait {
  kind: 'children';
  target: { kind: 'workflow'; workflow_id: string; version?: number | null } | { kind: 'inline' };
  /** Children in this round (0 until they are made). */
  total: number;
  concurrency: number;
  continue_on_failure: boolean;
  /** The step's attempt whose children these are. */
  round: number;
  /** Whether the children have been made. */
  spawned: boolean;
  /** A for_each (a child per item), not a sub_workflow. */
  each: boolean;
}
export type Waiting = ApprovalWait | SignalWait | ChildrenWait;
/** The step of another execution an execution is a child of (`sub_workflow`, `for_each`). */
export interface ParentLink {
  execution_id: string;
  component_id: string;
  /** The for_each item's index; null for a sub_workflow. */
  item: number | null;
}
export interface Decision {
  user_id: string;
  username: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  values: Record<string, unknown> | null;
  decided_at: string;
}
/** An approval waiting in an execution (GET /approvals, GET /executions/{id}/approvals/{component}). */
export interface Approval {
  execution_id: string;
  workflow_id: string;
  component_id: string;
  message: string | null;
  users: string[];
  roles: Role[];
  required: number;
  /** Approvals so far in this round. */
  approvals: number;
  allow_self_approval: boolean;
  form: any;
  on_timeout: 'approve' | 'reject' | 'fail';
  deadline: string | null;
  waiting_since: string;
  requested_by: string | null;
  round: number;
  decisions: Decision[];
  /** Whether the caller may decide now. */
  can_decide: boolean;
}
export interface Execution {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  priority: number;
  parameters: Record<string, unknown>;
  variables: Record<string, unknown>;
  results: unknown;
  error_message: string | null;
  breakpoints: string[];
  /** The execution this one reruns, when it is a rerun. */
  rerun_of?: string | null;
  /** The user who started it. */
  started_by?: string | null;
  /** The step it is a child of, when a sub_workflow or for_each started it. */
  parent?: ParentLink | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  components?: ComponentRun[];
}
export type Overlap = 'skip' | 'queue' | 'allow';
export type CatchUp = 'none' | 'latest' | 'all';
export interface Fire {
  fire_at: string;
  status: 'started' | 'skipped' | 'queued' | 'refused' | string;
  execution_id: string | null;
  detail: string | null;
}
export interface Schedule {
  id: string;
  workflow_id: string;
  name: string;
  cron: string;
  timezone: string;
  parameters: Record<string, unknown>;
  overlap: Overlap;
  catch_up: CatchUp;
  paused: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  /** The next five fire times, RFC 3339 in the schedule's zone (none while paused). */
  next_fires: string[];
  /** The latest fires, newest first (none in a list). */
  fires: Fire[];
}
export type Respond = 'immediately' | 'on_completion';
/** A webhook of a workflow (never its token). */
export interface Hook {
  id: string;
  workflow_id: string;
  name: string;
  /** The token's first characters. */
  token_prefix: string;
  respond: Respond;
  timeout_seconds: number;
  max_body_bytes: number;
  rate_per_minute: number;
  /** The request headers passed to the execution, lowercase. */
  headers: string[];
  /** The header carrying the signature, when requests must be signed. */
  signature_header: string | null;
  created_at: string;
  updated_at: string;
}
/** A hook with its token and path: the answer of a create or a rotate, the only time they are shown. */
export interface HookIssued extends Hook {
  token: string;
  /** `/api/v1/hooks/{token}`. */
  path: string;
}

// The API client: the envelope, the in-memory access token, the cookie session and its refresh.
// The access token lives in this module only (never in localStorage or sessionStorage).

export interface User {
  id: string;
  username: string;
  role: string;
  active?: boolean;
}

export class ApiError extends Error {
  status: number;
  details: unknown;
  constructor(status: number, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

let accessToken: string | null = null;
// Only used when the server has no cookie session (older servers): kept in memory, lost on reload.
let fallbackRefresh: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}
export function token() {
  return accessToken;
}

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)apg_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
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
    throw new ApiError(res.status, msg, body?.details ?? body?.error?.details);
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

interface SessionData {
  access_token: string;
  refresh_token?: string;
  user?: User;
}

let refreshing: Promise<boolean> | null = null;

/** Restores or renews the session: the cookie first, the in-memory refresh token otherwise. */
export function refresh(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetch('/api/v1/auth/session/refresh', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf(), 'content-type': 'application/json' },
          body: '{}',
        });
        if (res.ok) {
          const d: SessionData = await envelope(res);
          accessToken = d.access_token;
          return true;
        }
        if (fallbackRefresh) {
          const r2 = await fetch('/api/v1/auth/refresh', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ refresh_token: fallbackRefresh }),
          });
          if (r2.ok) {
            const d: SessionData = await envelope(r2);
            accessToken = d.access_token;
            fallbackRefresh = d.refresh_token ?? null;
            return true;
          }
        }
        return false;
      } catch {
        return false;
      } finally {
        setTimeout(() => (refreshing = null), 0);
      }
    })();
  }
  return refreshing;
}

export async function login(username: string, password: string): Promise<void> {
  const body = JSON.stringify({ username, password });
  const headers = { 'content-type': 'application/json' };
  const res = await fetch('/api/v1/auth/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body,
  });
  let missing = res.status === 404 || res.status === 405;
  if (res.status === 401) {
    // A server without the session route answers 401 for any unknown path.
    const peek = await res.clone().json().catch(() => null);
    missing = typeof peek?.error === 'string' && peek.error.startsWith('authentication required');
  }
  if (missing) {
    // A server without cookie sessions: the bearer login, kept in memory only.
    const d: SessionData = await envelope(
      await fetch('/api/v1/auth/login', { method: 'POST', headers, body }),
    );
    accessToken = d.access_token;
    fallbackRefresh = d.refresh_token ?? null;
    return;
  }
  const d: SessionData = await envelope(res);
  accessToken = d.access_token;
}

export async function logout(): Promise<void> {
  try {
    await fetch('/api/v1/auth/session', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf(), ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
    });
  } catch {
    /* offline: forget locally anyway */
  }
  accessToken = null;
  fallbackRefresh = null;
}

export async function api<T = any>(
  path: string,
  opts: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: boolean } = {},
): Promise<T> {
  const url = path.startsWith('/') ? path : `/api/v1/${path}`;
  const run = () =>
    fetch(url, {
      method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
      credentials: 'same-origin',
      headers: {
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...opts.headers,
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
  let res = await run();
  if (res.status === 401) {
    if (await refresh()) res = await run();
    if (res.status === 401) {
      accessToken = null;
      onUnauthorized?.();
    }
  }
  return envelope(res);
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
  [k: string]: any;
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
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  components?: ComponentRun[];
}

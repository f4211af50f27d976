// The browser session, shared by the app and the GraphiQL page: the access token in memory (never
// in localStorage or sessionStorage), bought with the httpOnly apg_session cookie at
// /api/v1/auth/session/refresh (which wants the apg_csrf cookie echoed as X-CSRF-Token), renewed
// a minute before it expires.
//
// Every refresh rotates the cookie's refresh token, and presenting an already used one ends the
// whole login. Two tabs refreshing at the same moment would do exactly that, so refreshes are
// serialised across the tabs of this origin with a Web Lock: the second one runs after the
// first's Set-Cookie has landed, with the new cookie.

export interface SessionUser {
  id: string;
  username: string;
  role: string;
  active?: boolean;
}

interface SessionData {
  access_token: string;
  expires_in: number;
  csrf_token: string;
  user: SessionUser;
}

let accessToken: string | null = null;
let expiresAt = 0;
let renewal: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<boolean> | null = null;

/** The current access token, if signed in. */
export function token(): string | null {
  return accessToken;
}

/** The apg_csrf cookie (readable by design: it is echoed, not secret from this page). */
export function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)apg_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

function adopt(d: SessionData) {
  accessToken = d.access_token;
  expiresAt = Date.now() + d.expires_in * 1000;
  clearTimeout(renewal);
  // A minute early (or at half-life for very short tokens), so a request never races expiry.
  const lead = Math.min(60, d.expires_in / 2) * 1000;
  renewal = setTimeout(() => void refresh(), Math.max(1000, d.expires_in * 1000 - lead));
}

/** Forgets the session in this tab. */
export function forget() {
  accessToken = null;
  expiresAt = 0;
  clearTimeout(renewal);
}

function serialised<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as any).locks;
  return locks?.request ? locks.request('apg-session-refresh', work) : work();
}

/** Renews the access token with the session cookie; false when there is no live session. */
export function refresh(): Promise<boolean> {
  if (!inFlight) {
    inFlight = serialised(async () => {
      try {
        const res = await fetch('/api/v1/auth/session/refresh', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf() },
        });
        if (!res.ok) {
          forget();
          return false;
        }
        adopt((await res.json()).data as SessionData);
        return true;
      } catch {
        return false;
      }
    }).finally(() => (inFlight = null));
  }
  return inFlight;
}

/** A token that is not about to expire (renewed first when it is), or null when signed out. */
export async function freshToken(): Promise<string | null> {
  if (!accessToken || Date.now() > expiresAt - 10_000) await refresh();
  return accessToken;
}

/** Signs in; the server sets the cookies. Throws the response for the caller's error handling. */
export async function signIn(username: string, password: string): Promise<Response> {
  const res = await fetch('/api/v1/auth/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.ok) adopt((await res.clone().json()).data as SessionData);
  return res;
}

/** Signs out: the server ends the login and clears the cookies. */
export async function signOut(): Promise<void> {
  try {
    await fetch('/api/v1/auth/session', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf() },
    });
  } catch {
    /* offline: forget locally anyway */
  }
  forget();
}

// The tab's one /ws connection, shared by everything live: the notification bell (which the
// server feeds without a subscription) and the execution view's subscriptions. One socket per
// tab rather than one per page, since the server allows a user only so many (16 by default).
//
// It opens when the first listener arrives and closes when the last one leaves (signing out
// unmounts them all). The server checks the token at the upgrade only, so every (re)connect takes
// a fresh one, renewed first when it is about to expire; after a drop it reconnects and sends
// every live subscription again (the server replays an execution's stored events on subscribe,
// so nothing is missed in between).

import { freshToken } from './session';

export interface LiveMessage {
  type: string;
  data?: any;
  [k: string]: unknown;
}

type Listener = (m: LiveMessage) => void;
type Watcher = (connected: boolean) => void;

const listeners = new Set<Listener>();
const watchers = new Set<Watcher>();
/** Subscriptions by their message key (`execution_id:<id>`), counted: two views may share one. */
const subs = new Map<string, number>();

let ws: WebSocket | null = null;
let connected = false;
let retry: ReturnType<typeof setTimeout> | undefined;
let opening = false;

function setConnected(v: boolean) {
  connected = v;
  for (const w of watchers) w(v);
}

function send(key: string, action: 'subscribe' | 'unsubscribe') {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const [field, id] = key.split(':');
  ws.send(JSON.stringify({ action, [field]: id }));
}

function wanted() {
  return listeners.size > 0 || subs.size > 0;
}

async function open() {
  if (ws || opening || !wanted()) return;
  opening = true;
  const bearer = (await freshToken()) ?? '';
  opening = false;
  if (ws || !wanted()) return;
  if (!bearer) {
    // Signed out meanwhile (or the session is gone): try again later if still wanted.
    retry = setTimeout(() => void open(), 3000);
    return;
  }
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const sock = new WebSocket(`${proto}://${location.host}/ws?access_token=${encodeURIComponent(bearer)}`);
  ws = sock;
  sock.onopen = () => {
    setConnected(true);
    for (const key of subs.keys()) send(key, 'subscribe');
  };
  sock.onmessage = (m) => {
    let msg: LiveMessage;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    for (const l of [...listeners]) l(msg);
  };
  sock.onclose = () => {
    if (ws === sock) ws = null;
    setConnected(false);
    clearTimeout(retry);
    if (wanted()) retry = setTimeout(() => void open(), 1500);
  };
}

function closeIfIdle() {
  if (wanted()) return;
  clearTimeout(retry);
  const sock = ws;
  ws = null;
  sock?.close();
  setConnected(false);
}

/** Calls `f` with every message of the connection; returns the unsubscriber. */
export function onLive(f: Listener): () => void {
  listeners.add(f);
  void open();
  return () => {
    listeners.delete(f);
    closeIfIdle();
  };
}

/** Follows an execution's (or workflow's) events; returns the unfollower. */
export function follow(field: 'execution_id' | 'workflow_id', id: string): () => void {
  const key = `${field}:${id}`;
  const n = subs.get(key) ?? 0;
  subs.set(key, n + 1);
  if (n === 0) send(key, 'subscribe');
  void open();
  return () => {
    const left = (subs.get(key) ?? 1) - 1;
    if (left > 0) subs.set(key, left);
    else {
      subs.delete(key);
      send(key, 'unsubscribe');
    }
    closeIfIdle();
  };
}

/** Calls `f` with the connection's state now and on every change; returns the unwatcher. */
export function watchConnected(f: Watcher): () => void {
  watchers.add(f);
  f(connected);
  return () => void watchers.delete(f);
}

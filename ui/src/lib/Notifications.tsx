// The bell in the shell: the caller's unread count, a panel of their notifications (sent by
// workflows' apg_notification steps) with a link to the execution that sent each, and marking
// them read. New ones arrive live on the tab's shared /ws connection (./live.ts), which the
// server feeds with the user's own notifications without a subscription; the lists are also
// fetched when the panel opens, so a notification missed while offline still shows. The shell
// loads this lazily: it (and react-query's observers, which only pages used before) stay out of
// the first load.
import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './api';
import { ago } from './format';
import { onLive, watchConnected } from './live';
import { useToast } from './ui';

export interface Notice {
  id: string;
  level: 'info' | 'success' | 'warning' | 'error';
  title: string;
  message: string;
  data: unknown;
  execution_id: string | null;
  created_at: string;
  read_at: string | null;
}

const LIST = ['notifications', 'list'];
const UNREAD = ['notifications', 'unread'];

export default function NotificationBell() {
  const qc = useQueryClient();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const panelId = useId();
  // Whether the live feed is connected (data-live, so a test can wait for it).
  const [live, setLive] = useState(false);
  useEffect(() => watchConnected(setLive), []);
  const unread = useQuery({ queryKey: UNREAD, queryFn: () => api<Notice[]>('notifications?unread=true&limit=100') });
  const list = useQuery({ queryKey: LIST, queryFn: () => api<Notice[]>('notifications?limit=30'), enabled: open, staleTime: 0 });

  useEffect(
    () =>
      onLive((msg) => {
        if (msg.type !== 'notification' || !msg.data?.id) return;
        const n = msg.data as Notice;
        const add = (old: Notice[] | undefined) => (old?.some((o) => o.id === n.id) ? old : [n, ...(old ?? [])]);
        qc.setQueryData<Notice[]>(UNREAD, add);
        qc.setQueryData<Notice[]>(LIST, (old) => old && add(old));
        toast(`${n.title}${n.message ? `: ${n.message}` : ''}`, n.level === 'error' ? 'error' : 'info');
      }),
    [qc, toast],
  );

  // Plain state rather than useMutation: this is in the first load, and react-query's mutation
  // machinery would be there only for this.
  const [pending, setPending] = useState(false);
  const markRead = async (ids: string[]) => {
    setPending(true);
    try {
      await Promise.all(ids.map((id) => api(`notifications/${id}/read`, { method: 'POST' })));
      const at = new Date().toISOString();
      qc.setQueryData<Notice[]>(UNREAD, (old) => old?.filter((n) => !ids.includes(n.id)));
      qc.setQueryData<Notice[]>(LIST, (old) => old?.map((n) => (ids.includes(n.id) ? { ...n, read_at: n.read_at ?? at } : n)));
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setPending(false);
    }
  };

  useEffect(() => {
    if (!open) return;
    panel.current?.querySelector<HTMLElement>('button, a')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onDown = (e: MouseEvent) => {
      const t = e.target as Node;
      if (!panel.current?.contains(t) && !button.current?.contains(t)) setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('mousedown', onDown);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('mousedown', onDown);
    };
  }, [open]);

  const count = unread.data?.length ?? 0;
  const shown = count > 99 ? '99+' : String(count);
  // The unread ones come from their own query, so a live one shows before the list is fetched.
  const items = mergeNewest(unread.data ?? [], list.data ?? []);
  return (
    <div className="bell-wrap">
      <button
        ref={button}
        className="icon-btn bell"
        aria-label={count ? `Notifications, ${shown} unread` : 'Notifications'}
        aria-expanded={open}
        aria-controls={panelId}
        data-testid="bell"
        data-live={live ? 'on' : 'off'}
        onClick={() => setOpen(!open)}
      >
        <Icon />
        {count > 0 && (
          <span className="bell-count" data-testid="bell-count" aria-hidden="true">
            {shown}
          </span>
        )}
      </button>
      {open && (
        <div className="notif-panel" id={panelId} role="dialog" aria-label="Notifications" ref={panel}>
          <header>
            <h2>Notifications</h2>
            <button className="btn ghost sm" disabled={!count || pending} onClick={() => void markRead((unread.data ?? []).map((n) => n.id))}>
              Mark all read
            </button>
          </header>
          {items.length === 0 ? (
            <p className="muted small notif-empty">{list.isLoading ? 'Loading…' : 'No notifications yet.'}</p>
          ) : (
            <ul aria-label="Notifications list">
              {items.map((n) => (
                <li key={n.id} className={`notif lv-${n.level} ${n.read_at ? 'read' : 'unread'}`} data-testid="notification">
                  <span className={`badge lv-${n.level}`}>{n.level}</span>
                  <div className="notif-body">
                    <strong>{n.title}</strong>
                    {n.message && <span className="small">{n.message}</span>}
                    <span className="small muted">
                      <time dateTime={n.created_at}>{ago(n.created_at)}</time>
                      {n.execution_id && (
                        <>
                          {' · '}
                          <Link to={`/executions/${n.execution_id}`} onClick={() => setOpen(false)}>
                            Open execution<span className="sr-only"> of “{n.title}”</span>
                          </Link>
                        </>
                      )}
                    </span>
                  </div>
                  {!n.read_at && (
                    <button className="btn ghost sm" disabled={pending} onClick={() => void markRead([n.id])}>
                      Mark read<span className="sr-only"> “{n.title}”</span>
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

/** Both lists, one entry per id (the fuller list's when both have it), newest first. */
function mergeNewest(unread: Notice[], list: Notice[]): Notice[] {
  const byId = new Map<string, Notice>();
  for (const n of unread) byId.set(n.id, n);
  for (const n of list) byId.set(n.id, n);
  return [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 50);
}

function Icon() {
  return (
    <svg width={18} height={18} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.9 1.9 0 0 0 3.4 0" />
    </svg>
  );
}

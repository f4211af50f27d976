import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import { can, useAuth } from '../../lib/auth';
import { ago } from '../../lib/format';
import { Empty, ErrorBox, Modal, Spinner, useToast } from '../../lib/ui';

export default function ApiKeys() {
  const qc = useQueryClient();
  const toast = useToast();
  const { user } = useAuth();
  const q = useQuery({ queryKey: ['keys'], queryFn: () => api<any[]>('auth/tokens') });
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [scopes, setScopes] = useState<string[]>(['api']);
  const [shown, setShown] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => api<any>('auth/tokens', { body: { name, expires_in_days: days ? Number(days) : null, scopes } }),
    onSuccess: (d) => {
      setShown(d.token ?? d.key ?? d.api_key ?? JSON.stringify(d));
      setName('');
      qc.invalidateQueries({ queryKey: ['keys'] });
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`auth/tokens/${id}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['keys'] }),
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const allScopes = ['api', 'keys', ...(can(user, 'admin') ? ['metrics'] : [])];
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>API keys</h1>
          <p className="muted">Keys act as you, within your role and their scopes. A key is shown once.</p>
        </div>
      </header>
      <form className="card form-row" onSubmit={submit} aria-label="New API key">
        <label>
          Name
          <input value={name} required onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Expires in (days)
          <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {allScopes.map((s) => (
            <label className="inline" key={s}>
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> {s}
            </label>
          ))}
        </fieldset>
        <button className="btn primary" type="submit">Create key</button>
      </form>
      <ErrorBox error={q.error} />
      {q.isLoading ? <Spinner /> : q.data?.length === 0 ? <Empty>No API keys.</Empty> : (
        <div className="card table-wrap">
          <table className="table" aria-label="API keys">
            <thead><tr><th>Name</th><th>Prefix</th><th>Scopes</th><th>Created</th><th>Expires</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {q.data?.map((k) => (
                <tr key={k.id}>
                  <td className="strong">{k.name}</td>
                  <td className="mono">{k.prefix ?? '—'}</td>
                  <td>{(k.scopes ?? []).join(', ')}</td>
                  <td>{ago(k.created_at)}</td>
                  <td>{k.revoked_at ? <span className="badge st-cancelled">revoked {ago(k.revoked_at)}</span> : k.expires_at ? new Date(k.expires_at).toLocaleDateString() : 'never'}</td>
                  <td className="actions">{!k.revoked_at && <button className="btn ghost sm danger" aria-label={`Revoke ${k.name}`} onClick={() => revoke.mutate(k.id)}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && (
        <Modal title="Your new API key" onClose={() => setShown(null)}>
          <p>Copy it now: it will not be shown again.</p>
          <input readOnly className="mono" aria-label="New API key" value={shown} onFocus={(e) => e.target.select()} />
          <footer className="modal-foot">
            <button className="btn" onClick={() => navigator.clipboard?.writeText(shown).then(() => toast('Copied'), () => undefined)}>Copy</button>
            <button className="btn primary" onClick={() => setShown(null)}>Done</button>
          </footer>
        </Modal>
      )}
    </div>
  );
}

import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import { can, useAuth } from '../../lib/auth';
import { ago } from '../../lib/format';
import { Empty, ErrorBox, Spinner, useToast } from '../../lib/ui';

export default function Credentials() {
  const qc = useQueryClient();
  const toast = useToast();
  const { user } = useAuth();
  const edit = can(user, 'edit');
  const q = useQuery({ queryKey: ['credentials'], queryFn: () => api<any[]>('credentials') });
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: () => api('credentials', { body: { name, value, description: description || null } }),
    onSuccess: () => {
      toast(`Stored “${name}” — use it as {{secrets.${name}}}`);
      setName('');
      setValue('');
      setDescription('');
      qc.invalidateQueries({ queryKey: ['credentials'] });
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const del = useMutation({
    mutationFn: (id: string) => api(`credentials/${id}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['credentials'] }),
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Credentials</h1>
          <p className="muted">Secrets are write-only: sealed on the server, never shown again, masked in every output.</p>
        </div>
      </header>
      {edit && (
        <form className="card form-row" onSubmit={submit} aria-label="New credential">
          <label>
            Name
            <input value={name} required pattern="[A-Za-z0-9_\-]+" onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Value
            <input type="password" autoComplete="new-password" value={value} required onChange={(e) => setValue(e.target.value)} />
          </label>
          <label>
            Description
            <input value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
          <button className="btn primary" type="submit" disabled={create.isPending}>
            Store secret
          </button>
        </form>
      )}
      <ErrorBox error={q.error} />
      {q.isLoading ? <Spinner /> : q.data?.length === 0 ? <Empty>No credentials yet.</Empty> : (
        <div className="card table-wrap">
          <table className="table" aria-label="Credentials">
            <thead><tr><th>Name</th><th>Use as</th><th>Description</th><th>Value</th><th>Updated</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {q.data?.map((c) => (
                <tr key={c.id}>
                  <td className="strong">{c.name}</td>
                  <td><code>{`{{secrets.${c.name}}}`}</code></td>
                  <td>{c.description ?? '—'}</td>
                  <td className="mono">{c.value}</td>
                  <td>{ago(c.updated_at)}</td>
                  <td className="actions">{edit && <button className="btn ghost sm danger" aria-label={`Delete ${c.name}`} onClick={() => del.mutate(c.id)}>Delete</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import { ago } from '../../lib/format';
import { ErrorBox, Spinner, useToast } from '../../lib/ui';

export default function Users() {
  const qc = useQueryClient();
  const toast = useToast();
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<any[]>('users') });
  const roles = useQuery({ queryKey: ['roles'], queryFn: () => api<any[]>('roles') });
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('editor');
  const inv = () => qc.invalidateQueries({ queryKey: ['users'] });
  const create = useMutation({
    mutationFn: () => api('users', { body: { username, password, role } }),
    onSuccess: () => {
      toast(`Created ${username}`);
      setUsername('');
      setPassword('');
      inv();
    },
    onError: (e) => toast((e as Error).message, 'error'),
  });
  const patch = useMutation({
    mutationFn: ({ id, body }: { id: string; body: any }) => api(`users/${id}`, { method: 'PATCH', body }),
    onSuccess: inv,
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
          <h1>Users &amp; roles</h1>
          <p className="muted">Roles are ceilings: a share never gives more than the role allows.</p>
        </div>
      </header>
      <form className="card form-row" onSubmit={submit} aria-label="New user">
        <label>Username<input value={username} required onChange={(e) => setUsername(e.target.value)} /></label>
        <label>Password<input type="password" autoComplete="new-password" value={password} required minLength={12} onChange={(e) => setPassword(e.target.value)} /></label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            {(roles.data ?? [{ name: 'admin' }, { name: 'editor' }, { name: 'operator' }, { name: 'viewer' }]).map((r) => <option key={r.name}>{r.name}</option>)}
          </select>
        </label>
        <button className="btn primary" type="submit">Create user</button>
      </form>
      <ErrorBox error={users.error} />
      {users.isLoading ? <Spinner /> : (
        <div className="card table-wrap">
          <table className="table" aria-label="Users">
            <thead><tr><th>User</th><th>Role</th><th>Active</th><th>Created</th></tr></thead>
            <tbody>
              {users.data?.map((u) => (
                <tr key={u.id}>
                  <td className="strong">{u.username}</td>
                  <td>
                    <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => patch.mutate({ id: u.id, body: { role: e.target.value } })}>
                      {(roles.data ?? []).map((r) => <option key={r.name}>{r.name}</option>)}
                    </select>
                  </td>
                  <td><input type="checkbox" aria-label={`${u.username} active`} checked={u.active} onChange={(e) => patch.mutate({ id: u.id, body: { active: e.target.checked } })} /></td>
                  <td>{ago(u.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2 className="section-title">Roles</h2>
      <div className="roles">
        {roles.data?.map((r) => (
          <div className="card role" key={r.name}>
            <h3>{r.name}</h3>
            <p className="small muted">{(r.permissions ?? []).join(', ')}</p>
          </div>
        ))}
      </div>
    </div>
  );
}

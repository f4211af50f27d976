import { useState, type FormEvent } from 'react';
import { useAuth } from '../lib/auth';
import { ErrorBox } from '../lib/ui';

export default function Login() {
  const { login } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (err) {
      setError((err as any)?.status === 401 ? new Error('Wrong username or password.') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login-page">
      <div className="login-art" aria-hidden="true">
        <svg viewBox="0 0 400 300" width="100%" height="100%">
          <defs>
            <linearGradient id="g" x1="0" x2="1">
              <stop offset="0" stopColor="#6366f1" />
              <stop offset="1" stopColor="#06b6d4" />
            </linearGradient>
          </defs>
          <path d="M60 150 C120 150 120 70 180 70 M180 70 C240 70 240 150 300 150 M60 150 C120 150 120 230 180 230 M180 230 C240 230 240 150 300 150" stroke="url(#g)" strokeWidth="3" fill="none" opacity=".8" />
          {[ [60, 150], [180, 70], [180, 230], [300, 150] ].map(([x, y], i) => (
            <rect key={i} x={x - 34} y={y - 16} width="68" height="32" rx="9" fill="rgba(255,255,255,.12)" stroke="url(#g)" strokeWidth="2" />
          ))}
        </svg>
        <h2>Durable workflows, designed visually.</h2>
        <p>Build, run and debug step by step — on one fast binary.</p>
      </div>
      <form className="login-card" onSubmit={submit} aria-label="Sign in">
        <h1>Sign in to APG Flow</h1>
        <label>
          Username
          <input autoFocus autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <ErrorBox error={error} title="Could not sign in" />
        <button className="btn primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, login as apiLogin, logout as apiLogout, refresh, setUnauthorizedHandler, type User } from './api';

interface AuthState {
  user: User | null;
  ready: boolean;
  login: (u: string, p: string) => Promise<void>;
  logout: () => Promise<void>;
}

const Ctx = createContext<AuthState>(null as unknown as AuthState);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    setUnauthorizedHandler(() => setUser(null));
    // A reload: the session cookie (if any) gives a new access token.
    refresh()
      .then(async (ok) => {
        if (ok) setUser(await api<User>('auth/me'));
      })
      .catch(() => undefined)
      .finally(() => setReady(true));
  }, []);

  const login = useCallback(async (u: string, p: string) => {
    await apiLogin(u, p);
    setUser(await api<User>('auth/me'));
  }, []);
  const logout = useCallback(async () => {
    await apiLogout();
    setUser(null);
  }, []);
  return <Ctx.Provider value={{ user, ready, login, logout }}>{children}</Ctx.Provider>;
}

export const useAuth = () => useContext(Ctx);

/** What a role may do in the UI (the server checks again; this only hides controls). */
export function can(user: User | null, action: 'edit' | 'run' | 'admin') {
  const role = user?.role ?? 'viewer';
  if (action === 'admin') return role === 'admin';
  if (action === 'edit') return role === 'admin' || role === 'editor';
  return role !== 'viewer';
}

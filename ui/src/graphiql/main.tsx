// GraphiQL, served by the binary at a browser's GET /graphql from this bundle (its own Vite
// entry: none of it is in the app's first load, and nothing comes from a CDN).
//
// Who the queries run as: a token pasted in the headers editor ({"Authorization": "Bearer …"})
// when there is one, otherwise the browser session of the app (the apg_session cookie buys an
// access token at /api/v1/auth/session/refresh with the CSRF header; ../lib/session.ts). The
// cookie itself authenticates nothing at /graphql: the token always travels as Authorization,
// and subscriptions carry it as ?access_token= (browsers cannot set headers on a WebSocket).

import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import 'graphiql/style.css';
import { freshToken, refresh, token } from '../lib/session';
import './graphiql.css';

/** The bearer token of the last request whose headers the user wrote, if they wrote one. */
let pasted: string | null = null;

async function send(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const own = headers.get('authorization');
  if (own) {
    pasted = own.replace(/^bearer\s+/i, '').trim() || null;
    return fetch(input, { ...init, headers, credentials: 'omit' });
  }
  pasted = null;
  const attempt = async () => {
    const bearer = await freshToken();
    if (bearer) headers.set('authorization', `Bearer ${bearer}`);
    return fetch(input, { ...init, headers, credentials: 'omit' });
  };
  let res = await attempt();
  if (res.status === 401 && (await refresh())) res = await attempt();
  return res;
}

const proto = location.protocol === 'https:' ? 'wss' : 'ws';
const wsClient = createClient({
  // Asked again at every (re)connect, so a reconnect never reuses an expired token.
  url: async () => {
    const bearer = pasted ?? (await freshToken()) ?? '';
    return `${proto}://${location.host}/graphql?access_token=${encodeURIComponent(bearer)}`;
  },
  lazy: true,
});

const fetcher = createGraphiQLFetcher({ url: '/graphql', fetch: send as typeof fetch, wsClient });

function Banner() {
  const [who, setWho] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    freshToken().then(async (t) => {
      if (!t) return setWho(null);
      const r = await fetch('/api/v1/auth/me', { headers: { authorization: `Bearer ${token()}` } });
      const body = await r.json().catch(() => null);
      setWho(body?.data?.username ?? null);
    });
  }, []);
  return (
    <header className="apg-graphiql-bar">
      <a href="/workflows">APG Workflow</a>
      <span data-testid="graphiql-session">
        {who === undefined
          ? 'Checking the session…'
          : who
            ? `Queries run as ${who} (your browser session), unless you set an Authorization header.`
            : 'Not signed in: sign in to the app first, or set {"Authorization": "Bearer <token>"} in Headers.'}
      </span>
    </header>
  );
}

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <div className="apg-graphiql">
      <Banner />
      <div className="apg-graphiql-main">
        {/* Headers (where a pasted token lives) are never written to localStorage. */}
        <GraphiQL fetcher={fetcher} shouldPersistHeaders={false} />
      </div>
    </div>
  </StrictMode>,
);

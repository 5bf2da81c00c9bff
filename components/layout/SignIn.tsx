'use client';

import { useEffect, useState } from 'react';
import { SHARE_STORAGE_KEY, TOKEN_STORAGE_KEY } from '@/components/live/LiveClient';
import { DevUsersAnswer } from '@/lib/protocol';
import { readAnswer } from '@/lib/rest/readAnswer';
import { testIds } from '@/lib/testIds';

function signInWith(token: string | null) {
  window.sessionStorage.removeItem(SHARE_STORAGE_KEY);
  if (token) window.localStorage.setItem(TOKEN_STORAGE_KEY, token);
  else window.localStorage.removeItem(TOKEN_STORAGE_KEY);
  // A fresh page: the socket reconnects with the new identity.
  window.location.assign('/');
}

/**
 * Sign-in for the embedded default: the local users file's people, one click each. With OIDC the
 * gateway does not list users; a token from the identity provider can be pasted instead.
 */
export function SignIn() {
  const [users, setUsers] = useState<DevUsersAnswer['users'] | null>(null);
  const [listed, setListed] = useState(true);
  const [pasted, setPasted] = useState('');

  useEffect(() => {
    fetch('/api/dev/users')
      .then(async (res) => {
        const answer = await readAnswer(res, DevUsersAnswer);
        if (!answer.ok) return setListed(false);
        setUsers(answer.data.users);
      })
      .catch(() => setListed(false));
  }, []);

  return (
    <div className="mx-auto max-w-xl space-y-6">
      <h1 className="text-xl font-semibold">Sign in</h1>
      {listed ? (
        <section className="space-y-2">
          <p className="text-sm text-muted">
            Local users of this Loupe (the embedded default&apos;s users file):
          </p>
          <ul className="divide-y divide-edge rounded-lg border border-edge bg-panel">
            {(users ?? []).map((user) => (
              <li key={user.name}>
                <button
                  type="button"
                  data-testid={testIds.signInUser(user.name)}
                  onClick={() => signInWith(user.token)}
                  className="flex w-full items-center gap-3 px-4 py-3 text-left hover:bg-white/5"
                >
                  <span className="font-medium">{user.name}</span>
                  <span className="rounded border border-edge px-2 text-xs text-muted">
                    {user.role}
                  </span>
                  {user.runs.length ? (
                    <span className="text-xs text-muted">runs: {user.runs.join(', ')}</span>
                  ) : null}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <form
        className="space-y-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (pasted.trim()) signInWith(pasted.trim());
        }}
      >
        <label className="block text-sm text-muted" htmlFor="token">
          Or paste an access token (e.g. from Globus Auth)
        </label>
        <div className="flex gap-2">
          <input
            id="token"
            type="password"
            autoComplete="off"
            value={pasted}
            onChange={(e) => setPasted(e.target.value)}
            className="flex-1 rounded border border-edge bg-surface px-2 py-1 font-mono text-sm"
          />
          <button
            type="submit"
            className="rounded border border-edge px-3 py-1 text-sm hover:bg-white/10"
          >
            Use token
          </button>
        </div>
      </form>
      <button
        type="button"
        data-testid={testIds.signInAnonymous}
        onClick={() => signInWith(null)}
        className="text-sm text-info underline"
      >
        Continue as an anonymous viewer
      </button>
    </div>
  );
}

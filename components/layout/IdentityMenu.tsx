'use client';

import Link from 'next/link';
import { testIds } from '@/lib/testIds';
import { useSession } from '@/stores/StoreProvider';

/** Who this tab acts as; links to the sign-in page. */
export function IdentityMenu() {
  const identity = useSession((s) => s.identity);
  const label = !identity
    ? '…'
    : identity.anonymous
      ? 'anonymous viewer'
      : identity.source === 'share'
        ? 'shared link · read-only'
        : `${identity.subject} · ${identity.role}`;
  return (
    <Link
      href="/signin"
      data-testid={testIds.identity}
      data-role={identity?.role ?? ''}
      className="rounded-full border border-edge px-3 py-1 text-xs text-muted hover:text-white"
      title="Sign in as someone else"
    >
      {label}
    </Link>
  );
}

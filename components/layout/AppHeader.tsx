import Link from 'next/link';
import { ConnectionBadge } from './ConnectionBadge';
import { IdentityMenu } from './IdentityMenu';

const NAV = [
  { href: '/', label: 'Runs' },
  { href: '/facilities', label: 'Facilities' },
  { href: '/audit', label: 'Audit' },
];

export function AppHeader() {
  return (
    <header className="sticky top-0 z-20 flex items-center gap-6 border-b border-edge bg-panel/95 px-4 py-2 backdrop-blur">
      <Link href="/" className="text-lg font-semibold tracking-tight">
        Loupe
      </Link>
      <nav className="flex gap-4 text-sm text-muted">
        {NAV.map((item) => (
          <Link key={item.href} href={item.href} className="hover:text-white">
            {item.label}
          </Link>
        ))}
      </nav>
      <div className="ml-auto flex items-center gap-3">
        <IdentityMenu />
        <ConnectionBadge />
      </div>
    </header>
  );
}

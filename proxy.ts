import { type NextRequest, NextResponse } from 'next/server';
import { allowedHostsFrom, hostAllowed } from '@/lib/hostAllowed';

// `npm start` passes the gateway's list (server/config.ts: the loopback names on the UI's and the
// gateway's ports, or LOUPE_ALLOWED_HOSTS); run by hand, the loopback names on any port.
const allowed = allowedHostsFrom(process.env.LOUPE_ALLOWED_HOSTS);

/**
 * The UI's Host allow-list, before any page, asset or forwarded /api call: a page of another site
 * whose name resolves to this machine (DNS rebinding) names its own Host and is refused, so it
 * can read nothing — not the sign-in page, not the API through the UI's origin.
 */
export function proxy(request: NextRequest): NextResponse {
  const host = request.headers.get('host');
  if (!hostAllowed(host, allowed))
    return new NextResponse(`host ${host ?? '(none)'} is not served here\n`, {
      status: 403,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  return NextResponse.next();
}

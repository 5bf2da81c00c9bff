// The browser sees one origin: Next forwards the REST API and the viewers' Socket.IO engine to the
// gateway, which runs as its own process (server/main.ts). Rewrites are fixed at build time, so
// `npm start` rebuilds when LOUPE_GATEWAY_URL changes.
const gateway = process.env.LOUPE_GATEWAY_URL ?? 'http://127.0.0.1:4000';

/** @type {import('next').NextConfig} */
const nextConfig = {
  // A separate build directory lets the e2e server (its own gateway port) keep its own build.
  distDir: process.env.LOUPE_DIST_DIR ?? '.next',
  reactStrictMode: true,
  // `npm run typecheck` checks the whole repository (UI, gateway, consumers) in one pass; the build
  // need not check the UI a second time.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // Socket.IO's path ends in a slash (/socket.io/); keep Next from redirecting it away.
  skipTrailingSlashRedirect: true,
  async headers() {
    const dev = process.env.NODE_ENV !== 'production';
    // Next's App Router inlines its bootstrap scripts, hence 'unsafe-inline' for scripts; the dev
    // server also evaluates code. Workers and textures come from blob: URLs. 'wasm-unsafe-eval'
    // lets the HDF5 export compile h5wasm's WebAssembly (it allows no JavaScript eval).
    const csp = [
      "default-src 'self'",
      `script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'${dev ? " 'unsafe-eval'" : ''}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "connect-src 'self' ws: wss:",
      "worker-src 'self' blob:",
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "form-action 'self'",
    ].join('; ');
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'Content-Security-Policy', value: csp },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Referrer-Policy', value: 'no-referrer' },
          { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()' },
        ],
      },
    ];
  },
  async rewrites() {
    return [
      { source: '/api/:path*', destination: `${gateway}/api/:path*` },
      { source: '/socket.io/', destination: `${gateway}/socket.io/` },
      { source: '/socket.io/:path*', destination: `${gateway}/socket.io/:path*` },
    ];
  },
};

export default nextConfig;

'use client';

import { useState } from 'react';

/** Copies this page's address, which carries the view (planes, window, colormap, volume). */
export function CopyViewLink() {
  const [copied, setCopied] = useState<string | null>(null);
  return (
    <span className="flex items-center gap-2">
      <button
        type="button"
        className="rounded border border-edge px-3 py-1 text-sm hover:bg-white/10"
        title="Copy a link that opens this run with this view"
        onClick={async () => {
          const link = window.location.href;
          try {
            await navigator.clipboard.writeText(link);
            setCopied(link);
          } catch {
            // Clipboard refused (no permission, insecure origin): show the link to copy by hand.
            setCopied(link);
          }
        }}
      >
        Copy link to this view
      </button>
      {copied ? (
        <input
          readOnly
          aria-label="link to this view"
          data-testid="view-link"
          value={copied}
          onFocus={(e) => e.target.select()}
          className="w-64 rounded border border-edge bg-surface px-2 py-1 font-mono text-xs"
        />
      ) : null}
    </span>
  );
}

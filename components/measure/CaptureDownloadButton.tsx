'use client';

import { useState } from 'react';
import { readRefusal } from '@/lib/rest/readAnswer';
import { useLiveClient } from '@/components/live/LiveClientProvider';
import { downloadBlob } from './downloadBlob';

/** The file name of a capture's path on the consumer's host (POSIX or Windows separators). */
export function captureFileName(artifact: string): string {
  return artifact.split(/[\\/]/).pop() ?? artifact;
}

interface SaveFilePicker {
  showSaveFilePicker?: (options: {
    suggestedName: string;
  }) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

/**
 * Downloads a captured scan's HDF5 through the gateway with this tab's credentials. Where the
 * browser can write a chosen file (File System Access API, Chromium) the response is piped to disk
 * as it arrives; elsewhere it is collected into a Blob first (the gateway streams either way).
 */
export function CaptureDownloadButton({ run, artifact }: { run: string; artifact: string }) {
  const live = useLiveClient();
  const [state, setState] = useState<string | null>(null);
  const name = captureFileName(artifact);
  const download = async () => {
    setState('downloading…');
    try {
      const res = await live.api(
        `/api/runs/${encodeURIComponent(run)}/captures/${encodeURIComponent(name)}`,
      );
      if (!res.ok) return setState(`download failed: ${await readRefusal(res)}`);
      if (!res.body) return setState('download failed: the answer has no body');
      const picker = (window as unknown as SaveFilePicker).showSaveFilePicker;
      if (picker) {
        const file = await picker({ suggestedName: name });
        await res.body.pipeTo(await file.createWritable());
      } else {
        downloadBlob(await res.blob(), name);
      }
      setState(null);
    } catch (error) {
      // A dismissed save dialog is no error.
      setState((error as Error).name === 'AbortError' ? null : (error as Error).message);
    }
  };
  return (
    <span className="flex items-center gap-2">
      <button
        type="button"
        onClick={download}
        aria-label={`Download capture ${name}`}
        className="rounded border border-edge px-2 py-0.5 text-white hover:bg-white/10"
      >
        Download HDF5
      </button>
      {state ? <span role="status">{state}</span> : null}
    </span>
  );
}

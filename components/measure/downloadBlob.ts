/** Saves `blob` as `name` through the browser's download (an object URL, revoked once clicked). */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The click starts the download synchronously; revoke after the event loop lets it begin.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

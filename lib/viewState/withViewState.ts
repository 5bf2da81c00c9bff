/**
 * `path` (which may end in `#share=…`) with the view-state query of the page it is made on, so a
 * share link opens the same view; `search` is `window.location.search` (with or without `?`).
 */
export function withViewState(path: string, search: string): string {
  const query = search.startsWith('?') ? search.slice(1) : search;
  if (!query) return path;
  const hash = path.indexOf('#');
  const [base, fragment] = hash < 0 ? [path, ''] : [path.slice(0, hash), path.slice(hash)];
  return `${base}${base.includes('?') ? '&' : '?'}${query}${fragment}`;
}

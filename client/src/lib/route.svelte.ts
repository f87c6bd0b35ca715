// Where the page is, kept in the URL hash (#/explore?brand=Lumen&labels=negative): a view and its
// filters can be shared as a link, and the browser's back button walks through them.
export const VIEWS = ['wall', 'explore', 'leadership', 'alerts'] as const
export type View = (typeof VIEWS)[number]

export interface Place {
  view: View
  params: URLSearchParams
}

export function parsePlace(hash: string): Place {
  const [path = '', q = ''] = hash.replace(/^#\/?/, '').split('?', 2)
  return { view: (VIEWS as readonly string[]).includes(path) ? (path as View) : 'wall', params: new URLSearchParams(q) }
}

export function href(view: View, params?: URLSearchParams): string {
  const q = params?.toString()
  return `#/${view}${q ? `?${q}` : ''}`
}

export class Router {
  place = $state<Place>(parsePlace(location.hash))

  constructor() {
    addEventListener('hashchange', () => (this.place = parsePlace(location.hash)))
  }

  /** Moves to a view; `replace` rewrites the current entry (filters typed one key at a time). */
  go(view: View, params?: URLSearchParams, replace = false): void {
    const target = href(view, params)
    if (target === location.hash) return
    if (replace) {
      history.replaceState(null, '', target)
      this.place = parsePlace(target)
    } else location.hash = target
  }
}

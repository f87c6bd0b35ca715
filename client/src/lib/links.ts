// Links in posts come from strangers: only http(s) ones are made links (never javascript: or
// data:), and they open in a new tab that cannot reach back into this page.
export const safeUrl = (url: string): string | undefined => (/^https?:\/\//i.test(url) ? url : undefined)

export const EXTERNAL = { target: '_blank', rel: 'noopener noreferrer nofollow' } as const

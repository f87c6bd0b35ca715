// Svelte 5 reads TypeScript natively; no preprocessing needed.
export default {}

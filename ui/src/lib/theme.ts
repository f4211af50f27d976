// Light and dark: the system's preference unless the user picked one (kept for the tab only,
// so nothing is written to storage beside what the user asked for).
export type Theme = 'light' | 'dark';
export function systemTheme(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
export function applyTheme(t: Theme) {
  document.documentElement.dataset.theme = t;
}

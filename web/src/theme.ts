/** Light/dark theme: follows `prefers-color-scheme` until the user picks one (kept in localStorage). */
import { effect, signal } from '@preact/signals';

const stored = localStorage.getItem('bwk-theme');
const media = window.matchMedia('(prefers-color-scheme: dark)');
/** Current theme. */
export const theme = signal<'light' | 'dark'>(stored === 'light' || stored === 'dark' ? stored : media.matches ? 'dark' : 'light');
media.addEventListener('change', (e) => {
  if (!localStorage.getItem('bwk-theme')) theme.value = e.matches ? 'dark' : 'light';
});
effect(() => {
  document.documentElement.dataset.theme = theme.value;
});

/** Switches and remembers the theme. */
export function toggleTheme(): void {
  theme.value = theme.value === 'dark' ? 'light' : 'dark';
  localStorage.setItem('bwk-theme', theme.value);
}

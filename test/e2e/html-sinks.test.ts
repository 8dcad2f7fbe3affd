/**
 * Static guard for the dashboard sources (runs without a browser): no HTML sinks that could turn
 * request-derived text into markup (`innerHTML`, `outerHTML`, `insertAdjacentHTML`, `document.write`,
 * `dangerouslySetInnerHTML`) and no string-to-code (`eval`, `new Function`, string `setTimeout`).
 * ECharts formatters (which return HTML) must escape through `esc()`. The browser test
 * (dashboard.test.ts) checks the rendered result; this one catches a regression before it runs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../web/src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : /\.(ts|tsx)$/.test(d.name) ? [join(dir, d.name)] : []));
}

test('dashboard sources use no HTML sinks or string-to-code', () => {
  const all = files(SRC);
  assert.ok(all.length >= 10, `dashboard sources found: ${all.length}`);
  const sinks = /\b(innerHTML|outerHTML|insertAdjacentHTML|dangerouslySetInnerHTML|document\.write|eval)\b|new Function\s*\(|setTimeout\(\s*['"`]/;
  for (const f of all) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => assert.doesNotMatch(line, sinks, `${f}:${i + 1}`));
  }
});

test('every ECharts formatter escapes its values', () => {
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    // Each `formatter:` builds HTML; every interpolation in it must go through esc().
    for (const m of text.matchAll(/formatter:\s*\(([^)]*)\)\s*=>\s*(`[^`]*`)/g)) {
      for (const expr of m[2].matchAll(/\$\{([^}]*)\}/g)) {
        assert.match(expr[1].trim(), /^esc\(|^ps\.map\(/, `${f}: unescaped \${${expr[1]}} in an ECharts formatter`);
      }
    }
  }
});

/**
 * Smoke test: the packaged extension installs into code-server, the workbench
 * loads in Chromium, a .genotype file opens in the Genotype language mode and
 * the extension activates and starts its language server (its output channel
 * logs both).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionForFile } from './harness.js';

const session = sessionForFile({ name: 'smoke' });

test('a .genotype file opens in the Genotype language mode and activates Cellscope', async () => {
  const s = session();
  await s.shot('workbench');
  await s.openFile('darts.genotype');
  const mode = s.page.locator('[id="status.editor.mode"]');
  await mode.waitFor();
  assert.equal((await mode.innerText()).trim(), 'Genotype');
  await s.shot('language-mode');

  const log = await s.until('the Cellscope output channel to log the language server start', async () => {
    const text = await s.outputChannelText();
    return /language server (started|failed)/.test(text) ? text : undefined;
  });
  assert.match(log, /Cellscope 0\.1\.0 activating/);
  // The bundled server runs from the installed .vsix alone (no node_modules shipped).
  assert.match(log, /language server started; client commands: .*cellscope\.sampleVariants/);

  await s.runCommand('Developer: Show Running Extensions');
  const row = s.page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'Cellscope' });
  await row.waitFor();
  await s.shot('running-extensions');
});

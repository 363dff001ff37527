/**
 * End-to-end harness: the packaged extension in a real VS Code (code-server
 * 4.100.3) driven in Debian's Chromium through playwright-core. Offline by
 * construction (see shared/reference/real-vscode-offline.md): code-server comes
 * from scripts/setup-code-server.sh's cache, the browser from /usr/bin/chromium.
 *
 * Each session gets fresh user-data and extensions directories and a copy of
 * test/e2e/fixtures/workspace, installs ./cellscope.vsix, and is torn down in
 * full by close(), which is safe to call after any failure. Every helper waits
 * with a bound, and every step can leave a numbered screenshot in
 * test-output/e2e/<session>/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const CODE_SERVER_VERSION = '4.100.3';
const FIXTURE_WORKSPACE = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'workspace');
const VSIX = join(REPO_ROOT, 'cellscope.vsix');
const CHROMIUM = '/usr/bin/chromium';
/** Flags that keep Chromium from reaching for the network on a closed machine. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Settings that keep the workbench quiet and deterministic for screenshots. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'editor.codeLens': true,
  'editor.hover.delay': 150,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
  'window.commandCenter': false,
};

export function codeServerDir(): string {
  const cache = process.env.CELLSCOPE_CACHE ?? join(homedir(), '.cache', 'cellscope');
  return join(cache, `code-server-${CODE_SERVER_VERSION}`);
}

function codeServerEntry(): string {
  const dir = codeServerDir();
  const entry = join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(join(dir, '.cellscope-setup-complete')) || !existsSync(entry)) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed in ${dir}; run scripts/setup-code-server.sh`);
  }
  return entry;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a command to completion within `timeoutMs`, appending its output to `logFile`. */
function runToEnd(command: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms (log: ${logFile})`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      log.end();
      if (code === 0) resolveRun();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code} (log: ${logFile})`));
    });
  });
}

export interface SessionOptions {
  /** Names the output folder test-output/e2e/<name>/. */
  readonly name: string;
  /** The file to open first, relative to the workspace. */
  readonly open?: string;
  /** Written to the workspace's .vscode/settings.json before the editor starts (settings written later are picked up only after a delay). */
  readonly workspaceSettings?: Readonly<Record<string, unknown>>;
}

/**
 * One code-server session for a test file: started before its tests and
 * closed after them (`beforeClose` first, e.g. to end detached trainers).
 * Returns what the tests call to reach it.
 */
export function sessionForFile(options: SessionOptions, beforeClose?: (session: Session) => void | Promise<void>): () => Session {
  let session: Session | undefined;
  before(async () => {
    session = await Session.start(options);
  });
  after(async () => {
    if (session && beforeClose) await beforeClose(session);
    await session?.close();
  });
  return () => {
    if (!session) throw new Error(`the ${options.name} session did not start`);
    return session;
  };
}

export class Session {
  private shotCount = 0;

  private constructor(
    readonly name: string,
    readonly outDir: string,
    readonly workspace: string,
    readonly userDataDir: string,
    private readonly tempRoot: string,
    private readonly server: ChildProcess,
    private readonly browser: Browser,
    readonly page: Page,
  ) {}

  static async start(options: SessionOptions): Promise<Session> {
    const entry = codeServerEntry();
    if (!existsSync(VSIX)) throw new Error(`${VSIX} missing: run \`npm run package\` first`);
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: run scripts/setup-code-server.sh`);

    const outDir = join(REPO_ROOT, 'test-output', 'e2e', options.name);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir, { recursive: true });
    const tempRoot = await mkdtemp(join(tmpdir(), 'cellscope-e2e-'));
    const userDataDir = join(tempRoot, 'user-data');
    const extensionsDir = join(tempRoot, 'extensions');
    const workspace = join(tempRoot, 'workspace');
    await mkdir(join(userDataDir, 'User'), { recursive: true });
    await mkdir(extensionsDir, { recursive: true });
    await writeFile(join(userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
    await cp(FIXTURE_WORKSPACE, workspace, { recursive: true });
    if (options.workspaceSettings) {
      await mkdir(join(workspace, '.vscode'), { recursive: true });
      await writeFile(join(workspace, '.vscode', 'settings.json'), JSON.stringify(options.workspaceSettings, null, 2));
    }

    const serverLog = join(outDir, 'code-server.log');
    let server: ChildProcess | undefined;
    let browser: Browser | undefined;
    try {
      await runToEnd(
        process.execPath,
        [entry, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', VSIX],
        serverLog,
        120_000,
      );

      const port = await freePort();
      // detached: its own process group, so close() can end code-server with every child it spawned.
      server = spawn(
        process.execPath,
        [
          entry,
          '--auth', 'none',
          '--bind-addr', `127.0.0.1:${port}`,
          '--user-data-dir', userDataDir,
          '--extensions-dir', extensionsDir,
          '--disable-telemetry',
          '--disable-update-check',
          '--disable-workspace-trust',
          workspace,
        ],
        { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const log = createWriteStream(serverLog, { flags: 'a' });
      server.stdout?.pipe(log);
      server.stderr?.pipe(log);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, 60_000);

      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(20_000);
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // The explorer shows the workspace once the remote file system answers.
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
      const session = new Session(options.name, outDir, workspace, userDataDir, tempRoot, server, browser, page);
      if (options.open) await session.openFile(options.open);
      return session;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      if (server) killGroup(server);
      await rm(tempRoot, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Saves test-output/e2e/<session>/NN-<step>.png. */
  async shot(step: string): Promise<string> {
    this.shotCount++;
    const file = join(this.outDir, `${String(this.shotCount).padStart(2, '0')}-${step.replace(/[^\w-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Ends the browser and code-server (with its extension host and language server) and deletes the temp dirs. */
  async close(): Promise<void> {
    await this.copyExtensionLogs().catch(() => undefined);
    await this.browser.close().catch(() => undefined);
    killGroup(this.server);
    await rm(this.tempRoot, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Copies the extension host's log files (the Cellscope output channel among them) next to the screenshots. */
  private async copyExtensionLogs(): Promise<void> {
    const logs = join(this.userDataDir, 'logs');
    for (const file of await findFiles(logs, (name) => /cellscope|exthost/i.test(name))) {
      await cp(file, join(this.outDir, 'logs', file.slice(logs.length + 1).replace(/[\\/]/g, '_')));
    }
  }

  /** The text of the Cellscope output channel as logged on disk, '' when absent. */
  async outputChannelText(): Promise<string> {
    const files = await findFiles(join(this.userDataDir, 'logs'), (name) => /Cellscope\.log$/.test(name));
    const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    return texts.join('\n');
  }

  // ---- workbench helpers -------------------------------------------------

  get activeEditor(): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  /** Opens a workspace file through Quick Open and waits for its editor. */
  async openFile(relativePath: string): Promise<void> {
    const base = relativePath.split('/').at(-1)!;
    await this.dismissWidgets();
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(relativePath);
    // Enter opens the focused row: wait until the filter has put the file there (right after
    // typing, the focus can still be on a recently opened file).
    await this.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: base }).first().waitFor();
    await this.page.keyboard.press('Enter');
    await this.page.locator(`.tab.active[aria-label*="${base}"]`).waitFor();
    await this.activeEditor.locator('.view-line').first().waitFor();
  }

  /** Closes whatever menu, quick pick or hover a previous step (or a failed test) left open. */
  async dismissWidgets(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const open = await this.page
        .locator('.quick-input-widget:visible, .action-widget:visible, .monaco-hover:not(.hidden):visible, .suggest-widget.visible, .context-view-pointerBlock')
        .count();
      if (open === 0) return;
      await this.page.keyboard.press('Escape');
      await sleep(100);
    }
  }

  /**
   * Picks the entry `label` of the open code action menu (quick fixes) with the
   * keyboard: the menu blocks pointer events right after it opens.
   */
  async chooseAction(label: string): Promise<void> {
    const rows = this.page.locator('.action-widget .monaco-list-row.action');
    await rows.first().waitFor();
    const count = await rows.count();
    for (let i = 0; i <= count; i++) {
      const focused = await this.page.locator('.action-widget .monaco-list-row.focused').getAttribute('aria-label');
      if (focused?.includes(label)) {
        await this.page.keyboard.press('Enter');
        await this.page.locator('.action-widget').waitFor({ state: 'hidden' });
        return;
      }
      await this.page.keyboard.press('ArrowDown');
    }
    throw new Error(`no code action "${label}" in the menu`);
  }

  /**
   * Picks the entry `label` of the open context menu with the keyboard. A
   * mouse click on a menu item was seen to be dropped now and then (the item
   * highlighted, the menu left open, the command never run), so the item is
   * focused with the arrow keys and chosen with Enter, then the menu must close.
   */
  async chooseMenuItem(label: string): Promise<void> {
    const menu = this.page.locator('.monaco-menu').first();
    const items = menu.locator('.action-item:not(.disabled) .action-menu-item');
    await items.first().waitFor();
    const count = await items.count();
    for (let i = 0; i <= count; i++) {
      // allTextContents does not wait: before the first arrow key no item is focused.
      const [focused] = await menu.locator('.action-item.focused .action-label').allTextContents();
      if (focused?.trim() === label) {
        await this.page.keyboard.press('Enter');
        await menu.waitFor({ state: 'detached' });
        return;
      }
      await this.page.keyboard.press('ArrowDown');
    }
    throw new Error(`no menu item "${label}"`);
  }

  /** Runs a command by its palette label, e.g. `Cellscope: Sample Variants`. */
  async runCommand(label: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    // The palette closes when it loses focus, and a webview that is still loading (a panel just
    // opened or restored) can take the focus right after F1: open it again until the command shows.
    await this.until(`the command palette to offer "${label}"`, async () => {
      await this.dismissWidgets();
      await this.page.keyboard.press('F1');
      try {
        await input.fill(`>${label}`, { timeout: 3000 });
        await row.waitFor({ timeout: 5000 });
        return true;
      } catch {
        return undefined;
      }
    });
    await this.page.keyboard.press('Enter');
  }

  /** Answers the open quick pick by choosing the row whose label contains `text`. */
  async pick(text: string): Promise<void> {
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();
    await row.waitFor();
    await row.click();
  }

  /** Answers the open input box: replaces its value with `value` and accepts. */
  async answerInput(value: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    const title = this.page.locator('.quick-input-widget .quick-input-title');
    const asked = await title.textContent();
    await input.fill(value);
    await this.page.keyboard.press('Enter');
    // The widget is reused by the next question: wait until this one is answered, or a
    // following answerInput types into the same box before it changes.
    await this.until(`"${asked}" to be answered`, async () => {
      const visible = await this.page.locator('.quick-input-widget:visible').count();
      return visible === 0 || (await title.textContent()) !== asked ? true : undefined;
    }, 10_000);
  }

  /** The text of the visible lines of the active editor (enough for the small fixture files). */
  async visibleText(): Promise<string> {
    const lines = this.activeEditor.locator('.view-lines .view-line');
    const items = await lines.evaluateAll((els) =>
      els.map((el) => ({ top: parseFloat((el as HTMLElement).style.top || '0'), text: el.textContent ?? '' })),
    );
    // Lines render out of order when scrolled; their `top` gives the order. Monaco uses NBSP for spaces.
    return items.sort((a, b) => a.top - b.top).map((l) => l.text.replace(/\u00a0/g, ' ')).join('\n');
  }

  /**
   * Puts the cursor just before the `occurrence`-th (1-based) match of `text`
   * in the file, using Go to Line/Column, so it works wherever the text is.
   */
  async goToText(relativePath: string, text: string, occurrence = 1): Promise<{ line: number; column: number }> {
    const content = await readFile(join(this.workspace, relativePath), 'utf8');
    let index = -1;
    for (let i = 0; i < occurrence; i++) {
      index = content.indexOf(text, index + 1);
      if (index < 0) throw new Error(`"${text}" occurs fewer than ${occurrence} times in ${relativePath}`);
    }
    const before = content.slice(0, index).split('\n');
    const position = { line: before.length, column: before.at(-1)!.length + 1 };
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`:${position.line}:${position.column}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    return position;
  }

  /** Moves the mouse over the rendered token containing `text` and returns the hover widget's text. */
  async hoverOver(text: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
    const token = this.activeEditor.locator('.view-line span span', { hasText: text }).first();
    const hover = this.page.locator('.monaco-hover:not(.hidden) .monaco-hover-content', { hasText: expect }).first();
    // Monaco asks for a hover once per mouse rest: one asked before the language server
    // has analysed the file stays empty. Move away and back until the expected one shows.
    return this.until(
      `a hover over ${text} matching ${expect}`,
      async () => {
        await this.page.mouse.move(0, 0);
        await token.hover();
        const shown = await hover.waitFor({ timeout: 4000 }).then(() => true, () => false);
        return shown ? ((await hover.textContent()) ?? '') : undefined;
      },
      timeoutMs,
    );
  }

  /** Opens the Problems panel and returns each marker row's accessible text. */
  async problems(): Promise<string[]> {
    await this.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    await this.page.locator('.markers-panel').waitFor();
    await sleep(300);
    return this.page.locator('.markers-panel .monaco-list-row').evaluateAll((rows) =>
      rows.map((r) => r.getAttribute('aria-label') ?? r.textContent ?? ''),
    );
  }

  /** Waits until `predicate` holds for the Problems panel rows, returning them. */
  async waitForProblems(predicate: (rows: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let rows: string[] = [];
    while (Date.now() < deadline) {
      rows = await this.problems();
      if (predicate(rows)) return rows;
      await sleep(500);
    }
    throw new Error(`Problems panel never matched; last rows:\n${rows.join('\n')}`);
  }

  /** The content frame of the webview that shows `selector` (panels are iframes inside iframes). */
  async webviewShowing(selector: string, timeoutMs = 30_000): Promise<FrameLocator> {
    return this.until(
      `a webview showing ${selector}`,
      async () => {
        const count = await this.page.locator('iframe.webview.ready').count();
        for (let i = 0; i < count; i++) {
          const frame = this.page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame');
          if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Reads a workspace file from disk. */
  readWorkspaceFile(relativePath: string): Promise<string> {
    return readFile(join(this.workspace, relativePath), 'utf8');
  }

  /**
   * Saves the active editor (Ctrl+S) until the file on disk satisfies `done`,
   * and returns its text. Edits that come from the language server (rename,
   * formatting, quick fixes) land a moment after their widget closes; a save
   * pressed before they land writes the old text, so the save is repeated.
   */
  async saveUntil(relativePath: string, what: string, done: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
    return this.until(
      what,
      async () => {
        await this.page.keyboard.press('Control+S');
        await sleep(1000);
        const text = await this.readWorkspaceFile(relativePath);
        return done(text) ? text : undefined;
      },
      timeoutMs,
    );
  }

  /** Polls `probe` until it returns a value other than undefined. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(250);
    }
  }
}

function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

async function waitForHttp(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode} before answering`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs} ms`);
}

async function findFiles(dir: string, match: (name: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return found;
  }
  for (const e of entries) if (e.isFile() && match(e.name)) found.push(join(e.parentPath, e.name));
  return found;
}

/**
 * The page every Cellscope webview panel starts from: a strict
 * Content-Security-Policy (no remote content; scripts only with this page's
 * nonce; styles, fonts and images only from the extension), the shared
 * media/panel.css, the panel's own stylesheet from media/ and its bundled
 * script from dist/webview/.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export interface PanelPage {
  /** Bundle name under dist/webview/, e.g. `cellPanel.js`. */
  readonly script: string;
  /** Stylesheet under media/, e.g. `cellPanel.css`. */
  readonly style: string;
  readonly title: string;
  /** The body's markup, before the script tag. */
  readonly body: string;
}

/** A fresh, unguessable nonce for each page load. */
export function nonce(): string {
  return randomBytes(16).toString('hex');
}

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: PanelPage): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', page.script));
  const shared = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', page.style));
  const n = nonce();
  // blob:/data: images are the PNG exports' rasterisations. Chart.js sets canvas
  // sizes through the CSSOM, which style-src does not restrict.
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob: data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="${shared.toString()}">
  <link rel="stylesheet" href="${style.toString()}">
  <title>${page.title}</title>
</head>
<body>
${page.body}
  <script nonce="${n}" src="${script.toString()}"></script>
</body>
</html>`;
}

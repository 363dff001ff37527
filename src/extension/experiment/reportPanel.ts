/**
 * The experiment report panel: the same report as `cellscope report` /
 * report.html (src/render/report.ts), rendered from the experiment folder's
 * files as they stand, in a webview. The report is static SVG and CSS, so the
 * webview runs no script at all and its content policy allows inline styles
 * only.
 */
import * as vscode from 'vscode';
import { renderReportBody, REPORT_STYLE } from '../../render/report.js';
import { escapeXml } from '../../render/svg.js';
import { experimentReportInput, readExperiment } from '../../runs/reportRuns.js';

export const REPORT_PANEL_VIEW_TYPE = 'cellscope.experimentReport';

const panels = new Map<string, vscode.WebviewPanel>();

/** The panel's HTML for the experiment in `dir` (or a message saying why there is none). */
export function reportPanelHtml(dir: string): string {
  let body: string;
  try {
    const file = readExperiment(dir);
    body = file === undefined ? `<p class="note">${escapeXml(dir)} holds no experiment.json.</p>` : renderReportBody(experimentReportInput(dir, file, new Date().toISOString()));
  } catch (error) {
    body = `<p class="note">${escapeXml(error instanceof Error ? error.message : String(error))}</p>`;
  }
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Experiment report</title>
<style>${REPORT_STYLE} body{color:#222;background:#fafafa}</style></head><body data-experiment="${escapeXml(dir)}">${body}</body></html>`;
}

/** Shows (or refreshes) the report of the experiment in `dir`. */
export function showReportPanel(dir: string): vscode.WebviewPanel {
  const title = `Report: ${dir.split(/[\\/]/).filter(Boolean).pop() ?? dir}`;
  let panel = panels.get(dir);
  if (panel === undefined) {
    panel = vscode.window.createWebviewPanel(REPORT_PANEL_VIEW_TYPE, title, vscode.ViewColumn.Active, { enableScripts: false, retainContextWhenHidden: false });
    panels.set(dir, panel);
    panel.onDidDispose(() => panels.delete(dir));
  } else panel.reveal();
  panel.webview.html = reportPanelHtml(dir);
  return panel;
}

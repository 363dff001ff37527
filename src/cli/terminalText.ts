/**
 * Text for a terminal. Genotype files, run folders and the command line are
 * untrusted (run folders travel between people and machines), and what the
 * CLI echoes from them (genotype names, operation strings quoted in
 * diagnostics, file names, run ids, a failed run's reason) could carry
 * terminal escape sequences: ESC and the C1 controls move the cursor, recolour
 * or retitle the terminal, rewrite the clipboard (OSC 52) or hide the lines
 * before them (CR); bidirectional overrides make a name read as another.
 *
 * `terminalSafe` writes each such character as `\uXXXX`, which reads plainly
 * and is also what JSON would write: inside a JSON string it is the same
 * value, so `--json` output stays valid and means the same (JSON.stringify
 * already escapes C0 controls but leaves C1 and the bidi controls raw).
 * Newlines and tabs pass: they are the output's own layout.
 */

// C0 except tab and newline, DEL, C1; ALM; LRM/RLM; LRE…RLO (embeddings, overrides, PDF); LRI…PDI (isolates).
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

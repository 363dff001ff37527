/**
 * Turns the installer's progress events into what VS Code's progress
 * notification takes: a message with the bytes, and increments that add up
 * to 100 over the whole install (each download's share is its byte count;
 * the other phases move the bar a little each).
 */
import type { InstallPhase, InstallProgress } from '../../shared/engineTypes.js';

/** How much of the bar each phase fills; the downloads take most. */
const SHARE: Readonly<Record<InstallPhase, number>> = { requirements: 2, package: 18, libtensorflow: 60, addon: 5, unpack: 10, verify: 3, activate: 2 };
const ORDER: readonly InstallPhase[] = ['requirements', 'package', 'libtensorflow', 'addon', 'unpack', 'verify', 'activate'];

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

export interface ProgressStep {
  readonly message: string;
  /** Percentage points to add to the bar (0 or more). */
  readonly increment: number;
}

/** A stateful mapper: feed it every event, in order. */
export function progressSteps(): (p: InstallProgress) => ProgressStep {
  let done = 0;
  return (p) => {
    // Where the bar should be: the phases before this one, plus this download's fraction.
    const before = ORDER.slice(0, ORDER.indexOf(p.phase)).reduce((sum, phase) => sum + SHARE[phase], 0);
    const fraction = p.received !== undefined && p.total ? Math.min(1, p.received / p.total) : 0;
    const target = before + SHARE[p.phase] * fraction;
    const increment = Math.max(0, target - done);
    done += increment;
    const bytes = p.received !== undefined ? ` ${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''} MiB` : '';
    return { message: `${p.file ?? p.message}${bytes}`, increment };
  };
}

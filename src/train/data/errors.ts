/**
 * Errors about data files always name the file and say what is wrong with it,
 * so that a user can find and fix (or re-download) exactly that file.
 */
export class DataFileError extends Error {
  constructor(
    /** The file (or archive member, `archive: member`) at fault. */
    readonly file: string,
    /** What is wrong with it. */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataFileError';
  }
}

/** A dataset that is neither on disk nor downloadable right now. */
export class DataUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataUnavailableError';
  }
}

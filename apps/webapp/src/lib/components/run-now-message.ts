/** What became of a "Run now", as RunNowButton reports it and RunNowResult shows it. */
export interface RunNowMessage {
  tone: 'ok' | 'bad' | 'info';
  text: string;
  /** The run on the mission's timeline. */
  href?: string;
  /** The fix is in Settings (a model for this device). */
  settings?: boolean;
}

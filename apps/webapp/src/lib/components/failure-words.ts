/** A failed run's error code in words for people, and what can be done about it. */
export interface FailureWords {
  words: string;
  /** The automatic retry rule plans it again (engine `transientErrorCodes`). */
  transient: boolean;
  /** The fix is in Settings (a model, a key). */
  settings: boolean;
  /** What the error's own message is, as its details' summary says (default: the model's words). */
  details?: string;
}

const byCode: Record<string, FailureWords> = {
  unavailable: {
    words:
      'the model could not be reached or was busy (no answer in time, too many requests, or an error on its side).',
    transient: true,
    settings: false,
  },
  model: {
    words: 'the model refused the request.',
    transient: false,
    settings: false,
  },
  bad_answer: {
    words: 'the model answered something Baton could not use.',
    transient: false,
    settings: false,
  },
  empty_answer: {
    words: 'the model gave an empty answer.',
    transient: false,
    settings: false,
  },
  no_model: {
    words: 'no model is set up for this run.',
    transient: false,
    settings: true,
  },
  budget: {
    words:
      "the mission's budget for the day had no room for another model round, so the run stopped and the mission was paused.",
    transient: false,
    settings: false,
    details: 'Why it stopped',
  },
  unauthorized: {
    words: 'the model endpoint refused the key.',
    transient: false,
    settings: true,
  },
};

export function failureWords(code: string): FailureWords {
  return (
    byCode[code] ?? {
      words: 'something went wrong while planning.',
      transient: false,
      settings: false,
    }
  );
}

import { EngineError, type EngineErrorData } from '@baton/engine';

/** Any failure as plain data for the worker boundary: engine errors as-is, zod issues as `invalid`. */
export function errorData(error: unknown): EngineErrorData {
  if (error instanceof EngineError) return error.toJSON();
  const issues = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> })?.issues;
  if (Array.isArray(issues)) {
    const issue = issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    return {
      kind: 'invalid',
      message: issue ? `${field ? `${field}: ` : ''}${issue.message}` : 'invalid input',
      ...(field ? { field } : {}),
    };
  }
  return { kind: 'internal', message: (error as Error)?.message ?? String(error) };
}

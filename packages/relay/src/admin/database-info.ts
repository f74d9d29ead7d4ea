import type { RelayConfig } from '../config.ts';
import type { DatabaseInfo } from './admin-schemas.ts';

/** Which database `config` points at: PGlite's folder, or PostgreSQL's host:port/database. */
export function databaseInfo(config: Pick<RelayConfig, 'databaseUrl' | 'dataDir'>): DatabaseInfo {
  if (config.databaseUrl === undefined) return { kind: 'pglite', location: config.dataDir };
  const url = new URL(config.databaseUrl);
  return {
    kind: 'postgres',
    location: `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`,
  };
}

/** "PGlite in /srv/baton/data" or "PostgreSQL at db.local:5432/baton", for messages. */
export function describeDatabase(info: DatabaseInfo): string {
  return info.kind === 'pglite' ? `PGlite in ${info.location}` : `PostgreSQL at ${info.location}`;
}

export function sameDatabase(a: DatabaseInfo, b: DatabaseInfo): boolean {
  return a.kind === b.kind && a.location === b.location;
}

/** The PostgreSQL dialect: for several processes on one database, and beyond one machine. */
import type { DialectModule } from '../dialect.js';
import { capabilities } from './capabilities.js';
import { connect, type PostgresConfig } from './connect.js';

export const postgres: DialectModule<PostgresConfig> = { capabilities, connect };

/** The SQLite dialect: the embedded default (a file under the data directory). */
import type { DialectModule } from '../dialect.js';
import { capabilities } from './capabilities.js';
import { connect, type SqliteConfig } from './connect.js';

export const sqlite: DialectModule<SqliteConfig> = { capabilities, connect };

/** Which database the store runs on: the embedded SQLite file, or a PostgreSQL server. */
export type StoreDialect = 'sqlite' | 'postgres';

/**
 * Every column of a row type, listed for a `select`: on PostgreSQL a statement with `select *` or
 * `returning *` is never named (store/postgres/connect.ts: a column added by a migration would break
 * it), so hot reads of whole rows list their columns instead. The type refuses a list that misses a
 * column, so a column added to the schema is not silently left out.
 */
export function allColumns<R>() {
  return <const C extends readonly (keyof R & string)[]>(
    columns: C &
      ([Exclude<keyof R, C[number]>] extends [never] ? unknown : { missing: Exclude<keyof R, C[number]> }),
  ): C => columns;
}

// compare.mjs OURS_GLOB THEIRS_FILE — where two Parquet files of the same
// table differ: per column, the Parquet types of both (parquet_schema;
// a mismatch is flagged) and the compressed bytes summed over row groups,
// the encodings and the row group count (parquet_metadata), read by DuckDB.
import { createRequire } from 'node:module';
const req = createRequire(process.env.LH_NODE_DIR + '/package.json');
const { DuckDBInstance } = await import(req.resolve('@duckdb/node-api'));
const [ours, theirs] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjects();
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
// physical type + converted type (+ decimal precision,scale); the logical
// type as well when both files carry one (DuckDB leaves it out for plain
// integers and strings, whose converted type says the same)
const schema = async (f) => {
  const m = new Map();
  for (const r of await q(`SELECT name, type, converted_type AS ct, scale, precision, logical_type AS lt
      FROM parquet_schema(${lit(f)}) WHERE type IS NOT NULL`))
    if (!m.has(r.name))
      m.set(r.name, { key: `${r.type}/${r.ct ?? '-'}${r.ct === 'DECIMAL' ? `(${r.precision},${r.scale})` : ''}`,
                      lt: r.lt });
  return m;
};
const same = (a, b) => b && a.key === b.key && (a.lt == null || b.lt == null || a.lt === b.lt);
const meta = async (f) => {
  const m = new Map();
  for (const r of await q(`SELECT path_in_schema AS c, sum(total_compressed_size)::BIGINT AS z,
      sum(total_uncompressed_size)::BIGINT AS u, count(*)::INT AS rg,
      string_agg(DISTINCT encodings, ' ') AS enc, string_agg(DISTINCT compression, ' ') AS codec
      FROM parquet_metadata(${lit(f)}) GROUP BY c`))
    m.set(r.c, r);
  return m;
};
const [so, st, mo, mt] = [await schema(ours), await schema(theirs), await meta(ours), await meta(theirs)];
const kib = (b) => (Number(b) / 1024).toFixed(1);
let to = 0, tt = 0, bad = 0;
console.log('column       parquet type (both)            ours KiB  duckdb KiB  ratio  ours enc | duckdb enc (row groups)');
for (const [c, t] of so) {
  const a = mo.get(c), b = mt.get(c), t2 = st.get(c), ok = same(t, t2);
  if (!ok) bad++;
  to += Number(a?.z ?? 0); tt += Number(b?.z ?? 0);
  console.log(`${c.padEnd(12)} ${(ok ? t.key : `${t.key} != ${t2?.key ?? 'missing'}`).padEnd(30)} ${kib(a?.z ?? 0).padStart(9)}  ` +
    `${kib(b?.z ?? 0).padStart(11)}  ${(Number(a?.z) / Number(b?.z)).toFixed(3)}  ` +
    `${a?.enc} | ${b?.enc} (${a?.rg} | ${b?.rg})`);
}
console.log(`${'all columns'.padEnd(43)} ${kib(to).padStart(9)}  ${kib(tt).padStart(11)}  ${(to / tt).toFixed(3)}` +
  `  types ${bad ? `DIFFER in ${bad} column(s)` : 'match'}`);

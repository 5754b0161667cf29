// DuckDB baseline for bench/sql/run.sh: DuckDB on its own (the npm package)
// over the same Parquet files, views named like the lakehouse tables, the
// same thread count and memory limit; one query, REPS times (default 3) in
// one database, printing the best wall time of the query:
//   node duckdb.cjs BENCH_PARQUETS DIM_PARQUETS THREADS MEMORY_LIMIT SQL
// (BENCH_PARQUETS, DIM_PARQUETS: comma-separated file lists)
//   -> "ms=<best> cpu_ms=<mean CPU time of the process per run> rows=<n> all=<ms,ms,...>"
const { DuckDBInstance } = require('@duckdb/node-api');
const list = (s) => '[' + s.split(',').map((f) => `'${f.replace(/'/g, "''")}'`).join(', ') + ']';
(async () => {
  const [bench, dim, threads, mem, sql] = process.argv.slice(2);
  const reps = Number(process.env.REPS || 3) || 3;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`SET threads=${Number(threads)}; SET memory_limit='${mem}'; SET TimeZone='UTC'`);
  await c.run(`CREATE VIEW bench AS SELECT * FROM read_parquet(${list(bench)})`);
  await c.run(`CREATE VIEW dim AS SELECT * FROM read_parquet(${list(dim)})`);
  let best = Infinity, n = 0;
  const all = [];
  const c0 = process.cpuUsage();
  for (let rep = 0; rep < reps; rep++) {
    const t0 = process.hrtime.bigint();
    const r = await c.runAndReadAll(sql);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    n = r.getRows().length;
    best = Math.min(best, ms);
    all.push(ms.toFixed(3));
  }
  const cu = process.cpuUsage(c0);
  console.log(`ms=${best.toFixed(3)} cpu_ms=${((cu.user + cu.system) / 1e3 / reps).toFixed(3)} rows=${n} all=${all.join(',')}`);
})().catch((e) => { console.error(e); process.exit(1); });

// DuckDB baseline for bench/sql: the same three queries over the same
// Parquet file, one thread, best of 3 (REPS=N changes it): best wall time
// (ms=) and best CPU time of the process (cpu_ms=, user + system).
//   node duckdb.cjs FILE ROWS
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const [file, rowsS] = process.argv.slice(2);
  const rows = Number(rowsS);
  const reps = Number(process.env.REPS || 3) || 3;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run("SET threads=1");
  const t = `read_parquet('${file}')`;
  const lo = Math.floor(rows / 3), hi = lo + Math.floor(rows / 100) - 1;
  const qs = {
    point: `SELECT * FROM ${t} WHERE id = ${Math.floor(rows / 2) + 7}`,
    range1pct: `SELECT count(*), sum(price) FROM ${t} WHERE id BETWEEN ${lo} AND ${hi}`,
    groupby: `SELECT status, count(*), sum(amount) FROM ${t} GROUP BY status`,
    groupby_dec: `SELECT status, count(*), sum(amount) FROM ${t} GROUP BY status`,
  };
  for (const [name, q] of Object.entries(qs)) {
    let best = Infinity, bestCpu = Infinity, n = 0;
    for (let rep = 0; rep < reps; rep++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const r = await c.runAndReadAll(q);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cu = process.cpuUsage(c0);
      n = r.getRows().length;
      best = Math.min(best, ms);
      bestCpu = Math.min(bestCpu, (cu.user + cu.system) / 1e3);
    }
    console.log(`duckdb ${name} ms=${best.toFixed(3)} cpu_ms=${bestCpu.toFixed(3)} rows=${n}`);
  }
})().catch((e) => { console.error(e); process.exit(1); });

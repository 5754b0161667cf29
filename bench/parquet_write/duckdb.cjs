// DuckDB baseline for bench/parquet_write: the same rows, made with the same
// formulas as bench.c (see its header), materialised in memory first, then
// timed: COPY ... TO parquet (zstd), single thread.
//   node duckdb.cjs OUT.parquet ROWS        (NODE_PATH must reach @duckdb/node-api)
const { DuckDBInstance } = require('@duckdb/node-api');
const fs = require('fs');

async function main() {
  const out = process.argv[2];
  const rows = BigInt(process.argv[3] || '10000000');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run("SET threads=1; SET TimeZone='UTC'; SET preserve_insertion_order=true");
  const H = (s) => `((i * 2654435761 + ${s}) % 4294967296)`;
  const nul = (s, e) => `CASE WHEN ${H(s)} % 20 = 0 THEN NULL ELSE ${e} END`;
  const status = `['new','paid','shipped','delivered','cancelled','refunded','returned','on_hold']`;
  const domain = `['example.com','mail.net','corp.org','shop.io']`;
  await c.run(`CREATE TABLE t AS SELECT
      i::BIGINT AS id,
      ${nul(1, `(${H(2)} % 100000 - 50000)::INTEGER`)} AS qty,
      ${nul(3, `((${H(4)} % 1000000000) * 0.01)::DECIMAL(12,2)`)} AS amount,
      ${nul(5, `(${H(6)} % 1000000)::DOUBLE / 100.0::DOUBLE`)} AS price,
      ${nul(7, `${status}[${H(8)} % 8 + 1]`)} AS status,
      ${nul(9, `'user' || (${H(10)} % 100000000)::VARCHAR || '@' || ${domain}[${H(11)} % 4 + 1]`)} AS email,
      ${nul(12, `make_timestamp(1600000000000000 + i * 1000003 + ${H(13)} % 1000000)::TIMESTAMPTZ`)} AS created_at,
      ${nul(14, `${H(15)} % 3 = 0`)} AS active,
      ${nul(16, `('{"k":' || (${H(17)} % 1000)::VARCHAR || ',"tag":"' || ${status}[${H(18)} % 8 + 1] || '"}')::JSON`)} AS attrs
    FROM range(0, ${rows}) r(i) ORDER BY i`);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await c.run(`COPY t TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6;
  const size = fs.statSync(out).size;
  console.log(`duckdb: rows=${rows} seconds=${sec.toFixed(3)} cpu_seconds=${cpu.toFixed(3)} rows_per_s=${(Number(rows) / sec).toFixed(0)} file_bytes=${size}`);
}
main().catch((e) => { console.error(e); process.exit(1); });

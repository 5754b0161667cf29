// lineage.test.mjs — the dashboard's pure helpers for sources (issue 15):
// the schedule form's kind (web/schedules.js) and the dataset page's
// source and schema comparison (web/lineage.js). node --test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnsList, kindWithSource } from '../../web/schedules.js';
import {
  sourceKey, sourceDiff, typeWidens, parseSchemaChange, policyNeeded,
} from '../../web/lineage.js';

const base = { type: 'postgres', dsn: 'postgresql://u:***@h/db', dsn_secret: 'v1:x', table: 't',
  columns: 'a', where: 'a > 1', parallel: 4, schema_policy: 'fail', batch_size: 500 };
const form = (o) => ({ source: 'table', table: 't', query: '', columns: '', where: '', schema_policy: 'evolve',
  parallel: '1', replace_source: false, ...o });

test('columnsList trims and drops empty entries', () => {
  assert.equal(columnsList(' id, amount ,, region '), 'id,amount,region');
  assert.equal(columnsList(''), '');
  assert.equal(columnsList(undefined), '');
});

test('kindWithSource: a table with columns, where, policy, parallel', () => {
  const k = kindWithSource(base, form({ columns: 'id, v', where: ' v > 2 ', schema_policy: 'replace',
    parallel: '8', replace_source: true }));
  assert.equal(k.table, 't');
  assert.equal(k.columns, 'id,v');
  assert.equal(k.where, 'v > 2');
  assert.equal(k.schema_policy, 'replace');
  assert.equal(k.parallel, 8);
  assert.equal(k.replace_source, true);
  assert.equal(k.query, undefined);
  assert.equal(k.dsn_secret, 'v1:x', 'what the form does not show is kept');
  assert.equal(k.batch_size, 500);
  assert.equal(base.columns, 'a', 'the stored kind is not changed');
});

test('kindWithSource: empty columns and where are absent; parallel 1 absent, auto kept', () => {
  let k = kindWithSource(base, form({}));
  assert.ok(!('columns' in k) && !('where' in k) && !('parallel' in k));
  assert.equal(k.schema_policy, 'evolve');
  assert.equal(k.replace_source, false);
  k = kindWithSource(base, form({ parallel: 'auto' }));
  assert.equal(k.parallel, 'auto');
});

test('kindWithSource: no_resume written only when true, kept when the form does not say', () => {
  let k = kindWithSource(base, form({ no_resume: true }));
  assert.equal(k.no_resume, true);
  k = kindWithSource(k, form({ no_resume: false }));
  assert.ok(!('no_resume' in k), 'false is not written (the default)');
  k = kindWithSource({ ...base, no_resume: true }, form({}));
  assert.equal(k.no_resume, true, 'a caller that does not say keeps the stored one');
});

test('kindWithSource: a query drops table, columns and where', () => {
  const k = kindWithSource(base, form({ source: 'query', query: '  SELECT 1 AS x\n  ' }));
  assert.equal(k.query, 'SELECT 1 AS x');
  assert.ok(!('table' in k) && !('columns' in k) && !('where' in k));
  const back = kindWithSource(k, form({ table: 'u' }));
  assert.equal(back.table, 'u');
  assert.ok(!('query' in back));
});

test('sourceKey and sourceDiff: the server and the table or query are the identity', () => {
  const a = { system: 'postgres', host: 'h', port: 5432, database: 'd', table: 'public.t', mode: 'overwrite' };
  assert.equal(sourceDiff(a, { ...a }).source, false);
  assert.equal(sourceDiff(a, { ...a }).filter, false);
  assert.equal(sourceDiff(a, { ...a, table: 'sales.t' }).source, true);
  assert.equal(sourceDiff(a, { ...a, port: 5433 }).source, true);
  const q = { ...a, table: undefined, query: 'SELECT 1' };
  assert.equal(sourceDiff(a, q).source, true);
  assert.equal(sourceDiff(a, { ...a, where: 'x > 1' }).filter, true);
  assert.equal(sourceDiff(a, { ...a, mode: 'append' }).filter, true);
  assert.equal(sourceDiff(null, a), null, 'a version before sources: nothing to compare');
  assert.notEqual(sourceKey(a), sourceKey(q));
});

test('typeWidens follows the evolve rule', () => {
  assert.ok(typeWidens('Int32', 'Int64'));
  assert.ok(typeWidens('UInt32', 'Int64'));
  assert.ok(!typeWidens('Int64', 'UInt64'));
  assert.ok(!typeWidens('Int64', 'Int32'));
  assert.ok(typeWidens('Int32', 'Float64'));
  assert.ok(!typeWidens('Int64', 'Float64'));
  assert.ok(typeWidens('Utf8', 'LargeUtf8'));
  assert.ok(typeWidens('Decimal128(10, 2)', 'Decimal128(12, 2)'));
  assert.ok(!typeWidens('Decimal128(10, 2)', 'Decimal128(12, 3)'));
  assert.ok(!typeWidens('Utf8', 'Int64'));
});

test('parseSchemaChange names each change; policyNeeded says which policy lets it through', () => {
  const c = parseSchemaChange('added d Utf8; a Int32 -> Int64; dropped b; e Int64 -> Utf8');
  assert.deepEqual(c.map((x) => [x.kind, x.column]),
    [['added', 'd'], ['widened', 'a'], ['dropped', 'b'], ['changed', 'e']]);
  assert.equal(c[1].from, 'Int32');
  assert.equal(c[1].to, 'Int64');
  assert.equal(policyNeeded(c), 'replace');
  assert.equal(policyNeeded(parseSchemaChange('added d Utf8; a Int32 -> Int64')), 'evolve');
  assert.equal(policyNeeded([]), null);
  assert.deepEqual(parseSchemaChange(undefined), []);
  assert.equal(parseSchemaChange('added x Decimal128(12, 2)')[0].to, 'Decimal128(12, 2)');
});

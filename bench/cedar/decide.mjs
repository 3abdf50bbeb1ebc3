// decide.mjs: the decision latency of the refunds policy (IssueRefund of
// examples/refunds/workflow.yaml) written in Cedar and evaluated with
// @cedar-policy/cedar-wasm. See README.md.
//
//   node bench/cedar/decide.mjs [ITERS]      (ITERS defaults to 20000)
//
// Prints one line of JSON per scenario on stdout; anything else goes to
// stderr, and any failure exits 1.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

const WARMUP = 2000;
const HERE = new URL('.', import.meta.url);
const PSET = 'refunds'; // id of the preparsed policy set
const SCHEMA = 'refunds'; // name of the preparsed schema
const HOUR_MS = 3600 * 1000;

function die(msg) {
	process.stderr.write(`decide.mjs: ${msg}\n`);
	process.exit(1);
}

function errors(answer) {
	return (answer.errors || []).map((e) => e.message).join('; ');
}

// ---- setup, once, not timed ---------------------------------------------

const arg = process.argv[2];
const ITERS = arg === undefined ? 20000 : Number(arg);
if (!Number.isInteger(ITERS) || ITERS < 1) die(`ITERS must be a positive integer, not ${arg}`);

const require = createRequire(import.meta.url);
// The package's version (its exports do not include package.json).
const pkgDir = dirname(dirname(require.resolve('@cedar-policy/cedar-wasm/nodejs')));
const VERSION = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;

const policyText = readFileSync(new URL('refunds.cedar', HERE), 'utf8');
const schemaText = readFileSync(new URL('refunds.cedarschema', HERE), 'utf8');

// Policies parsed from one text are named policy0, policy1, ...; give each
// the name in its @id annotation instead, and keep its @verdict and @reason.
const parts = cedar.policySetTextToParts(policyText);
if (parts.type !== 'success') die(`refunds.cedar: ${errors(parts)}`);
if (parts.policy_templates.length > 0) die('refunds.cedar: templates are not expected');
const policies = {};
const meaning = new Map(); // policy id -> {verdict, reason, rank}
for (const text of parts.policies) {
	const j = cedar.policyToJson(text);
	if (j.type !== 'success') die(`refunds.cedar: ${errors(j)}`);
	const a = j.json.annotations || {};
	if (!a.id || !a.verdict || !a.reason) die(`a policy without @id, @verdict or @reason:\n${text}`);
	if (!['allow', 'approval', 'block', 'reject'].includes(a.verdict)) die(`${a.id}: unknown @verdict ${a.verdict}`);
	if ((j.json.effect === 'forbid') !== (a.verdict === 'block' || a.verdict === 'reject'))
		die(`${a.id}: @verdict ${a.verdict} on a ${j.json.effect}`);
	if (a.id in policies) die(`two policies with @id ${a.id}`);
	policies[a.id] = text;
	// Rank: the rejects first, then the rest, each in the order of the file.
	const rank = (a.verdict === 'reject' ? 0 : 1000) + meaning.size;
	meaning.set(a.id, { verdict: a.verdict, reason: a.reason, rank });
}

// Strict validation of the policies against the schema.
const v = cedar.validate({ schema: schemaText, policies: { staticPolicies: policies } });
if (v.type !== 'success') die(`validate: ${errors(v)}`);
if (v.validationErrors.length > 0)
	die(`validate: ${v.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`);

// Parse the policy set and the schema once; the timed calls refer to them.
const pp = cedar.preparsePolicySet(PSET, { staticPolicies: policies });
if (pp.type !== 'success') die(`preparsePolicySet: ${errors(pp)}`);
const ps = cedar.preparseSchema(SCHEMA, schemaText);
if (ps.type !== 'success') die(`preparseSchema: ${errors(ps)}`);

// ---- one decision (what a timed call does) ------------------------------

const ACTION = { type: 'Action', id: 'IssueRefund' };

// The run as the broker holds it: its state and its order_refundable
// capabilities (order id -> expiry in ms). The agent sends only the input.
function makeRun(id, state, refundable, now) {
	return { id, state, caps: new Map(refundable.map((o) => [o, now + HOUR_MS])) };
}

function decide(inputText, run, agent) {
	let input;
	try {
		input = JSON.parse(inputText);
	} catch {
		return { verdict: 'reject', reason: 'INPUT_MALFORMED' };
	}
	const orderId = input !== null && typeof input.order_id === 'string' ? input.order_id : '';
	const runUid = { type: 'Run', id: run.id };
	const answer = cedar.statefulIsAuthorized({
		principal: { type: 'Agent', id: agent },
		action: ACTION,
		resource: { type: 'Order', id: orderId },
		context: { input, run: { __entity: runUid }, now_ms: Date.now() },
		preparsedSchemaName: SCHEMA,
		validateRequest: true,
		preparsedPolicySetId: PSET,
		entities: [
			{
				uid: runUid,
				attrs: { state: { __entity: { type: 'State', id: run.state } } },
				parents: [],
				tags: Object.fromEntries(run.caps),
			},
		],
	});
	// The request does not fit the schema: the only part of it that comes
	// from the agent is the input.
	if (answer.type !== 'success') return { verdict: 'reject', reason: 'INPUT_INVALID' };
	const { decision, diagnostics } = answer.response;
	// A policy that fails to evaluate is skipped by Cedar; pitwall rejects.
	if (diagnostics.errors.length > 0) return { verdict: 'reject', reason: 'RULE_ERROR' };
	// Of the policies that determined the answer: on allow, the one permit
	// that matched; on deny, a reject before a block, and of two rejects the
	// first in refunds.cedar, which is pitwall's order of checks.
	let found = null;
	for (const id of diagnostics.reason) {
		const m = meaning.get(id);
		if (found === null || m.rank < found.rank) found = m;
	}
	if (decision === 'allow' || found !== null) return found;
	return { verdict: 'reject', reason: 'NO_PERMIT' };
}

// ---- checks, once, not timed --------------------------------------------

const t0 = Date.now();
const SCENARIOS = [
	{
		name: 'refund_allow',
		input: '{"order_id":"ORD-1001","amount_cents":1200,"reason":"damaged"}',
		run: makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0),
		want: { verdict: 'allow', reason: 'RULE_ALLOW' },
	},
	{
		name: 'refund_approval',
		input: '{"order_id":"ORD-1001","amount_cents":12000,"reason":"damaged"}',
		run: makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0),
		want: { verdict: 'approval', reason: 'refund_over_50' },
	},
	{
		name: 'refund_block',
		input: '{"order_id":"ORD-1001","amount_cents":60000,"reason":"damaged"}',
		run: makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0),
		want: { verdict: 'block', reason: 'refund_over_500' },
	},
	{
		name: 'refund_nocap',
		input: '{"order_id":"ORD-2002","amount_cents":1200,"reason":"damaged"}',
		run: makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0),
		want: { verdict: 'reject', reason: 'CAP_MISSING' },
	},
];

// Other calls the policy must refuse, decided once: not timed, not printed.
const found = makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0);
const EXTRA = [
	['state INIT', 'ORD-1001', 1200, 'damaged', makeRun('run-1', 'INIT', ['ORD-1001'], t0), 'ILLEGAL_TRANSITION'],
	['state REFUNDED', 'ORD-1001', 1200, 'damaged', makeRun('run-1', 'REFUNDED', ['ORD-1001'], t0), 'ILLEGAL_TRANSITION'],
	['expired capability', 'ORD-1001', 1200, 'damaged', makeRun('run-1', 'ORDER_FOUND', ['ORD-1001'], t0 - 2 * HOUR_MS), 'CAP_MISSING'],
	['amount 0', 'ORD-1001', 0, 'damaged', found, 'INPUT_INVALID'],
	['amount over maximum', 'ORD-1001', 10000001, 'damaged', found, 'INPUT_INVALID'],
	['unknown reason', 'ORD-1001', 1200, 'bored', found, 'INPUT_INVALID'],
	['order id without ORD-', '1001', 1200, 'damaged', found, 'INPUT_INVALID'],
].map(([what, order_id, amount_cents, reason, run, want]) => [
	what,
	JSON.stringify({ order_id, amount_cents, reason }),
	run,
	want,
]);
EXTRA.push(
	['extra property', '{"order_id":"ORD-1001","amount_cents":1200,"reason":"damaged","note":"x"}', found, 'INPUT_INVALID'],
	['missing reason', '{"order_id":"ORD-1001","amount_cents":1200}', found, 'INPUT_INVALID'],
	['amount as a string', '{"order_id":"ORD-1001","amount_cents":"1200","reason":"damaged"}', found, 'INPUT_INVALID'],
	['amount not an integer', '{"order_id":"ORD-1001","amount_cents":12.5,"reason":"damaged"}', found, 'INPUT_INVALID'],
	['input not an object', '[1,2]', found, 'INPUT_INVALID'],
	['input not JSON', '{"order_id":', found, 'INPUT_MALFORMED'],
	['block amount, no capability', '{"order_id":"ORD-2002","amount_cents":60000,"reason":"damaged"}', found, 'CAP_MISSING'],
);
for (const [what, text, run, want] of EXTRA) {
	const got = decide(text, run, 'agent-1');
	if (got === null || got.verdict !== 'reject' || got.reason !== want)
		die(`${what}: expected reject ${want}, got ${JSON.stringify(got)}`);
}

// ---- timing --------------------------------------------------------------

function same(got, want) {
	return got !== null && got.verdict === want.verdict && got.reason === want.reason;
}

const ns = new Float64Array(ITERS);
for (const sc of SCENARIOS) {
	const bad = (got) => die(`${sc.name}: expected ${JSON.stringify(sc.want)}, got ${JSON.stringify(got)}`);
	for (let i = 0; i < WARMUP; i++) {
		const got = decide(sc.input, sc.run, 'agent-1');
		if (!same(got, sc.want)) bad(got);
	}
	for (let i = 0; i < ITERS; i++) {
		const start = process.hrtime.bigint();
		const got = decide(sc.input, sc.run, 'agent-1');
		const end = process.hrtime.bigint();
		if (!same(got, sc.want)) bad(got);
		ns[i] = Number(end - start);
	}
	ns.sort();
	// Nearest rank, as bench/stats.h: index round(p * (n - 1)).
	const pct = (p) => ns[Math.min(ITERS - 1, Math.floor(p * (ITERS - 1) + 0.5))];
	let sum = 0;
	for (let i = 0; i < ITERS; i++) sum += ns[i];
	process.stdout.write(
		JSON.stringify({
			engine: 'cedar-wasm',
			version: VERSION,
			scenario: sc.name,
			iters: ITERS,
			p50_ns: Math.round(pct(0.5)),
			p99_ns: Math.round(pct(0.99)),
			min_ns: Math.round(ns[0]),
			mean_ns: Math.round(sum / ITERS),
		}) + '\n',
	);
}

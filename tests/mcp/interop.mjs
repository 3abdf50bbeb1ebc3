// pitwall mcp driven by the official MCP TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in package.json): a real research_v1 run through tools/call, the
// illegal scenarios of scripts/demo, the legal-tools list in every state,
// tools/list_changed, --list all, the freeze and the lockout a policy
// violation brings (and pitwall unlock), and pitwall verify of the runs at the end.
//
//   PW_BIN=build/pitwall PW_SOURCE_ROOT=. node tests/mcp/interop.mjs
//
// Prints one line per check, "ok   ..." or "FAIL ...", like tests/cli/lib.sh
// (tests/cli/mcp_interop.sh counts them), then "N passed, N failed"; exits 1
// when a check failed. Node 18 or newer (the SDK's own floor).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  EmptyResultSchema,
  ErrorCode,
  LATEST_PROTOCOL_VERSION,
  McpError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.PW_SOURCE_ROOT || path.join(here, '..', '..'));
const bin = path.resolve(root, process.env.PW_BIN || 'build/pitwall');
const spec = path.join(root, 'examples', 'research_v1', 'workflow.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pitwall-mcp-interop-'));
const db = path.join(tmp, 'ledger', 'pitwall.db');
fs.mkdirSync(path.dirname(db));

const POD = { name: 'mhc-exp', gpu: 'A100', count: 4 };
const ZERO = 'sha256:' + '0'.repeat(64);
const MAIN_HEAD = '8a80036325eb13d4d38279d088c65580ce6b4799';
const STATUS = 'pitwall_status';
// The actions legal in each state of research_v1, in the spec's order.
const LEGAL = {
  INIT: ['PodUp'],
  POD_READY: ['Bootstrap', 'Checkout'],
  BOOTSTRAPPED: ['Checkout'],
  CHECKED_OUT: ['UploadManifest', 'SweepStart'],
  SWEEP_RUNNING: ['SweepStatus', 'FetchRun'],
  SWEEP_COMPLETED: ['FetchRun'],
};
const ALL = ['PodUp', 'Bootstrap', 'Checkout', 'UploadManifest', 'SweepStart', 'SweepStatus', 'FetchRun'];

let passed = 0;
let failed = 0;
function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ` (${detail})`}`);
  }
  return cond;
}
const show = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 600 ? s.slice(0, 600) + '...' : s;
};
function checkEq(name, got, want) {
  return check(name, JSON.stringify(got) === JSON.stringify(want), `got ${show(got)}, expected ${show(want)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// a timeout that does not keep node alive
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// ---- a session: the SDK's Client over its StdioClientTransport ----------------------------

const sessions = [];

// open(label, args, { askVersion }): spawn `pitwall mcp ARGS` in tmp and connect.
// askVersion: make the client's initialize ask for that protocol version
// instead of the SDK's latest (the SDK always asks LATEST_PROTOCOL_VERSION).
async function open(label, args, opts = {}) {
  const transport = new StdioClientTransport({
    command: bin,
    args: ['mcp', '--spec', spec, '--db', db, ...args],
    cwd: tmp,
    env: process.env, // ASAN_OPTIONS and the like reach a sanitizer build
    stderr: 'pipe',
  });
  const as = args.indexOf('--as');
  const s = { label, transport, agent: as >= 0 ? args[as + 1] : 'agent', stderr: '', asked: LATEST_PROTOCOL_VERSION, negotiated: null,
    exit: null, listChanged: 0, waiters: [] };
  transport.stderr.on('data', (d) => { s.stderr += d.toString(); });
  // The Client calls this with the version the server answered (HTTP transports use it).
  transport.setProtocolVersion = (v) => { s.negotiated = v; };
  if (opts.askVersion) {
    const send = transport.send.bind(transport);
    s.asked = opts.askVersion;
    transport.send = (msg, o) => send(msg.method === 'initialize'
      ? { ...msg, params: { ...msg.params, protocolVersion: opts.askVersion } } : msg, o);
  }
  const client = new Client({ name: 'pitwall-interop', version: '1.0.0' }, { capabilities: {} });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    s.listChanged++;
    for (const w of s.waiters.splice(0)) w();
  });
  s.client = client;
  sessions.push(s);
  await client.connect(transport);
  // the child, to read its exit status (close() forgets it)
  const proc = transport._process;
  if (proc) {
    s.exited = new Promise((resolve) => proc.once('exit', (code, sig) => { s.exit = { code, sig }; resolve(); }));
  }
  return s;
}

async function close(s) {
  await s.client.close();
  if (s.exited) await Promise.race([s.exited, deadline(10000)]);
  check(`${s.label}: pitwall mcp exits 0 when the client closes stdin`,
    s.exit && s.exit.code === 0, `exit ${show(s.exit)}; stderr: ${s.stderr.slice(-800)}`);
}

// Wait until s has received more than `seen` list_changed notifications.
function waitListChanged(s, seen, ms = 5000) {
  if (s.listChanged > seen) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    t.unref();
    s.waiters.push(() => { clearTimeout(t); resolve(true); });
  });
}

async function listNames(s) {
  const r = await s.client.listTools();
  return { tools: r.tools, names: r.tools.map((t) => t.name) };
}

// tools/list in state: exactly the legal actions (and pitwall_status), each with its schema.
async function checkList(s, state) {
  const { tools, names } = await listNames(s);
  checkEq(`${s.label}: tools/list in ${state} is ${LEGAL[state].join(', ') || 'nothing'} + ${STATUS}`,
    names, [...LEGAL[state], STATUS]);
  const illegal = names.filter((n) => n !== STATUS && !LEGAL[state].includes(n));
  check(`${s.label}: ... and no action illegal in ${state}`, illegal.length === 0, `listed ${illegal}`);
  check(`${s.label}: ... each with an object inputSchema`,
    tools.every((t) => t.inputSchema && t.inputSchema.type === 'object'), show(tools.map((t) => t.inputSchema)));
  return tools;
}

async function status(s) {
  const r = await s.client.callTool({ name: STATUS, arguments: {} });
  return r.structuredContent;
}

// Every tools/call of an action made: checked against the log at the end.
// The reply of an allowed call carries its result's reason (OK, EXIT_STATUS,
// ...), the call event the verdict's (DEFAULT_ALLOW, ...): compared for the others.
const calls = [];
function record(s, tool, sc) {
  calls.push({ run: sc.run_id, agent: s.agent, event: [sc.call_id, tool, sc.verdict,
    sc.verdict === 'allow' ? 'allow' : sc.reason] });
}

// call(s, name, tool, args, want): tools/call; checks each member of want
// against structuredContent, isError, and that content[0] is readable text.
// A call that changes the legal tools must be followed by list_changed; one
// that does not must not (want.moves: whether it does). want.recorded false:
// a call to a frozen run, which pitwall refuses without recording it (no call_id).
async function call(s, name, tool, args, want) {
  const seen = s.listChanged;
  const r = await s.client.callTool({ name: tool, arguments: args });
  const sc = r.structuredContent || {};
  const { isError, moves, textStarts, recorded = true, ...fields } = want;
  if (recorded) record(s, tool, sc);
  for (const [k, v] of Object.entries(fields)) checkEq(`${name}: ${k} ${show(v)}`, sc[k], v);
  checkEq(`${name}: isError ${isError}`, r.isError, isError);
  const text = r.content && r.content[0];
  check(`${name}: content[0] is text${textStarts ? ` starting "${textStarts}"` : ''}`,
    text && text.type === 'text' && typeof text.text === 'string' &&
      (!textStarts || text.text.startsWith(textStarts)), show(r.content));
  if (recorded) check(`${name}: call_id ${sc.call_id} names the call event`, /^c[0-9]+$/.test(sc.call_id || ''), show(sc.call_id));
  else checkEq(`${name}: no call_id (nothing is recorded)`, sc.call_id, undefined);
  if (moves !== undefined) {
    if (moves) {
      check(`${name}: notifications/tools/list_changed received`, await waitListChanged(s, seen),
        `${s.listChanged - seen} received`);
    } else {
      await s.client.ping(); // the server writes a notification before it reads the next request
      await sleep(0);
      checkEq(`${name}: no notifications/tools/list_changed`, s.listChanged - seen, 0);
    }
  }
  return sc;
}

const reject = (reason, check, extra = {}) => ({
  verdict: 'reject', reason, check, isError: true, moves: false, textStarts: `rejected (${reason})`, ...extra,
});

function pw(...args) {
  const r = spawnSync(bin, args, { cwd: tmp, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { rc: r.status, out: r.stdout || '', err: r.stderr || '' };
}

// ---- the checks ---------------------------------------------------------------------------

async function main() {
  const sdkPkg = JSON.parse(fs.readFileSync(path.join(here, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'), 'utf8'));
  checkEq(`the SDK is @modelcontextprotocol/sdk 1.32.2 (node ${process.version})`, sdkPkg.version, '1.32.2');
  checkEq('the SDK asks for protocol version 2025-11-25', LATEST_PROTOCOL_VERSION, '2025-11-25');

  // 1. A full research_v1 run in a new run, with the illegal scenarios on the way.
  const a = await open('sweep', ['--new-run', '--as', 'interop-agent']);
  checkEq('sweep: initialize negotiates the SDK\'s latest version', a.negotiated, LATEST_PROTOCOL_VERSION);
  const info = a.client.getServerVersion();
  checkEq('sweep: serverInfo.name is pitwall', info && info.name, 'pitwall');
  checkEq('sweep: capabilities.tools.listChanged', a.client.getServerCapabilities(), { tools: { listChanged: true } });
  check('sweep: instructions name the workflow', /research_v1/.test(a.client.getInstructions() || ''),
    show(a.client.getInstructions()));
  await a.client.ping();
  check('sweep: ping answers', true);

  let st = await status(a);
  const run = st.run_id;
  check(`sweep: ${STATUS} names the new run (${run})`, typeof run === 'string' && run.length > 0, show(st));
  checkEq(`sweep: ${STATUS} state INIT`, st.state, 'INIT');
  checkEq(`sweep: ${STATUS} legal_actions`, st.legal_actions, LEGAL.INIT);
  check(`sweep: ${STATUS} shows no local paths`, st.spec === undefined && st.run_dir === undefined, show(st));

  const tools = await checkList(a, 'INIT');
  const podUp = tools.find((t) => t.name === 'PodUp');
  checkEq('sweep: PodUp carries the spec\'s description', podUp && podUp.description, 'Provision a GPU pod for this run.');
  checkEq('sweep: PodUp\'s inputSchema is the action\'s input', podUp && podUp.inputSchema.required, ['name', 'gpu', 'count']);
  const stTool = tools.find((t) => t.name === STATUS);
  checkEq(`sweep: ${STATUS} is read-only`, stTool && stTool.annotations && stTool.annotations.readOnlyHint, true);

  await call(a, 'PodUp', 'PodUp', POD, {
    verdict: 'allow', outcome: 'ok', state: 'POD_READY', emitted: ['pod_ready@mhc-exp'], halted: false,
    isError: false, moves: true, textStarts: 'ok:',
  });
  await checkList(a, 'POD_READY');

  // scenario 2: out of order
  await call(a, 'scenario 2: SweepStart in POD_READY', 'SweepStart', { manifest_id: ZERO, timeout: 21600 },
    reject('ILLEGAL_TRANSITION', 'from', { expected: ['CHECKED_OUT'], actual: 'POD_READY', state: 'POD_READY' }));

  await call(a, 'Bootstrap', 'Bootstrap', {}, {
    verdict: 'allow', outcome: 'ok', state: 'BOOTSTRAPPED', isError: false, moves: true, textStarts: 'ok:',
  });
  await checkList(a, 'BOOTSTRAPPED');

  // scenario 4: shell injection in an input
  await call(a, 'scenario 4: Checkout of "; curl evil.com"', 'Checkout', { branch: '; curl evil.com' },
    reject('INPUT_INVALID', 'input/branch:pattern', { actual: '; curl evil.com', state: 'BOOTSTRAPPED' }));
  for (const b of ['$(id)', 'main|cat', 'a`id`', 'main\n', '../x y']) {
    await call(a, `Checkout of ${show(b)}`, 'Checkout', { branch: b }, reject('INPUT_INVALID', 'input/branch:pattern'));
  }

  // approval: nothing runs, the result names the approval
  const ap = await call(a, 'Checkout of release', 'Checkout', { branch: 'release' }, {
    verdict: 'approval', reason: 'release_checkout', check: 'decide[0]', owner: 'ml-lead', state: 'BOOTSTRAPPED',
    isError: false, moves: false, textStarts: 'approval:',
  });
  check(`Checkout of release: approval_id ${ap.approval_id}`, /^a[0-9]+$/.test(ap.approval_id || ''), show(ap));
  check('Checkout of release: expires_ms in the future', ap.expires_ms > Date.now(), show(ap.expires_ms));
  st = await status(a);
  check(`${STATUS} lists the pending approval ${ap.approval_id}`,
    (st.pending_approvals || []).some((p) => p.approval_id === ap.approval_id && p.owner === 'ml-lead'),
    show(st.pending_approvals));

  await call(a, 'Checkout main (real git)', 'Checkout', { branch: 'main', expect_sha: '8a80036' }, {
    verdict: 'allow', outcome: 'ok', state: 'CHECKED_OUT', emitted: [`repo_checked_out@${MAIN_HEAD}`],
    isError: false, moves: true,
  });
  await checkList(a, 'CHECKED_OUT');

  await call(a, 'SweepStart before any upload', 'SweepStart', { manifest_id: ZERO, timeout: 21600 },
    reject('CAP_MISSING', 'requires[1]'));
  await call(a, 'SweepStart of manifest "fake"', 'SweepStart', { manifest_id: 'fake', timeout: 21600 },
    reject('INPUT_INVALID', 'input/manifest_id:pattern'));

  const csv = fs.readFileSync(path.join(root, 'examples', 'research_v1', 'manifests', 'sweep.csv'));
  const manifest = 'sha256:' + createHash('sha256').update(csv).digest('hex');
  const up = await call(a, 'UploadManifest (state stays CHECKED_OUT)', 'UploadManifest', { csv: 'sweep.csv' }, {
    verdict: 'allow', outcome: 'ok', state: 'CHECKED_OUT', isError: false, moves: false,
  });
  checkEq('UploadManifest: manifest_id is the CSV\'s SHA-256', up.result && up.result.manifest_id, manifest);

  // scenario 3: a made-up manifest id
  const mm = await call(a, 'scenario 3: SweepStart of a made-up manifest id', 'SweepStart',
    { manifest_id: ZERO, timeout: 21600 },
    reject('CAP_MISMATCH', 'requires[1]', { expected: `manifest_signed@${ZERO}` }));
  check('scenario 3: actual lists the capability held',
    Array.isArray(mm.actual) && mm.actual.includes(`manifest_signed@${manifest}`), show(mm.actual));

  await call(a, 'SweepStart of the uploaded manifest', 'SweepStart', { manifest_id: manifest, timeout: 600 }, {
    verdict: 'allow', outcome: 'ok', state: 'SWEEP_RUNNING', isError: false, moves: true,
  });
  await checkList(a, 'SWEEP_RUNNING');

  // Poll until every row is done (real background jobs, a few seconds).
  let sw;
  let polls = 0;
  for (; polls < 120; polls++) {
    const seen = a.listChanged;
    const r = await a.client.callTool({ name: 'SweepStatus', arguments: {} });
    sw = r.structuredContent;
    record(a, 'SweepStatus', sw);
    if (sw.verdict !== 'allow' || sw.outcome !== 'ok' || r.isError) break;
    if (sw.state === 'SWEEP_COMPLETED') {
      check('SweepStatus to SWEEP_COMPLETED: notifications/tools/list_changed received',
        await waitListChanged(a, seen), 'none');
      break;
    }
    await sleep(500);
  }
  check(`the sweep completes (${polls + 1} SweepStatus calls)`, sw && sw.state === 'SWEEP_COMPLETED',
    `last SweepStatus: ${show(sw)}`);
  checkEq('... 4 rows ok, 1 failed (diverged)', sw && sw.result && [sw.result.ok, sw.result.failed], [4, 1]);
  await checkList(a, 'SWEEP_COMPLETED');

  await call(a, 'FetchRun r3', 'FetchRun', { run_id: 'r3' }, {
    verdict: 'allow', outcome: 'ok', state: 'SWEEP_COMPLETED', isError: false, moves: false,
  });
  await call(a, 'FetchRun r9 (no such row: the action fails)', 'FetchRun', { run_id: 'r9' }, {
    verdict: 'allow', outcome: 'failed', reason: 'EXIT_STATUS', isError: true, moves: false, textStarts: 'failed (EXIT_STATUS)',
  });
  await call(a, 'PodUp in SWEEP_COMPLETED (not listed)', 'PodUp', POD,
    reject('ILLEGAL_TRANSITION', 'from', { actual: 'SWEEP_COMPLETED' }));

  try {
    await a.client.request({ method: 'resources/list', params: {} }, EmptyResultSchema);
    check('an unknown method is an error', false, 'it was answered');
  } catch (e) {
    checkEq('an unknown method (resources/list) is -32601', e instanceof McpError && e.code, ErrorCode.MethodNotFound);
  }

  st = await status(a);
  checkEq(`${STATUS} at the end: state, halted, terminal`, [st.state, st.halted, st.terminal], ['SWEEP_COMPLETED', false, true]);
  check(`${STATUS} recent_calls end with the last call (PodUp, ILLEGAL_TRANSITION)`,
    Array.isArray(st.recent_calls) && st.recent_calls.length > 0 &&
      st.recent_calls[st.recent_calls.length - 1].reason === 'ILLEGAL_TRANSITION', show(st.recent_calls));

  // 2. A second client on the same run asks for 2025-06-18 and gets it.
  const b = await open('older client', ['--run', run], { askVersion: '2025-06-18' });
  checkEq('older client: asks 2025-06-18 and gets 2025-06-18 back', b.negotiated, '2025-06-18');
  await checkList(b, 'SWEEP_COMPLETED');
  await close(b);

  // 3. --list all: every action, the legal ones marked.
  const c = await open('list all', ['--run', run, '--list', 'all']);
  const { tools: all, names: allNames } = await listNames(c);
  checkEq('list all: tools/list shows every action + pitwall_status', allNames, [...ALL, STATUS]);
  for (const t of all.filter((x) => x.name !== STATUS)) {
    const legal = LEGAL.SWEEP_COMPLETED.includes(t.name);
    checkEq(`list all: ${t.name} has _meta["dev.pitwall/legal"] ${legal}`, t._meta && t._meta['dev.pitwall/legal'], legal);
    if (!legal) {
      check(`list all: ${t.name}'s description says it is not callable now`,
        (t.description || '').startsWith('[not callable in state SWEEP_COMPLETED]'), show(t.description));
    }
  }
  await call(c, 'list all: a listed but illegal action is still refused', 'Bootstrap', {},
    reject('ILLEGAL_TRANSITION', 'from'));
  await close(c);

  await close(a);

  // 4. Scenario 1 in a run of its own: an unknown tool is a policy violation. It freezes
  // the run (every later call is refused RUN_FROZEN and not recorded) and locks the
  // session's agent out of every run of the ledger until an owner unlocks it.
  const d = await open('shell', ['--new-run']);
  const shellRun = (await status(d)).run_id;
  await checkList(d, 'INIT');
  const sh = await call(d, 'scenario 1: ShellExec', 'ShellExec', { cmd: 'rm -rf /' },
    { ...reject('UNKNOWN_ACTION', 'actions', { tier: 'policy_violation', halted: true }), moves: true });
  const { names: halted } = await listNames(d);
  checkEq('after ShellExec: tools/list shows only pitwall_status (the run is frozen)', halted, [STATUS]);
  const before = pw('status', shellRun, '--db', db);
  for (const [tool, args] of [['PodUp', POD], ['Bootstrap', {}], ['ShellExec', { cmd: 'id' }]]) {
    await call(d, `then ${tool} is RUN_FROZEN`, tool, args,
      reject('RUN_FROZEN', 'run', { halted: true, frozen: true, recorded: false }));
  }
  checkEq('... and nothing ran', fs.existsSync(path.join(tmp, 'ledger', 'runs', shellRun, 'pod')), false);
  checkEq('... and nothing was recorded (events before and after)',
    JSON.parse(pw('status', shellRun, '--db', db).out).events, JSON.parse(before.out).events);
  st = await status(d);
  checkEq(`${STATUS} of the frozen run: halted, frozen, legal_actions`, [st.halted, st.frozen, st.legal_actions],
    [true, true, []]);
  await close(d);
  const seq = Number(sh.call_id.slice(1));
  const tail = pw('log', shellRun, '--db', db, '--json').out.split('\n').filter(Boolean).map((x) => JSON.parse(x))
    .filter((e) => e.seq > seq)
    .map(({ v, run_id, seq: _s, time_ms, prev, hash, ...rest }) => rest);
  checkEq('the ShellExec call is followed by a halt (frozen) and a lockout of its agent, and nothing else', tail, [
    { cause: seq, frozen: true, kind: 'halt', reason: 'UNKNOWN_ACTION', tier: 'policy_violation' },
    { agent: 'agent', cause: seq, kind: 'lockout', reason: 'UNKNOWN_ACTION' },
  ]);

  // 5. The agent is locked out of a new run too, until an owner unlocks it.
  const e = await open('locked out', ['--new-run']);
  const lockedRun = (await status(e)).run_id;
  await checkList(e, 'INIT');
  await call(e, 'the locked-out agent in another run: PodUp', 'PodUp', POD,
    reject('AGENT_LOCKED_OUT', 'agent', { actual: 'agent', halted: false, state: 'INIT' }));
  fs.mkdirSync(path.join(tmp, 'trust'), { mode: 0o755 });
  const trust = path.join(tmp, 'trust', 'owners');
  fs.writeFileSync(trust, `ml-lead: ${os.userInfo().username}\n`, { mode: 0o644 });
  fs.chmodSync(trust, 0o644);
  const u = pw('unlock', 'agent', '--as', 'ml-lead', '--trust', trust, '--db', db);
  checkEq('pitwall unlock agent --as ml-lead: exit 0, lifting the lockout of the frozen run',
    [u.rc, u.rc === 0 && JSON.parse(u.out).unlocked.map((x) => x.run_id)], [0, [shellRun]]);
  await call(e, 'after the unlock: PodUp', 'PodUp', POD, {
    verdict: 'allow', outcome: 'ok', state: 'POD_READY', halted: false, isError: false, moves: true, textStarts: 'ok:',
  });
  await close(e);

  // 6. The runs replay as VALID, and the log holds exactly the calls answered.
  for (const r of [run, shellRun, lockedRun]) {
    const v = pw('verify', '--db', db, r);
    check(`pitwall verify --db DB ${r}: VALID`, v.rc === 0 && v.out.startsWith(`VALID run ${r}: `),
      `exit ${v.rc}: ${v.out}${v.err}`);
    const l = pw('log', r, '--db', db, '--json');
    const events = l.out.split('\n').filter(Boolean).map((x) => JSON.parse(x)).filter((e) => e.kind === 'call');
    const mine = calls.filter((x) => x.run === r);
    checkEq(`run ${r}: one call event per tools/call answered (${mine.length}), same id, action, verdict, reason`,
      events.map((e) => [e.call_id, e.action, e.verdict, e.verdict === 'allow' ? 'allow' : e.reason]),
      mine.map((x) => x.event));
    checkEq(`run ${r}: each call event has the agent of its session (--as)`, events.map((e) => e.agent),
      mine.map((x) => x.agent));
  }
}

try {
  await main();
} catch (e) {
  check('the interop run completes without an exception', false, e && e.stack ? e.stack : String(e));
  for (const s of sessions) {
    if (s.stderr) console.log(`# stderr of ${s.label}:\n${s.stderr.replace(/^/gm, '#   ')}`);
  }
} finally {
  for (const s of sessions) await s.client.close().catch(() => {});
  if (failed === 0 || !process.env.PW_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`# kept ${tmp}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
